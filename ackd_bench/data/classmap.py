"""Class maps: a YAML mapping `source class name: benchmark class name` (many-to-one).

Samples keep their SOURCE class name (`RawSample.class_name`); the build stores it as `source_class`
and uses the mapped name as `class_name`. Source classes missing from the map are dropped and counted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from ackd_bench.data.sources import RawSample
from ackd_bench.errors import ConfigError


class ClassMap(dict):
    """A dict[str, str] that remembers the file it came from (for error messages)."""

    path: str | None = None


def load_class_map(path: str | Path) -> ClassMap:
    """Read and validate a class-map YAML file; every problem is a ConfigError naming the file."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("class map not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read class map ({exc.__class__.__name__})", path) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML ({' '.join(str(exc).split())[:160]})", path) from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"class map must be a non-empty mapping 'source class: benchmark class', got {type(data).__name__}", path
        )
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key.strip() or not value.strip():
            raise ConfigError(f"class map entries must be non-empty strings, got {key!r}: {value!r}", path)
    out = ClassMap(data)
    out.path = str(path)
    return out


def apply_class_map(
    samples: Iterable[RawSample],
    mapping: dict[str, str],
    teacher_classes: Sequence[str],
    path: str | Path | None = None,
) -> tuple[list[RawSample], dict[str, int]]:
    """Keep samples whose source class is mapped; count the dropped ones per source class.

    A target class that the teacher does not have is a ConfigError naming the class-map file (`path`,
    or the file `load_class_map` read).
    The kept samples are returned unchanged (class_name stays the source name): look up
    `mapping[s.class_name]` for the benchmark class.
    """
    path = path or getattr(mapping, "path", None)
    missing = sorted(set(mapping.values()) - set(teacher_classes))
    if missing:
        raise ConfigError(f"class map targets {missing} are not teacher classes {sorted(teacher_classes)}", path)
    kept: list[RawSample] = []
    dropped: Counter[str] = Counter()
    for s in samples:
        if s.class_name in mapping:
            kept.append(s)
        else:
            dropped[s.class_name] += 1
    return kept, dict(sorted(dropped.items()))
