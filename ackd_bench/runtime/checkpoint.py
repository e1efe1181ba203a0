"""Checkpoints: written atomically (io.atomic_path + torch.save), loaded with weights_only=True, checksummed.

Next to every checkpoint `X.pt` lies `X.pt.sha256` (JSON {"sha256": [digest, ...]}) listing the digests the
checkpoint may legitimately have: while a new version is being renamed into place it lists the new and the
old one, afterwards only the new one. So a process killed at any point leaves a checkpoint that verifies,
while a truncated or bit-flipped file (torch itself does not notice a flipped bit in tensor data) is refused
with a DataError naming it. A checkpoint without a sidecar (made elsewhere) is loaded unverified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ackd_bench.errors import DataError
from ackd_bench.io import atomic_path, atomic_write_json, read_json, sha256_file


def checksum_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def _listed(side: Path) -> list[str]:
    """The digests `side` allows (DataError when it is unreadable: never silently skip the check)."""
    data = read_json(side)
    digests = data.get("sha256") if isinstance(data, dict) else None
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise DataError('not a checkpoint checksum file (expected {"sha256": [...]})', side)
    return digests


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """torch.save through a file handle (the archive name then does not depend on the temp file name)."""
    path = Path(path)
    side = checksum_path(path)
    old = None
    if path.is_file():
        try:
            old = _listed(side)[0] if side.is_file() else sha256_file(path)
        except DataError:
            old = None
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
        new = sha256_file(tmp)
        atomic_write_json(side, {"sha256": [new] + ([old] if old and old != new else [])})
    atomic_write_json(side, {"sha256": [new]})


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", sha256: str | None = None
) -> dict[str, Any]:
    """Load a checkpoint written by save_checkpoint; a missing, corrupt or unreadable file is a DataError.

    `sha256` (a digest the caller recorded, e.g. a cache entry's) is checked instead of the sidecar: the file
    is hashed once either way.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", path)
    side = checksum_path(path)
    if sha256 is not None:
        if sha256_file(path) != sha256:
            raise DataError("checkpoint sha256 differs from the recorded one (truncated or corrupt file)", path)
    elif side.is_file() and sha256_file(path) not in _listed(side):
        raise DataError(f"checkpoint sha256 differs from {side.name} (truncated or corrupt file)", path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/foreign files
        raise DataError(f"cannot load checkpoint ({type(exc).__name__}: {exc})", path) from None
