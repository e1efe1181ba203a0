"""`ackd-bench train-matcher`: filled in by the SemBridge area."""

COMMANDS: list = []
