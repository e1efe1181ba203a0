"""User-facing errors: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class AckdError(Exception):
    """A problem with the user's input or files. Message is one line; names the file when there is one."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        text = f"{self.path}: {message}" if self.path else message
        super().__init__(" ".join(text.split()))  # guarantee one line


class DataError(AckdError):
    """Bad raw data or a bad/corrupt benchmark artifact."""


class ConfigError(AckdError):
    """Bad option, config value or unknown registry name."""


class SubmissionError(AckdError):
    """A result record refused by `submit` (carries every violation)."""

    def __init__(self, violations: list[str], path: str | Path | None = None):
        self.violations = list(violations)
        super().__init__("refused: " + "; ".join(self.violations), path)
