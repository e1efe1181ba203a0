"""`eurosat-rgb-render`: RGB student images rendered from the MS tiles of a eurosat-ms-layout root.

Each sample is `render_rgb` of one MS tile (B04, B03, B02 / 3000, clipped, x255, rounded; see
`ackd_bench.data.render`), resized to `size` (bilinear) when the tile has another size. Samples carry
`extra={"rendered_from": <eurosat-ms sample_id>}` (the SCKD pairs) and the tile's footprint and region.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ackd_bench.data import raster
from ackd_bench.data.bands import EUROSAT_ORDER, RGB_BANDS, band_indices
from ackd_bench.data.render import render_rgb
from ackd_bench.data.sources import SOURCES, RawSample, Source
from ackd_bench.data.sources.eurosat_ms import EuroSATMS
from ackd_bench.data.sources.imagefolder_rgb import RGB_NAMES, resize_rgb


@SOURCES.register("eurosat-rgb-render")
class EuroSATRGBRender(Source):
    name = "eurosat-rgb-render"
    modality = "rgb"

    def __init__(self, root, *, bands=None, size=64, **options):
        super().__init__(root, bands=None, size=size, **options)
        self.bands = RGB_NAMES
        self._ms = EuroSATMS(root, bands=EUROSAT_ORDER, size=size)

    def scan(self) -> list[RawSample]:
        out = []
        for s in self._ms.scan():
            out.append(
                dataclasses.replace(
                    s,
                    sample_id=f"{s.sample_id}_rgb",
                    source=self.name,
                    height=self.size,
                    width=self.size,
                    bands=self.bands,
                    extra={"rendered_from": s.sample_id},
                )
            )
        return out

    def read(self, sample: RawSample) -> np.ndarray:
        idx = band_indices(EUROSAT_ORDER, RGB_BANDS)
        ms = raster.read_bands(self.root / sample.path, idx, count=len(EUROSAT_ORDER), dtype="uint16")
        return resize_rgb(render_rgb(ms, RGB_BANDS), self.size)
