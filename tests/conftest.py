"""Shared pytest fixtures: paths to the real shared data, a private cache dir, the gpu marker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ACKD_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own ackd-bench cache so tests never share teacher/matcher checkpoints."""
    monkeypatch.setenv("ACKD_BENCH_CACHE", str(tmp_path_factory.mktemp("ackd-cache")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "eurosat-ms-200").is_dir():
        pytest.fail(f"real shared data not found at {SHARED_DATA} (set ACKD_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def eurosat200(shared_data) -> Path:
    return shared_data / "eurosat-ms-200"


@pytest.fixture(scope="session")
def s2_scenes(shared_data) -> Path:
    return shared_data / "sentinel2-scenes"


@pytest.fixture(scope="session")
def default_bench(tmp_path_factory) -> Path:
    """The default benchmark (`build-dataset` with no options), built once per test session via the CLI.

    $ACKD_TEST_BENCH names a prebuilt one instead (benchmarks/gpu_check.sh: the GPU machine has no rasterio).
    """
    import subprocess
    import sys

    if os.environ.get("ACKD_TEST_BENCH"):
        return Path(os.environ["ACKD_TEST_BENCH"]).resolve()
    out = tmp_path_factory.mktemp("bench") / "default"
    subprocess.run(
        [sys.executable, "-m", "ackd_bench", "build-dataset", "--out", str(out), "--quiet"],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def synthetic_small_bench(tmp_path_factory) -> Path:
    """The `synthetic-small` preset, built once per test session via the CLI (treat as read-only)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("synthetic-small") / "bench"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ackd_bench",
            "build-dataset",
            "--preset",
            "synthetic-small",
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out


@pytest.fixture
def synthetic_small_copy(synthetic_small_bench, tmp_path) -> Path:
    """A private copy of `synthetic_small_bench` that a test may damage."""
    import shutil

    return Path(shutil.copytree(synthetic_small_bench, tmp_path / "bench"))


TINY_RUN_CONFIG = """\
batch_size: 16
eval_batch_size: 64
teacher: {epochs: 1, batch_size: 16}
sembridge: {matcher: {arch: shufflenetv2_x0_5, epochs: 1, batch_size: 16}}
"""


@pytest.fixture
def tiny_cfg(tmp_path) -> Path:
    """A `--config` file for CPU-sized runs: small batches, a 1-epoch teacher and matcher."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RUN_CONFIG)
    return path
