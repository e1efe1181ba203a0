"""Crash safety: a real `ackd-bench run` process killed with SIGKILL at many points, then restarted with the
same command plus `--resume`, ends with exactly the numbers of an uninterrupted run (CPU, deterministic).

The kill points are made deterministic by `ACKD_BENCH_CRASH_AT` (ackd_bench/runtime/faults.py): the process
sends itself SIGKILL there (no cleanup, no `finally`, no atexit), exactly like `kill -9` from outside. One run
folder goes through every kill in turn (each restart resumes from what the previous kill left), while the
uninterrupted reference run trains in parallel with its own, separate cache. A MobileNetV2 student (dropout:
it draws from the global RNG) makes every RNG-state mistake visible in the numbers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from ackd_bench.runtime.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
TINY = """\
batch_size: 8
eval_batch_size: 64
checkpoint_every_s: 0
teacher: {epochs: 2, batch_size: 8}
sembridge: {matcher: {arch: tiny, epochs: 2, batch_size: 8}}
"""
TIME_KEYS = {"images_per_s", "epoch_s"}
# (ACKD_BENCH_CRASH_AT, where the process dies) in pipeline order; with --epochs 3 and --dynm-epochs 1
KILLS = [
    ("teacher_epoch:1", "during teacher training (after its first epoch, before teacher.pt)"),
    ("matcher_epoch:1", "during matcher training"),
    ("write:round_000.parquet:1", "after the matcher, writing the initial SSM pairing (before any checkpoint)"),
    ("epoch_logged:1", "epoch 0 logged to metrics.jsonl, its checkpoints not yet written"),
    ("dynm_round:1", "inside the DynM round at the start of epoch 1"),
    ("student_batch:2", "mid-epoch 1, after two optimiser steps"),
    ("write:last.pt:1", "writing epoch 1's last.pt: temp file complete, not yet renamed"),
    ("write:result.json:1", "writing result.json after the last epoch"),
]


@pytest.fixture
def bench(synthetic_small_bench) -> Path:
    return synthetic_small_bench


def _command(bench: Path, cfg: Path, out: Path, resume: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ackd_bench",
        "run",
        "--benchmark",
        str(bench),
        "--method",
        "sembridge",
        "--arch",
        "shufflenetv2_x0_5:mobilenetv2",
        "--profile",
        "fast",
        "--epochs",
        "3",
        "--dynm-epochs",
        "1",
        "--seed",
        "3",
        "--config",
        str(cfg),
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(out),
    ] + (["--resume"] if resume else [])


def _env(cache: Path, crash: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ACKD_BENCH_CRASH_AT"}
    env.update(ACKD_BENCH_CACHE=str(cache), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if crash:
        env["ACKD_BENCH_CRASH_AT"] = crash
    return env


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIME_KEYS} for r in rows]


def _temps(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob(".*"))


def test_sigkill_anywhere_then_resume_gives_the_uninterrupted_result(bench, tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    ref, run = tmp_path / "reference", tmp_path / "crashed"
    # the uninterrupted reference, in parallel (own cache: it trains its own teacher and matcher)
    reference = subprocess.Popen(
        _command(bench, cfg, ref, resume=False),
        env=_env(tmp_path / "cache-ref", None),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    cache = tmp_path / "cache-crash"
    for i, (crash, where) in enumerate(KILLS):
        res = subprocess.run(
            _command(bench, cfg, run, resume=i > 0),
            env=_env(cache, crash),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == -signal.SIGKILL, f"not killed {where} ({crash}): rc {res.returncode}\n{res.stderr}"
        assert not (run / "result.json").exists()
        if crash == "teacher_epoch:1":
            assert not list((cache / "teachers").glob("*/info.json"))  # the teacher cache entry is incomplete
        if crash == "write:last.pt:1":
            assert any(name.startswith("checkpoints/.last.pt.") for name in _temps(run))  # the torn write
            assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 0  # the old one is intact
    final = subprocess.run(
        _command(bench, cfg, run, resume=True),
        env=_env(cache, None),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    assert reference.wait(timeout=600) == 0, reference.stdout.read().decode()

    a, b = json.loads((ref / "result.json").read_text()), json.loads((run / "result.json").read_text())
    assert b["metrics"] == a["metrics"]
    assert b.get("transport") == a.get("transport") and b["sembridge"] == a["sembridge"]
    assert _rows(run) == _rows(ref)  # every loss of every epoch, bit for bit; no duplicated lines
    assert pd.read_parquet(run / "predictions.parquet").equals(pd.read_parquet(ref / "predictions.parquet"))
    for name in ("round_000.parquet", "round_001.parquet"):
        assert pd.read_parquet(run / "pairings" / name).equals(pd.read_parquet(ref / "pairings" / name))
    for name in ("last.pt", "best.pt"):
        ca, cb = load_checkpoint(ref / "checkpoints" / name), load_checkpoint(run / "checkpoints" / name)
        key = "method" if name == "last.pt" else "student"
        assert ca[key].keys() == cb[key].keys()
        same = (
            torch.equal(ca[key][k], cb[key][k]) if torch.is_tensor(ca[key][k]) else ca[key][k] == cb[key][k]
            for k in ca[key]
        )  # tensors bit for bit; a module's extra state (SemBridge's term weights) by value
        assert all(same), name
    assert _temps(run) == []  # resume cleared the torn temp files
