"""Raw sources: one module per source, each registered in `SOURCES` by name.

A source turns a raw dataset on disk (or a generator) into `RawSample` records (`scan`) and
arrays (`read`). The build pipeline consumes sources; it never looks inside a raw dataset itself.
Every module in this package (except `_private` ones) is imported at the bottom of this file, so
importing `ackd_bench.data.sources` registers every source. See docs/adding-a-source.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np

from ackd_bench.errors import ConfigError
from ackd_bench.registry import Registry, import_submodules


@dataclass(frozen=True)
class RawSample:
    """One raw sample, before the class map. See docs/ARCHITECTURE.md §1."""

    sample_id: str  # unique within the source, filesystem-safe
    class_name: str  # SOURCE class name (before the class map)
    path: str  # POSIX, relative to the source root; "" for derived samples
    source: str  # registry name
    region: str  # UTM zone ("32631"), scene name or synthetic region
    height: int
    width: int
    bands: tuple[str, ...]
    crs: str | None = None  # "EPSG:32631"
    footprint: Any = field(default=None, hash=False)  # shapely Polygon in EPSG:4326, or None
    extra: dict = field(default_factory=dict, hash=False)  # JSON-safe


class Source:
    """Base class. Subclasses set `name`, `modality`, `defaults` and implement `scan` and `read`.

    `defaults` lists the source's own options with their default values; any other keyword is a
    ConfigError, so a typo in a preset or on the command line never passes silently.
    """

    name: ClassVar[str] = ""
    modality: ClassVar[str] = "ms"  # "ms" or "rgb"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, root: str | Path, *, bands: tuple[str, ...] | None = None, size: int = 64, **options: Any):
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise ConfigError(f"source {self.name!r}: unknown option(s) {unknown} (known: {known})")
        if int(size) <= 0:
            raise ConfigError(f"source {self.name!r}: size must be positive, got {size!r}")
        self.root = Path(root)
        self.bands = tuple(bands) if bands is not None else None
        self.size = int(size)
        self.options: dict[str, Any] = {**self.defaults, **options}

    def scan(self) -> list[RawSample]:
        """All samples, sorted by (class_name, sample_id). Validates headers (cheap)."""
        raise NotImplementedError

    def read(self, sample: RawSample) -> np.ndarray:
        """(C, H, W) array; C follows `sample.bands`. MS: the file's dtype; RGB: uint8 (3, size, size)."""
        raise NotImplementedError

    def read_many(self, samples: Sequence[RawSample]) -> Iterator[tuple[int, np.ndarray]]:
        """(index into `samples`, array) for every sample once, in whatever order the source reads fastest
        (`build-dataset` uses this). Default: `read` each sample in the given order."""
        for i, sample in enumerate(samples):
            yield i, self.read(sample)

    def card_details(self) -> dict:
        """JSON-safe facts about the raw data the benchmark card should record (after `scan`); {} if none."""
        return {}


def sort_samples(samples: list[RawSample]) -> list[RawSample]:
    return sorted(samples, key=lambda s: (s.class_name, s.sample_id))


SOURCES: Registry[type[Source]] = Registry("source")

import_submodules(__name__, __path__)

__all__ = ["SOURCES", "Source", "RawSample", "sort_samples"]
