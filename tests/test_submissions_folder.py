"""CI check of the repository's leaderboard/submissions folder (like a results repository's pytest suite).

The same validator also runs on fixture folders with planted violations, so a pass on the (possibly empty)
repository folder means something.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.io import atomic_write_bytes, atomic_write_json  # noqa: E402
from ackd_bench.report.folder_check import validate_submissions_folder  # noqa: E402
from ackd_bench.report.submit import submit  # noqa: E402

REPO_SUBMISSIONS = Path(__file__).resolve().parents[1] / "leaderboard" / "submissions"


def test_repository_submissions_folder_is_valid():
    assert validate_submissions_folder(REPO_SUBMISSIONS) == []


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    bench = fx.build_benchmark(root / "bench")
    for method, seed in (("kd", 0), ("kd", 1), ("dkd+sembridge", 0)):
        submit(
            fx.make_run(
                root / "runs" / f"{method}{seed}",
                bench,
                method=method,
                pairing="ssm",
                pair="resnet18:resnet34",
                seed=seed,
                wrong=seed + 1,
            ),
            root / "subs",
            benchmark=bench,
        )
    return root / "subs"


@pytest.fixture()
def copy(good, tmp_path) -> Path:
    dest = tmp_path / "subs"
    shutil.copytree(good, dest)
    return dest


def _record(copy: Path, method: str = "kd", seed: int = 0) -> Path:
    (cell,) = (copy / "eurosat-sample" / method / "ssm" / "resnet18__resnet34").iterdir()  # one configuration
    return cell / f"seed{seed}"


def test_valid_fixture_passes(good):
    assert validate_submissions_folder(good) == []


def test_planted_schema_violation(copy):
    rec = _record(copy)
    data = json.loads((rec / "result.json").read_text())
    data["metrics"]["test_oa_best_val"] = 1.2
    atomic_write_json(rec / "result.json", data)
    problems = validate_submissions_folder(copy)
    assert len(problems) == 1 and "metrics.test_oa_best_val: 1.2 is above the maximum 1" in problems[0]


def test_folder_name_must_match_content(copy):
    (_record(copy, seed=1)).rename(_record(copy, seed=7))
    h = _record(copy).parent.name
    problems = validate_submissions_folder(copy)
    assert problems == [
        f"eurosat-sample/kd/ssm/resnet18__resnet34/{h}/seed7: folder does not match the record "
        f"(expected eurosat-sample/kd/ssm/resnet18__resnet34/{h}/seed1)"
    ]


def test_duplicate_predictions(copy):
    atomic_write_bytes(
        _record(copy, seed=1) / "predictions.parquet", (_record(copy, seed=0) / "predictions.parquet").read_bytes()
    )
    problems = validate_submissions_folder(copy)
    h = _record(copy).parent.name
    assert any(f"duplicate of eurosat-sample/kd/ssm/resnet18__resnet34/{h}/seed0" in p for p in problems)


def test_predictions_must_reproduce_the_record(copy):
    rec = _record(copy, method="dkd+sembridge")
    df = pd.read_parquet(rec / "predictions.parquet")
    df.loc[df.index[0], "prediction"] = (df.loc[df.index[0], "label"] + 3) % 10
    df.loc[df.index[1], "prediction"] = (df.loc[df.index[1], "label"] + 3) % 10
    atomic_write_bytes(rec / "predictions.parquet", df.to_parquet(index=False))
    problems = validate_submissions_folder(copy)
    assert any("metrics.test_oa_best_val" in p and "does not match predictions.parquet" in p for p in problems)


def test_size_limit_stray_and_hidden_files(copy):
    rec = _record(copy)
    with open(rec / "metrics.jsonl", "ab") as f:
        f.write(b" " * (10 * 1024 * 1024))
    (copy / "eurosat-sample" / "notes.txt").write_text("hi")
    (copy / "eurosat-sample" / ".seed3.building-abc").mkdir()
    problems = validate_submissions_folder(copy)
    assert any("metrics.jsonl: " in p and "exceeds the 10485760 byte limit" in p for p in problems)
    assert "eurosat-sample/notes.txt: unexpected file" in " ".join(problems)
    assert any(p.startswith("eurosat-sample/.seed3.building-abc: hidden") for p in problems)


def test_missing_file(copy):
    (_record(copy) / "metrics.jsonl").unlink()
    h = _record(copy).parent.name
    assert validate_submissions_folder(copy) == [
        f"eurosat-sample/kd/ssm/resnet18__resnet34/{h}/seed0: metrics.jsonl missing"
    ]
