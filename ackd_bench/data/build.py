"""`build-dataset`: raw sources -> one benchmark folder (ARCHITECTURE.md §2), built atomically.

The whole folder is assembled in a hidden temp sibling (`io.atomic_dir`) and renamed at the end, so a
failed or interrupted build leaves no partial output. Per-sample files (student PNGs, derived teacher
GeoTIFFs) are written straight into that temp folder: its final rename is what makes them visible.
"""

from __future__ import annotations

import io as _io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench import __version__
from ackd_bench.config import LOSS_WEIGHTS_DEFAULT
from ackd_bench.data import checks, packing
from ackd_bench.data.bands import DEFAULT_BAND_SET, band_indices, resolve_band_set
from ackd_bench.data.manifest import SPLITS, check_rel_path, make_frame, write_manifest, write_table
from ackd_bench.data.sources._multilabel import LABELS_KEY, labels_of
from ackd_bench.data.splits import (
    POOL_RULES,
    TRAIN_FRACTION_RULE,
    assign_splits,
    check_fractions,
    check_train_fractions,
    pool_split,
    train_fraction_of,
)
from ackd_bench.data.stats import compute_stats
from ackd_bench.errors import ConfigError, DataError
from ackd_bench.io import atomic_dir, atomic_write_json, sha256_bytes, sha256_file

REPO = Path(__file__).resolve().parents[2]


@dataclass
class PoolSpec:
    source: str
    root: str  # "repo:...", "bench:..." or as typed ("" for generated sources)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildSpec:
    name: str
    teacher: PoolSpec
    student: PoolSpec
    bands: str = DEFAULT_BAND_SET
    size: int = 64
    split_by: str = "region"
    seed: int = 0
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    train_fractions: tuple[float, ...] = ()  # nested student train subsets (label-efficiency runs)
    class_map: str | None = None
    version: str = "1"
    description: str = ""
    licence: dict = field(default_factory=dict)
    command: str = ""
    card_extra: dict = field(default_factory=dict)  # preset provenance (paper_dataset, downloads, class map file)
    # SCKD reference (docs/datasets.md): an ACKD build names its paired sibling; a paired build names the ACKD
    # build it is the reference of and keeps only that build's student side (`paired_students_of` = its rule)
    sckd_reference: str | None = None
    sckd_reference_for: str | None = None
    paired_students_of: str | None = None


def resolve_root(root: str, bench: Path | None = None) -> Path:
    """Card root string -> a path: `repo:X` inside this repo, `bench:X` inside the benchmark, else as typed."""
    if root.startswith("repo:"):
        return REPO / root[5:]
    if root.startswith("bench:"):
        if bench is None:
            raise ConfigError(f"root {root!r} needs a benchmark folder")
        return Path(bench) / root[6:]
    return Path(root)


def _pool(spec: PoolSpec, size: int):
    from ackd_bench.data.sources import SOURCES

    cls = SOURCES.get(spec.source)
    return cls(resolve_root(spec.root), bands=None, size=size, **spec.options)


# ---------------------------------------------------------------- classes
def _classes(
    teacher: list, student: list, class_map: str | None
) -> tuple[list[str], dict, dict, dict, dict | None, dict | None]:
    """Benchmark classes, mapped teacher/student samples {id: (sample, class)}, dropped counts, the map,
    and the multi-label teacher's summary (None for a single-label teacher; see `_multilabel_teacher`)."""
    teacher_names = {c for s in teacher for c in labels_of(s)}
    student_names = {s.class_name for s in student}
    mapping: dict[str, str] | None = None
    if class_map:
        from ackd_bench.data.classmap import load_class_map

        mapping = dict(load_class_map(class_map))
        unknown = sorted(set(mapping) - teacher_names - student_names)
        if unknown:
            raise ConfigError(
                f"class map names unknown source class(es) {unknown} (teacher has {sorted(teacher_names)}, student has {sorted(student_names)})",
                class_map,
            )
        targets = set(mapping.values())

        def mapped(name: str) -> str | None:
            return mapping.get(name, name if name in targets else None)

        t_classes = {mapped(c) for c in teacher_names} - {None}
        missing = sorted(targets - t_classes)
        if missing:
            raise ConfigError(
                f"class map targets {missing} have no teacher images (teacher classes {sorted(t_classes)})", class_map
            )
        classes = sorted(targets & {mapped(c) for c in student_names})
    else:

        def mapped(name: str) -> str | None:
            return name if name in teacher_names and name in student_names else None

        classes = sorted(teacher_names & student_names)
    if not classes:
        raise ConfigError(
            f"teacher classes {sorted(teacher_names)} and student classes {sorted(student_names)} share no class; pass --class-map"
        )
    keep = set(classes)
    out: list[dict] = []
    dropped: dict[str, dict[str, int]] = {}
    for pool, samples in (("teacher", teacher), ("student", student)):
        kept, lost = {}, {}
        for s in samples:
            # the primary class: the first of the sample's labels (primary first) that survives the map
            c = next((m for m in map(mapped, labels_of(s)) if m in keep), None)
            if c in keep:
                kept[s.sample_id] = (s, c)
            else:
                lost[s.class_name] = lost.get(s.class_name, 0) + 1
        out.append(kept)
        dropped[pool] = dict(sorted(lost.items()))
    cmap = {"mapping": dict(sorted(mapping.items())), "file": Path(class_map).name} if mapping else None
    return classes, out[0], out[1], dropped, cmap, _multilabel_teacher(out[0], mapped, classes)


