"""Speed measurements (ratios of two variants in one process), not tests. Run with `make bench`."""
