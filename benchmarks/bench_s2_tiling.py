"""B2: `s2-scene` tiling throughput: block reader (`read_many`) / the former per-patch reader.

Usage: python benchmarks/bench_s2_tiling.py [--repeats 3] [--old-patches 90] [--jp2]
Scene: generated, 1,933 x 1,947 pixels at 10 m, 13 bands in one GeoTIFF per band at their native 10/20/60 m
(uint16, smooth fields plus noise), one label polygon over it: 30 x 30 = 900 patches of 64 x 64.
- a (before): the reader `s2-scene` had until this change, kept here: per patch and per band, open the band
  file and read the patch window (coarser bands through a GDAL WarpedVRT, bilinear). Timed on
  `--old-patches` patches spread over the scene (it runs at ~20 patches/s; all 900 would take minutes).
- b (after): `S2Scene.read_many` over all 900 patches (each band read once per block of 1,024 rows).
`ratio` = patches/s of b / patches/s of a (medians of interleaved repeats after a warm-up); the goal is
b >= 500 patches/s. Scanning (label polygons, nodata check) is not timed: it is the same for both.
`max_abs_diff_dn` compares the two readers' pixels on the timed patches (the old WarpedVRT path rounds
differently at some pixels; the new bilinear upsampling does not depend on the window).
`--jp2` also times b on the same bands written as lossless JPEG 2000 (as in .SAFE products; the old reader
read GeoTIFF only): `jp2_patches_per_s`, which includes OpenJPEG decoding.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ackd_bench.data.bands import SENTINEL2_BANDS  # noqa: E402
from benchmarks.harness import interleaved_times, record  # noqa: E402

GOAL = 500.0
HEIGHT, WIDTH, PATCH = 1933, 1947, 64
RES = {b: band.resolution_m for b, band in SENTINEL2_BANDS.items()}  # every band at its native resolution


def write_scene(folder: Path, driver: str = "GTiff") -> Path:
    """13 per-band GeoTIFFs (`scene_B02.tif`, ...) of a 1,933 x 1,947 10 m grid, plus labels.gpkg."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from rasterio.transform import Affine
    from shapely.geometry import box

    rng = np.random.default_rng(0)
    t10 = Affine(10.0, 0.0, 399960.0, 0.0, -10.0, 4800000.0)
    for i, (band, res) in enumerate(RES.items()):
        k = res // 10
        h, w = -(-HEIGHT // k), -(-WIDTH // k)
        yy, xx = np.mgrid[0:h, 0:w] * k
        field = 1500 + 500 * np.sin(yy / 300.0 + i) * np.cos(xx / 250.0) + rng.normal(0, 60, (h, w))
        arr = np.clip(field, 1, 10000).astype(np.uint16)
        ext, opts = ("jp2", {"QUALITY": 100, "REVERSIBLE": "YES"}) if driver == "JP2OpenJPEG" else ("tif", {})
        with rasterio.open(
            folder / f"scene_{band}.{ext}",
            "w",
            driver=driver,
            width=w,
            height=h,
            count=1,
            dtype="uint16",
            crs="EPSG:32631",
            transform=t10 @ Affine.scale(k),
            **opts,
        ) as ds:
            ds.write(arr, 1)
    left, top = t10.c, t10.f
    gdf = gpd.GeoDataFrame(
        {"class": ["A"]},
        geometry=[box(left - 100, top - 10 * HEIGHT - 100, left + 10 * WIDTH + 100, top + 100)],
        crs="EPSG:32631",
    )
    gdf.to_file(folder / "labels.gpkg")
    return folder


def per_patch_warped(src, sample):
    """The former `S2Scene.read`: every band file opened and windowed once per patch (WarpedVRT when coarser)."""
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window

    scene = src._scene(sample.extra["scene"])
    window = Window(sample.extra["col_off"], sample.extra["row_off"], src.patch, src.patch)
    g = scene.grid
    out = []
    for band in sample.bands:
        with rasterio.open(scene.files[band]) as ds:
            if ds.transform == g.transform and ds.shape == (g.height, g.width):
                out.append(ds.read(1, window=window))
                continue
            with WarpedVRT(
                ds, crs=g.crs, transform=g.transform, width=g.width, height=g.height, resampling=Resampling.bilinear
            ) as vrt:
                out.append(vrt.read(1, window=window))
    return np.stack(out)


def main(argv: list[str] | None = None) -> dict:
    import numpy as np

    from ackd_bench.data.sources import SOURCES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old-patches", type=int, default=90)
    ap.add_argument("--jp2", action="store_true", help="also time the block reader on JPEG 2000 band files")
    args = ap.parse_args(argv)
    extra: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scene(Path(tmp))
        src = SOURCES.get("s2-scene")(folder, labels=folder / "labels.gpkg", patch=PATCH)
        samples = src.scan()
        step = max(1, len(samples) // args.old_patches)
        subset = samples[::step][: args.old_patches]

        def old():
            for s in subset:
                per_patch_warped(src, s)

        def new():
            for _ in src.read_many(samples):
                pass

        times = interleaved_times({"old": old, "new": new}, repeats=args.repeats, warmup=1)
        got = dict(src.read_many(subset))
        diff = max(int(np.abs(per_patch_warped(src, s).astype(np.int64) - got[i]).max()) for i, s in enumerate(subset))
    if args.jp2:
        import statistics
        import time

        with tempfile.TemporaryDirectory() as tmp:
            folder = write_scene(Path(tmp), driver="JP2OpenJPEG")
            jsrc = SOURCES.get("s2-scene")(folder, labels=folder / "labels.gpkg", patch=PATCH)
            jsamples = jsrc.scan()
            secs = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                for _ in jsrc.read_many(jsamples):
                    pass
                secs.append(time.perf_counter() - t)
            extra = {"jp2_patches_per_s": round(len(jsamples) / statistics.median(secs), 1)}
    rate_old, rate_new = len(subset) / times["old"], len(samples) / times["new"]
    return record(
        "B2",
        ratio=round(rate_new / rate_old, 1),
        goal=f">= {GOAL:g} patches/s",
        a_s=round(times["old"], 3),
        b_s=round(times["new"], 3),
        n=len(samples),
        met=rate_new >= GOAL,
        params={
            "height": HEIGHT,
            "width": WIDTH,
            "bands": 13,
            "files": "one GeoTIFF per band at 10/20/60 m",
            "patch": PATCH,
            "old_patches": len(subset),
            "repeats": args.repeats,
        },
        extra={
            "patches_per_s_old": round(rate_old, 1),
            "patches_per_s_new": round(rate_new, 1),
            "max_abs_diff_dn": diff,
            **extra,
            "note": "a_s = per-patch reader on old_patches patches, b_s = block reader on all n patches; "
            "ratio = patches/s b / patches/s a",
        },
    )


if __name__ == "__main__":
    main()
