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
        raise DataError(f"cannot open raster ({_short(exc)})", path) from None


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
    """ "EPSG:32631" -> "32631" (the region of a UTM tile); None for no CRS."""
    if crs is None:
        return None
    return crs.split(":", 1)[1] if crs.upper().startswith("EPSG:") else "custom-crs"


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# ---------------------------------------------------------------- resampling onto a finer grid
@dataclass(frozen=True)
class AlignedGrid:
    """A coarser raster whose pixels are exactly `factor` x `factor` reference pixels (Sentinel-2 20/60 m
    bands on the 10 m grid): reference pixel (r, c) lies in source pixel ((r + row_off) // factor, ...)."""

    factor: int
    row_off: int
    col_off: int
    height: int  # source raster size
    width: int


def aligned_grid(ref: RasterHeader, src: RasterHeader, tol: float = 1e-6) -> AlignedGrid | None:
    """The AlignedGrid of `src` on `ref`'s grid, or None (other CRS, rotation, non-integer ratio or shift)."""
    r, s = ref.transform, src.transform
    if ref.crs != src.crs or r.b or r.d or s.b or s.d or not r.a or not r.e:
        return None
    k = s.a / r.a
    if abs(k - round(k)) > tol or round(k) < 1 or abs(s.e / r.e - round(k)) > tol:
        return None
    col_off, row_off = (r.c - s.c) / r.a, (r.f - s.f) / r.e
    if abs(col_off - round(col_off)) > tol or abs(row_off - round(row_off)) > tol:
        return None
    return AlignedGrid(int(round(k)), int(round(row_off)), int(round(col_off)), src.height, src.width)


def bilinear_window(read, grid: AlignedGrid, row0: int, col0: int, height: int, width: int, dtype) -> np.ndarray:
    """Bilinear upsampling of an aligned coarser raster onto reference rows [row0, row0+height) x cols.

    `read(r0, r1, c0, c1)` returns source pixels [r0:r1, c0:c1]. A reference pixel centre maps to source
    coordinate (i + off + 0.5) / factor - 0.5, clamped at the raster edges. Each output pixel is computed
    from its global position by the same operations whatever the window, so any tiling of a scene gives
    bit-identical pixels (GDAL's warper does not: windowed WarpedVRT reads differ by 1 DN in places).
    Integer outputs are rounded half up and clipped to the dtype's range.
    """
    k = grid.factor
    dt = np.dtype(dtype)
    work = np.float32 if dt.itemsize <= 2 or dt == np.float32 else np.float64  # exact enough for 16-bit DNs
    ys = (np.arange(row0, row0 + height, dtype=np.float64) + grid.row_off + 0.5) / k - 0.5
    xs = (np.arange(col0, col0 + width, dtype=np.float64) + grid.col_off + 0.5) / k - 0.5
    y0, x0 = np.floor(ys), np.floor(xs)
    wy, wx = (ys - y0).astype(work), (xs - x0).astype(work)
    y0i, x0i = y0.astype(np.int64), x0.astype(np.int64)
    ya, yb = np.clip(y0i, 0, grid.height - 1), np.clip(y0i + 1, 0, grid.height - 1)
    xa, xb = np.clip(x0i, 0, grid.width - 1), np.clip(x0i + 1, 0, grid.width - 1)
    r0, r1, c0, c1 = int(ya.min()), int(yb.max()) + 1, int(xa.min()), int(xb.max()) + 1
    src = read(r0, r1, c0, c1).astype(work)
    left, right = np.take(src, xa - c0, axis=1), np.take(src, xb - c0, axis=1)
    right -= left
    right *= wx
    left += right  # left + (right - left) * wx, per pixel
    top, bottom = np.take(left, ya - r0, axis=0), np.take(left, yb - r0, axis=0)
    bottom -= top
    bottom *= wy[:, None]
    top += bottom
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        top += 0.5
        np.floor(top, out=top)
        np.clip(top, info.min, info.max, out=top)
    return top.astype(dt)
