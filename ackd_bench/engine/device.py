"""One code path for CPU and GPU: device choice, bf16 autocast on CUDA, channels_last everywhere.

channels_last (NHWC) also on the CPU: the ShuffleNetV2-0.5 student step runs 1.6-1.8x faster with it
(benchmarks/bench_cpu_student.py, P8 in docs/performance.md) and stays deterministic (same kernels every run).
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ackd_bench.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` -> cuda when available, else cpu. `cuda` without CUDA is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available (use --device cpu or auto)")
        return torch.device("cuda")
    raise ConfigError(f"--device {name!r}: expected auto, cpu or cuda")


def autocast(device: torch.device) -> ContextManager:
    """bf16 autocast on CUDA; nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on every device (CUDA: tensor cores; CPU: oneDNN's NHWC kernels, P8)."""
    return torch.channels_last


def prepare_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move a model to the device (channels_last)."""
    return model.to(device=device, memory_format=memory_format(device))


def prepare_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A 4-D image batch on the device (channels_last)."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=memory_format(device)) if x.dim() == 4 else x
