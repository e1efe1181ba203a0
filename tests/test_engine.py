"""Engine parts: config resolution, metrics, the teacher cache and the teacher-output cache (real tiny data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ackd_bench.config import DEFAULTS, config_hash, resolve_config
from ackd_bench.engine.metrics import MetricsLog, macro_f1, overall_accuracy, per_class_accuracy
from ackd_bench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TINY_TEACHER = {"arch": "shufflenetv2_x0_5", "epochs": 1, "batch_size": 16}


@pytest.fixture(scope="module")
def bench_dir(default_bench) -> Path:
    return default_bench


# ---------------------------------------------------------------- config
def test_profiles_yaml_and_flags_resolve_in_order(tmp_path):
    paper = resolve_config("paper")
    assert (paper["optimizer"], paper["lr"], paper["batch_size"], paper["epochs"], paper["steps"]) == (
        "adamw",
        1e-3,
        256,
        None,
        6400,
    )
    assert (paper["w_ce"], paper["w_kd"]) == (0.3, 0.4)
    fast = resolve_config("fast")
    assert fast["epochs"] is None and fast["batch_size"] == 32 and fast["steps"] < fast["teacher"]["steps"]
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        "epochs: 5\nlr: 0.01\nteacher: {epochs: 2}\nmethod_args: {T: 4.0}\n"
        "sembridge: {no_ot1: true, matcher: {epochs: 1}}\n"
    )
    cfg = resolve_config("fast", cfg_file, {"epochs": 7, "teacher": {"seed": 3}})
    assert cfg["epochs"] == 7 and cfg["lr"] == 0.01  # flag beats file beats profile
    assert cfg["teacher"] == {**fast["teacher"], "epochs": 2, "seed": 3}
    assert cfg["method_args"] == {"T": 4.0}
    # nested free-form mappings merge key by key with the profile's
    assert cfg["sembridge"] == {"no_ot1": True, "matcher": {**fast["sembridge"]["matcher"], "epochs": 1}}
    assert set(cfg) == set(DEFAULTS) and cfg["profile"] == "fast"


def test_config_errors_name_the_file_or_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*unknown config key 'epoch'"):
        resolve_config(None, bad)
    with pytest.raises(ConfigError, match="optimizer"):
        resolve_config(None, None, {"optimizer": "lion"})
    with pytest.raises(ConfigError, match="profile"):
        resolve_config("slow")
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(None, tmp_path / "missing.yaml")


def test_budgets_become_epochs_by_pool_size():
    from ackd_bench.config import budget_record, derive_epochs, steps_per_epoch

    assert [steps_per_epoch(n, 32) for n in (1, 20, 32, 33, 34, 60, 8100)] == [1, 1, 1, 1, 2, 2, 254]
    paper, fast = resolve_config("paper"), resolve_config("fast")
    assert derive_epochs(paper, 8100) == 200  # the paper's 200 epochs on EuroSAT's ACKD train pool
    assert derive_epochs(paper, 10**6) == paper["min_epochs"]  # the floor on a large pool
    assert derive_epochs(fast, 60) * steps_per_epoch(60, 32) == fast["steps"]  # the same steps on 60 images
    assert derive_epochs(fast, 8100) == fast["min_epochs"]
    assert derive_epochs({**fast, "epochs": 3}, 60) == 3  # an explicit `epochs` overrides the budget
    record = budget_record(fast["teacher"], 60)
    assert record["rule"] == "steps" and record["steps"] == record["epochs"] * record["steps_per_epoch"] >= 400
    with pytest.raises(ConfigError, match="steps"):
        resolve_config("fast", overrides={"steps": 0})
    with pytest.raises(ConfigError, match="augment"):
        resolve_config("fast", overrides={"teacher": {"augment": "mixup"}})


def test_dihedral_augmentation_is_the_eight_symmetries():
    from ackd_bench.engine.augment import dihedral, epoch_augment
    from ackd_bench.engine.seed import generator

    x = torch.arange(9.0).view(1, 1, 3, 3).repeat(8, 2, 1, 1)
    out = dihedral(x, torch.arange(8))
    assert torch.equal(out[0], x[0]) and len({tuple(o.flatten().tolist()) for o in out}) == 8
    assert torch.equal(out[1], torch.rot90(x[1], 1, (-2, -1))) and torch.equal(out[4], x[4].transpose(-1, -2))
    assert epoch_augment("none", 8, generator(0)) is None
    # one symmetry per image and epoch, looked up by pool index: independent of batching
    aug = epoch_augment("dihedral", 8, generator(0, "augment", 0))
    whole = aug(x, torch.arange(8))
    assert torch.equal(torch.cat([aug(x[:3], torch.arange(3)), aug(x[3:], torch.arange(3, 8))]), whole)


def test_config_hash_is_stable_and_sensitive():
    a = resolve_config("fast")
    assert config_hash(a) == config_hash(resolve_config("fast"))
    assert config_hash(a) != config_hash(resolve_config("fast", overrides={"lr": 0.5}))


# ---------------------------------------------------------------- metrics
def test_metrics_match_the_report_definitions():
    from ackd_bench.report.validate import score

    rng = np.random.default_rng(0)
    labels, pred = rng.integers(0, 5, 50), rng.integers(0, 6, 50)
    classes = [f"c{i}" for i in range(6)]
    ref = score(labels, pred, classes)
    assert overall_accuracy(pred, labels) == pytest.approx(ref["test_oa_best_val"])
    assert macro_f1(pred, labels) == pytest.approx(ref["test_macro_f1_best_val"], abs=1e-12)
    assert per_class_accuracy(pred, labels, classes) == pytest.approx(ref["per_class_acc"])
    assert "c5" not in per_class_accuracy(pred, labels, classes)  # no support -> left out


def test_metrics_log_truncates_on_resume(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    for e in range(3):
        log.append({"epoch": e, "loss": float(e)})
    again = MetricsLog(tmp_path / "m.jsonl")
    again.truncate(1)
    again.append({"epoch": 1, "loss": 9.0})
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"loss": 9.0' in lines[1]


# ---------------------------------------------------------------- teacher caches
def _cfg(**teacher):
    return resolve_config("fast", overrides={"device": "cpu", "teacher": {**TINY_TEACHER, **teacher}})


def test_teacher_cache_is_reused_and_a_corrupt_checkpoint_retrained(bench_dir):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.teacher import get_teacher, teacher_key

    bench = Benchmark.open(bench_dir)
    cfg = _cfg()
    first = get_teacher(bench, cfg, torch.device("cpu"), quiet=True)
    assert first.trained and 0.0 <= first.info["test_oa"] <= 1.0
    assert first.info["bands"] == bench.teacher_bands and len(first.info["history"]) == 1
    second = get_teacher(bench, cfg, torch.device("cpu"), quiet=True)
    assert not second.trained and second.info == first.info and second.dir == first.dir
    cpu = torch.device("cpu")
    assert teacher_key(bench, cfg, cpu) == first.key
    assert teacher_key(bench, _cfg(seed=1), cpu) != first.key  # seed is part of the key
    assert teacher_key(bench, _cfg(epochs=2), cpu) != first.key  # so is the teacher config
    assert teacher_key(bench, cfg, torch.device("cuda")) != first.key  # and the numerics (tests/test_determinism)
    first.checkpoint.write_bytes(b"corrupt")
    third = get_teacher(bench, cfg, torch.device("cpu"), quiet=True)
    assert third.trained and third.info["checkpoint_sha256"] == first.info["checkpoint_sha256"]  # deterministic


def test_teacher_budget_in_steps_and_recipe_in_the_key(bench_dir):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.teacher import get_teacher, teacher_key

    bench = Benchmark.open(bench_dir)
    # 60 teacher train images at batch 16: 4 steps an epoch, so 6 steps are 2 epochs
    cfg = _cfg(epochs=None, steps=6, min_epochs=1)
    record = get_teacher(bench, cfg, torch.device("cpu"), quiet=True)
    assert record.info["budget"] == {
        "rule": "steps",
        "steps_budget": 6,
        "min_epochs": 1,
        "train_images": 60,
        "steps_per_epoch": 4,
        "epochs": 2,
        "steps": 8,
    }
    assert len(record.info["history"]) == 2 and cfg["teacher"]["epochs"] is None  # the config keeps the budget
    assert record.info["config"]["teacher"]["augment"] == "dihedral"
    for change in ({"augment": "none"}, {"cosine": False}, {"weight_decay": 0.0}, {"steps": 7}):
        key = teacher_key(bench, _cfg(**{"epochs": None, "steps": 6, "min_epochs": 1, **change}), torch.device("cpu"))
        assert key != record.key


def test_teacher_outputs_cached_verified_and_recomputed(bench_dir):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.cache import cache_root
    from ackd_bench.engine.pools import load_pool
    from ackd_bench.engine.teacher import get_teacher, load_teacher
    from ackd_bench.engine.teacher_outputs import CachedTeacher, LiveTeacher, outputs_key, teacher_outputs

    bench, cpu = Benchmark.open(bench_dir), torch.device("cpu")
    cfg = _cfg()
    record = get_teacher(bench, cfg, cpu, quiet=True)
    model = load_teacher(record, cpu)
    pool = load_pool(bench, "teacher", "train", cpu, bench.teacher_bands)
    sha = record.info["checkpoint_sha256"]

    def outputs():
        return teacher_outputs(model, sha, bench, bench.teacher_bands, "mean_std", "train", pool, 32, cpu, quiet=True)

    first = outputs()
    assert not first.reused and first.outputs.logits.shape == (len(pool.labels), bench.num_classes)
    assert first.outputs.tokens.dim() == 3 and first.outputs.embedding.shape[1] == 512
    second = outputs()
    assert second.reused and torch.equal(second.outputs.logits, first.outputs.logits)
    entry = cache_root() / "teacher_outputs" / outputs_key(sha, bench, bench.teacher_bands, "mean_std", cpu)
    tampered = np.load(entry / "train_logits.npy")
    tampered[0, 0] += 100.0
    np.save(entry / "train_logits.npy", tampered)
    third = outputs()
    assert not third.reused and torch.equal(third.outputs.logits, first.outputs.logits)
    assert outputs().reused
    # the live teacher gives the cached values
    idx = torch.tensor([3, 0, 7])
    live, cached = LiveTeacher(model, pool, cpu)(idx), CachedTeacher(first.outputs)(idx)
    for a, b in zip(live, cached):
        torch.testing.assert_close(a, b)


def test_device_choice():
    from ackd_bench.runtime.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            resolve_device("cuda")
