"""`synthetic`: deterministic georeferenced 13-band tiles (teacher) and RGB images (student).

For scale tests and controlled studies. Everything is derived from (`seed`, sample_id): no files.
- Spectra: per-class Sentinel-2 L1C-like DN signatures (reflectance x 10000, EuroSAT band order):
  water is dark in NIR/SWIR, vegetation has NIR >> red, bare soil is bright in SWIR, B10 (cirrus) ~ 10-20.
  Crops and Grass (RGB_CONFUSABLE) share their texture and differ strongly in red edge, NIR and SWIR, but
  only weakly in the visible: a green/red ratio (B03/B04) 7 % higher for Crops (greener, less red; same
  blue and brightness). Each tile's main material has its own greenness h ~ N(0, 0.07) (green x e^(h/2),
  red x e^(-h/2)), so that cue overlaps between the two classes: Bayes d' = 0.07 / 0.07 ~ 1, at best
  about 69 % for that pair from RGB (`greenness_dprime`), while the MS teacher separates them cleanly.
  Each tile also has its own brightness (x N(1, 0.05), all bands) and canopy vigour (red edge/NIR
  x (1 + v), SWIR x (1 - v/2), v ~ N(0, 0.06)).
- Texture: smooth random fields (bilinear upsampling of coarse Gaussian noise) that mix each class with
  a secondary material (forest with grass, crops and grass in parcels with bare soil, a road across grass, ...).
- Regions: named fake regions at real lon/lat, each in its own UTM zone; tiles sit on a grid around the
  region centre, so every sample has a real CRS and footprint. Teacher regions and student regions are
  disjoint.
Options: `pool` ("teacher": MS, uint16, 13 bands | "student": RGB uint8), `per_class` (50), `classes`
(subset of the 7 default names, comma list/sequence, or a number; numbers above 7 add mixtures),
`seed` (0), `consistency` in [0, 1]. A fraction `consistency` of each class's student images are exact
renderings (`render_rgb`) of the matching teacher tiles (extra `rendered_from`, same footprint); the
rest come from the student regions with an appearance shift of strength s = 1 - consistency:
illumination gain x(1 + 0.35 s), haze +s x (500, 350, 250) DN on B02/B03/B04, zoom x(1 + s) and a
seasonal spectral shift (red-edge/NIR x(1 - 0.3 s), red x(1 + 0.3 s)).
SCKD siblings (the `synthetic-small-paired` preset): `scenes="student"` makes the teacher pool the full MS tiles
of the student pool's own scenes (ids `ms-of-<student id>`, the students' regions and footprints; needs
consistency 0), and `link_scenes=True` on the student pool names that tile as each image's `rendered_from`
without changing the image (still the appearance-shifted rendering of its scene).
`write_synthetic_tree(out, ...)` writes `ms/<Class>/<id>.tif` and `rgb/<Class>/<id>.png`.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench.data.bands import EUROSAT_ORDER, RGB_BANDS, band_indices
from ackd_bench.data.render import render_rgb
from ackd_bench.data.sources import SOURCES, RawSample, Source
from ackd_bench.data.sources._multilabel import LABELS_KEY
from ackd_bench.errors import ConfigError

# DN per band in EUROSAT_ORDER: B01 B02 B03 B04 B05 B06 B07 B08 B09 B10 B11 B12 B8A
# Loosely after Sentinel-2 L1C spectra (atmosphere included: B01/B02 never dark). Crops (a green summer crop)
# and Grass (grassland/pasture) share their texture and almost share their visible reflectance: about
# 1100 DN green and 800 DN red, the crop 1.75 % greener and 1.75 % less red (B03 1119 vs 1081, B04 786 vs 814;
# same blue; B03 x B04 equal within 0.1 %), i.e. log(B03/B04) 0.07 higher. With the per-tile greenness
# jitter (_GREENNESS_SD) that is a weak, overlapping RGB cue (greenness_dprime ~ 1). They differ strongly
# where real crops and grassland do: red edge (B05-B07), NIR (B08, B8A; denser canopy) and SWIR (B11, B12;
# drier grass).
# docs/datasets.md "The synthetic generator".
SIGNATURES: dict[str, tuple[int, ...]] = {
    "Water": (1300, 1100, 900, 650, 550, 450, 420, 380, 150, 12, 150, 100, 330),
    "Forest": (1250, 950, 850, 600, 1000, 2100, 2500, 2650, 800, 14, 1500, 700, 2800),
    "Crops": (1300, 1050, 1119, 786, 1450, 2600, 3100, 3250, 1000, 15, 1800, 950, 3400),
    "Grass": (1300, 1050, 1081, 814, 1300, 1950, 2300, 2450, 800, 14, 2500, 1550, 2550),
    "BareSoil": (1500, 1400, 1600, 1900, 2200, 2400, 2550, 2600, 1000, 18, 3200, 2600, 2750),
    "BuiltUp": (1600, 1500, 1450, 1500, 1650, 1900, 2050, 2100, 800, 16, 2300, 1900, 2200),
    "Road": (1550, 1450, 1400, 1450, 1550, 1700, 1800, 1850, 700, 15, 2100, 1800, 1900),
}
# the pairs of classes an RGB image separates only weakly (same pattern, visible signatures a few tens of DN
# apart along the greenness axis only: greenness_dprime ~ 1) while NIR/SWIR separate them cleanly
RGB_CONFUSABLE: tuple[tuple[str, str], ...] = (("Crops", "Grass"),)
DEFAULT_CLASSES: tuple[str, ...] = tuple(SIGNATURES)
# secondary material and spatial pattern per class
PATTERNS: dict[str, tuple[str, str]] = {
    "Water": ("Grass", "shore"),
    "Forest": ("Grass", "patches"),
    "Crops": ("BareSoil", "parcels"),
    "Grass": ("BareSoil", "parcels"),
    "BareSoil": ("Grass", "shore"),
    "BuiltUp": ("Road", "blocks"),
    "Road": ("Grass", "stripe"),
}
# (name, lon, lat): every region in its own UTM zone
TEACHER_REGIONS = (("lowland-north", 5.1, 52.1), ("alpine-foothills", 11.3, 47.8), ("pannonian-plain", 19.6, 46.9))
STUDENT_REGIONS = (("iberian-meseta", -3.7, 40.4), ("baltic-coast", 24.1, 56.9), ("anatolian-plateau", 32.9, 39.9))
PIXEL_M = 10.0
_HAZE = {"B02": 500.0, "B03": 350.0, "B04": 250.0}
# per-tile canopy vigour v ~ N(0, 0.06): red edge and NIR x (1 + v), SWIR x (1 - v / 2); visible bands unchanged
_VIGOUR = {"B05": 0.5, "B06": 1.0, "B07": 1.0, "B08": 1.0, "B8A": 1.0, "B11": -0.5, "B12": -0.5}
_VIGOUR_SD = 0.06
# per-tile greenness (green/red balance) of every class's main material (a canopy's phenology and chlorophyll,
# algae or sediment in water, soil minerals): h ~ N(0, _GREENNESS_SD), green (B03) x e^(h/2), red (B04)
# x e^(-h/2), so log(B03/B04) moves by h and B03 x B04 stays; the secondary material and the other bands are
# untouched (a shore, the soil between parcels or a road does not take the main material's colour)
_GREENNESS_SD = 0.07
_SEASON = {"B04": 0.3, "B05": -0.3, "B06": -0.3, "B07": -0.3, "B08": -0.3, "B8A": -0.3}


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone


def resolve_classes(spec: Any) -> tuple[str, ...]:
    """Class names from a count, a comma list or a sequence (validated against the defaults)."""
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().isdigit()):
        n = int(spec)
        if n < 2:
            raise ConfigError(f"synthetic: classes must be >= 2, got {spec!r}")
        return DEFAULT_CLASSES[:n] + tuple(f"Mix{i:02d}" for i in range(len(DEFAULT_CLASSES), n))
    names = tuple(s.strip() for s in spec.split(",")) if isinstance(spec, str) else tuple(spec)
    bad = [c for c in names if c not in SIGNATURES]
    if bad or len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"synthetic: classes must be >= 2 distinct names from {list(DEFAULT_CLASSES)}, got {spec!r}")
    return names


def _signature(cls: str) -> tuple[np.ndarray, str, str]:
    """(13 DN, secondary class, pattern); `MixNN` classes blend two default classes deterministically."""
    if cls in SIGNATURES:
        second, pattern = PATTERNS[cls]
        return np.array(SIGNATURES[cls], np.float32), second, pattern
    i = int(cls[3:])
    a, b = DEFAULT_CLASSES[i % 7], DEFAULT_CLASSES[(i * 3 + 1) % 7]
    w = 0.25 + 0.5 * ((i * 37) % 11) / 10
    sig = w * np.array(SIGNATURES[a], np.float32) + (1 - w) * np.array(SIGNATURES[b], np.float32)
    return sig, PATTERNS[a][0], PATTERNS[a][1]


@lru_cache(maxsize=32)
def _interp(size: int, cells: int) -> np.ndarray:
    """(size, cells) bilinear upsampling matrix."""
    pos = (np.arange(size) + 0.5) * cells / size - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, cells - 1)
    hi = np.clip(lo + 1, 0, cells - 1)
    t = np.clip(pos - lo, 0, 1)
    m = np.zeros((size, cells), np.float32)
    m[np.arange(size), lo] += 1 - t
    m[np.arange(size), hi] += t
    return m


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    return yy, xx


def _field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    u = _interp(size, cells)
    return u @ rng.standard_normal((cells, cells), dtype=np.float32) @ u.T


def _rng(seed: int, sample_id: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(sample_id.encode())])


@lru_cache(maxsize=256)
def _materials(cls: str, bands: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, str]:
    """(a, b - a, pattern): main signature a and secondary b on `bands` as read-only (C, 1, 1) float32."""
    main, second, pattern = _signature(cls)
    idx = band_indices(EUROSAT_ORDER, bands)
    a, b = main[idx][:, None, None], _signature(second)[0][idx][:, None, None]
    diff = b - a
    a.setflags(write=False)
    diff.setflags(write=False)
    return a, diff, pattern


def generate_ms(seed: int, sample_id: str, cls: str, size: int, bands: tuple[str, ...]) -> np.ndarray:
    """One float32 (C, size, size) DN tile for `bands`, identical for any band subset."""
    rng = _rng(seed, sample_id)
    a, diff, pattern = _materials(cls, tuple(bands))
    coarse, fine = _field(rng, size, 4), _field(rng, size, 12)
    theta, offset, gain = rng.uniform(0, np.pi), rng.uniform(0.3, 0.7), rng.normal(1.0, 0.05)
    if pattern == "shore":
        m = np.clip(coarse * 0.6 - 0.5, 0, 1)
    elif pattern == "patches":
        m = np.clip(0.2 + 0.3 * coarse + 0.25 * fine, 0, 0.8)
    elif pattern == "blocks":
        m = (fine > 0.2).astype(np.float32) * 0.7
    else:  # parcels and stripe follow a direction
        yy, xx = _grid(size)
        along = xx * np.float32(np.cos(theta)) + yy * np.float32(np.sin(theta))
        if pattern == "parcels":
            m = (np.sin(along * np.float32(rng.uniform(12, 30))) > 0.3).astype(np.float32) * 0.8
        else:  # stripe: the class material is the road, the background the secondary class
            m = 1.0 - (np.abs(along - np.float32(offset)) < np.float32(0.08)).astype(np.float32)
    shade = np.float32(gain) * (1 + 0.06 * fine + 0.01 * rng.standard_normal((size, size), dtype=np.float32))
    vigour = _vigour_gain(tuple(bands), float(rng.normal(0.0, _VIGOUR_SD)))
    a_tile = a * _greenness_gain(tuple(bands), float(rng.normal(0.0, _GREENNESS_SD)))  # the main material only
    tile = np.multiply(m, diff + (a - a_tile), dtype=np.float32)  # (C, H, W); the rest in place (speed)
    tile += a_tile
    tile *= shade
    tile *= vigour
    return tile


def _vigour_gain(bands: tuple[str, ...], v: float) -> np.ndarray:
    """(C, 1, 1) per-band gain of a tile's canopy vigour `v` (1 on the visible bands, B01, B09 and B10)."""
    return np.array([1 + v * _VIGOUR.get(b, 0.0) for b in bands], np.float32)[:, None, None]


