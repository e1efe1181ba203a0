"""P7: SemBridge R-R training throughput on this device, and the projected time of a full EuroSAT-size run.

Usage: python benchmarks/gpu_throughput.py [--n 8192] [--pair R-R] [--device auto] [--out FILE]
Called by benchmarks/gpu_check.sh; on a CPU it runs as a smoke check (use small --n). Speed does not depend on
image content, so the pools are random EuroSAT-shaped tensors (64x64, 10 teacher bands, 10 classes) held on
the device; every stage is the engine's own code with the paper profile (batch 256; bf16 autocast and
channels_last on CUDA):
- teacher training img/s: `train_epoch` of the `student` method on the 10-band teacher arch,
- matcher training img/s: `fit_matcher` (the paper's two ResNet-34 towers, one epoch, + its val pass),
- student img/s for `kd` and `kd+sembridge` (cached teacher outputs, random partners), median of --repeats
  epochs after a warm-up epoch; their ratio is P1 on this device,
- one DynM round: the student's logits over its train pool (`batched_forward`) + `dynm_match`.
Projection for EuroSAT (27,000 tiles -> two pools of 13,500 -> 60 % train = 8,100 train images per pool):
200 teacher epochs + 100 matcher epochs + 200 student epochs + 4 DynM rounds, validation excluded.
Goal P7: < 10 min on one H100.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROJECT = {
    "train_per_pool": 8100,
    "teacher_epochs": 200,
    "matcher_epochs": 100,
    "student_epochs": 200,
    "dynm_rounds": 4,
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_epoch(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up (cudnn autotune, allocator)
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(args) -> dict:
    from ackd_bench.config import resolve_config
    from ackd_bench.engine.teacher_outputs import CachedTeacher, compute_outputs
    from ackd_bench.engine.trainer import train_epoch
    from ackd_bench.methods import TeacherOutput, build_method
    from ackd_bench.methods.context import PoolTensors
    from ackd_bench.methods.sembridge.matcher import MatcherData, fit_matcher
    from ackd_bench.methods.sembridge.matching import batched_forward, dynm_match
    from ackd_bench.models import build_model, resolve_pair
    from ackd_bench.runtime.device import prepare_model, resolve_device

    device = resolve_device(args.device)
    torch.manual_seed(0)
    k, n, bands, size = 10, args.n, 10, 64
    t_arch, s_arch = resolve_pair(args.pair)
    labels = (torch.arange(n) % k).to(device)
    student_pool = PoolTensors(torch.randn(n, 3, size, size, device=device), labels, [f"s{i}" for i in range(n)])
    teacher_pool = PoolTensors(torch.randn(n, bands, size, size, device=device), labels, [f"t{i}" for i in range(n)])
    cfg = resolve_config("paper", None, {"pair": args.pair, "device": args.device})
    bs, gen = cfg["batch_size"], torch.Generator(device="cpu").manual_seed(0)
    out: dict = {
        "device": device.type if device.type == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
        "torch": torch.__version__,
        "pair": args.pair,
        "n": n,
        "batch_size": bs,
        "size": size,
    }

    def fit_epoch(method, pool, partners=None, teacher=None):
        opt = torch.optim.Adam(method.learnable_parameters(), lr=1e-3)
        return lambda: train_epoch(method, opt, pool, partners, teacher, bs, gen, device)

    # teacher training (CE on the 10-band pool)
    teacher = prepare_model(build_model(t_arch, in_channels=bands, num_classes=k), device)
    t_train = build_method("student", teacher, k, {**cfg, "method": "student"})
    sec = _median_epoch(fit_epoch(t_train, teacher_pool), args.repeats, device)
    out["teacher_img_per_s"] = round(n / sec, 1)

    # cached teacher outputs, then kd and kd+sembridge student epochs
    teacher.eval()
    outputs = compute_outputs(teacher, teacher_pool, cfg["eval_batch_size"], device)
    cached = CachedTeacher(TeacherOutput(**{f: v.to(device) for f, v in outputs.items()}))
    partners = torch.randperm(n, device=device)
    ips = {}
    for name in ("kd", "sembridge"):
        student = prepare_model(build_model(s_arch, in_channels=3, num_classes=k), device)
        method = build_method(
            name, student, k, {**cfg, "method": name}, teacher_token_dim=cached.outputs.tokens.shape[-1]
        )
        method.to(device)
        ips[name] = n / _median_epoch(fit_epoch(method, student_pool, partners, cached), args.repeats, device)
    out["student_img_per_s"] = {name: round(v, 1) for name, v in ips.items()}
    out["p1_ratio_sembridge_over_kd_epoch"] = round(ips["kd"] / ips["sembridge"], 3)

    # one DynM round on the student pool
    _sync(device)
    t0 = time.perf_counter()
    s_logits = batched_forward(method.student, student_pool.x)
    dynm_match(s_logits, cached.outputs.logits.to(device), labels, labels, 3.0)
    _sync(device)
    out["dynm_round_s"] = round(time.perf_counter() - t0, 3)

    # matcher: one epoch of the paper's towers on raw-like arrays (host memory, as in the engine)
    m = min(n, args.matcher_n)
    rng = np.random.default_rng(0)
    ident = lambda x: x.float() / 255.0  # noqa: E731 - speed only
    data = MatcherData(
        rng.integers(0, 255, (m, bands, size, size), dtype=np.uint8),
        rng.integers(0, 255, (m, 3, size, size), dtype=np.uint8),
        ident,
        ident,
    )
    _sync(device)
    t0 = time.perf_counter()
    fit_matcher(data, data, bands, {"arch": args.matcher_arch, "epochs": 1, "batch_size": bs}, device)
    _sync(device)
    out["matcher_img_per_s"] = round(2 * m / (time.perf_counter() - t0), 1)  # train + val pass

    tp = PROJECT["train_per_pool"]
    proj = {
        "teacher_s": PROJECT["teacher_epochs"] * tp / out["teacher_img_per_s"],
        "matcher_s": PROJECT["matcher_epochs"] * tp / out["matcher_img_per_s"],
        "student_s": PROJECT["student_epochs"] * tp / ips["sembridge"],
        "dynm_s": PROJECT["dynm_rounds"] * out["dynm_round_s"] * tp / n,
    }
    proj["total_s"] = sum(proj.values())
    out["projection"] = {
        **PROJECT,
        **{key: round(v, 1) for key, v in proj.items()},
        "total_min": round(proj["total_s"] / 60, 2),
        "goal_min": 10,
    }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8192, help="images per pool held on the device")
    ap.add_argument("--matcher-n", type=int, default=4096)
    ap.add_argument("--matcher-arch", default="resnet34")
    ap.add_argument("--pair", default="R-R")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    result = measure(args)
    text = json.dumps(result, indent=2)
    print(text)
    p = result["projection"]
    print(
        f"P7 on {result['device']}: SemBridge {args.pair} student {result['student_img_per_s']['sembridge']} img/s; "
        f"projected full run (EuroSAT size, {p['student_epochs']} epochs): {p['total_min']} min "
        f"(goal < {p['goal_min']} min on one H100)"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
