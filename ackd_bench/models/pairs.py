"""The six benchmark teacher->student pairs and `resolve_pair`."""

from __future__ import annotations

from ackd_bench.errors import ConfigError
from ackd_bench.models.base import MODELS

SHORT = {"R": "resnet34", "M": "mobilenetv2", "S": "shufflenetv2_x0_5"}

# teacher listed first (spec §4.2)
PAIRS: dict[str, tuple[str, str]] = {
    key: (SHORT[key[0]], SHORT[key[2]]) for key in ("R-R", "M-M", "S-S", "R-M", "R-S", "M-S")
}


def resolve_pair(spec: str) -> tuple[str, str]:
    """'R-S' -> ('resnet34', 'shufflenetv2_x0_5'); 'TEACHER:STUDENT' with registered names also works."""
    if spec in PAIRS:
        return PAIRS[spec]
    if isinstance(spec, str) and spec.count(":") == 1:
        teacher, student = (part.strip() for part in spec.split(":"))
        for name in (teacher, student):
            if name not in MODELS:
                raise ConfigError(f"pair {spec!r}: unknown model {name!r} (known: {', '.join(MODELS.names())})")
        return teacher, student
    raise ConfigError(f"unknown pair {spec!r}: use one of {', '.join(PAIRS)} or TEACHER:STUDENT model names")


def pair_key(teacher: str, student: str) -> str:
    """The short key ('R-S') when (teacher, student) is one of the six pairs, else 'teacher:student'."""
    for key, value in PAIRS.items():
        if value == (teacher, student):
            return key
    return f"{teacher}:{student}"