def _greenness_gain(bands: tuple[str, ...], h: float) -> np.ndarray:
    """(C, 1, 1) per-band gain of a tile's greenness `h`: B03 x e^(h/2), B04 x e^(-h/2), 1 elsewhere."""
    gain = {"B03": np.exp(h / 2), "B04": np.exp(-h / 2)}
    return np.array([gain.get(b, 1.0) for b in bands], np.float32)[:, None, None]


def greenness_dprime(a: str, b: str) -> float:
    """The RGB separability d' of two classes whose visible signatures differ only in greenness (RGB_CONFUSABLE):
    |difference of log(B03/B04)| / _GREENNESS_SD. The per-tile brightness and vigour leave B03/B04 alone,
    shading and pixel noise average out over a tile, so with equal priors the best RGB classifier of the pair
    scores Phi(d' / 2) (d' = 1: 69 %). Only meaningful for such pairs (Crops, Grass: same B02, same
    B03 x B04 within 0.1 %); classes that differ in other visible directions are separable beyond it."""
    sa, sb = _signature(a)[0].astype(np.float64), _signature(b)[0].astype(np.float64)
    g, r = EUROSAT_ORDER.index("B03"), EUROSAT_ORDER.index("B04")
    return float(abs(np.log(sa[g] / sa[r]) - np.log(sb[g] / sb[r])) / _GREENNESS_SD)


