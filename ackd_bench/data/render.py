"""True-colour rendering of multispectral tiles (the RGB student of `eurosat-rgb-render`, SemBridge pseudo-RGB).

rgb = round(clip(DN / 3000, 0, 1) * 255) for bands B04 (red), B03 (green), B02 (blue).
DN are Sentinel-2 L1C/L2A digital numbers (reflectance x 10000), so 3000 maps a reflectance of 0.30 to
white: bright surfaces (roofs, bare soil, clouds) saturate, vegetation and water keep their contrast.
This is the usual EuroSAT true-colour stretch (dividing by about 2750-3000 looks natural).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ackd_bench.data.bands import RGB_BANDS, band_indices

RENDER_SCALE = 3000.0  # DN that renders as 255


def render_rgb(ms: np.ndarray, band_names: Sequence[str]) -> np.ndarray:
    """(C, H, W) or (N, C, H, W) multispectral DN -> uint8 (3, H, W) / (N, 3, H, W) in R, G, B order."""
    ms = np.asarray(ms)
    if ms.ndim not in (3, 4):
        raise ValueError(f"render_rgb expects (C,H,W) or (N,C,H,W), got shape {ms.shape}")
    if ms.shape[-3] != len(band_names):
        raise ValueError(f"render_rgb: {ms.shape[-3]} channels but {len(band_names)} band names")
    idx = band_indices(tuple(band_names), RGB_BANDS)
    rgb = np.take(ms, idx, axis=-3).astype(np.float32)
    rgb = np.clip(rgb / np.float32(RENDER_SCALE), 0.0, 1.0) * np.float32(255.0)
    return np.rint(rgb).astype(np.uint8)
