"""Corrupted files (truncated, one bit flipped) are caught by checksum, never silently used.

Benchmark files (manifests, stats.json, packed index and arrays) and run checkpoints: a clear one-line error
naming the file. Caches (teacher checkpoint and info, teacher outputs, matcher): rebuilt, with the same result
as the intact cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_run import invoke_run

from ackd_bench.config import resolve_config
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.errors import DataError
from ackd_bench.io import sha256_file

DEVICE = torch.device("cpu")


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def bitflip(path: Path) -> None:
    """Flip one bit in the middle of the file (array data for a .npy: np.load alone would not notice)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


CORRUPT = {"truncated": truncate, "bitflip": bitflip}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: one intra-op thread is faster than two fighting other processes for the CPUs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def bench_dir(synthetic_small_copy) -> Path:
    return synthetic_small_copy


def _cfg(bench_dir: Path) -> dict:
    return resolve_config(
        "fast",
        None,
        {
            "benchmark": str(bench_dir),
            "method": "kd",
            "pair": "S-S",
            "device": "cpu",
            "teacher": {"arch": "shufflenetv2_x0_5", "epochs": 1, "batch_size": 8},
            "bands": ["B02", "B03", "B04", "B08"],
        },
    )


# ------------------------------------------------------------------ benchmark files: clear error
@pytest.mark.parametrize("how", sorted(CORRUPT))
@pytest.mark.parametrize("rel", ["teacher.parquet", "student.parquet", "stats.json", "packed/index.json"])
def test_corrupt_benchmark_file_is_refused_at_open(bench_dir, rel, how):
    CORRUPT[how](bench_dir / rel)
    with pytest.raises(DataError) as info:
        Benchmark.open(bench_dir)
    message = str(info.value)
    assert message.startswith(str(bench_dir / rel)) and "sha256 differs" in message and "\n" not in message


@pytest.mark.parametrize("how", sorted(CORRUPT))
def test_corrupt_packed_array_is_refused_by_checksum(bench_dir, how):
    path = bench_dir / "packed" / "teacher_train.npy"
    CORRUPT[how](path)
    bench = Benchmark.open(bench_dir)  # the card and index are intact
    with pytest.raises(DataError, match="teacher_train.npy: packed array sha256 differs from packed/index.json"):
        bench.load_arrays("teacher", "train")
    bench.load_arrays("student", "train")  # the intact arrays still load


def test_cli_run_names_the_corrupt_file_in_one_line(bench_dir, tmp_path):
    bitflip(bench_dir / "packed" / "teacher_train.npy")
    res = invoke_run(bench_dir, "kd", tmp_path / "run", ok=False)
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "teacher_train.npy" in lines[0]
    assert "sha256" in lines[0]


@pytest.mark.parametrize("how", sorted(CORRUPT))
def test_corrupt_run_checkpoint_is_refused(tmp_path, how):
    from ackd_bench.runtime.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoints" / "last.pt"
    state = {"epoch": 3, "w": torch.arange(4096, dtype=torch.float32)}
    save_checkpoint(path, state)
    assert torch.equal(load_checkpoint(path)["w"], state["w"])
    CORRUPT[how](path)
    with pytest.raises(DataError, match="last.pt: checkpoint sha256 differs from last.pt.sha256"):
        load_checkpoint(path)


# ------------------------------------------------------------------ caches: rebuilt
@pytest.mark.parametrize(
    "target,how", [("teacher.pt", "truncated"), ("teacher.pt", "bitflip"), ("info.json", "truncated")]
)
def test_corrupt_teacher_cache_is_retrained(bench_dir, target, how):
    from ackd_bench.engine.teacher import get_teacher

    bench = Benchmark.open(bench_dir)
    cfg = _cfg(bench_dir)
    first = get_teacher(bench, cfg, DEVICE, quiet=True)
    assert first.trained and not get_teacher(bench, cfg, DEVICE, quiet=True).trained
    good = torch.load(first.checkpoint, weights_only=True)["state_dict"]
    CORRUPT[how](first.dir / target)
    again = get_teacher(bench, cfg, DEVICE, quiet=True)
    assert again.trained  # not reused: rebuilt
    assert again.info["checkpoint_sha256"] == sha256_file(again.checkpoint)
    rebuilt = torch.load(again.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(good[k], rebuilt[k]) for k in good)  # deterministic: the same teacher


@pytest.mark.parametrize(
    "target,how",
    [
        ("train_logits.npy", "bitflip"),
        ("train_tokens.npy", "truncated"),
        ("train.json", "truncated"),
        ("train.json", "bitflip"),
    ],
)
def test_corrupt_teacher_outputs_cache_is_recomputed(bench_dir, target, how):
    from ackd_bench.engine.cache import cache_root
    from ackd_bench.engine.pools import load_pool
    from ackd_bench.engine.teacher import get_teacher, load_teacher
    from ackd_bench.engine.teacher_outputs import teacher_outputs

    bench = Benchmark.open(bench_dir)
    cfg = _cfg(bench_dir)
    record = get_teacher(bench, cfg, DEVICE, quiet=True)
    model = load_teacher(record, DEVICE)
    pool = load_pool(bench, "teacher", "train", DEVICE, cfg["bands"], cfg["ms_norm"])

    def outputs():
        return teacher_outputs(
            model,
            record.info["checkpoint_sha256"],
            bench,
            cfg["bands"],
            cfg["ms_norm"],
            "train",
            pool,
            64,
            DEVICE,
            quiet=True,
        )

    first = outputs()
    assert not first.reused and outputs().reused
    (path,) = (cache_root() / "teacher_outputs").glob(f"*/{target}")
    CORRUPT[how](path)
    again = outputs()
    assert not again.reused  # the corrupt entry was not used
    for f in ("logits", "embedding", "tokens"):
        assert torch.equal(getattr(again.outputs, f), getattr(first.outputs, f))
    assert outputs().reused  # and the rebuilt entry verifies


@pytest.mark.parametrize("target,how", [("pt", "bitflip"), ("pt", "truncated"), ("json", "truncated")])
def test_corrupt_matcher_cache_is_retrained(bench_dir, tmp_path, target, how):
    from ackd_bench.methods.sembridge.matcher import train_matcher

    bench = Benchmark.open(bench_dir)
    cfg = {"arch": "tiny", "epochs": 1, "batch_size": 8, "seed": 0}
    bands = ("B02", "B03", "B04", "B08")
    first = train_matcher(bench, cfg, DEVICE, tmp_path / "cache", bands=bands)
    assert not first.cached and train_matcher(bench, cfg, DEVICE, tmp_path / "cache", bands=bands).cached
    CORRUPT[how](first.path.with_suffix("." + target))
    again = train_matcher(bench, cfg, DEVICE, tmp_path / "cache", bands=bands)
    assert not again.cached and again.sha256 == sha256_file(again.path) == first.sha256  # rebuilt, identical
