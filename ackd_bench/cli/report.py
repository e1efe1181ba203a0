"""CLI commands: filled in by the owning area."""

COMMANDS: list = []
