"""One code path for CPU and GPU: device choice, bf16 autocast on CUDA, channels_last everywhere.

bf16 autocast is used on CUDA only when deterministic mode is off (`autocast_dtype`): a deterministic run
computes in float32. channels_last (NHWC) also on the CPU: the ShuffleNetV2-0.5 student step runs 1.6-1.8x
faster with it (benchmarks/bench_cpu_student.py, P8 in docs/performance.md) and stays deterministic (the same
kernels every run). `numerics(device)` names everything here that changes the numbers; the teacher,
teacher-output and matcher caches put it in their keys.
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


def autocast_dtype(device_type: str, deterministic: bool) -> torch.dtype | None:
    """The autocast dtype for a device type: bf16 on CUDA unless deterministic mode is on; None = float32."""
    return torch.bfloat16 if device_type == "cuda" and not deterministic else None


def autocast(device: torch.device) -> ContextManager:
    """bf16 autocast on CUDA outside deterministic mode (torch's global flag, set by seed.set_deterministic);
    nothing on CPU."""
    dtype = autocast_dtype(device.type, torch.are_deterministic_algorithms_enabled())
    if dtype is not None:
        return torch.autocast(device.type, dtype=dtype)
    return contextlib.nullcontext()


def numerics(device: torch.device, deterministic: bool | None = None) -> dict:
    """Everything that changes the numbers computed on `device` (for cache keys and records): device type,
    autocast dtype, deterministic mode (default: torch's current global flag) and the torch version."""
    if deterministic is None:
        deterministic = torch.are_deterministic_algorithms_enabled()
    dtype = autocast_dtype(device.type, deterministic)
    return {
        "device": device.type,
        "autocast": str(dtype).removeprefix("torch.") if dtype else None,
        "deterministic": bool(deterministic),
        "torch": torch.__version__,
        "memory_format": str(memory_format(device)).removeprefix("torch."),
    }


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
