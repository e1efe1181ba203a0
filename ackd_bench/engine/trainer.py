"""One student epoch and student evaluation, on tensors already on the device (index-permutation batching)."""

from __future__ import annotations

import time
from typing import Callable

import torch

from ackd_bench.engine.augment import Augment
from ackd_bench.engine.loops import batch_indices, forward_all
from ackd_bench.errors import ConfigError
from ackd_bench.methods.context import PoolTensors
from ackd_bench.runtime import distributed, faults
from ackd_bench.runtime.device import autocast, prepare_input


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
    augment: Augment | None = None,
) -> dict:
    """Train the distiller for one epoch; returns mean weighted losses by name, train_acc, images, seconds.

    Each step gathers the partner teachers' outputs by index: `teacher(partners[idx])` (cached or live).
    `augment(x, idx)` transforms the student images only (engine/augment.py); train_acc is on augmented images.
    """
    method.train()
    _sync(device)
    start = time.perf_counter()
    sums: dict[str, torch.Tensor] = {}
    correct = torch.zeros((), device=device)
    seen = 0
    # under torchrun: this rank's share of each global batch and its gradient weight (distributed.py);
    # in one process every batch with weight 1
    for idx, weight in distributed.shard_batches(batch_indices(len(train.labels), batch_size, gen, device)):
        x = prepare_input(train.x[idx], device)
        if augment is not None:
            x = augment(x, idx)
        y = train.labels[idx]
        t_out = teacher(partners[idx]) if partners is not None and teacher is not None else None
        with autocast(device):
            logits, losses = method.forward_train(x, t_out, y)
        loss = torch.stack([v.float() for v in losses.values()]).sum()
        optimizer.zero_grad(set_to_none=True)
        (loss * weight if weight != 1.0 else loss).backward()
        optimizer.step()
        faults.reached("student_batch")  # crash tests (runtime/faults.py); a no-op otherwise
        n = len(idx)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value.detach().float() * n
        sums["loss"] = sums.get("loss", 0.0) + loss.detach() * n
        correct += (logits.detach().argmax(1) == y).sum()
        seen += n
    _sync(device)
    seconds = time.perf_counter() - start
    if distributed.active():  # losses, accuracy and image counts over all ranks; BN running stats averaged
        names = sorted(sums)
        totals = distributed.all_reduce_sum(
            torch.stack(
                [torch.as_tensor(sums[k], dtype=torch.float64, device=device) for k in names]
                + [correct.double(), torch.tensor(float(seen), dtype=torch.float64, device=device)]
            )
        )
        sums = dict(zip(names, totals[: len(names)]))
        correct, seen = totals[len(names)], int(totals[len(names) + 1])
        distributed.average_buffers(method)
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
    # one contiguous block of rows per rank under torchrun, gathered in order (the whole pool otherwise)
    return distributed.gather_rows(
        lambda rows: forward_all(student, pool.x[rows], batch_size, device, ("logits",))["logits"], len(pool.labels)
    )
