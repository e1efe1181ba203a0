"""`ackd-bench verify DIR`: recompute every checksum the card and packed/index.json record."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ackd_bench.io import read_json, sha256_file


def _check(path: Path, digest: str, problems: list[str]) -> bool:
    if not path.is_file():
        problems.append(f"{path}: missing")
        return False
    if sha256_file(path) != digest:
        problems.append(f"{path}: changed (sha256 differs)")
        return False
    return True


def verify_benchmark(root: str | Path) -> list[str]:
    """List of problems ('<file>: missing' / '<file>: changed ...'); empty when everything matches."""
    from ackd_bench.data.build import resolve_root

    root = Path(root)
    card = read_json(root / "benchmark.json")
    problems: list[str] = []
    for name, digest in sorted(card.get("manifests_sha256", {}).items()):
        _check(root / name, digest, problems)
    for name, digest in sorted(card.get("files_sha256", {}).items()):
        _check(root / name, digest, problems)
    index_path = root / "packed" / "index.json"
    if index_path.is_file() and not any(p.startswith(str(index_path)) for p in problems):
        for entry in sorted(read_json(index_path)["arrays"].values(), key=lambda e: e["file"]):
            _check(root / "packed" / entry["file"], entry["sha256"], problems)
    for pool in ("teacher", "student"):
        path = root / f"{pool}.parquet"
        if not path.is_file() or any(p.startswith(str(path)) for p in problems):
            continue
        base = resolve_root(card["roots"][pool], root)
        df = pd.read_parquet(path, columns=["path", "sha256"])
        for rel, digest in zip(df["path"], df["sha256"]):
            _check(base / rel, digest, problems)
    pairs = root / "sckd_pairs.parquet"
    if pairs.is_file() and not any(p.startswith(str(pairs)) for p in problems):
        base = resolve_root(card["roots"]["teacher"], root)
        df = pd.read_parquet(pairs)
        for rel, digest in zip(df["teacher_path"], df["teacher_sha256"]):
            _check(base / rel, digest, problems)
    return problems
