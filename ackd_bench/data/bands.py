"""Sentinel-2 band metadata. Everything downstream selects bands by NAME, never by index."""

from __future__ import annotations

from dataclasses import dataclass

from ackd_bench.errors import ConfigError


@dataclass(frozen=True)
class Band:
    name: str
    wavelength_nm: float  # centre wavelength (Sentinel-2A MSI)
    resolution_m: int  # native ground sampling distance
    description: str


SENTINEL2_BANDS: dict[str, Band] = {
    b.name: b
    for b in [
        Band("B01", 442.7, 60, "coastal aerosol"),
        Band("B02", 492.4, 10, "blue"),
        Band("B03", 559.8, 10, "green"),
        Band("B04", 664.6, 10, "red"),
        Band("B05", 704.1, 20, "red edge 1"),
        Band("B06", 740.5, 20, "red edge 2"),
        Band("B07", 782.8, 20, "red edge 3"),
        Band("B08", 832.8, 10, "NIR"),
        Band("B8A", 864.7, 20, "narrow NIR"),
        Band("B09", 945.1, 60, "water vapour"),
        Band("B10", 1373.5, 60, "SWIR cirrus"),
        Band("B11", 1613.7, 20, "SWIR 1"),
        Band("B12", 2202.4, 20, "SWIR 2"),
    ]
}

# Band order inside the EuroSAT-MS GeoTIFFs: B01..B12, then B8A as band 13 (torchgeo #2458 / PR #2480).
EUROSAT_ORDER: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B09",
    "B10",
    "B11",
    "B12",
    "B8A",
)

BAND_SETS: dict[str, tuple[str, ...]] = {
    "all13": EUROSAT_ORDER,
    # Default: the 10 bands at 10/20 m (no atmospheric B01/B09/B10).
    "s2_10": ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"),
    # What the official ACKD code read (rasterio indexes 1-7,10,11,12): fidelity runs only.
    "paper10": ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B10", "B11", "B12"),
    "rgb": ("B04", "B03", "B02"),
}
DEFAULT_BAND_SET = "s2_10"
RGB_BANDS: tuple[str, ...] = BAND_SETS["rgb"]


def resolve_band_set(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A band-set name (`s2_10`) or a comma list / sequence of band names -> tuple of band names."""
    if isinstance(spec, str):
        if spec in BAND_SETS:
            return BAND_SETS[spec]
        names = tuple(s.strip() for s in spec.split(",") if s.strip())
    else:
        names = tuple(spec)
    if not names:
        raise ConfigError(f"empty band set {spec!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"band set {spec!r} names a band twice")
    return names


def band_indices(available: tuple[str, ...] | list[str], wanted: tuple[str, ...] | list[str]) -> list[int]:
    """0-based positions of `wanted` band names inside `available`; a clear error for missing bands."""
    available = list(available)
    missing = [b for b in wanted if b not in available]
    if missing:
        raise ConfigError(f"bands {missing} not available (have {available})")
    return [available.index(b) for b in wanted]


def validate_band_names(names: list[str] | tuple[str, ...]) -> None:
    """Known Sentinel-2 names are checked; other sensors' names (e.g. NaSC-TG2) are allowed if unique."""
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate band names in {list(names)}")
