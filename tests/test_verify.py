"""`ackd-bench verify` recomputes checksums and names changed or missing files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ackd_bench.cli import cli


@pytest.fixture
def copy(synthetic_small_copy) -> Path:
    return synthetic_small_copy


def verify(path: Path):
    return CliRunner().invoke(cli, ["verify", str(path)])


def test_clean_benchmark_verifies(copy):
    res = verify(copy)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("rel", ["student.parquet", "stats.json", "packed/teacher_train.npy", "packed/index.json"])
def test_modified_file_is_named(copy, rel):
    with open(copy / rel, "ab") as f:
        f.write(b"\0")
    res = verify(copy)
    assert res.exit_code == 2 and rel.split("/")[-1] in res.stderr and "changed" in res.stderr


def test_modified_and_missing_sample_files(copy):
    pngs = sorted((copy / "files" / "student").rglob("*.png"))
    pngs[0].unlink()
    tifs = sorted((copy / "files" / "teacher").rglob("*.tif"))
    tifs[1].write_bytes(tifs[1].read_bytes()[:-1] + b"\1")
    res = verify(copy)
    assert res.exit_code == 2
    assert f"{pngs[0]}: missing" in res.stderr and f"{tifs[1]}: changed" in res.stderr


def test_open_rejects_modified_manifest(copy):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.errors import DataError

    (copy / "teacher.parquet").write_bytes((copy / "teacher.parquet").read_bytes() + b"x")
    with pytest.raises(DataError, match="teacher.parquet"):
        Benchmark.open(copy)
