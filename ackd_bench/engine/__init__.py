"""Training engine: teacher training and caches, the student loop, pairing, checkpoints, run folders."""
