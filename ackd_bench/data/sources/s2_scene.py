"""`s2-scene`: tile Sentinel-2 scenes into labelled patches.

Root: a Sentinel-2 `.SAFE` product (L1C or L2A, JPEG 2000 bands; one scene per granule), a folder of
products, one multiband GeoTIFF, a folder of them (one scene per file), and/or per-band files
`<scene>_B02.tif|.jp2` (also `<scene>_B02_10m.jp2`; the finest resolution of a band wins), 10/20/60 m.
Coarser bands are resampled (bilinear) onto the grid of the finest band, in the scene's own CRS.
SAFE products of processing baseline >= 04.00 have their radiometric offset (RADIO_ADD_OFFSET /
BOA_ADD_OFFSET from MTD_MSIL1C.xml / MTD_MSIL2A.xml, -1000 DN) applied so that their DNs are on the scale
of older products (`s2_safe.HARMONISE_RULE`); what was applied per scene goes into the benchmark card
(`sources.teacher.details`). Loose band files carry no metadata: nothing is applied to them. Options:
- `patch` (default: `size`, 64): patch size in pixels, stride = patch; partial patches at the right and
  bottom edges are dropped.
- `labels` (required): GeoPackage/GeoJSON polygons with a CRS; `class_column` ("class") names the class.
- `band_names`: band names of a multiband file in file order; default: 12 bands = Sentinel-2 without
  B10 in Sentinel Hub order (B01..B08, B8A, B09, B11, B12), 13 bands = `all13` (EuroSAT order).
A patch lies "within" a class when it lies within that class's polygons (union) after shrinking the
patch by 0.1% of a pixel, so polygons drawn along pixel edges behave as expected. Patches within
exactly one class get that class; the others are skipped and counted in `self.skipped`:
`mixed` (touches several classes, or only partly covered), `unlabelled` (no class), `nodata`
(the first band, or the finest band of a per-band scene, is all 0 / nodata). sample_id = `<scene>_r<row>_c<col>` (patch indices); path "".

Reading: `read_many` (what `build-dataset` uses) reads each band once per block of patch rows (about
BLOCK_ROWS reference rows, full width) and cuts the patches from it; `read` reads one patch. Both give
bit-identical arrays: a band on an aligned coarser grid (every Sentinel-2 band) is upsampled by
`raster.bilinear_window`, whose pixels do not depend on the window. Other grids (another CRS, a shifted
or non-integer grid) go through GDAL's WarpedVRT, where a patch can differ by 1 DN between the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ackd_bench.data import raster, s2_safe
from ackd_bench.data.bands import BAND_SETS, EUROSAT_ORDER, band_indices, resolve_band_set
from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._folders import safe_id
from ackd_bench.errors import ConfigError, DataError

S2_NO_B10: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
BAND_FILE = re.compile(
    r"^(?P<scene>.+)_(?P<band>B0[1-9]|B1[0-2]|B8A)(?:_(?P<res>10|20|60)m)?\.(?:tiff?|jp2)$", re.IGNORECASE
)
RASTER_EXTS = (".tif", ".tiff", ".jp2")
EDGE_TOLERANCE = 1e-3  # fraction of a pixel
BLOCK_ROWS = 1024  # reference rows per block of `read_many` (rounded to whole patches)


@dataclass
class Scene:
    name: str
    files: dict[str, Path]  # band name -> file; a multiband scene maps every band to the same file
    bands: tuple[str, ...]  # available bands, in order
    grid: raster.RasterHeader  # reference grid (the multiband file or the finest band file)
    multiband: bool
    offsets: dict[str, int] = field(default_factory=dict)  # band -> radiometric offset applied (SAFE >= 04.00)
    product: s2_safe.ProductInfo | None = None
    heads: dict[str, raster.RasterHeader] = field(default_factory=dict)  # per-band scenes: each file's header


@SOURCES.register("s2-scene")
class S2Scene(Source):
    name = "s2-scene"
    modality = "ms"
    defaults = {"patch": None, "labels": None, "class_column": "class", "band_names": None}

    def __init__(self, root, *, bands=None, size=64, **options):
        super().__init__(root, bands=bands, size=size, **options)
        self.patch = int(self.options["patch"] or self.size)
        if self.patch <= 0:
            raise ConfigError(f"source 's2-scene': patch must be positive, got {self.options['patch']!r}")
        if not self.options["labels"]:
            raise ConfigError("source 's2-scene' needs option labels (a GeoPackage/GeoJSON of class polygons)")
        self.skipped: dict[str, int] = {"mixed": 0, "unlabelled": 0, "nodata": 0}
        self._scenes: dict[str, Scene] = {}

    # ---- discovery -------------------------------------------------------------------------------
    def _discover(self) -> list[Scene]:
        root = self.root
        if s2_safe.is_safe(root):
            return self._safe_scenes(root)
        if root.is_file():
            return [self._multiband_scene(root)]
        if not root.is_dir():
            raise DataError("scene file or folder not found", root)
        scenes = [sc for d in sorted(root.iterdir()) if s2_safe.is_safe(d) for sc in self._safe_scenes(d)]
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in RASTER_EXTS)
        per_band: dict[str, dict[str, list[Path]]] = {}
        for f in files:
            m = BAND_FILE.match(f.name)
            if m:
                per_band.setdefault(m["scene"], {}).setdefault(m["band"].upper(), []).append(f)
            else:
                scenes.append(self._multiband_scene(f))
        scenes += [self._band_file_scene(safe_id(name), bf) for name, bf in sorted(per_band.items())]
        if not scenes:
            raise DataError("no scenes found (.SAFE products, GeoTIFF or JPEG 2000 files)", root)
        names = [s.name for s in scenes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DataError(f"several scenes are named {dup}", root)
        return sorted(scenes, key=lambda s: s.name)

    def _safe_scenes(self, product: Path) -> list[Scene]:
        info = s2_safe.read_product_info(product)
        granules = s2_safe.granule_band_files(product)
        out = []
        for granule, files in granules.items():
            name = info.name if len(granules) == 1 else f"{info.name}_{granule}"
            scene = self._band_file_scene(safe_id(name), {b: [f] for b, f in files.items()})
            scene.offsets = {b: info.offsets.get(b, 0) for b in scene.bands if info.offsets.get(b, 0)}
            scene.product = info
            out.append(scene)
        return out

    def _multiband_scene(self, path: Path) -> Scene:
        head = raster.read_header(path)
        spec = self.options["band_names"]
        if spec:
            names = resolve_band_set(spec)
        elif head.count == 12:
            names = S2_NO_B10
        elif head.count == 13:
            names = BAND_SETS["all13"]
        else:
            raise DataError(f"{head.count} bands: give option band_names", path)
        if len(names) != head.count:
            raise DataError(f"has {head.count} bands but band_names lists {len(names)}", path)
        self._check_grid(path, head)
        return Scene(safe_id(path.stem), {b: path for b in names}, tuple(names), head, True)

    def _band_file_scene(self, name: str, candidates: dict[str, list[Path]]) -> Scene:
        """One scene from per-band files; a band present at several resolutions uses its finest file."""
        files: dict[str, Path] = {}
        heads: dict[str, raster.RasterHeader] = {}
        for b, paths in candidates.items():
            for f in paths:
                h = raster.read_header(f)
                raster.check_header(f, h, count=1)
                self._check_grid(f, h)
                if b not in heads or abs(h.transform.a) < abs(heads[b].transform.a):
                    files[b], heads[b] = f, h
        ref = min(files, key=lambda b: (abs(heads[b].transform.a), EUROSAT_ORDER.index(b)))
        order = tuple(b for b in EUROSAT_ORDER if b in files)
        return Scene(name, files, order, heads[ref], False, heads=heads)

    @staticmethod
    def _check_grid(path: Path, head: raster.RasterHeader) -> None:
        if head.crs is None:
            raise DataError("scene has no CRS", path)
        if head.height <= 0 or head.width <= 0:
            raise DataError("raster has no pixels", path)

    def card_details(self) -> dict:
        """What the benchmark card records about the scenes: product, baseline and offsets applied."""
        scenes = self._scenes or {s.name: s for s in self._discover()}
        products = {
            n: {**s.product.card(), "offsets_applied": dict(sorted(s.offsets.items()))}
            for n, s in sorted(scenes.items())
            if s.product is not None
        }
        if not products:
            return {}
        return {"radiometry": {"rule": s2_safe.HARMONISE_RULE, "scenes": products}}

    # ---- labels ----------------------------------------------------------------------------------
    def _class_geoms(self, crs: str) -> dict[str, object]:
        import geopandas as gpd

        path = Path(self.options["labels"])
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several types for missing/corrupt files
            raise DataError(f"cannot read label polygons ({' '.join(str(exc).split())[:160]})", path) from None
        column = self.options["class_column"]
        if column not in gdf.columns:
            raise DataError(
                f"no class column {column!r} (columns: {[c for c in gdf.columns if c != 'geometry']})", path
            )
        if gdf.crs is None:
            raise DataError("label polygons have no CRS", path)
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].to_crs(crs)
        if gdf.empty:
            raise DataError("no label polygons", path)
        return {str(c): grp.geometry.union_all() for c, grp in gdf.groupby(column, sort=True)}

    # ---- scan / read -----------------------------------------------------------------------------
    def scan(self) -> list[RawSample]:
        import shapely

        self.skipped = {"mixed": 0, "unlabelled": 0, "nodata": 0}
        samples: list[RawSample] = []
        labels_by_crs: dict[str, dict[str, object]] = {}
        for scene in self._discover():
            bands = self.bands or scene.bands
            band_indices(scene.bands, bands)
            self._scenes[scene.name] = scene
            g = scene.grid
            rows, cols = g.height // self.patch, g.width // self.patch
            if rows == 0 or cols == 0:
                continue
            rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
            rr, cc = rr.ravel(), cc.ravel()
            boxes = self._patch_boxes(g.transform, rr, cc, EDGE_TOLERANCE)
            if g.crs not in labels_by_crs:
                labels_by_crs[g.crs] = self._class_geoms(g.crs)
            classes = labels_by_crs[g.crs]
            within = np.stack([shapely.within(boxes, geom) for geom in classes.values()], axis=1)
            touches = np.stack([shapely.intersects(boxes, geom) for geom in classes.values()], axis=1)
            names = list(classes)
            ok = (within.sum(1) == 1) & (touches.sum(1) == 1)
            self.skipped["unlabelled"] += int((touches.sum(1) == 0).sum())
            self.skipped["mixed"] += int(((touches.sum(1) > 0) & ~ok).sum())
            ok &= self._has_data(scene, rr, cc, ok)
            full = self._patch_boxes(g.transform, rr, cc, 0.0)
            for i in np.flatnonzero(ok):
                r, c = int(rr[i]), int(cc[i])
                samples.append(
                    RawSample(
                        sample_id=f"{scene.name}_r{r}_c{c}",
                        class_name=names[int(np.argmax(within[i]))],
                        path="",
                        source=self.name,
                        region=scene.name,
                        height=self.patch,
                        width=self.patch,
                        bands=tuple(bands),
                        crs=g.crs,
                        footprint=raster.footprint_4326(g.crs, shapely.bounds(full[i]).tolist()),
                        extra={"scene": scene.name, "row_off": r * self.patch, "col_off": c * self.patch},
                    )
                )
        return sort_samples(samples)

    def _patch_boxes(self, transform, rr: np.ndarray, cc: np.ndarray, shrink: float) -> np.ndarray:
        """Patch rectangles in the scene CRS, shrunk by `shrink` pixels on each side."""
        import shapely

        c0, c1 = cc * self.patch + shrink, (cc + 1) * self.patch - shrink
        r0, r1 = rr * self.patch + shrink, (rr + 1) * self.patch - shrink
        cols = np.stack([c0, c1, c1, c0, c0], axis=1).astype(float)
        rows = np.stack([r0, r0, r1, r1, r0], axis=1).astype(float)
        a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
        coords = np.stack([a * cols + b * rows + c, d * cols + e * rows + f], axis=-1)
        return shapely.polygons(coords)

    def _has_data(self, scene: Scene, rr: np.ndarray, cc: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """False for candidate patches whose first (multiband) or reference band is all 0 / nodata."""
        import rasterio
        from rasterio.windows import Window

        keep = np.ones(len(rr), dtype=bool)
        path = scene.files[scene.bands[0]] if scene.multiband else self._grid_file(scene)
        p = self.patch
        with rasterio.open(path) as ds:
            for r in sorted(set(rr[ok].tolist())):
                strip = ds.read(1, window=Window(0, r * p, scene.grid.width, p))
                for i in np.flatnonzero(ok & (rr == r)):
                    tile = strip[:, cc[i] * p : (cc[i] + 1) * p]
                    if not tile.any() or (ds.nodata is not None and np.all(tile == ds.nodata)):
                        keep[i] = False
                        self.skipped["nodata"] += 1
        return keep

    @staticmethod
    def _grid_file(scene: Scene) -> Path:
        """The per-band file whose grid is the scene's reference grid."""
        return next(scene.files[b] for b in scene.bands if scene.heads[b] is scene.grid)

    def _scene(self, name: str) -> Scene:
        if not self._scenes:
            self._scenes = {s.name: s for s in self._discover()}
        try:
            return self._scenes[name]
        except KeyError:
            raise DataError(f"no scene {name!r}", self.root) from None

    def read(self, sample: RawSample) -> np.ndarray:
        """One patch (C, H, W) in `sample.bands` order, on the scene's reference grid."""
        return next(self.read_many([sample]))[1]

    def read_many(self, samples: Sequence[RawSample]) -> Iterator[tuple[int, np.ndarray]]:
        """(index into `samples`, patch) for every sample, scene by scene and block by block: each band
        file is read once per block of about BLOCK_ROWS rows (only the columns its patches need) and stays
        open for the whole scene (GDAL's block cache then decodes a JPEG 2000 tile once)."""
        p = self.patch
        rows_per_block = max(1, BLOCK_ROWS // p) * p
        by_scene: dict[str, dict[int, list[int]]] = {}
        for i, s in enumerate(samples):
            by_scene.setdefault(s.extra["scene"], {}).setdefault(s.extra["row_off"] // rows_per_block, []).append(i)
        for name in sorted(by_scene):
            scene = self._scene(name)
            with _OpenBands(scene) as files:
                for _, idx in sorted(by_scene[name].items()):
                    r0 = min(samples[i].extra["row_off"] for i in idx)
                    c0 = min(samples[i].extra["col_off"] for i in idx)
                    r1 = max(samples[i].extra["row_off"] for i in idx) + p
                    c1 = max(samples[i].extra["col_off"] for i in idx) + p
                    needed = tuple(b for b in scene.bands if any(b in samples[i].bands for i in idx))
                    block = self._read_block(scene, files, needed, r0, c0, r1 - r0, c1 - c0)
                    for i in idx:
                        s = samples[i]
                        y, x = s.extra["row_off"] - r0, s.extra["col_off"] - c0
                        arr = block[band_indices(needed, s.bands), y : y + p, x : x + p]
                        raster.check_not_empty(scene.files[s.bands[0]], arr)
                        yield i, arr

    def _read_block(
        self, scene: Scene, files: "_OpenBands", bands: tuple[str, ...], row0: int, col0: int, height: int, width: int
    ) -> np.ndarray:
        """(len(bands), height, width) on the reference grid, offsets applied."""
        from rasterio.windows import Window

        if scene.multiband:
            path = scene.files[scene.bands[0]]
            return raster.read_bands(path, band_indices(scene.bands, bands), window=Window(col0, row0, width, height))
        out = None
        for k, b in enumerate(bands):
            arr = files.read_band(b, row0, col0, height, width)
            if out is None:
                out = np.empty((len(bands), height, width), dtype=arr.dtype)
            out[k] = arr
        return out


class _OpenBands:
    """The band files of a per-band scene, each opened once (context manager), read on the reference grid."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.open: dict[str, object] = {}

    def __enter__(self) -> "_OpenBands":
        return self

    def __exit__(self, *exc) -> None:
        for ds in self.open.values():
            ds.close()
        self.open.clear()

    def _dataset(self, band: str):
        import rasterio

        if band not in self.open:
            self.open[band] = rasterio.open(self.scene.files[band])
        return self.open[band]

    def read_band(self, band: str, row0: int, col0: int, height: int, width: int) -> np.ndarray:
        """One band over a reference-grid window: a direct read, the aligned bilinear upsampling, or
        GDAL's WarpedVRT (bilinear) for any other grid. The band's radiometric offset is applied to the
        native DNs first."""
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError
        from rasterio.vrt import WarpedVRT
        from rasterio.windows import Window

        scene = self.scene
        path, g, head = scene.files[band], scene.grid, scene.heads[band]
        offset = scene.offsets.get(band, 0)
        try:
            src = self._dataset(band)
            aligned = raster.aligned_grid(g, head)
            if aligned is None:
                with WarpedVRT(
                    src,
                    crs=g.crs,
                    transform=g.transform,
                    width=g.width,
                    height=g.height,
                    resampling=Resampling.bilinear,
                ) as vrt:
                    # WarpedVRT resamples before the offset: the same DNs up to rounding (bilinear is affine)
                    return s2_safe.harmonise(vrt.read(1, window=Window(col0, row0, width, height)), offset)

            def read(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
                return s2_safe.harmonise(src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)), offset)

            if aligned.factor == 1:
                return read(
                    row0 + aligned.row_off,
                    row0 + aligned.row_off + height,
                    col0 + aligned.col_off,
                    col0 + aligned.col_off + width,
                )
            return raster.bilinear_window(read, aligned, row0, col0, height, width, src.dtypes[0])
        except (RasterioError, OSError, ValueError) as exc:
            raise DataError(f"cannot read band {band} ({' '.join(str(exc).split())[:160]})", path) from None
