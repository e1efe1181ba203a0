"""Where reusable artifacts (teacher checkpoints, teacher outputs, a method's models) are cached."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$ACKD_BENCH_CACHE`, else `~/.cache/ackd-bench`."""
    root = Path(os.environ.get("ACKD_BENCH_CACHE") or Path.home() / ".cache" / "ackd-bench")
    root.mkdir(parents=True, exist_ok=True)
    return root
