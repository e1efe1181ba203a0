"""Checkpoints: written atomically (io.atomic_path + torch.save), loaded with weights_only=True."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ackd_bench.errors import DataError
from ackd_bench.io import atomic_path


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """torch.save through a file handle (the archive name then does not depend on the temp file name)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by save_checkpoint; a missing or unreadable file is a DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/foreign files
        raise DataError(f"cannot load checkpoint ({type(exc).__name__}: {exc})", path) from None
