"""Self-supervised Semantic Matcher (SSM): MS tower vs pseudo-RGB tower, contrastive, label-free.

Positive pair = one MS tile and its own true-colour rendering (B04, B03, B02 via `render_rgb`), the
pseudo-RGB normalised EXACTLY like real student RGB (`bench.student_norm()`), so the RGB tower sees the
same input distribution at training time and at retrieval time (the official code did not).
Trained on the teacher TRAIN pool, selected on the teacher VAL loss, cached under
`<cache>/matchers/<key>.pt` with a JSON sidecar holding sha256, val loss and the config.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from filelock import FileLock
from torch import nn

from ackd_bench.errors import ConfigError, DataError
from ackd_bench.io import atomic_write_json, canonical_json, sha256_bytes, sha256_file
from ackd_bench.models import EMBED_DIM, BackboneOutput, build_model
from ackd_bench.runtime import faults
from ackd_bench.runtime.checkpoint import load_checkpoint, save_checkpoint
from ackd_bench.runtime.device import numerics

MATCHER_FORMAT = 1
LOSSES = ("infonce", "clip_soft")
MATCHER_DEFAULTS: dict[str, Any] = {
    "arch": "resnet34",  # paper; any ackd_bench.models name, or "tiny" (3-conv tower for CPU tests/demos)
    "epochs": 100,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 1e-3,
    "proj_dim": 256,
    "dropout": 0.1,
    "loss": "infonce",  # or "clip_soft" (the official soft-target CLIP loss)
    "temperature": 0.1,  # InfoNCE temperature on L2-normalised projections
    "clip_temperature": 1.0,  # official soft-target loss temperature
    "norm": "mean_std",  # teacher normalisation mode (bench.teacher_norm)
    "seed": 42,
}


def resolve_matcher_cfg(cfg: dict | None) -> dict[str, Any]:
    """Defaults overlaid with `cfg` (unknown keys are a ConfigError)."""
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(MATCHER_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown matcher option(s) {', '.join(unknown)} (known: {', '.join(MATCHER_DEFAULTS)})")
    out = {**MATCHER_DEFAULTS, **cfg}
    if out["loss"] not in LOSSES:
        raise ConfigError(f"unknown matcher loss {out['loss']!r} (known: {', '.join(LOSSES)})")
    if int(out["epochs"]) < 1 or int(out["batch_size"]) < 2:
        raise ConfigError("matcher epochs must be >= 1 and batch_size >= 2")
    return out


class ProjectionHead(nn.Module):
    """Linear(512->p) -> GELU -> Linear(p->p) -> Dropout -> + first Linear's output -> LayerNorm."""

    def __init__(self, in_dim: int = EMBED_DIM, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        return self.norm(self.drop(self.fc2(F.gelu(h))) + h)


class TinyTower(nn.Module):
    """A 3-conv tower (~12 MMAC per 64x64 image) for CPU tests and demos; same output type as backbones."""

    def __init__(self, in_channels: int, width: int = 32):
        super().__init__()
        layers, c = [], in_channels
        for out in (width, 2 * width, 4 * width):
            layers += [
                nn.Conv2d(c, out, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            c = out
        self.features = nn.Sequential(*layers)
        self.embed = nn.Linear(c, EMBED_DIM)
        self.token_dim = c

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        f = self.features(x)
        emb = self.embed(f.mean(dim=(2, 3)))
        return BackboneOutput(f.flatten(2).transpose(1, 2), emb, emb[:, :0])


def build_tower(arch: str, in_channels: int) -> nn.Module:
    """A matcher tower: a registered backbone (classifier unused) or the local "tiny" tower."""
    return TinyTower(in_channels) if arch == "tiny" else build_model(arch, in_channels, 1)


class Matcher(nn.Module):
    """Two towers (MS with the teacher bands, RGB with 3 channels) and their projection heads."""

    def __init__(self, arch: str, ms_channels: int, proj_dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.ms_tower = build_tower(arch, ms_channels)
        self.rgb_tower = build_tower(arch, 3)
        self.ms_head = ProjectionHead(EMBED_DIM, proj_dim, dropout)
        self.rgb_head = ProjectionHead(EMBED_DIM, proj_dim, dropout)

    def encode_ms(self, x: torch.Tensor) -> torch.Tensor:
        return self.ms_head(self.ms_tower(x).embedding)

    def encode_rgb(self, x: torch.Tensor) -> torch.Tensor:
        return self.rgb_head(self.rgb_tower(x).embedding)


def infonce_loss(u: torch.Tensor, w: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE on L2-normalised projections: 1/2 (CE(S, I) + CE(S^T, I)), S = u w^T / t."""
    s = F.normalize(u, dim=1) @ F.normalize(w, dim=1).T / temperature
    target = torch.arange(len(s), device=s.device)
    return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.T, target))


def clip_soft_loss(u: torch.Tensor, w: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The official soft-target CLIP loss on raw projections (spec §3.2 a)."""
    logits = w @ u.T / temperature
    targets = torch.softmax((u @ u.T + w @ w.T) / 2 * temperature, dim=1)
    row = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)
    col = -(targets.T * F.log_softmax(logits.T, dim=1)).sum(dim=1)
    return (0.5 * (row + col)).mean()


def matcher_loss(u: torch.Tensor, w: torch.Tensor, cfg: dict) -> torch.Tensor:
    if cfg["loss"] == "clip_soft":
        return clip_soft_loss(u, w, float(cfg["clip_temperature"]))
    return infonce_loss(u, w, float(cfg["temperature"]))


@dataclass
class MatcherData:
    """Raw arrays of one split plus the normalisers that turn a batch into model input."""

    ms: np.ndarray  # (N, C, H, W) raw MS
    rgb: np.ndarray  # (N, 3, H, W) uint8 pseudo-RGB
    ms_norm: Callable[[torch.Tensor], torch.Tensor]
    rgb_norm: Callable[[torch.Tensor], torch.Tensor]

    def __len__(self) -> int:
        return len(self.ms)

    def batch(self, idx: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        ms = self.ms_norm(torch.from_numpy(np.ascontiguousarray(self.ms[idx]))).float()
        rgb = self.rgb_norm(torch.from_numpy(np.ascontiguousarray(self.rgb[idx]))).float()
        return ms.to(device), rgb.to(device)


def pseudo_rgb(ms_raw: np.ndarray, band_names: tuple[str, ...], chunk: int = 2048) -> np.ndarray:
    """uint8 (N,3,H,W) true-colour renderings of raw MS tiles (chunked to bound memory)."""
    from ackd_bench.data.render import render_rgb

    return np.concatenate([render_rgb(ms_raw[i : i + chunk], band_names) for i in range(0, len(ms_raw), chunk)])


def matcher_data(bench: Any, split: str, bands: tuple[str, ...], norm: str) -> MatcherData:
    """Teacher pool split -> MS (teacher bands) + pseudo-RGB (B04,B03,B02 of the same tiles)."""
    from ackd_bench.data.bands import RGB_BANDS

    ms = bench.load_arrays("teacher", split, bands=tuple(bands))
    rgb_src = bench.load_arrays("teacher", split, bands=RGB_BANDS)
    if list(ms.sample_ids) != list(rgb_src.sample_ids):
        raise DataError(f"teacher {split} arrays disagree on sample order between band selections")
    rgb = pseudo_rgb(np.asarray(rgb_src.x), tuple(rgb_src.bands))
    return MatcherData(np.asarray(ms.x), rgb, bench.teacher_norm(tuple(bands), mode=norm), bench.student_norm())


def _epoch_loss(
    model: Matcher,
    data: MatcherData,
    order: np.ndarray,
    cfg: dict,
    device: torch.device,
    opt: torch.optim.Optimizer | None = None,
    sched: Any = None,
) -> float:
    """One pass over `data` in `order` (training when `opt` is given); returns the mean loss per sample."""
    bs, total, count = int(cfg["batch_size"]), 0.0, 0
    for start in range(0, len(order), bs):
        idx = order[start : start + bs]
        if len(idx) < 2:  # a contrastive batch needs negatives (and BatchNorm needs 2 samples)
            continue
        ms, rgb = data.batch(idx, device)
        loss = matcher_loss(model.encode_ms(ms), model.encode_rgb(rgb), cfg)
        if opt is not None:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
    return total / max(count, 1)


def fit_matcher(
    train: MatcherData, val: MatcherData, ms_channels: int, cfg: dict, device: torch.device | str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train a matcher; returns the best-val-loss state dict and a summary (val_loss, best_epoch, history).

    AdamW; cosine LR decay stepped every batch; model selection on the real val loss.
    """
    cfg = resolve_matcher_cfg(cfg)
    device = torch.device(device)
    if len(train) < 2 or len(val) < 2:
        raise DataError(f"matcher needs >= 2 train and >= 2 val teacher tiles (got {len(train)}, {len(val)})")
    # the global RNG is seeded for the matcher and restored afterwards: a run that trains the matcher and one
    # that finds it cached continue from the same RNG state (exact resume after a crash; tests/test_crash_resume)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(cfg["seed"]))
        return _fit(train, val, ms_channels, cfg, device)


def _fit(
    train: MatcherData, val: MatcherData, ms_channels: int, cfg: dict, device: torch.device
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    rng = np.random.default_rng(int(cfg["seed"]))
    model = Matcher(cfg["arch"], ms_channels, int(cfg["proj_dim"]), float(cfg["dropout"])).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    steps = int(cfg["epochs"]) * math.ceil(len(train) / int(cfg["batch_size"]))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    best_state, best_loss, best_epoch, history = None, math.inf, -1, []
    val_order = np.arange(len(val))
    for epoch in range(int(cfg["epochs"])):
        model.train()
        train_loss = _epoch_loss(model, train, rng.permutation(len(train)), cfg, device, opt, sched)
        model.eval()
        with torch.inference_mode():
            val_loss = _epoch_loss(model, val, val_order, cfg, device)
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": opt.param_groups[0]["lr"]}
        )
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        faults.reached("matcher_epoch")
    return best_state, {"val_loss": best_loss, "best_epoch": best_epoch, "history": history}


@dataclass
class MatcherInfo:
    """A cached matcher checkpoint and what it was trained on."""

    path: Path
    sha256: str
    val_loss: float
    key: str
    arch: str
    bands: list[str]
    ms_channels: int
    best_epoch: int
    config: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    train_s: float = 0.0
    cached: bool = False

    def summary(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "val_loss": self.val_loss}


def matcher_key(bench: Any, bands: tuple[str, ...], cfg: dict, device: torch.device | str) -> str:
    """Cache key from (benchmark manifests sha256, bands, arch, config hash, seed, numerics of the training
    device: device type, autocast, deterministic mode, torch version)."""
    payload = {
        "format": MATCHER_FORMAT,
        "manifests_sha256": dict(bench.manifests_sha256),
        "bands": list(bands),
        "config": cfg,
        "numerics": numerics(torch.device(device)),
    }
    return f"{cfg['arch']}-s{cfg['seed']}-{sha256_bytes(canonical_json(payload).encode())[:16]}"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _read_info(path: Path) -> MatcherInfo | None:
    """The cached MatcherInfo when the checkpoint and its sidecar exist, the sidecar is readable and the
    checkpoint's sha256 matches it; None otherwise (absent, partial, corrupt: the caller retrains)."""
    side = _sidecar(path)
    if not (path.is_file() and side.is_file()):
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or sha256_file(path) != meta.get("sha256"):
            return None
        meta.pop("path", None)
        meta.pop("cached", None)
        return MatcherInfo(path=path, cached=True, **meta)
    except (ValueError, TypeError):  # not JSON / not UTF-8 / fields that are not MatcherInfo's
        return None


def train_matcher(
    bench: Any,
    cfg: dict | None,
    device: torch.device | str,
    cache_dir: str | Path,
    bands: tuple[str, ...] | None = None,
) -> MatcherInfo:
    """Train (or load from cache) the SSM matcher for `bench` and the teacher `bands`."""
    cfg = resolve_matcher_cfg(cfg)
    bands = bench.run_bands(bands)
    key = matcher_key(bench, bands, cfg, device)
    path = Path(cache_dir) / "matchers" / f"{key}.pt"
    cached = _read_info(path)
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.parent / f".{key}.lock")):  # concurrent runs: one trains, the others then reuse it
        cached = _read_info(path)
        return cached if cached is not None else _train_and_store(bench, cfg, device, path, key, bands)


def _train_and_store(
    bench: Any, cfg: dict, device: torch.device | str, path: Path, key: str, bands: tuple[str, ...]
) -> MatcherInfo:
    start = time.perf_counter()
    train = matcher_data(bench, "train", bands, cfg["norm"])
    val = matcher_data(bench, "val", bands, cfg["norm"])
    state, summary = fit_matcher(train, val, len(bands), cfg, device)
    save_checkpoint(
        path,
        {
            "format": MATCHER_FORMAT,
            "state_dict": state,
            "arch": cfg["arch"],
            "ms_channels": len(bands),
            "proj_dim": int(cfg["proj_dim"]),
            "dropout": float(cfg["dropout"]),
        },
    )
    info = MatcherInfo(
        path=path,
        sha256=sha256_file(path),
        val_loss=float(summary["val_loss"]),
        key=key,
        arch=cfg["arch"],
        bands=list(bands),
        ms_channels=len(bands),
        best_epoch=int(summary["best_epoch"]),
        config=cfg,
        history=summary["history"],
        train_s=time.perf_counter() - start,
    )
    meta = {k: v for k, v in asdict(info).items() if k not in ("path", "cached")}
    atomic_write_json(_sidecar(path), meta)
    return info


def load_matcher(path: str | Path, device: torch.device | str = "cpu", sha256: str | None = None) -> Matcher:
    """Load a cached matcher (weights_only) in eval mode; verifies `sha256` when given."""
    ckpt = load_checkpoint(path, map_location="cpu", sha256=sha256)  # weights_only; missing/corrupt -> DataError
    if not isinstance(ckpt, dict) or ckpt.get("format") != MATCHER_FORMAT:
        raise DataError(
            f"unsupported matcher checkpoint format "
            f"{ckpt.get('format') if isinstance(ckpt, dict) else type(ckpt).__name__!r}",
            path,
        )
    model = Matcher(ckpt["arch"], int(ckpt["ms_channels"]), int(ckpt["proj_dim"]), float(ckpt["dropout"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.to(torch.device(device)).eval()


@torch.inference_mode()
def embed(
    encode: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    get_batch: Callable[[slice], torch.Tensor],
    batch_size: int = 256,
) -> torch.Tensor:
    """Run `encode` over n items fetched by slices; returns the stacked (n, d) projections."""
    return torch.cat([encode(get_batch(slice(s, min(s + batch_size, n)))) for s in range(0, n, batch_size)])
