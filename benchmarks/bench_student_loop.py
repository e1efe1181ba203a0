"""P5: epoch time of `run --method student` vs a minimal hand-written PyTorch loop, same data and model.

Usage: python benchmarks/bench_student_loop.py [--pair S-S] [--per-class 500] [--epochs 4]
A synthetic-large-recipe benchmark (10 classes, 32x32, --per-class tiles per pool; 60% train, 20% val).
- engine (a): `engine.run.StudentRun.epoch(e)` of a `student` run, i.e. everything one epoch of
  `ackd-bench run` does: the epoch's pairing table, the training loop, validation, metrics line, last.pt/best.pt.
- hand (b): the same student arch, Adam 1e-3, batch 64, the same normalised tensors: randperm batches,
  forward, cross-entropy, backward, step; then a no-grad validation pass. No checkpoints.
Epochs of the two alternate (a b a b ...); epoch 0 of each is the warm-up; median of the rest.
Goal: ratio a / b <= 1.05. `train_only_ratio` compares the training loops alone (metrics `epoch_s` vs b's
training part).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import build_synthetic, open_run, private_cache, run_config  # noqa: E402
from benchmarks.harness import record  # noqa: E402

GOAL = 1.05


class HandLoop:
    """The minimal loop a user would write by hand."""

    def __init__(self, arch: str, train, val, num_classes: int, batch_size: int, seed: int = 0):
        from ackd_bench.models import build_model

        torch.manual_seed(seed)
        self.model = build_model(arch, in_channels=3, num_classes=num_classes)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.train, self.val, self.bs = train, val, batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        x, y = self.train.x, self.train.labels
        self.model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(y), generator=self.gen)
        for i in range(0, len(y), self.bs):
            idx = perm[i : i + self.bs]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(self.model(x[idx]).logits, y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        train_s = time.perf_counter() - start
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(self.val.labels), 256):
                self.model(self.val.x[i : i + 256]).logits.argmax(1)
        return train_s


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", default="S-S")
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args(argv)
    with private_cache(), tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_synthetic(tmp / "bench", per_class=args.per_class)
        cfg = run_config(tmp / "bench", "student", args.pair, args.epochs)
        run = open_run(cfg, tmp / "run")
        hand = HandLoop(
            run.cfg["student_arch"], run.student["train"], run.student["val"], run.bench.num_classes, cfg["batch_size"]
        )
        engine_s, engine_train_s, hand_s, hand_train_s = [], [], [], []
        for e in range(args.epochs):
            t = time.perf_counter()
            row = run.epoch(e)
            engine_s.append(time.perf_counter() - t)
            engine_train_s.append(row["epoch_s"])
            t = time.perf_counter()
            hand_train_s.append(hand.epoch())
            hand_s.append(time.perf_counter() - t)
        n = len(run.student["train"].labels)
    a, b = statistics.median(engine_s[1:]), statistics.median(hand_s[1:])
    train_ratio = statistics.median(engine_train_s[1:]) / statistics.median(hand_train_s[1:])
    return record(
        "P5",
        ratio=round(a / b, 3),
        goal=f"<= {GOAL:g}",
        a_s=round(a, 3),
        b_s=round(b, 3),
        n=n,
        met=a / b <= GOAL,
        params={
            "pair": args.pair,
            "student_arch": run.cfg["student_arch"],
            "per_class": args.per_class,
            "size": 32,
            "train_images": n,
            "val_images": len(run.student["val"].labels),
            "batch_size": cfg["batch_size"],
            "epochs": args.epochs,
            "warmup_epochs": 1,
            "device": "cpu",
        },
        extra={
            "train_only_ratio": round(train_ratio, 3),
            "note": "a = one `run --method student` epoch (train + val + checkpoints), b = hand loop (train + val)",
        },
    )


if __name__ == "__main__":
    main()
