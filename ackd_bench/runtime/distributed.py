"""Multi-process training under `torchrun` (DistributedDataParallel); a no-op in a plain single process.

`torchrun --nproc_per_node N -m ackd_bench run ...` sets WORLD_SIZE, RANK, LOCAL_RANK and the rendezvous
variables; `session(device)` then joins the process group (nccl on CUDA, gloo on CPU) and pins
cuda:LOCAL_RANK. Without WORLD_SIZE (or with WORLD_SIZE=1) every helper here returns at once and the engine
runs exactly as in one process.

Rules of the engine under torchrun (docs/scale.md, "Multi-GPU and multi-node"):
* `batch_size` is the GLOBAL batch: every rank draws the same seeded permutation and takes a strided share
  of each global batch (`shard_batches`), so each step sees the same images as a 1-process run and DDP
  averages the gradients. The learning rate is therefore used as configured (linear scaling rule with a
  factor global batch / configured batch = 1).
* Work over whole pools (evaluation, DynM student logits, matcher gallery embeddings, transport costs) is
  split into contiguous row blocks, one per rank, and gathered in order (`gather_rows`); every rank then
  computes the same pairing from the same gathered tensors.
* BatchNorm running statistics are averaged over ranks after every epoch (`average_buffers`).
* Caches (teacher, teacher outputs, matcher) are filled by rank 0 while the other ranks wait
  (`main_first`); only rank 0 writes the run folder (`is_main`).
"""

from __future__ import annotations

import contextlib
import datetime
import os
from typing import Callable, Iterator

import torch
import torch.distributed as dist

from ackd_bench.runtime.device import resolve_device

# Long: other ranks wait at a barrier while rank 0 trains the teacher / matcher when the cache lacks them.
DEFAULT_TIMEOUT_S = 12 * 3600


def env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(device_type: str) -> bool:
    """Join the torchrun process group when WORLD_SIZE > 1; returns True when this call initialised it.

    nccl for CUDA (and sets the current device to cuda:LOCAL_RANK), gloo for CPU. The barrier timeout is
    $ACKD_DIST_TIMEOUT_S (default 12 h) because ranks wait while rank 0 fills the teacher/matcher cache.
    """
    if env_world_size() <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    backend = "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "nccl"
    timeout = datetime.timedelta(seconds=int(os.environ.get("ACKD_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S)))
    dist.init_process_group(backend=backend, timeout=timeout)
    return True


@contextlib.contextmanager
def session(device_name: str | None) -> Iterator[None]:
    """Process group for the duration of one command (init from the torchrun environment, destroy after)."""
    started = False
    if env_world_size() > 1:
        started = init_from_env(resolve_device(device_name or "auto").type)
    try:
        yield
    finally:
        if started:
            dist.destroy_process_group()


def barrier() -> None:
    if active():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. fills a cache); the others run it after rank 0 has finished it."""
    if not active():
        yield
        return
    if not is_main():
        dist.barrier()
    try:
        yield
    finally:
        if is_main():
            dist.barrier()


def _comm_device(t: torch.Tensor) -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of `t` over ranks (a new tensor on t's device); `t` itself when not distributed."""
    if not active():
        return t
    buf = t.detach().to(_comm_device(t), dtype=torch.float64 if t.is_floating_point() else torch.int64).clone()
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.to(t.device, dtype=t.dtype)


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    if not active():
        return t
    return all_reduce_sum(t) / world()


def shard_range(n: int) -> tuple[int, int]:
    """This rank's contiguous block [lo, hi) of n rows (block sizes differ by at most one)."""
    w, r = world(), rank()
    return r * n // w, (r + 1) * n // w


def all_gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's `t` along dim 0 in rank order (shapes may differ in dim 0; empty ones skipped)."""
    if not active():
        return t
    parts: list = [None] * world()
    dist.all_gather_object(parts, t.detach().cpu())
    parts = [p for p in parts if p.numel() > 0]
    out = torch.cat(parts) if parts else t.detach().cpu()
    return out.to(t.device)


def gather_rows(fn: Callable[[slice], torch.Tensor], n: int) -> torch.Tensor:
    """`fn(slice(0, n))` computed as one contiguous block per rank and gathered in row order."""
    if not active() or n < world():  # (fewer rows than ranks: every rank computes them all)
        return fn(slice(0, n))
    lo, hi = shard_range(n)
    return all_gather_cat(fn(slice(lo, hi)))


def shard_batches(batches: list[torch.Tensor], min_per_rank: int = 2) -> list[tuple[torch.Tensor, float]]:
    """(this rank's strided share of every global batch, its gradient weight); same permutation on all ranks.

    The weight world * len(share) / len(batch) makes DDP's gradient average equal the gradient of the loss
    averaged over the whole global batch when the shares differ in size (1.0 when they are equal). Batches
    too small to give each rank `min_per_rank` images (only the trailing one can be) are dropped on every
    rank, so all ranks take the same number of steps and no BatchNorm sees a single image.
    In one process: every batch with weight 1.0.
    """
    if not active():
        return [(b, 1.0) for b in batches]
    w, r = world(), rank()
    return [(b[r::w], w * len(b[r::w]) / len(b)) for b in batches if len(b) >= w * min_per_rank]


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating-point buffers (BatchNorm running statistics) over ranks, in place."""
    if not active():
        return
    module = getattr(module, "module", module)
    for buf in module.buffers():
        if buf.is_floating_point():
            buf.copy_(all_reduce_mean(buf))


class _TrainStep(torch.nn.Module):
    """Routes DDP's forward to the Distiller's forward_train (the method's own forward is inference)."""

    def __init__(self, method: torch.nn.Module):
        super().__init__()
        self.method = method

    def forward(self, x, teacher, labels):
        return self.method.forward_train(x, teacher, labels)


class DistributedMethod:
    """The training view of a Distiller under DDP: forward_train goes through DistributedDataParallel.

    The student and every learnable method module (planners, CTKD temperature, ...) are inside `method`, so
    DDP averages all their gradients. broadcast_buffers is off: each rank's BatchNorm uses its own batch in
    training; running statistics are averaged at the end of each epoch (`average_buffers`).
    """

    def __init__(self, method: torch.nn.Module, device: torch.device):
        from torch.nn.parallel import DistributedDataParallel as DDP

        self.module = method
        device_ids = (
            [device.index if device.index is not None else torch.cuda.current_device()]
            if device.type == "cuda"
            else None
        )
        # no buffer broadcast in forward (`forward_sync_buffers` in newer torch, `broadcast_buffers` before);
        # find_unused_parameters: ablations leave modules unused (e.g. SemBridge planners with no_ot1)
        import inspect

        no_sync = (
            "forward_sync_buffers"
            if "forward_sync_buffers" in inspect.signature(DDP).parameters
            else "broadcast_buffers"
        )
        self.ddp = DDP(_TrainStep(method), device_ids=device_ids, find_unused_parameters=True, **{no_sync: False})

    def train(self, mode: bool = True) -> "DistributedMethod":
        self.module.train(mode)
        return self

    def forward_train(self, x, teacher, labels):
        return self.ddp(x, teacher, labels)


def wrap_method(method: torch.nn.Module, device: torch.device):
    """DistributedMethod(method) under torchrun, else `method` itself (nothing changes in one process)."""
    return DistributedMethod(method, device) if active() else method
