"""P8: what channels_last, torch.compile (CPU inductor), thread count and batch size do for the student step on CPU.

Usage: python benchmarks/bench_cpu_student.py [--sizes 32,64] [--repeats 5] [--steps 4] [--no-compile]
The step is the engine's student training step without the engine around it: ShuffleNetV2-0.5 forward,
cross-entropy, backward, AdamW step, on random normalised images (3 x S x S, 10 classes), deterministic
algorithms on (as in every run). Each variant is compared with the baseline (contiguous memory, eager, batch 64,
--threads threads, default 1) in the same process: variants interleaved, median of --repeats timings of
--steps steps each after one warm-up round (defaults 3 and 3). Figures are images/s ratios variant / baseline (> 1 = faster).
torch.compile's one-off compilation time is reported separately (`compile_s`): a short run pays it once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import record  # noqa: E402

ARCH = "shufflenetv2_x0_5"


def make_step(
    size: int, batch: int, channels_last: bool = False, compiled: bool = False, seed: int = 0
) -> Callable[[], None]:
    """A closure running one training step of a fresh student on a fixed random batch."""
    from ackd_bench.models import build_model

    torch.manual_seed(seed)
    model = build_model(ARCH, in_channels=3, num_classes=10)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,))

    def loss_of(inp):
        return F.cross_entropy(model(inp).logits, y)

    fwd = torch.compile(loss_of) if compiled else loss_of

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        fwd(x).backward()
        opt.step()

    return step


def _timed(fn: Callable[[], None], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - start


def compare(variants: dict[str, tuple[Callable[[], None], int, int | None]], repeats: int, steps: int) -> dict:
    """Median images/s of each variant (fn, batch, threads), interleaved after one warm-up round."""
    default_threads = torch.get_num_threads()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for round_ in range(repeats + 1):
        for name, (fn, batch, threads) in variants.items():
            torch.set_num_threads(threads or default_threads)
            seconds = _timed(fn, steps)
            if round_:
                times[name].append(batch * steps / seconds)
    torch.set_num_threads(default_threads)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="32,64")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="threads of the baseline and the other variants")
    args = ap.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    threads = args.threads
    for size in (int(s) for s in args.sizes.split(",")):
        variants = {
            "baseline": (make_step(size, 64), 64, None),
            "channels_last": (make_step(size, 64, channels_last=True), 64, None),
            f"threads_{os.cpu_count()}": (make_step(size, 64), 64, os.cpu_count()),
            "batch_32": (make_step(size, 32), 32, None),
            "batch_128": (make_step(size, 128), 128, None),
        }
        compile_note: dict = {}
        if not args.no_compile:
            try:
                step = make_step(size, 64, compiled=True)
                start = time.perf_counter()
                step()  # compiles forward and backward
                compile_note["compile_s"] = round(time.perf_counter() - start, 2)
                variants["compile"] = (step, 64, None)
            except Exception as exc:  # report why it is not usable here
                compile_note["compile_error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                print(f"torch.compile unusable: {compile_note['compile_error']}")
        ips = compare(variants, args.repeats, args.steps)
        base = ips["baseline"]
        for name, value in ips.items():
            if name == "baseline":
                continue
            extra = {"images_per_s": round(value, 1), "baseline_images_per_s": round(base, 1)}
            if name == "compile":
                extra.update(compile_note)
            record(
                f"P8-{size}px-{name}",
                ratio=value / base,
                goal="info: images/s vs baseline (>1 faster)",
                a_s=round(64 * args.steps / base, 4),
                b_s=None,
                n=args.repeats,
                params={
                    "size": size,
                    "arch": ARCH,
                    "steps": args.steps,
                    "threads_default": threads,
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                },
                extra=extra,
            )
        if "compile_error" in compile_note:
            record(
                f"P8-{size}px-compile",
                ratio=None,
                goal="info: images/s vs baseline (>1 faster)",
                params={"size": size, "arch": ARCH},
                extra=compile_note,
            )
        print(
            f"{size}px baseline {base:.0f} images/s; "
            + ", ".join(f"{k} x{v / base:.2f}" for k, v in ips.items() if k != "baseline"),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
