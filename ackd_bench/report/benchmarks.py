"""What `submit` knows about benchmarks: the shipped cards (datasets/*/card.json) and a build's own labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ackd_bench.errors import DataError
from ackd_bench.io import read_json, sha256_file

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_ROOT / "datasets"


def known_cards(datasets_dir: str | Path = DATASETS_DIR) -> list[dict]:
    """The benchmark cards the project ships (`datasets/<preset>/card.json`), sorted by path."""
    root = Path(datasets_dir)
    return [read_json(p) for p in sorted(root.glob("*/card.json"))] if root.is_dir() else []


def identity_violations(reported: dict, cards: list[dict], source: str) -> list[str]:
    """Why the record's benchmark {name, version, manifests_sha256} matches none of `cards` (empty = matches)."""
    name, version = reported.get("name"), reported.get("version")
    same_name = [c for c in cards if c.get("name") == name]
    if not same_name:
        return [f"benchmark {name!r} is not a benchmark known to {source}"]
    same_version = [c for c in same_name if c.get("version") == version]
    if not same_version:
        known = sorted(str(c.get("version")) for c in same_name)
        return [f"benchmark {name!r} version {version!r} is unknown to {source} (known: {', '.join(known)})"]
    sums = reported.get("manifests_sha256") or {}
    card_sums = same_version[0].get("manifests_sha256") or {}
    bad = sorted(k for k in set(sums) | set(card_sums) if sums.get(k) != card_sums.get(k))
    if bad:
        return [f"benchmark {name!r} {version!r}: manifest checksum differs from {source} for {', '.join(bad)}"]
    return []


@dataclass
class BenchmarkLabels:
    """A benchmark build's card and the labels of its student TEST split."""

    card: dict
    classes: list[str]
    test_labels: dict[str, int]  # sample_id -> label


def open_benchmark(folder: str | Path) -> BenchmarkLabels:
    """Read a benchmark build's card and student test labels; the student manifest's sha256 is verified."""
    folder = Path(folder)
    card = read_json(folder / "benchmark.json")
    manifest = _student_manifest(folder, card)
    test = manifest[manifest["split"] == "test"]
    labels = dict(zip(test["sample_id"].astype(str), test["label"].astype(int)))
    return BenchmarkLabels(card=card, classes=[str(c) for c in card["classes"]], test_labels=labels)


def _student_manifest(folder: Path, card: dict) -> pd.DataFrame:
    try:  # the data area's reader when present (it verifies every manifest)
        from ackd_bench.data.benchmark import Benchmark
    except ImportError:
        Benchmark = None
    if Benchmark is not None:
        return Benchmark.open(folder).manifest("student")
    path = folder / "student.parquet"
    expected = (card.get("manifests_sha256") or {}).get("student.parquet")
    if not path.is_file():
        raise DataError("student manifest missing", path)
    if expected != sha256_file(path):
        raise DataError("sha256 differs from the card's manifests_sha256", path)
    return pd.read_parquet(path, columns=["sample_id", "label", "split", "class_name"])
