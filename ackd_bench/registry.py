"""A tiny name -> object registry with a decorator, used for sources, downloads, models and methods, and
`import_submodules`, which imports every module of a registering package so that adding an entry is one file."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from ackd_bench.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def import_submodules(package: str, path: Iterable[str], skip: Iterable[str] = ()) -> list[str]:
    """Import every module of `package` (its `__path__` is `path`) in name order, so that their registration
    decorators run. Sub-packages, `_private` modules and the names in `skip` are left out. Returns the names."""
    skipped = set(skip)
    names = sorted(m.name for m in pkgutil.iter_modules(path) if not m.ispkg)
    names = [n for n in names if not n.startswith("_") and n not in skipped]
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
