"""Small building blocks shared by the teacher and student loops: batching, optimisers, inference."""

from __future__ import annotations

import torch

from ackd_bench.runtime.device import autocast, prepare_input


def batch_indices(n: int, batch_size: int, gen: torch.Generator, device: torch.device) -> list[torch.Tensor]:
    """A seeded permutation of range(n) cut into batches; a trailing batch of one is dropped (BatchNorm)."""
    perm = torch.randperm(n, generator=gen)
    batches = [perm[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return [b.to(device) for b in batches]


def make_optimizer(params, opt_cfg: dict) -> torch.optim.Optimizer:
    """Adam (L2 weight decay), AdamW (decoupled weight decay) or SGD from a config dict with optimizer, lr,
    weight_decay, momentum."""
    params = [p for p in params if p.requires_grad]
    if opt_cfg["optimizer"] == "sgd":
        return torch.optim.SGD(
            params, lr=opt_cfg["lr"], momentum=opt_cfg["momentum"], weight_decay=opt_cfg["weight_decay"]
        )
    if opt_cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=opt_cfg["lr"], weight_decay=opt_cfg["weight_decay"])
    return torch.optim.Adam(params, lr=opt_cfg["lr"], weight_decay=opt_cfg["weight_decay"])


def make_scheduler(optimizer: torch.optim.Optimizer, cosine: bool, epochs: int):
    """Cosine annealing over `epochs` (stepped once per epoch), or a constant learning rate."""
    if cosine:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _epoch: 1.0)


@torch.no_grad()
def forward_all(
    model: torch.nn.Module,
    x: torch.Tensor,
    batch_size: int,
    device: torch.device,
    fields: tuple[str, ...] = ("logits",),
) -> dict[str, torch.Tensor]:
    """Run a backbone over `x` in eval mode; returns the requested BackboneOutput fields as float32 CPU tensors."""
    was_training = model.training
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {f: [] for f in fields}
    try:
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                with autocast(device):
                    out = model(prepare_input(x[i : i + batch_size], device))
                for f in fields:
                    parts[f].append(getattr(out, f).float().cpu())
    finally:
        model.train(was_training)
    result = {}
    for f in fields:
        result[f] = torch.cat(parts[f]) if parts[f] else torch.zeros(0)
    return result