def to_uint16(tile: np.ndarray) -> np.ndarray:
    out = np.rint(tile)
    np.clip(out, 1, 65535, out=out)
    return out.astype(np.uint16)


def shift_appearance(tile: np.ndarray, bands: tuple[str, ...], s: float, rng: np.random.Generator) -> np.ndarray:
    """The student-domain shift of strength s in [0, 1] (see module docstring) on a DN tile."""
    if s <= 0:
        return tile
    size = tile.shape[-1]
    zoom = 1 + s
    crop = max(2, int(round(size / zoom)))
    start = rng.integers(0, size - crop + 1, size=2)
    ri = start[0] + (np.arange(size) * crop // size)
    ci = start[1] + (np.arange(size) * crop // size)
    season, haze = _shift_terms(tuple(bands), float(s))
    return tile[:, ri[:, None], ci] * season * np.float32(1 + 0.35 * s) + haze


@lru_cache(maxsize=64)
def _shift_terms(bands: tuple[str, ...], s: float) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal gain and haze offset per band, (C, 1, 1) float32 (read-only)."""
    season = np.array([1 + s * _SEASON.get(b, 0.0) for b in bands], np.float32)[:, None, None]
    haze = np.array([s * _HAZE.get(b, 0.0) for b in bands], np.float32)[:, None, None]
    season.setflags(write=False)
    haze.setflags(write=False)
    return season, haze


@SOURCES.register("synthetic")
class Synthetic(Source):
    name = "synthetic"
    modality = "ms"  # the instance's modality follows option pool
    defaults = {
        "pool": "teacher",
        "per_class": 50,
        "classes": 7,
        "seed": 0,
        "consistency": 0.0,
        "scenes": "own",
        "link_scenes": False,
    }
    defaults["multilabel"] = 0.0  # fraction of mixed multi-label tiles (see multilabel_classes)

    def __init__(self, root: str | Path = ".", *, bands=None, size=64, **options):
        super().__init__(root, bands=bands, size=size, **options)
        o = self.options
        if o["pool"] not in ("teacher", "student"):
            raise ConfigError(f"synthetic: pool must be 'teacher' or 'student', got {o['pool']!r}")
        self.pool: str = o["pool"]
        self.modality = "ms" if self.pool == "teacher" else "rgb"
        self.per_class = int(o["per_class"])
        self.seed = int(o["seed"])
        self.consistency = float(o["consistency"])
        if self.per_class < 1 or not 0.0 <= self.consistency <= 1.0:
            raise ConfigError(f"synthetic: need per_class >= 1 and consistency in [0, 1], got {o}")
        self.classes = resolve_classes(o["classes"])
        if self.pool == "teacher":
            self.bands = self.bands or EUROSAT_ORDER
            band_indices(EUROSAT_ORDER, self.bands)
        else:
            self.bands = ("R", "G", "B")
        self.n_paired = int(round(self.consistency * self.per_class))
        self.multilabel = float(o["multilabel"])
        if not 0.0 <= self.multilabel <= 1.0:
            raise ConfigError(f"synthetic: multilabel must be a fraction in [0, 1], got {o['multilabel']!r}")
        self.scenes, self.link_scenes = o["scenes"], bool(o["link_scenes"])
        if self.scenes not in ("own", "student") or (self.scenes == "student" and self.pool != "teacher"):
            raise ConfigError(f"synthetic: scenes must be 'own', or 'student' for the teacher pool, got {o}")
        if (self.scenes == "student" or self.link_scenes) and (self.consistency != 0.0 or self.multilabel > 0):
            raise ConfigError("synthetic: scenes='student' and link_scenes need consistency 0 and multilabel 0")

    # ---- layout ----------------------------------------------------------------------------------
    def placement(self, region: str, idx: int) -> tuple[str, float, float]:
        """(CRS, x of the left edge, y of the top edge) of tile number `idx` in `region` (UTM metres)."""
        lon, lat = {n: (x, y) for n, x, y in TEACHER_REGIONS + STUDENT_REGIONS}[region]
        epsg = _utm_epsg(lon, lat)
        cx, cy = _to_utm(epsg)(lon, lat)
        step = self.size * PIXEL_M * 1.25
        return f"EPSG:{epsg}", cx + (idx % 100) * step, cy - (idx // 100) * step

    def layout(self) -> list[tuple[str, str, str, dict, tuple[str, float, float]]]:
        """(sample_id, class, region, extra, placement) for every sample of this pool, unsorted."""
        rows = []
        for ci, cls in enumerate(self.classes):
            for k in range(self.per_class):
                paired = self.pool == "student" and k < self.n_paired
                own_ms = self.pool == "teacher" and self.scenes == "own"
                regions = TEACHER_REGIONS if own_ms or paired else STUDENT_REGIONS
                region = regions[(ci + k) % len(regions)][0]
                prefix = "t" if own_ms else ("ms-of-s" if self.pool == "teacher" else "s")
                extra = {"rendered_from": f"t-{cls}-{k:05d}"} if paired else {}
                if self.link_scenes:
                    extra = {"rendered_from": f"ms-of-s-{cls}-{k:05d}", "scene_link": True}
                rows.append(
                    (f"{prefix}-{cls}-{k:05d}", cls, region, extra, self.placement(region, ci * self.per_class + k))
                )
        return rows

    def scan(self) -> list[RawSample]:
        import shapely

        rows = self._with_labels(self.layout())
        side = self.size * PIXEL_M
        footprints: list = [None] * len(rows)
        for crs in sorted({r[4][0] for r in rows}):
            group = [i for i, r in enumerate(rows) if r[4][0] == crs]
            x0 = np.array([rows[i][4][1] for i in group])
            y0 = np.array([rows[i][4][2] for i in group])
            xs = np.stack([x0, x0 + side, x0 + side, x0, x0], 1)
            ys = np.stack([y0, y0, y0 - side, y0 - side, y0], 1)
            lon, lat = _to_lonlat(int(crs[5:]))(xs, ys)
            for i, poly in zip(group, shapely.polygons(np.stack([lon, lat], -1))):
                footprints[i] = poly
        samples = [
            RawSample(
                sample_id=sid,
                class_name=cls,
                path="",
                source=self.name,
                region=region,
                height=self.size,
                width=self.size,
                bands=self.bands,
                crs=place[0],
                footprint=fp,
                extra=extra,
            )
            for (sid, cls, region, extra, place), fp in zip(rows, footprints)
        ]
        return sorted(samples, key=lambda s: (s.class_name, s.sample_id))

    def read(self, sample: RawSample) -> np.ndarray:
        mixed = self._read_multilabel(sample)
        if mixed is not None:
            return mixed
        if self.pool == "teacher":  # scenes="student": the tile of the student scene `ms-of-<student id>`
            scene = sample.sample_id[len("ms-of-") :] if self.scenes == "student" else sample.sample_id
            return to_uint16(generate_ms(self.seed, scene, sample.class_name, self.size, sample.bands))
        linked = sample.extra.get("scene_link")  # a link to its scene's MS tile, not a rendering of it
        return self.render_student(
            sample.sample_id, sample.class_name, None if linked else sample.extra.get("rendered_from")
        )

    def render_student(self, sample_id: str, cls: str, rendered_from: str | None) -> np.ndarray:
        if rendered_from:
            tile = to_uint16(generate_ms(self.seed, rendered_from, cls, self.size, RGB_BANDS))
            return render_rgb(tile, RGB_BANDS)
        tile = generate_ms(self.seed, sample_id, cls, self.size, RGB_BANDS)
        rng = _rng(self.seed + 1, sample_id)
        tile = shift_appearance(tile, RGB_BANDS, 1.0 - self.consistency, rng)
        return render_rgb(to_uint16(tile), RGB_BANDS)

    # ---- multi-label mode (option `multilabel`) ----------------------------------------------------
    def _with_labels(self, rows: list) -> list:
        """Teacher rows with `extra["labels"]` (primary first) when the multi-label mode is on."""
        if self.pool != "teacher" or self.multilabel <= 0:
            return rows
        return [
            (
                sid,
                cls,
                region,
                {**extra, LABELS_KEY: list(multilabel_classes(self.seed, sid, cls, self.classes, self.multilabel))},
                place,
            )
            for sid, cls, region, extra, place in rows
        ]

    def _read_multilabel(self, sample: RawSample) -> np.ndarray | None:
        """A mixed tile (teacher) or the rendering of one (student `rendered_from`); None for a plain tile."""
        if self.multilabel <= 0:
            return None
        sid = sample.sample_id if self.pool == "teacher" else sample.extra.get("rendered_from")
        if not sid:
            return None
        labels = multilabel_classes(self.seed, sid, sample.class_name, self.classes, self.multilabel)
        if len(labels) == 1:
            return None
        bands = sample.bands if self.pool == "teacher" else RGB_BANDS
        tile = to_uint16(generate_multilabel_ms(self.seed, sid, labels, self.size, bands))
        return tile if self.pool == "teacher" else render_rgb(tile, RGB_BANDS)


def multilabel_classes(
    seed: int, sample_id: str, cls: str, classes: tuple[str, ...], fraction: float
) -> tuple[str, ...]:
    """Classes of a teacher tile in the multi-label mode: a seeded `fraction` of the tiles mix in one
    other class of `classes` (drawn uniformly), so they carry (cls, other); the rest carry (cls,)."""
    rng = _rng(seed + 7919, sample_id)
    others = [c for c in classes if c != cls]
    if not others or rng.random() >= fraction:
        return (cls,)
    return (cls, others[int(rng.integers(len(others)))])


def generate_multilabel_ms(
    seed: int, sample_id: str, labels: tuple[str, ...], size: int, bands: tuple[str, ...]
) -> np.ndarray:
    """A float32 (C, size, size) DN tile of `labels[0]` in which every further label replaces a
    straight-edged part (a seeded share of 25-45 % of the pixels, beyond a random line): the
    primary class stays the majority, and every class the tile shows is in its label set."""
    tile = generate_ms(seed, sample_id, labels[0], size, bands)
    yy, xx = _grid(size)
    for other in labels[1:]:
        rng = _rng(seed + 7919, f"{sample_id}+{other}")
        theta, share = rng.uniform(0, 2 * np.pi), rng.uniform(0.25, 0.45)
        along = xx * np.float32(np.cos(theta)) + yy * np.float32(np.sin(theta))
        mask = along >= np.quantile(along, 1.0 - share)
        part = generate_ms(seed, f"{sample_id}+{other}", other, size, bands)
        tile = np.where(mask[None], part, tile)
    return tile


@lru_cache(maxsize=16)
def _to_utm(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform


@lru_cache(maxsize=16)
def _to_lonlat(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True).transform


def write_synthetic_tree(
    out_dir: str | Path,
    *,
    per_class: int = 10,
    size: int = 64,
    classes: Any = 7,
    seed: int = 0,
    consistency: float = 0.0,
) -> dict[str, int]:
    """Write `ms/<Class>/<id>.tif` (13-band uint16 UTM GeoTIFFs, EuroSAT band order) and
    `rgb/<Class>/<id>.png`; returns the file counts. Each file is written atomically."""
    import rasterio
    from affine import Affine
    from PIL import Image

    from ackd_bench.io import atomic_path

    out = Path(out_dir)
    knobs = dict(per_class=per_class, classes=classes, seed=seed, consistency=consistency)
    teacher = Synthetic(out, size=size, pool="teacher", **knobs)
    student = Synthetic(out, size=size, pool="student", **knobs)
    counts = {"ms": 0, "rgb": 0}
    for sid, cls, _region, _extra, (crs, x0, y0) in teacher.layout():
        arr = to_uint16(generate_ms(seed, sid, cls, size, EUROSAT_ORDER))
        profile = dict(
            driver="GTiff",
            width=size,
            height=size,
            count=arr.shape[0],
            dtype="uint16",
            crs=crs,
            transform=Affine.translation(x0, y0) @ Affine.scale(PIXEL_M, -PIXEL_M),
        )
        with atomic_path(out / "ms" / cls / f"{sid}.tif") as tmp:
            with rasterio.open(tmp, "w", **profile) as ds:
                ds.write(arr)
                ds.descriptions = EUROSAT_ORDER
        counts["ms"] += 1
    for sid, cls, _region, extra, _place in student.layout():
        rgb = student.render_student(sid, cls, extra.get("rendered_from"))
        with atomic_path(out / "rgb" / cls / f"{sid}.png") as tmp:
            Image.fromarray(rgb.transpose(1, 2, 0), mode="RGB").save(tmp, format="PNG")
        counts["rgb"] += 1
    return counts
