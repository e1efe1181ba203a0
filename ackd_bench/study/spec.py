"""The asymmetry study's options, the names of its benchmarks, and the power arithmetic behind its size.

Power (issue 14 §3): a cell's 95% CI (hierarchical bootstrap over seeds, then test images) has a sampling
part z * sqrt(p(1-p) / (S * N)) for S seeds of N test images each. Two cells whose OAs differ by d points
have non-overlapping CIs when each half-width is at most d / 2, so the study takes the smallest N with
z * sqrt(0.25 / (S * N)) <= d / 2 (p(1-p) <= 0.25 is the worst case): N >= z^2 * 0.25 / (S * (d/2)^2).
For d = 2 points, S = 3 seeds, z = 1.96: N >= 3,202 test images per benchmark. The spread between seeds
(training noise) comes on top; the report prints the half-widths actually reached.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ackd_bench.errors import ConfigError

FAMILY = "synthetic-asymmetry"
SCKD_NAME = f"{FAMILY}-sckd"
DEFAULT_LEVELS = (1.0, 0.5, 0.0)
DEFAULT_METHODS = ("student", "kd", "sembridge")
# The generator's calibrated classes (docs/datasets.md): Crops and Grass look alike in RGB and differ in the
# red edge, NIR and SWIR, so the MS teacher knows something the RGB student cannot see.
DEFAULT_CLASSES = "Water,Forest,Crops,Grass"
# A large test split buys power cheaply: evaluating an image costs a fraction of training on it.
FRACTIONS = (0.15, 0.05, 0.8)
Z95 = 1.959964


def level_name(level: float) -> str:
    """synthetic-asymmetry-c0.50 for consistency 0.5."""
    return f"{FAMILY}-c{level:.2f}"


def needed_test_images(diff: float = 0.02, seeds: int = 3, z: float = Z95) -> int:
    """Smallest N with z * sqrt(0.25 / (seeds * N)) <= diff / 2 (module docstring)."""
    half = diff / 2
    return math.ceil(z * z * 0.25 / (seeds * half * half))


def per_class_for(test_images: int, classes: int, fractions: tuple[float, float, float] = FRACTIONS) -> int:
    """Smallest images-per-class whose stratified test split holds at least `test_images` images in all."""
    from ackd_bench.data.splits import split_counts

    n = max(3, math.ceil(test_images / (classes * fractions[2])) - 2)
    while split_counts(n, fractions)[2] * classes < test_images:
        n += 1
    return n


@dataclass(frozen=True)
class StudySpec:
    """Everything that decides the study's numbers (saved as study.json)."""

    levels: tuple[float, ...] = DEFAULT_LEVELS
    methods: tuple[str, ...] = DEFAULT_METHODS
    pair: str = "S-S"
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 150  # student optimiser steps (batch 32); `epochs` overrides
    teacher_steps: int = 300
    epochs: int | None = None
    size: int = 32
    classes: str = DEFAULT_CLASSES  # names (comma list) or a count, as the synthetic source takes them
    per_class: int | None = None  # None: sized by the power rule for `resolve_diff` with len(seeds) seeds
    resolve_diff: float = 0.02
    data_seed: int = 0
    matcher_arch: str = "shufflenetv2_x0_5"
    matcher_epochs: int = 5
    fractions: tuple[float, float, float] = field(default=FRACTIONS)

    def __post_init__(self) -> None:
        if (
            not self.levels
            or any(not 0.0 <= c <= 1.0 for c in self.levels)
            or len(set(self.levels)) != len(self.levels)
        ):
            raise ConfigError(f"--levels must be distinct consistencies in [0, 1], got {list(self.levels)}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"--methods must be distinct method names, got {list(self.methods)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"--seeds must be distinct non-negative integers, got {list(self.seeds)}")
        for name, value in (
            ("steps", self.steps),
            ("teacher_steps", self.teacher_steps),
            ("epochs", self.epochs or 1),
            ("size", self.size),
            ("matcher_epochs", self.matcher_epochs),
        ):
            if value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.per_class is not None and self.per_class < 5:
            raise ConfigError(f"--per-class must be >= 5, got {self.per_class}")
        self.class_names  # noqa: B018 - validates the class list (ConfigError)

    @property
    def class_names(self) -> tuple[str, ...]:
        from ackd_bench.data.sources.synthetic import resolve_classes

        return resolve_classes(self.classes)

    @property
    def images_per_class(self) -> int:
        if self.per_class is not None:
            return self.per_class
        return per_class_for(
            needed_test_images(self.resolve_diff, len(self.seeds)), len(self.class_names), self.fractions
        )

    @property
    def level_names(self) -> dict[float, str]:
        return {c: level_name(c) for c in self.levels}

    def to_json(self) -> dict:
        out = asdict(self)
        out.update(
            levels=list(self.levels),
            methods=list(self.methods),
            seeds=list(self.seeds),
            fractions=list(self.fractions),
            classes=list(self.class_names),
            images_per_class=self.images_per_class,
            student_epochs=self.student_epochs,
            needed_test_images=needed_test_images(self.resolve_diff, len(self.seeds)),
        )
        return out

    @property
    def student_epochs(self) -> int:
        """The epochs the student budget comes to on this study's train split (config.derive_epochs)."""
        from ackd_bench.config import derive_epochs
        from ackd_bench.data.splits import split_counts

        n_train = split_counts(self.images_per_class, self.fractions)[0] * len(self.class_names)
        return derive_epochs({"epochs": self.epochs, "steps": self.steps, "min_epochs": 1, "batch_size": 32}, n_train)

    def run_config(self) -> dict:
        """The `--config` every cell runs with (written as study_config.yaml): the `fast` profile (its recipe)
        with the study's budgets; transport costs once, after the last epoch, into result.json."""
        return {
            "profile": "fast",
            "steps": self.steps,
            "min_epochs": 1,
            "epochs": self.epochs,
            "batch_size": 32,
            "eval_batch_size": 256,
            "cost_every": self.student_epochs,
            "teacher": {"steps": self.teacher_steps, "min_epochs": 1, "batch_size": 32},
            # one matcher per benchmark, like the teacher (seed 0, shared by every student seed): seed spreads
            # exclude matcher variance as they exclude teacher variance, and 3x fewer matchers are trained
            "sembridge": {
                "matcher": {"arch": self.matcher_arch, "epochs": self.matcher_epochs, "batch_size": 32, "seed": 0}
            },
        }
