"""Shared GeoTIFF helpers for the raw sources: checked open/read, header validation, footprints.

rasterio is imported inside the functions (the training path never imports this module's deps).
Every problem is a DataError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench.errors import DataError


@dataclass(frozen=True)
class RasterHeader:
    count: int
    dtype: str
    height: int
    width: int
    crs: str | None  # "EPSG:32631" (or WKT when the CRS has no EPSG code)
    transform: Any  # affine.Affine
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in the raster's CRS
    nodata: float | None


def crs_string(crs: Any) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def read_header(path: str | Path) -> RasterHeader:
    """Open the file and read its header only (cheap)."""
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as ds:
            return RasterHeader(
                count=ds.count,
                dtype=ds.dtypes[0] if ds.count else "",
                height=ds.height,
                width=ds.width,
                crs=crs_string(ds.crs),
                transform=ds.transform,
                bounds=tuple(ds.bounds),
                nodata=ds.nodata,
            )
    except (RasterioError, OSError) as exc:
        raise DataError(f"cannot open GeoTIFF ({_short(exc)})", path) from None


def check_header(path: str | Path, header: RasterHeader, *, count: int | None = None, dtype: str | None = None) -> None:
    if count is not None and header.count != count:
        raise DataError(f"expected {count} bands, found {header.count}", path)
    if dtype is not None and header.dtype != dtype:
        raise DataError(f"expected dtype {dtype}, found {header.dtype}", path)
    if header.height <= 0 or header.width <= 0:
        raise DataError("raster has no pixels", path)


def read_bands(
    path: str | Path, indexes: list[int], window: Any = None, *, count: int | None = None, dtype: str | None = None
) -> np.ndarray:
    """Read 0-based band `indexes` as (C, H, W), checking `count`/`dtype` first.

    Unopenable, corrupt or truncated files, a wrong header and all-nodata tiles are DataErrors.
    """
    import rasterio
    from rasterio.errors import RasterioError

    try:
        ds = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise DataError(f"cannot open GeoTIFF ({_short(exc)})", path) from None
    with ds:
        if count is not None and ds.count != count:
            raise DataError(f"expected {count} bands, found {ds.count}", path)
        if dtype is not None and ds.dtypes[0] != dtype:
            raise DataError(f"expected dtype {dtype}, found {ds.dtypes[0]}", path)
        try:
            arr = ds.read([i + 1 for i in indexes], window=window)
        except (RasterioError, OSError, ValueError, IndexError) as exc:
            raise DataError(f"cannot read raster data ({_short(exc)})", path) from None
        nodata = ds.nodata
    check_not_empty(path, arr, nodata)
    return arr


def check_not_empty(path: str | Path, arr: np.ndarray, nodata: float | None = None) -> None:
    if not arr.any():
        raise DataError("all-nodata tile (every pixel is 0)", path)
    if nodata is not None and not np.isnan(nodata) and np.all(arr == nodata):
        raise DataError(f"all-nodata tile (every pixel equals nodata {nodata:g})", path)


def footprint_4326(crs: str | None, bounds: tuple[float, float, float, float]) -> Any:
    """The bounds rectangle as a shapely Polygon in EPSG:4326 (None without a CRS)."""
    if crs is None:
        return None
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping, shape

    geom = mapping(box(*bounds))
    if crs == "EPSG:4326":
        return shape(geom)
    return shape(transform_geom(crs, "EPSG:4326", geom))


def utm_region(crs: str | None) -> str | None:
    """"EPSG:32631" -> "32631" (the region of a UTM tile); None for no CRS."""
    if crs is None:
        return None
    return crs.split(":", 1)[1] if crs.upper().startswith("EPSG:") else "custom-crs"


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