def _multilabel_teacher(teacher: dict, mapped, classes: list[str]) -> dict | None:
    """For a multi-label teacher source (samples with extra["labels"]): {"labels": {id: [class index, ...]}
    (sorted, every label that survives the class map, the primary included), "source_class": {id: source
    name of the primary}, "card": summary}; else None."""
    if not any(LABELS_KEY in s.extra for s, _ in teacher.values()):
        return None
    index = {c: i for i, c in enumerate(classes)}
    sets: dict[str, list[int]] = {}
    source_class: dict[str, str] = {}
    lost: dict[str, int] = {}
    for sid, (s, primary) in teacher.items():
        kept = {index[primary]}
        for name in labels_of(s):
            m = mapped(name)
            if m in index:
                kept.add(index[m])
                source_class.setdefault(sid, name)  # the source name the primary came from
            else:
                lost[name] = lost.get(name, 0) + 1
        sets[sid] = sorted(kept)
    per_class = np.bincount([i for v in sets.values() for i in v], minlength=len(classes))
    card = {
        "pool": "teacher",
        "encoding": "manifest column `labels`: sorted list of class indices (the primary `label` included)",
        "primary_rule": "first of the source's ordered labels that survives the class map",
        "label_counts": {c: int(n) for c, n in zip(classes, per_class)},
        "mean_labels_per_sample": round(float(np.mean([len(v) for v in sets.values()])), 4) if sets else 0.0,
        "dropped_labels": dict(sorted(lost.items())),
    }
    return {"labels": sets, "source_class": source_class, "card": card}


def _shared_tiles(spec: BuildSpec, teacher: dict, student: dict) -> bool:
    """True when every student sample is a rendering of a teacher tile of the same root."""
    if not student or spec.teacher.root != spec.student.root:
        return False
    return all(s.extra.get("rendered_from") in teacher for s, _ in student.values())


# ---------------------------------------------------------------- encoding
def _png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = _io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0)), mode="RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _tif_bytes(x: np.ndarray, sample) -> bytes:
    """A derived teacher sample as a GeoTIFF, georeferenced from its CRS and footprint when known."""
    transform = None
    if sample.crs and sample.crs.upper().startswith("EPSG:") and sample.footprint is not None:
        xs, ys = _from_4326(sample.crs)(*np.asarray(sample.footprint.exterior.coords).T)
        left, right, bottom, top = (round(float(v), 3) for v in (xs.min(), xs.max(), ys.min(), ys.max()))
        transform = ((right - left) / x.shape[2], 0.0, left, 0.0, -(top - bottom) / x.shape[1], top)
    return packing.geotiff_bytes(x, sample.crs if transform else None, transform)


@lru_cache(maxsize=None)
def _from_4326(crs: str):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform


def _progress(items, quiet: bool, desc: str, total: int | None = None):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=quiet, unit="img", leave=False, mininterval=0.5, total=total)


