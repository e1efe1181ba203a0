"""Validate a whole submissions folder, like a results repository's CI (tests/test_submissions_folder.py).

Checks: layout `<benchmark>/<method>/<pairing>/<pair>/<config hash>/seed<k>/{result.json, predictions.parquet,
metrics.jsonl}`
and nothing else (no hidden leftovers), file size limit, result schema, folder names equal the record's
content, no duplicate runs (same predictions file twice), and the stored predictions reproduce the record's
test OA and macro-F1. The benchmark itself is not needed: `submit` already checked against its labels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ackd_bench.io import sha256_file
from ackd_bench.report import validate
from ackd_bench.report.submit import RUN_FILES, record_key
from ackd_bench.result_schema import schema_violations

ALLOWED_TOP = {".gitkeep", "README.md"}


def _layout(root: Path) -> tuple[list[Path], list[str]]:
    """Record folders found, and violations for every path outside the layout."""
    out, folders = [], set()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if len(rel.parts) == 1 and rel.name in ALLOWED_TOP:
            continue
        if any(p.startswith(".") for p in rel.parts):
            out.append(f"{rel.as_posix()}: hidden or temporary entry")
        elif path.is_file():
            if len(rel.parts) != 7 or rel.name not in RUN_FILES:
                out.append(
                    f"{rel.as_posix()}: unexpected file (layout: <benchmark>/<method>/<pairing>/<pair>/"
                    f"<config hash>/seed<k>/{{{', '.join(RUN_FILES)}}})"
                )
            else:
                folders.add(path.parent)
        elif path.is_symlink():
            out.append(f"{rel.as_posix()}: links are not allowed")
    return sorted(folders), out


def _record_violations(root: Path, folder: Path, seen: dict[str, str]) -> list[str]:
    rel = folder.relative_to(root).as_posix()
    out = [f"{rel}/{m}" for m in validate.size_violations([folder / n for n in RUN_FILES])]
    out += [f"{rel}: {n} missing" for n in RUN_FILES if not (folder / n).is_file()]
    if out:
        return out
    try:
        record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return [f"{rel}/result.json: not valid JSON"]
    problems = schema_violations(record)
    out += [f"{rel}/result.json: {p}" for p in problems]
    if problems:
        return out
    parts, unsafe = record_key(record)
    out += [f"{rel}/result.json: {u}" for u in unsafe]
    if not unsafe and parts != list(folder.relative_to(root).parts):
        out.append(f"{rel}: folder does not match the record (expected {'/'.join(parts)})")
    digest = sha256_file(folder / "predictions.parquet")
    if digest in seen:
        out.append(f"{rel}: duplicate of {seen[digest]} (identical predictions.parquet)")
    seen.setdefault(digest, rel)
    return out + _prediction_violations(rel, folder, record)


def _prediction_violations(rel: str, folder: Path, record: dict) -> list[str]:
    df, problems = validate.read_predictions(folder / "predictions.parquet")
    if df is None:
        return [f"{rel}/{p}" for p in problems]
    ids = df["sample_id"].astype(str)
    if ids.duplicated().any():
        return [f"{rel}/predictions.parquet: duplicate sample ids"]
    labels, preds = df["label"].to_numpy(dtype=np.int64), df["prediction"].to_numpy(dtype=np.int64)
    k = int(max(labels.max(initial=0), preds.max(initial=0))) + 1
    scores = validate.score(labels, preds, [str(i) for i in range(k)])
    m = record["metrics"]
    return [
        f"{rel}/result.json: metrics.{key} {m[key]!r} does not match predictions.parquet ({scores[key]:.6f})"
        for key in ("test_oa_best_val", "test_macro_f1_best_val")
        if abs(m[key] - scores[key]) > validate.TOLERANCE
    ]


def validate_submissions_folder(root: str | Path) -> list[str]:
    """Every violation in the submissions folder `root` (an empty or missing folder is valid)."""
    root = Path(root)
    if not root.is_dir():
        return []
    folders, out = _layout(root)
    seen: dict[str, str] = {}
    for folder in folders:
        out += _record_violations(root, folder, seen)
    return out
