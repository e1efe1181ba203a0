"""P4: KD training images/s with cached frozen-teacher outputs vs a live teacher forward per batch, R-R.

Usage: python benchmarks/bench_teacher_cache.py [--n 256] [--size 64] [--repeats 3]
The engine's own `train_epoch` on the same student (resnet34, 3 channels) and KD method, with partners'
teacher outputs either gathered from the cache (`CachedTeacher`, the default `teacher_mode: cached`) or
computed by a frozen resnet34 teacher (10 bands) in inference mode per batch (`LiveTeacher`, `teacher_mode:
live`). Random normalised inputs (speed does not depend on content); batch 64. Variants interleaved,
warm-up then the median of the repeats. Goal: ratio (cached img/s over live img/s) >= 1.6.
Also timed: the teacher forwards alone, giving the additive estimate 1 + t_teacher / t_cached of what caching
can save (the student's forward and backward stay; a backward costs about two forwards, so for R-R it is near
4/3). Measured ratios above it mean the live teacher also costs cache and allocator traffic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import interleaved_times, record  # noqa: E402

GOAL = 1.6


def main(argv: list[str] | None = None) -> dict:
    from ackd_bench.config import resolve_config
    from ackd_bench.engine.teacher_outputs import CachedTeacher, LiveTeacher, compute_outputs
    from ackd_bench.engine.trainer import train_epoch
    from ackd_bench.methods import TeacherOutput, build_method
    from ackd_bench.methods.context import PoolTensors
    from ackd_bench.models import build_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--size", type=int, default=64, help="tile size (EuroSAT: 64)")
    ap.add_argument("--bands", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    device = torch.device("cpu")
    torch.manual_seed(0)
    k = 10
    labels = torch.arange(args.n) % k
    student_pool = PoolTensors(torch.randn(args.n, 3, args.size, args.size), labels, [f"s{i}" for i in range(args.n)])
    teacher_pool = PoolTensors(
        torch.randn(args.n, args.bands, args.size, args.size), labels, [f"t{i}" for i in range(args.n)]
    )
    teacher = build_model("resnet34", in_channels=args.bands, num_classes=k).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    cached = CachedTeacher(TeacherOutput(**compute_outputs(teacher, teacher_pool, 256, device)))
    live = LiveTeacher(teacher, teacher_pool, device)
    partners = torch.randperm(args.n)
    cfg = resolve_config("paper", None, {"method": "kd", "pair": "R-R"})
    method = build_method("kd", build_model("resnet34", in_channels=3, num_classes=k), k, cfg)
    opt = torch.optim.Adam(method.learnable_parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)

    def epoch(source):
        return lambda: train_epoch(method, opt, student_pool, partners, source, args.batch_size, gen, device)

    def teacher_only():  # the work caching removes: the frozen teacher's forwards over the epoch's batches
        for start in range(0, args.n, args.batch_size):
            live(partners[start : start + args.batch_size])

    t = interleaved_times({"live": epoch(live), "cached": epoch(cached), "teacher": teacher_only}, repeats=args.repeats)
    ratio = t["live"] / t["cached"]
    additive = 1 + t["teacher"] / t["cached"]  # the ratio if caching saved exactly the teacher's forwards
    return record(
        "P4",
        ratio=round(ratio, 3),
        goal=f">= {GOAL:g}x",
        a_s=round(t["live"], 3),
        b_s=round(t["cached"], 3),
        n=args.n,
        met=ratio >= GOAL,
        params={
            "pair": "R-R",
            "method": "kd",
            "size": args.size,
            "teacher_bands": args.bands,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "device": "cpu",
            "threads": torch.get_num_threads(),
        },
        extra={
            "cached_img_per_s": round(args.n / t["cached"], 1),
            "live_img_per_s": round(args.n / t["live"], 1),
            "teacher_forward_s": round(t["teacher"], 3),
            "additive_estimate": round(additive, 3),
            "note": "a = epoch with a live teacher forward, b = epoch with cached teacher outputs; "
            "additive_estimate = 1 + teacher-forward time / cached epoch time: the ratio if caching saved "
            "exactly the teacher's forwards (same architecture on both sides: about 4/3)",
        },
    )


if __name__ == "__main__":
    main()