# ---------------------------------------------------------------- main entry
@dataclass
class BuildPlan:
    """Everything a build decides before it reads a pixel (`plan_build`): classes and labels, the samples of
    each pool, the SCKD pairs, the split assignment, the pool rule, the footprint overlaps. `materialise`
    then reads every sample once and writes the benchmark folder."""

    spec: BuildSpec
    teacher_source: Any  # the teacher's data.sources.Source (scanned)
    student_source: Any
    bands: tuple[str, ...]  # the card's default teacher band selection
    fractions: tuple[float, float, float]
    train_fractions: tuple[float, ...]
    classes: list[str]
    label: dict[str, int]  # class -> label index
    teacher: dict  # sample id -> (RawSample, class), the teacher pool
    student: dict
    dropped: dict  # per pool, per source class: samples dropped by the class map
    class_map: dict | None
    multilabel: dict | None  # a multi-label teacher's labels, primary source classes and card entry
    rule: str  # the pool rule (data/splits.POOL_RULES)
    pairs: dict[str, str]  # student id -> the teacher tile it was rendered from (SCKD pairs)
    pair_tiles: dict  # teacher tile id -> (RawSample, class), for every paired tile
    split_of: dict[str, dict[str, str]]  # pool -> sample id -> split
    counts: dict  # pool -> per-split class counts
    fraction_of: dict[str, float] | None  # student train id -> smallest train fraction holding it
    overlaps: int  # teacher/student footprint overlaps (allowed ones)

    @property
    def teacher_root(self) -> str:
        return self.spec.teacher.root or self.spec.teacher.source

    @property
    def student_root(self) -> str:
        return self.spec.student.root or self.spec.student.source


