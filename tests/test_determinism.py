"""Determinism and caches (docs/running.md, "Determinism and caches"): the autocast decision, the determinism
record, cache keys that carry the numerics, and `teacher.seed: follow`."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from ackd_bench.config import resolve_config, teacher_seed
from ackd_bench.engine.seed import NONDETERMINISTIC_OP, determinism_plan, record_nondeterminism, set_deterministic
from ackd_bench.errors import ConfigError
from ackd_bench.runtime.device import autocast, autocast_dtype, numerics

CPU, CUDA = torch.device("cpu"), torch.device("cuda")  # a device object needs no GPU; the decisions are pure


@pytest.fixture(autouse=True)
def _restore_deterministic_flag():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def test_cuda_deterministic_mode_computes_in_float32():
    assert autocast_dtype("cuda", deterministic=True) is None
    assert autocast_dtype("cuda", deterministic=False) is torch.bfloat16
    assert autocast_dtype("cpu", deterministic=False) is None and autocast_dtype("cpu", True) is None
    set_deterministic(True, CPU)
    assert not isinstance(autocast(CUDA), torch.autocast)  # the run-wide flag decides
    torch.use_deterministic_algorithms(False)
    assert isinstance(autocast(CUDA), torch.autocast)


def test_determinism_plan_states_what_is_promised():
    for device in ("cpu", "cuda"):
        plan = determinism_plan(device, True)
        assert plan == {
            "deterministic": True,
            "device": device,
            "autocast": None,
            "bit_reproducible": True,
            "why_not": [],
        }
    cuda = determinism_plan("cuda", False)
    assert cuda["autocast"] == "bfloat16" and cuda["bit_reproducible"] is False
    assert any("bfloat16" in w for w in cuda["why_not"]) and any(
        "deterministic mode is off" in w for w in cuda["why_not"]
    )
    assert determinism_plan("cpu", False)["bit_reproducible"] is False


def test_ops_without_a_deterministic_kernel_are_recorded_other_warnings_pass():
    text = f"adaptive_avg_pool2d_backward_cuda {NONDETERMINISTIC_OP}. You can turn off determinism just for this op"
    with pytest.warns(UserWarning, match="unrelated"):
        with record_nondeterminism(determinism_plan("cuda", True)) as plan:
            for _ in range(3):
                warnings.warn(text, UserWarning)
            warnings.warn("unrelated", UserWarning)
    assert plan["bit_reproducible"] is False and len(plan["why_not"]) == 1
    assert "adaptive_avg_pool2d_backward_cuda" in plan["why_not"][0]
    with record_nondeterminism(determinism_plan("cpu", True)) as clean:
        pass
    assert clean["bit_reproducible"] is True and clean["why_not"] == []


def test_numerics_and_cache_keys_carry_device_precision_and_mode(default_bench):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.teacher import teacher_key
    from ackd_bench.engine.teacher_outputs import outputs_key
    from ackd_bench.methods.sembridge.matcher import matcher_key, resolve_matcher_cfg

    bench = Benchmark.open(default_bench)
    cfg = resolve_config("fast", overrides={"device": "cpu", "teacher": {"arch": "resnet18"}})
    assert numerics(CPU, True) == {
        "device": "cpu",
        "autocast": None,
        "deterministic": True,
        "torch": torch.__version__,
        "memory_format": "channels_last",
    }
    assert numerics(CUDA, False)["autocast"] == "bfloat16"
    keys = {
        teacher_key(bench, cfg, CPU),
        teacher_key(bench, cfg, CUDA),
        teacher_key(bench, {**cfg, "deterministic": False}, CUDA),
    }
    assert len(keys) == 3
    bands, mcfg = tuple(bench.teacher_bands), resolve_matcher_cfg({})
    outputs, matchers = set(), set()
    for flag in (True, False):
        torch.use_deterministic_algorithms(flag)
        for device in (CPU, CUDA):
            outputs.add(outputs_key("ab" * 32, bench, list(bands), "mean_std", device))
            matchers.add(matcher_key(bench, bands, mcfg, device))
    assert len(outputs) == len(matchers) == 4


def test_teacher_seed_follow_is_the_run_seed_and_recorded(default_bench, tiny_cfg, tmp_path):
    from ackd_bench.engine.run import run_experiment
    from ackd_bench.report.submit import check_run

    base = {
        "benchmark": str(default_bench),
        "method": "student",
        "pair": "S-S",
        "epochs": 1,
        "device": "cpu",
        "seed": 3,
    }
    follow = resolve_config("fast", tiny_cfg, {**base, "teacher": {"seed": "follow"}})
    assert teacher_seed(follow) == 3 and teacher_seed({**follow, "seed": 4}) == 4
    assert teacher_seed(resolve_config("fast", tiny_cfg, base)) == 0  # the default: one shared teacher
    with pytest.raises(ConfigError, match="teacher.seed"):
        resolve_config("fast", tiny_cfg, {**base, "teacher": {"seed": "sometimes"}})
    record = run_experiment(follow, tmp_path / "follow", quiet=True)
    assert (record["teacher_seed"], record["teacher_seed_policy"]) == (3, "follow")
    assert record["config"]["teacher"]["seed"] == "follow"
    assert record["determinism"] == {
        "deterministic": True,
        "device": "cpu",
        "autocast": None,
        "bit_reproducible": True,
        "why_not": [],
    }
    _, violations = check_run(tmp_path / "follow", benchmark=default_bench)
    assert violations == []
    fixed = run_experiment(resolve_config("fast", tiny_cfg, base), tmp_path / "fixed", quiet=True)
    assert (fixed["teacher_seed"], fixed["teacher_seed_policy"]) == (0, "fixed")
    from ackd_bench.engine.cache import cache_root

    seeds = sorted(json.loads(p.read_text())["seed"] for p in (cache_root() / "teachers").glob("*/info.json"))
    assert seeds == [0, 3]  # two teachers: the followed seed trained its own


@pytest.mark.gpu
def test_cuda_deterministic_runs_in_float32_and_says_so(default_bench, tiny_cfg, tmp_path):
    from ackd_bench.engine.run import run_experiment

    cfg = resolve_config(
        "fast",
        tiny_cfg,
        {"benchmark": str(default_bench), "method": "kd", "pair": "S-S", "epochs": 1, "device": "cuda"},
    )
    a = run_experiment(cfg, tmp_path / "a", quiet=True)
    assert a["determinism"]["autocast"] is None and a["determinism"]["deterministic"] is True
    # bit-reproducible exactly when no op reported a missing deterministic kernel; either way it is stated
    b = run_experiment(cfg, tmp_path / "b", quiet=True)
    if a["determinism"]["bit_reproducible"]:
        assert a["metrics"] == b["metrics"]
    else:
        assert a["determinism"]["why_not"]
    fast = run_experiment({**cfg, "deterministic": False}, tmp_path / "c", quiet=True)
    assert fast["determinism"]["autocast"] == "bfloat16" and fast["determinism"]["bit_reproducible"] is False
