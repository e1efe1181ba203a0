"""Distillation methods: one file per method, registered in METHODS; `build_method` adds SemBridge on demand.

Every module of this package (not sub-packages, not `_private` ones, not `base`) is imported here, so a new
method is one new file with a `@METHODS.register` decorator and nothing else (docs/adding-a-method.md).
The `sembridge` sub-package is imported lazily by `build_method`.
"""

from __future__ import annotations

from torch import nn

from ackd_bench.errors import ConfigError
from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.registry import import_submodules

import_submodules(__name__, __path__, skip=("base",))  # registration

SEMBRIDGE_SUFFIX = "+sembridge"


def split_method_name(name: str) -> tuple[str, bool]:
    """'dkd+sembridge' -> ('dkd', True); 'sembridge' -> ('kd', True); 'dkd' -> ('dkd', False)."""
    if name == "sembridge":
        return "kd", True
    if name.endswith(SEMBRIDGE_SUFFIX):
        return name[: -len(SEMBRIDGE_SUFFIX)], True
    return name, False


def method_names() -> list[str]:
    """Every buildable method name: the base methods, 'sembridge' and 'X+sembridge' for each distilling X."""
    names = METHODS.names()
    with_bridge = [f"{n}{SEMBRIDGE_SUFFIX}" for n in names if METHODS.get(n).uses_teacher]
    return sorted(names + with_bridge + ["sembridge"])


def method_class(name: str) -> tuple[type[Distiller], bool]:
    """(base method class, wrapped in SemBridge?) for `name`; an unknown or impossible name is a ConfigError."""
    base_name, bridged = split_method_name(name)
    cls = METHODS.get(base_name)
    if bridged and not cls.uses_teacher:
        raise ConfigError(f"method {name!r}: SemBridge needs a distillation base method, {base_name!r} has no teacher")
    return cls, bridged


def pairing_provider(protocol: str) -> str | None:
    """Which methods provide pairing `protocol` through their hooks, in words for an error message
    ("a +sembridge method"); None when no method does."""
    from ackd_bench.methods.sembridge import SemBridge  # lazy: optional sub-package with heavier deps

    return f"a {SEMBRIDGE_SUFFIX} method" if protocol in SemBridge.pairing_protocols else None


def method_type(name: str) -> type[Distiller]:
    """The class whose hooks (finalize_config, pairing_protocols) govern a run of method `name`: SemBridge for
    'X+sembridge', else the registered class. An unknown or impossible name is a ConfigError."""
    cls, bridged = method_class(name)
    if not bridged:
        return cls
    from ackd_bench.methods.sembridge import SemBridge  # lazy: optional sub-package with heavier deps

    return SemBridge


def build_method(
    name: str,
    student: nn.Module,
    num_classes: int,
    cfg: dict | None = None,
    teacher_token_dim: int | None = None,
    student_token_dim: int | None = None,
) -> Distiller:
    """Build method `name` around `student`; 'X+sembridge' (and 'sembridge' = 'kd+sembridge') wraps X in SemBridge."""
    cls, bridged = method_class(name)
    base = cls(student, num_classes, cfg or {})
    if not bridged:
        return base
    from ackd_bench.methods.sembridge import SemBridge  # lazy: optional sub-package with heavier deps

    if student_token_dim is None:
        student_token_dim = getattr(student, "token_dim", None)
    return SemBridge(base, cfg or {}, teacher_token_dim, student_token_dim)


__all__ = [
    "METHODS",
    "Distiller",
    "TeacherOutput",
    "build_method",
    "method_class",
    "method_names",
    "method_type",
    "pairing_provider",
    "split_method_name",
]
