"""`s2-scene`: tile Sentinel-2 scenes into labelled patches.

Root: one multiband GeoTIFF, or a folder of them (one scene per file), and/or per-band files
`<scene>_B02.tif`, `<scene>_B8A.tif`, ... (10/20/60 m) that are resampled (bilinear, rasterio
WarpedVRT) onto the grid of the finest band. Options:
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ackd_bench.data import raster
from ackd_bench.data.bands import BAND_SETS, EUROSAT_ORDER, band_indices, resolve_band_set
from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._folders import safe_id
from ackd_bench.errors import ConfigError, DataError

S2_NO_B10: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
BAND_FILE = re.compile(r"^(?P<scene>.+)_(?P<band>B0[1-9]|B1[0-2]|B8A)\.tiff?$", re.IGNORECASE)
TIF_EXTS = (".tif", ".tiff")
EDGE_TOLERANCE = 1e-3  # fraction of a pixel


@dataclass
class Scene:
    name: str
    files: dict[str, Path]  # band name -> file; a multiband scene maps every band to the same file
    bands: tuple[str, ...]  # available bands, in order
    grid: raster.RasterHeader  # reference grid (the multiband file or the finest band file)
    multiband: bool


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
        if root.is_file():
            return [self._multiband_scene(root)]
        if not root.is_dir():
            raise DataError("scene file or folder not found", root)
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in TIF_EXTS)
        per_band: dict[str, dict[str, Path]] = {}
        scenes = []
        for f in files:
            m = BAND_FILE.match(f.name)
            if m:
                per_band.setdefault(m["scene"], {})[m["band"].upper()] = f
            else:
                scenes.append(self._multiband_scene(f))
        scenes += [self._band_file_scene(name, bf) for name, bf in sorted(per_band.items())]
        if not scenes:
            raise DataError("no GeoTIFF scenes found", root)
        return sorted(scenes, key=lambda s: s.name)

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

    def _band_file_scene(self, name: str, files: dict[str, Path]) -> Scene:
        heads = {b: raster.read_header(f) for b, f in files.items()}
        for b, h in heads.items():
            raster.check_header(files[b], h, count=1)
            self._check_grid(files[b], h)
        ref = min(files, key=lambda b: (abs(heads[b].transform.a), EUROSAT_ORDER.index(b)))
        order = tuple(b for b in EUROSAT_ORDER if b in files)
        return Scene(safe_id(name), dict(files), order, heads[ref], False)

    @staticmethod
    def _check_grid(path: Path, head: raster.RasterHeader) -> None:
        if head.crs is None:
            raise DataError("scene has no CRS", path)
        if head.height <= 0 or head.width <= 0:
            raise DataError("raster has no pixels", path)

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
            raise DataError(f"no class column {column!r} (columns: {[c for c in gdf.columns if c != 'geometry']})", path)
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
        for b in scene.bands:
            head = raster.read_header(scene.files[b])
            if head.transform == scene.grid.transform and (head.height, head.width) == (scene.grid.height, scene.grid.width):
                return scene.files[b]
        raise AssertionError("reference grid file missing")  # _band_file_scene always picks one

    def _scene(self, name: str) -> Scene:
        if not self._scenes:
            self._scenes = {s.name: s for s in self._discover()}
        try:
            return self._scenes[name]
        except KeyError:
            raise DataError(f"no scene {name!r}", self.root) from None

    def read(self, sample: RawSample) -> np.ndarray:
        from rasterio.windows import Window

        scene = self._scene(sample.extra["scene"])
        window = Window(sample.extra["col_off"], sample.extra["row_off"], self.patch, self.patch)
        if scene.multiband:
            path = scene.files[scene.bands[0]]
            return raster.read_bands(path, band_indices(scene.bands, sample.bands), window=window)
        arr = np.stack([self._read_resampled(scene, b, window) for b in sample.bands])
        raster.check_not_empty(scene.files[sample.bands[0]], arr)
        return arr

    @staticmethod
    def _read_resampled(scene: Scene, band: str, window) -> np.ndarray:
        """One band on the scene's reference grid (bilinear when the band is coarser)."""
        import rasterio
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError
        from rasterio.vrt import WarpedVRT

        path, g = scene.files[band], scene.grid
        try:
            with rasterio.open(path) as src:
                if src.transform == g.transform and src.shape == (g.height, g.width):
                    return src.read(1, window=window)
                with WarpedVRT(src, crs=g.crs, transform=g.transform, width=g.width, height=g.height,
                               resampling=Resampling.bilinear) as vrt:
                    return vrt.read(1, window=window)
        except (RasterioError, OSError, ValueError) as exc:
            raise DataError(f"cannot read band {band} ({' '.join(str(exc).split())[:160]})", path) from None
