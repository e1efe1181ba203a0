"""`multiband-tif`: a generic one-folder-per-class GeoTIFF set with named bands (e.g. NaSC-TG2, 14 bands).

Option `band_names` (required): comma list or sequence, in file order. Every file must have exactly
that many bands, any dtype but the same in every file. Footprint and region (the EPSG code, e.g. the
UTM zone "32631") come from the CRS when the files have one; option `region` overrides the region;
without CRS and option the region is the root folder's name.
"""

from __future__ import annotations

from ackd_bench.data.bands import resolve_band_set, validate_band_names
from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.eurosat_ms import EuroSATMS
from ackd_bench.errors import ConfigError


@SOURCES.register("multiband-tif")
class MultibandTif(EuroSATMS):
    name = "multiband-tif"
    modality = "ms"
    defaults = {"band_names": None, "region": None}
    file_dtype = None

    def __init__(self, root, *, bands=None, size=64, **options):
        spec = options.get("band_names")
        if not spec:
            raise ConfigError("source 'multiband-tif' needs option band_names (comma list of the file's bands)")
        self.file_bands = resolve_band_set(spec)
        validate_band_names(self.file_bands)
        super().__init__(root, bands=bands, size=size, **options)

    def region_of(self, crs: str | None) -> str:
        return str(self.options["region"] or super().region_of(crs))
