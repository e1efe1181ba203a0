"""CUDA path: the same code gives the same answers on the GPU (skipped without CUDA; run by benchmarks/gpu_check.sh).

Only torch is needed here (the GPU machine has no geo stack, POT or faiss): retrieval then runs as torch matmul
+ top-k on the device, the engine with bf16 autocast and channels_last.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_gallery_on_cuda_equals_cpu():
    from ackd_bench.retrieval import Gallery

    g = torch.Generator().manual_seed(0)
    vecs, queries = torch.randn(3000, 64, generator=g), torch.randn(500, 64, generator=g)
    labels, q_labels = torch.arange(3000) % 7, torch.arange(500) % 7
    cpu = Gallery(vecs, labels, backend="torch").search(queries, k=5, query_labels=q_labels)
    gpu = Gallery(vecs.cuda(), labels, backend="auto").search(queries.cuda(), k=5, query_labels=q_labels)
    assert np.array_equal(cpu[1], gpu[1])
    assert np.allclose(cpu[0], gpu[0], atol=1e-4)


def test_dynm_match_on_cuda_equals_the_reference_loop():
    from ackd_bench.methods.sembridge.matching import dynm_match, dynm_match_reference

    g = torch.Generator().manual_seed(1)
    s_labels, t_labels = torch.arange(2000) % 10, torch.arange(1500) % 10
    s_logits = torch.randn(2000, 10, generator=g) * 2
    t_logits = torch.randn(1500, 10, generator=g) * 2
    idx, _ = dynm_match(s_logits.cuda(), t_logits.cuda(), s_labels.cuda(), t_labels.cuda(), 3.0)
    ref = dynm_match_reference(s_logits, t_logits, s_labels, t_labels, 3.0)
    assert np.mean(idx == ref) > 0.999  # float32 on the device vs the float64 loop: ties may differ


def test_sembridge_losses_under_bf16_autocast_match_fp32():
    from ackd_bench.config import resolve_config
    from ackd_bench.methods import TeacherOutput, build_method
    from ackd_bench.models import build_model
    from ackd_bench.runtime.device import autocast

    torch.manual_seed(0)
    cfg = resolve_config("paper", None, {"method": "sembridge", "pair": "S-S"})
    teacher = build_model("shufflenetv2_x0_5", in_channels=10, num_classes=10).eval()
    x, ms, y = torch.randn(32, 3, 64, 64), torch.randn(32, 10, 64, 64), torch.arange(32) % 10
    with torch.no_grad():
        t = teacher(ms)
    method = build_method(
        "sembridge",
        build_model("shufflenetv2_x0_5", in_channels=3, num_classes=10),
        10,
        cfg,
        teacher_token_dim=t.tokens.shape[-1],
    )
    method.train()
    ref = method.forward_train(x, TeacherOutput(t.logits, t.embedding, t.tokens), y)[1]
    method.cuda()
    t_gpu = TeacherOutput(t.logits.cuda(), t.embedding.cuda(), t.tokens.cuda())
    with autocast(torch.device("cuda")):
        out = method.forward_train(x.cuda(), t_gpu, y.cuda())[1]
    assert set(out) == set(ref)
    for name in ref:
        assert torch.isfinite(out[name].float()).all(), name
        assert float(out[name].detach().float()) == pytest.approx(float(ref[name].detach()), rel=0.1, abs=1e-3), name


def test_run_on_cuda_writes_a_record(default_bench, tmp_path):
    import json

    from click.testing import CliRunner

    from ackd_bench.cli import cli

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("teacher: {epochs: 1}\nsembridge: {matcher: {arch: tiny, epochs: 1}}\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        [
            "run",
            "--benchmark",
            str(default_bench),
            "--method",
            "sembridge",
            "--arch",
            "S-S",
            "--profile",
            "fast",
            "--epochs",
            "2",
            "--dynm-epochs",
            "1",
            "--config",
            str(cfg),
            "--device",
            "auto",
            "--quiet",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    record = json.loads((out / "result.json").read_text())
    assert record["environment"]["device"].startswith("cuda")
    assert (out / "pairings" / "round_001.parquet").is_file()
