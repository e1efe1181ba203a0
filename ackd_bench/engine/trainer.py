"""One student epoch and student evaluation, on tensors already on the device (index-permutation batching)."""

from __future__ import annotations

import time
from typing import Callable

import torch

from ackd_bench.engine.context import PoolTensors
from ackd_bench.engine.device import autocast, prepare_input
from ackd_bench.engine.loops import batch_indices, forward_all
from ackd_bench.errors import ConfigError


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(
    method: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train: PoolTensors,
    partners: torch.Tensor | None,
    teacher: Callable[[torch.Tensor], object] | None,
    batch_size: int,
    gen: torch.Generator,
    device: torch.device,
) -> dict:
    """Train the distiller for one epoch; returns mean weighted losses by name, train_acc, images, seconds.

    Each step gathers the partner teachers' outputs by index: `teacher(partners[idx])` (cached or live).
    """
    method.train()
    _sync(device)
    start = time.perf_counter()
    sums: dict[str, torch.Tensor] = {}
    correct = torch.zeros((), device=device)
    seen = 0
    for idx in batch_indices(len(train.labels), batch_size, gen, device):
        x = prepare_input(train.x[idx], device)
        y = train.labels[idx]
        t_out = teacher(partners[idx]) if partners is not None and teacher is not None else None
        with autocast(device):
            logits, losses = method.forward_train(x, t_out, y)
        loss = torch.stack([v.float() for v in losses.values()]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = len(idx)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value.detach().float() * n
        sums["loss"] = sums.get("loss", 0.0) + loss.detach() * n
        correct += (logits.detach().argmax(1) == y).sum()
        seen += n
    _sync(device)
    seconds = time.perf_counter() - start
    means = {name: float(total) / max(seen, 1) for name, total in sums.items()}
    if not all(map(_finite, means.values())):
        raise ConfigError(f"training diverged: non-finite loss {means} (try a lower --lr / config lr)")
    return {"losses": means, "train_acc": float(correct) / max(seen, 1), "images": seen, "seconds": seconds}


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))


def predict_logits(student: torch.nn.Module, pool: PoolTensors, batch_size: int, device: torch.device) -> torch.Tensor:
    """Student logits (float32, CPU) for every image of `pool`, eval mode."""
    if len(pool.labels) == 0:
        return torch.zeros((0, 0))
    return forward_all(student, pool.x, batch_size, device, ("logits",))["logits"]