def build_dataset(spec: BuildSpec, out: str | Path, *, overwrite: bool = False, quiet: bool = False) -> dict:
    """Build the benchmark folder `out` from `spec`; returns the card. Bad input -> DataError/ConfigError."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise DataError("output folder exists and is not empty (pass --overwrite to replace it)", out)
    plan = plan_build(spec)
    with atomic_dir(out, overwrite=True) as tmp:
        return materialise(plan, tmp, quiet)


def plan_build(spec: BuildSpec) -> BuildPlan:
    """Validate `spec`, scan both sources (headers only), map classes, form the pools and pairs, assign the
    splits and train fractions, check class coverage and footprints. Writes nothing."""
    fractions = check_fractions(spec.fractions)
    train_fractions = check_train_fractions(spec.train_fractions) if spec.train_fractions else ()
    bands_sel = resolve_band_set(spec.bands)
    if spec.size <= 0:
        raise ConfigError(f"--size must be positive, got {spec.size}")
    t_src, s_src = _pool(spec.teacher, spec.size), _pool(spec.student, spec.size)
    if t_src.modality != "ms" or s_src.modality != "rgb":
        raise ConfigError(
            f"teacher source must be multispectral and student RGB, got {spec.teacher.source} ({t_src.modality}) and {spec.student.source} ({s_src.modality})"
        )
    classes, teacher, student, dropped, cmap, multilabel = _classes(t_src.scan(), s_src.scan(), spec.class_map)
    label = {c: i for i, c in enumerate(classes)}
    t_root_txt = spec.teacher.root or spec.teacher.source

    # pools
    rule = spec.split_by
    # `sources`: keep every sample in the pool its source gave it, even students rendered from teacher tiles
    shared = rule != "sources" and _shared_tiles(spec, teacher, student)
    pairs: dict[str, str] = {}
    if shared:
        t_ids, s_tiles = pool_split(
            [s for s, _ in teacher.values()], rule, spec.seed, lambda s: teacher[s.sample_id][1]
        )
        if rule == "paired" and spec.paired_students_of:  # the SCKD sibling: only the ACKD build's student side
            _, s_tiles = pool_split(
                [s for s, _ in teacher.values()], spec.paired_students_of, spec.seed, lambda s: teacher[s.sample_id][1]
            )
            t_ids = set(s_tiles)
        pairs = {
            sid: s.extra["rendered_from"] for sid, (s, _) in student.items() if s.extra["rendered_from"] in s_tiles
        }
        student = {sid: student[sid] for sid in pairs}
        pair_tiles = {tid: teacher[tid] for tid in pairs.values()}
        teacher = {tid: teacher[tid] for tid in sorted(t_ids)}
    else:
        if rule == "paired":
            raise ConfigError(
                "--split-by paired needs students rendered from the teacher tiles (e.g. eurosat-rgb-render on the same root)"
            )
        pair_tiles = {}
        rule = "sources"  # separate sources: each sample stays in its pool; footprints still checked

    # splits + coverage
    split_of: dict[str, dict[str, str]] = {}
    counts: dict[str, dict] = {}
    # students first: in a paired build each tile takes the split of its student image, so the student splits
    # are drawn exactly as in the ACKD build (the same student test images as its ACKD sibling)
    for pool, items in (("student", student), ("teacher", teacher)):
        by_class: dict[str, list[str]] = {c: [] for c in classes}
        for sid, (_, c) in items.items():
            by_class[c].append(sid)
        split_of[pool] = assign_splits(by_class, spec.seed, pool, fractions)
        if rule == "paired" and pool == "teacher":
            follows = {tid: split_of["student"][sid] for sid, tid in pairs.items()}
            split_of[pool] = {tid: follows.get(tid, split) for tid, split in split_of[pool].items()}
        counts[pool] = checks.check_class_coverage(
            split_of[pool],
            {k: v[1] for k, v in items.items()},
            classes,
            pool,
            t_root_txt if pool == "teacher" else (spec.student.root or spec.student.source),
        )

    fraction_of: dict[str, float] = {}
    if train_fractions:
        train_by_class: dict[str, list[str]] = {c: [] for c in classes}
        for sid, (_, c) in student.items():
            if split_of["student"][sid] == "train":
                train_by_class[c].append(sid)
        fraction_of = train_fraction_of(train_by_class, train_fractions, spec.seed)

    overlaps = 0
    if rule != "paired":
        strict = "region" if spec.split_by == "region" else rule
        overlaps = checks.check_disjoint_footprints(
            [s.footprint for s, _ in teacher.values()], [s.footprint for s, _ in student.values()], strict, t_root_txt
        )

    return BuildPlan(
        spec=spec,
        teacher_source=t_src,
        student_source=s_src,
        bands=tuple(bands_sel),
        fractions=fractions,
        train_fractions=tuple(train_fractions),
        classes=classes,
        label=label,
        teacher=teacher,
        student=student,
        dropped=dropped,
        class_map=cmap,
        multilabel=multilabel,
        rule=rule,
        pairs=pairs,
        pair_tiles=pair_tiles,
        split_of=split_of,
        counts=counts,
        fraction_of=fraction_of if train_fractions else None,
        overlaps=overlaps,
    )


def materialise(plan: BuildPlan, tmp: Path, quiet: bool = False) -> dict:
    """Write the benchmark of `plan` into the (temporary) folder `tmp`: files, manifests, packed arrays, stats,
    then the card (returned)."""
    spec, rule, fractions, train_fractions = plan.spec, plan.rule, plan.fractions, plan.train_fractions
    card = _write_pools(plan, tmp, quiet)
    card.update(
        name=spec.name,
        version=str(spec.version),
        description=spec.description,
        classes=plan.classes,
        size=int(spec.size),
        sources={
            p: {
                "source": ps.source,
                "root": ps.root,
                "options": dict(sorted(ps.options.items())),
                **({"details": d} if (d := src.card_details()) else {}),
            }
            for p, ps, src in (
                ("teacher", spec.teacher, plan.teacher_source),
                ("student", spec.student, plan.student_source),
            )
        },
        split={
            "protocol": "sckd" if rule == "paired" else "ackd",
            "pool_rule": rule,
            "split_by": spec.split_by,
            "rule": POOL_RULES[rule],
            "fractions": list(fractions),
            "seed": int(spec.seed),
            "footprint_overlaps": plan.overlaps,
        },
        counts=dict(sorted(plan.counts.items())),
        paired=bool(plan.pairs),
        class_map=plan.class_map,
        sckd_reference=spec.sckd_reference if rule != "paired" else None,
        sckd_reference_for=spec.sckd_reference_for if rule == "paired" else None,
        dropped=plan.dropped,
        **(
            {
                "train_fractions": _fraction_card(
                    train_fractions, plan.fraction_of, plan.student, plan.classes, spec.seed
                )
            }
            if train_fractions
            else {}
        ),
        loss_weights_default=dict(LOSS_WEIGHTS_DEFAULT),
        command=spec.command,
        licence=spec.licence,
        ackd_bench_version=__version__,
    )
    if plan.multilabel:  # a multi-label teacher (the key is absent for single-label benchmarks)
        card["multilabel"] = plan.multilabel["card"]
    card.update({k: v for k, v in spec.card_extra.items() if k not in card})
    atomic_write_json(tmp / "benchmark.json", card)
    _publishable(tmp)
    return card


def _fraction_card(
    fractions: tuple[float, ...], fraction_of: dict[str, float], student: dict, classes: list[str], seed: int
) -> dict:
    """Card entry: the fractions, the rule, the seed, and the per-class sample count of every subset."""
    counts = {
        f"{f:g}": {c: sum(1 for sid, g in fraction_of.items() if g <= f and student[sid][1] == c) for c in classes}
        for f in fractions
    }
    return {
        "fractions": list(fractions),
        "pool": "student",
        "split": "train",
        "seed": int(seed),
        "column": "train_fraction",
        "rule": TRAIN_FRACTION_RULE,
        "counts": counts,
    }


def _publishable(root: Path) -> None:
    """Temp files/folders are created private (0600/0700); give the benchmark the usual umask modes."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o777 & ~umask)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o666 & ~umask)


