"""Build the study's benchmarks: one per consistency level, plus the SCKD reference.

Every level uses the same synthetic teacher pool (the teacher tiles do not depend on `consistency`), the
same classes, size, split seed and fractions; only the student pool changes: a fraction `consistency` of
each class's student images are renderings of teacher tiles, the rest come from other regions with an
appearance shift (docs/datasets.md). Pools stay as the source gives them (`--split-by sources`), so level
1.0 is built exactly like the others instead of being split into two halves of shared tiles.

The SCKD reference is the paired build (`--split-by paired` at consistency 1): every student image is the
rendering of a teacher tile, the teacher trains on the tiles of the student train images, and `oracle`
pairing gives each student image its own tile.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ackd_bench.errors import AckdError
from ackd_bench.io import read_json
from ackd_bench.study.spec import SCKD_NAME, StudySpec


def _build_spec(spec: StudySpec, name: str, consistency: float, split_by: str):
    from ackd_bench.data.presets import SYNTHETIC_LICENCE, spec_from_options

    options = {
        "per_class": spec.images_per_class,
        "classes": spec.classes,
        "seed": spec.data_seed,
        "consistency": consistency,
    }
    build = spec_from_options(
        teacher=("synthetic", ""),
        student=("synthetic", ""),
        teacher_options={**options, "pool": "teacher"},
        student_options={**options, "pool": "student"},
        size=spec.size,
        split_by=split_by,
        name=name,
    )
    kind = "SCKD reference (paired)" if split_by == "paired" else f"consistency {consistency:.2f}"
    return dataclasses.replace(
        build,
        fractions=tuple(spec.fractions),
        licence=SYNTHETIC_LICENCE,
        description=f"asymmetry study, {kind}: synthetic, controlled; not real data",
    )


def _up_to_date(folder: Path, build) -> bool:
    """The folder holds a finished build of exactly this recipe (builds are deterministic)."""
    if not (folder / "benchmark.json").is_file():
        return False
    try:
        card = read_json(folder / "benchmark.json")
    except AckdError:
        return False
    want = {
        p: {"source": ps.source, "root": ps.root, "options": dict(sorted(ps.options.items()))}
        for p, ps in (("teacher", build.teacher), ("student", build.student))
    }
    return (
        card.get("name") == build.name
        and card.get("sources") == want
        and card.get("size") == build.size
        and card.get("split", {}).get("fractions") == list(build.fractions)
        and card.get("split", {}).get("split_by") == build.split_by
    )


def _build(build, folder: Path, quiet: bool) -> None:
    from ackd_bench.data.build import build_dataset

    build_dataset(build, folder, overwrite=True, quiet=quiet)


def _plans(spec: StudySpec) -> list[tuple[str, float, str]]:
    """(benchmark name, consistency, split rule) of every benchmark of the study, levels first."""
    return [(name, c, "sources") for c, name in spec.level_names.items()] + [(SCKD_NAME, 1.0, "paired")]


def family_folders(spec: StudySpec, root: str | Path) -> dict[str, Path]:
    """name -> folder of every benchmark of the study under `root`, levels first (built or not)."""
    return {name: Path(root) / name for name, _, _ in _plans(spec)}


def build_family(spec: StudySpec, root: str | Path, quiet: bool = True, workers: int = 1) -> dict[str, Path]:
    """Build (or reuse) every benchmark of the study under `root` with up to `workers` processes; returns
    name -> folder, levels first."""
    from concurrent.futures import ProcessPoolExecutor

    plans = _plans(spec)
    out = family_folders(spec, root)
    todo = [
        (b, out[b.name])
        for b in (_build_spec(spec, n, c, rule) for n, c, rule in plans)
        if not _up_to_date(out[b.name], b)
    ]
    if len(todo) > 1 and workers > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for future in [pool.submit(_build, b, folder, quiet) for b, folder in todo]:
                future.result()
    else:
        for b, folder in todo:
            _build(b, folder, quiet)
    return out
