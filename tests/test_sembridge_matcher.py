"""SSM matcher on real EuroSAT tiles, its cache, the CLI, and SemBridge's pairing hooks on a real benchmark."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.build import build_dataset
from ackd_bench.data.presets import spec_from_options
from ackd_bench.engine.pools import load_pool
from ackd_bench.errors import DataError
from ackd_bench.io import sha256_file
from ackd_bench.methods import TeacherOutput, build_method
from ackd_bench.methods.context import RunContext
from ackd_bench.methods.sembridge.matcher import (
    clip_soft_loss,
    infonce_loss,
    load_matcher,
    matcher_data,
    train_matcher,
)
from ackd_bench.methods.sembridge.matching import PAIRING_COLUMNS, dynm_match_reference
from ackd_bench.models import build_model

TINY = {"arch": "tiny", "epochs": 10, "batch_size": 20, "seed": 0}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Benchmark:
    """The shipped real EuroSAT sample (200 tiles), built as an ACKD benchmark."""
    out = tmp_path_factory.mktemp("bench") / "eurosat-sample"
    build_dataset(spec_from_options(preset="eurosat-sample"), out, quiet=True)
    return Benchmark.open(out)


@pytest.fixture(scope="module")
def matcher(bench, tmp_path_factory):
    cache = tmp_path_factory.mktemp("matcher-cache")
    return train_matcher(bench, TINY, "cpu", cache), cache


def test_infonce_formula_and_official_loss():
    torch.manual_seed(0)
    u, w = torch.randn(6, 8), torch.randn(6, 8)
    s = F.normalize(u, dim=1) @ F.normalize(w, dim=1).T / 0.1
    logp_rows, logp_cols = torch.log_softmax(s, 1), torch.log_softmax(s.T, 1)
    expected = -0.5 * (logp_rows.diagonal().mean() + logp_cols.diagonal().mean())
    torch.testing.assert_close(infonce_loss(u, w, 0.1), expected)
    assert infonce_loss(u, u, 0.1) < infonce_loss(u, w, 0.1)
    assert torch.isfinite(clip_soft_loss(u, w)) and clip_soft_loss(u, u) < clip_soft_loss(u, w)


def test_matcher_retrieves_each_held_out_tile_from_its_pseudo_rgb(bench, matcher):
    info, cache = matcher
    assert info.path == cache / "matchers" / f"{info.key}.pt" and sha256_file(info.path) == info.sha256
    val_losses = [h["val_loss"] for h in info.history]
    assert info.val_loss == min(val_losses) and info.best_epoch == int(np.argmin(val_losses))
    assert info.history[-1]["lr"] < info.history[0]["lr"]  # the cosine schedule steps
    model = load_matcher(info.path, "cpu", sha256=info.sha256)
    data = matcher_data(bench, "test", tuple(bench.teacher_bands), "mean_std")  # never seen in training
    ms, rgb = data.batch(np.arange(len(data)), torch.device("cpu"))
    with torch.inference_mode():
        sims = F.normalize(model.encode_rgb(rgb), dim=1) @ F.normalize(model.encode_ms(ms), dim=1).T
    top1 = (sims.argmax(1) == torch.arange(len(data))).float().mean().item()
    assert top1 > 5.0 / len(data), f"top-1 {top1:.2f} vs chance {1 / len(data):.2f}"


def test_matcher_cache_hit_key_and_integrity(bench, matcher):
    info, cache = matcher
    again = train_matcher(bench, TINY, "cpu", cache)
    assert again.cached and again.sha256 == info.sha256 and again.val_loss == info.val_loss
    other = train_matcher(bench, {**TINY, "epochs": 1, "seed": 1}, "cpu", cache)
    assert other.key != info.key and not other.cached
    with pytest.raises(DataError):
        load_matcher(info.path, "cpu", sha256="0" * 64)


def test_cli_train_matcher(bench):
    from ackd_bench.cli import cli

    args = [
        "train-matcher",
        "--benchmark",
        str(bench.root),
        "--arch",
        "tiny",
        "--epochs",
        "1",
        "--batch-size",
        "20",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "trained" in result.output and "sha256:" in result.output
    assert "cached" in CliRunner().invoke(cli, args).output


def _ctx(bench, cfg, tmp_path, cache) -> RunContext:
    torch.manual_seed(0)
    bands = list(bench.teacher_bands)
    student_train = load_pool(bench, "student", "train", torch.device("cpu"))
    teacher_train = load_pool(bench, "teacher", "train", torch.device("cpu"), bands, "mean_std")
    teacher = build_model("resnet18", len(bands), bench.num_classes).eval()
    with torch.inference_mode():
        out = teacher(teacher_train.x)
    student = build_model("resnet18", 3, bench.num_classes)
    method = build_method("kd+sembridge", student, bench.num_classes, cfg, teacher_token_dim=teacher.token_dim)
    return RunContext(
        bench=bench,
        cfg=cfg,
        device=torch.device("cpu"),
        run_dir=tmp_path,
        cache_dir=cache,
        seed=3,
        student_train=student_train,
        teacher_train=teacher_train,
        teacher_outputs=TeacherOutput(out.logits, out.embedding, out.tokens),
        method=method,
    )


@pytest.mark.parametrize("pairing", ["ssm", "ssm-free"])
def test_initial_pairing_and_dynm_round(bench, matcher, tmp_path, pairing):
    _, cache = matcher
    cfg = {
        "bands": list(bench.teacher_bands),
        "ms_norm": "mean_std",
        "pairing": pairing,
        "sembridge": {"matcher": TINY, "dynm_epochs": [2, 5]},
    }
    ctx = _ctx(bench, cfg, tmp_path, cache)
    method = ctx.method
    table = method.initial_pairing(ctx)
    assert list(table.columns) == PAIRING_COLUMNS and len(table) == len(ctx.student_train.sample_ids)
    assert table.student_id.tolist() == ctx.student_train.sample_ids
    assert set(table.protocol) == {pairing} and set(table["round"]) == {0}
    assert set(table.matcher_sha256) == {method.matcher_info.sha256} and method.matcher_info.cached
    t_label = dict(zip(ctx.teacher_train.sample_ids, ctx.teacher_train.labels.tolist()))
    same = np.array([t_label[t] for t in table.teacher_id]) == ctx.student_train.labels.numpy()
    if pairing == "ssm":
        assert same.all()
    assert {"matcher", "gallery"} <= set(ctx.timings)

    assert method.rematch_epochs(4) == [2]
    round1 = method.rematch(ctx, 2, 1)
    assert set(round1.protocol) == {"dynm"} and set(round1["round"]) == {1} and set(round1.epoch) == {2}
    method.student.eval()
    with torch.inference_mode():
        s_logits = method.student(ctx.student_train.x).logits
    ref = dynm_match_reference(s_logits, ctx.teacher_outputs.logits, ctx.student_train.labels, ctx.teacher_train.labels)
    assert round1.teacher_id.tolist() == [ctx.teacher_train.sample_ids[i] for i in ref]
    assert (round1.score <= 1e-6).all()  # score = -KL
    extra = method.record_extra()["sembridge"]
    assert extra == {
        "ssm": True,
        "dynm": True,
        "ot1": True,
        "ot2": True,
        "dynm_epochs": [2],
        "coral_scale": method.scale,
        "ot_weights": {},  # no loss computed yet in this test
        "matcher": {"sha256": method.matcher_info.sha256, "val_loss": method.matcher_info.val_loss},
    }


def test_no_ssm_and_no_dynm(bench, tmp_path):
    cfg = {"pairing": "random", "sembridge": {"no_ssm": True, "no_dynm": True}}
    ctx = _ctx(bench, cfg, tmp_path, tmp_path / "cache")
    assert ctx.method.initial_pairing(ctx) is None  # the engine's random protocol pairs, as for the baselines
    assert ctx.method.rematch_epochs(200) == []
    extra = ctx.method.record_extra()["sembridge"]
    assert extra["ssm"] is False and extra["dynm"] is False and extra["matcher"] is None
    assert not (tmp_path / "cache" / "matchers").exists()