def _fs_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


class _PoolWriter:
    """Reads one pool's samples in manifest order into preallocated per-split arrays; hashes/writes files."""

    def __init__(
        self,
        pool: str,
        src,
        items: dict,
        order: list[str],
        split_of: dict[str, str],
        kind: str,
        root_txt: str,
        tmp: Path,
        quiet: bool,
        key: str | None = None,
        *,
        like: "_PoolWriter | None" = None,
        file_id: dict[str, str] | None = None,
        label_sets: dict[str, list[int]] | None = None,
        source_class: dict[str, str] | None = None,
    ):
        """`like`: a writer whose files this one shares (the SCKD tiles are teacher files: same root, same
        derived-or-not); `file_id`: sid -> file stem where it differs; `label_sets`/`source_class`: a multi-label
        teacher's class indices and primary source class per sample."""
        self.pool, self.src, self.items, self.order, self.split_of = pool, src, items, order, split_of
        self.kind, self.root_txt, self.tmp, self.quiet = kind, root_txt, tmp, quiet
        self.key = key or pool
        if like is not None:
            self.derived, self.root = like.derived, like.root
        else:
            self.derived = kind == "png" or any(items[sid][0].path == "" for sid in order)
            self.root = f"bench:files/{pool}" if self.derived else root_txt
        self.arrays: dict[str, np.ndarray] = {}
        self.ids: dict[str, list[str]] = {sp: [] for sp in SPLITS}
        self.sha: dict[str, str] = {}
        self.path: dict[str, str] = {}
        self.means: list[np.ndarray] = []
        self.bands: tuple[str, ...] = ()
        self.file_id: dict[str, str] = dict(file_id or {})  # sid -> file stem when it differs (SCKD tiles)
        self.label_sets = label_sets  # multi-label teacher: sid -> class indices
        self.source_class: dict[str, str] = dict(source_class or {})  # multi-label: sid -> primary's source name
        self._dirs: set[Path] = set()

    def run(self) -> None:
        """Read every sample of the pool once (in the source's order): packed arrays per split, per-band means,
        and each sample's file (written when derived, checksummed in place otherwise).

        Raises:
            DataError: a sample's shape, dtype or bands differ from the others, or a student image is not RGB uint8.
        """
        sizes = {sp: sum(1 for sid in self.order if self.split_of[sid] == sp) for sp in SPLITS}
        slot: list[int] = []  # position of each ordered sample inside its split's array
        for sid in self.order:
            sp = self.split_of[sid]
            slot.append(len(self.ids[sp]))
            self.ids[sp].append(sid)
        samples = [self.items[sid][0] for sid in self.order]
        means: list[np.ndarray | None] = [None] * len(samples)
        shape = None
        # the source picks the reading order (e.g. s2-scene reads each band once per block of patches)
        for k, x in _progress(self.src.read_many(samples), self.quiet, f"{self.key} images", total=len(samples)):
            sid = self.order[k]
            sample, cls = self.items[sid]
            where = self._where(sample)
            if shape is None:
                shape, self.bands = (x.shape, x.dtype), tuple(sample.bands)
                self.arrays = {sp: np.empty((n,) + x.shape, dtype=x.dtype) for sp, n in sizes.items() if n}
            elif (x.shape, x.dtype) != shape or tuple(sample.bands) != self.bands:
                raise DataError(
                    f"sample is {x.dtype} {x.shape} with bands {list(sample.bands)}, others are {shape[1]} {shape[0]} with {list(self.bands)}",
                    where,
                )
            if self.kind == "png" and (x.dtype != np.uint8 or x.shape[0] != 3):
                raise DataError(f"student image must be uint8 RGB, got {x.dtype} {x.shape}", where)
            self.arrays[self.split_of[sid]][slot[k]] = x
            means[k] = x.reshape(x.shape[0], -1).mean(axis=1, dtype=np.float64)
            self._store(sid, sample, cls, x)
        if any(m is None for m in means):
            raise AssertionError(f"source {self.src.name!r} read_many skipped samples")  # a source bug, not bad input
        self.means = means  # type: ignore[assignment]

    def _where(self, sample) -> str:
        if sample.path:
            return str(resolve_root(self.root_txt) / sample.path)
        return f"{self.root_txt} sample {sample.sample_id}"

    def _store(self, sid: str, sample, cls: str, x: np.ndarray) -> None:
        if not self.derived:
            rel = check_rel_path(sample.path, self.root_txt)
            root = resolve_root(self.root_txt)
            path = root / rel
            if not path.resolve().is_relative_to(root.resolve()):
                raise DataError(f"file resolves outside the root {self.root_txt!r} (symlink?)", path)
            self.path[sid], self.sha[sid] = rel, sha256_file(path)
            return
        ext = "png" if self.kind == "png" else "tif"
        rel = f"{_fs_name(cls)}/{_fs_name(self.file_id.get(sid, sid))}.{ext}"
        data = _png_bytes(x) if self.kind == "png" else _tif_bytes(x, sample)
        self._put(self.tmp / "files" / self.pool / rel, data)
        self.path[sid], self.sha[sid] = rel, sha256_bytes(data)

    def _put(self, path: Path, data: bytes) -> None:
        """One per-sample file inside the build's temp folder (made visible by atomic_dir's final rename)."""
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        with open(path, "wb") as f:
            f.write(data)

    def rows(self, label: dict[str, int]) -> tuple[list[dict], list[Any]]:
        """The manifest rows (in pool order) and each row's footprint geometry; call after `run`."""
        rows, geoms = [], []
        for sid in self.order:
            s, cls = self.items[sid]
            rows.append(
                {
                    "sample_id": sid,
                    "path": self.path[sid],
                    "sha256": self.sha[sid],
                    "class_name": cls,
                    "label": label[cls],
                    "split": self.split_of[sid],
                    "source": s.source,
                    "region": s.region,
                    "height": int(s.height if self.kind == "png" else self.arrays_shape[1]),
                    "width": int(s.width if self.kind == "png" else self.arrays_shape[2]),
                    "bands": ",".join(s.bands),
                    "crs": s.crs,
                    "source_class": self.source_class.get(sid, s.class_name),
                }
            )
            if self.label_sets is not None:
                rows[-1]["labels"] = list(self.label_sets[sid])
            geoms.append(s.footprint)
        return rows, geoms

    @property
    def arrays_shape(self) -> tuple[int, ...]:
        """(C, H, W) of every sample of the pool."""
        return next(iter(self.arrays.values())).shape[1:]


