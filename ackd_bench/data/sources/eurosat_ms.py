"""`eurosat-ms`: EuroSAT-MS, a folder `<Class>/<name>.tif` of 13-band uint16 UTM GeoTIFFs.

The root may also be an extracted official archive (`EuroSAT_MS/<Class>/` or
`ds/images/remote_sensing/otherDatasets/sentinel_2/tif/<Class>/`): the shallowest folder that holds
class folders is used. Band order in the files is `EUROSAT_ORDER` (B8A is band 13).
Region = the UTM zone EPSG code ("32631"); footprint = raster bounds transformed to EPSG:4326.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ackd_bench.data import raster
from ackd_bench.data.bands import EUROSAT_ORDER, band_indices
from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._folders import class_files, find_class_root, rel_posix, sample_ids

TIF_EXTS = (".tif", ".tiff")


@SOURCES.register("eurosat-ms")
class EuroSATMS(Source):
    name = "eurosat-ms"
    modality = "ms"
    file_bands: tuple[str, ...] = EUROSAT_ORDER
    file_dtype: str | None = "uint16"

    def __init__(self, root, *, bands=None, size=64, **options):
        super().__init__(root, bands=bands, size=size, **options)
        self.bands = self.bands or self.file_bands
        band_indices(self.file_bands, self.bands)  # unknown band names -> ConfigError now
        self._class_root: Path | None = None

    @property
    def class_root(self) -> Path:
        if self._class_root is None:
            self._class_root = find_class_root(self.root, TIF_EXTS)
        return self._class_root

    def scan(self) -> list[RawSample]:
        items = class_files(self.class_root, TIF_EXTS)
        ids = sample_ids(items)
        samples = []
        dtype = self.file_dtype  # None: any dtype, but the same in every file
        for (cls, path), sid in zip(items, ids):
            head = raster.read_header(path)
            raster.check_header(path, head, count=len(self.file_bands), dtype=dtype)
            dtype = head.dtype
            samples.append(
                RawSample(
                    sample_id=sid,
                    class_name=cls,
                    path=rel_posix(path, self.root),
                    source=self.name,
                    region=self.region_of(head.crs),
                    height=head.height,
                    width=head.width,
                    bands=self.bands,
                    crs=head.crs,
                    footprint=raster.footprint_4326(head.crs, head.bounds),
                )
            )
        return sort_samples(samples)

    def region_of(self, crs: str | None) -> str:
        return raster.utm_region(crs) or self.root.resolve().name

    def read(self, sample: RawSample) -> np.ndarray:
        idx = band_indices(self.file_bands, sample.bands)
        return raster.read_bands(self.root / sample.path, idx, count=len(self.file_bands), dtype=self.file_dtype)