def _write_pools(plan: BuildPlan, tmp: Path, quiet: bool) -> dict:
    """Read every sample once: files, checksums, packed arrays, stats, manifests. Returns card fields."""
    spec, label, teacher, student, pairs, pair_tiles = (
        plan.spec,
        plan.label,
        plan.teacher,
        plan.student,
        plan.pairs,
        plan.pair_tiles,
    )
    split_of, t_src, s_src, multilabel, fraction_of = (
        plan.split_of,
        plan.teacher_source,
        plan.student_source,
        plan.multilabel,
        plan.fraction_of,
    )

    def order(items: dict) -> list[str]:
        return sorted(items, key=lambda sid: (label[items[sid][1]], sid))

    t_root_txt = spec.teacher.root or spec.teacher.source
    tw = _PoolWriter(
        "teacher",
        t_src,
        teacher,
        order(teacher),
        split_of["teacher"],
        "tif",
        t_root_txt,
        tmp,
        quiet,
        label_sets=multilabel["labels"] if multilabel else None,
        source_class=multilabel["source_class"] if multilabel else None,
    )
    tw.run()
    band_indices(tw.bands, plan.bands)  # the default selection must exist
    sw = _PoolWriter(
        "student",
        s_src,
        student,
        order(student),
        split_of["student"],
        "png",
        spec.student.root or spec.student.source,
        tmp,
        quiet,
    )
    sw.run()
    checks.check_disjoint_content(tw.sha, sw.sha, t_root_txt)
    classes_of = [teacher[sid][1] for sid in tw.order]
    checks.check_band_sanity(np.stack(tw.means), tw.bands, classes_of, t_root_txt)

    arrays = {f"teacher_{sp}": (x, tw.ids[sp], list(tw.bands)) for sp, x in tw.arrays.items()}
    arrays.update({f"student_{sp}": (x, sw.ids[sp], list(sw.bands)) for sp, x in sw.arrays.items()})

    # SCKD pairs: the MS tile each student image was rendered from (outside the teacher pool in ACKD builds)
    pairs_df = None
    if pairs:
        outside = {tid: pair_tiles[tid] for tid in sorted(set(pairs.values())) if tid not in teacher}
        pw = None
        if outside:
            # aligned with the student order: one MS tile per student image, same split
            p_items = {sid: pair_tiles[pairs[sid]] for sid in sw.order}
            pw = _PoolWriter(
                "teacher",
                t_src,
                p_items,
                sw.order,
                split_of["student"],
                "tif",
                t_root_txt,
                tmp,
                quiet,
                key="sckd_teacher",
                like=tw,
                file_id=pairs,
            )
            pw.run()
            arrays.update(
                {
                    f"sckd_teacher_{sp}": (x, [pairs[s] for s in pw.ids[sp]], list(pw.bands))
                    for sp, x in pw.arrays.items()
                }
            )
        rows = []
        for sid in sw.order:
            tid = pairs[sid]
            in_pool = tid in teacher
            if in_pool:
                tpath, tsha = tw.path[tid], tw.sha[tid]
            else:
                tpath, tsha = pw.path[sid], pw.sha[sid]
            rows.append(
                {
                    "student_id": sid,
                    "teacher_id": tid,
                    "split": split_of["student"][sid],
                    "teacher_in_pool": in_pool,
                    "teacher_path": tpath,
                    "teacher_sha256": tsha,
                }
            )
        import pandas as pd

        pairs_df = pd.DataFrame(
            rows, columns=["student_id", "teacher_id", "split", "teacher_in_pool", "teacher_path", "teacher_sha256"]
        )

    stats = compute_stats(tw.arrays["train"], list(tw.bands), sw.arrays["train"])
    atomic_write_json(tmp / "stats.json", stats)
    packing.write_packed(tmp / "packed", arrays)

    manifests: dict[str, str] = {}
    for pool, w in (("teacher", tw), ("student", sw)):
        rows, geoms = w.rows(label)
        frame = make_frame(rows, geoms)
        if pool == "student" and fraction_of is not None:  # smallest train fraction holding the sample (NaN: none)
            frame["train_fraction"] = frame["sample_id"].map(fraction_of).astype("float64")
        write_manifest(frame, tmp / f"{pool}.parquet")
        manifests[f"{pool}.parquet"] = sha256_file(tmp / f"{pool}.parquet")
    if pairs_df is not None:
        from ackd_bench.io import atomic_path

        with atomic_path(tmp / "sckd_pairs.parquet") as p:
            write_table(pairs_df, p)
        manifests["sckd_pairs.parquet"] = sha256_file(tmp / "sckd_pairs.parquet")
    return {
        "teacher_bands": list(plan.bands),
        "available_bands": list(tw.bands),
        "roots": {"teacher": tw.root, "student": sw.root},
        "manifests_sha256": manifests,
        "files_sha256": {
            "stats.json": sha256_file(tmp / "stats.json"),
            "packed/index.json": sha256_file(tmp / "packed" / "index.json"),
        },
    }
