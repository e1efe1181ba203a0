"""Dataset downloads: one module per public dataset, each registering a `DatasetEntry` in `DOWNLOADS`.

An entry says where a dataset's archive lives (official URL first, then mirrors), its size, checksum,
licence and citation, and which `build-dataset` source reads the extracted folder. `install`
(ackd_bench.data.downloads._install) fetches, verifies and extracts it; `ackd-bench download NAME --to DIR`
is the command. Every module in this package (except `_private` ones) is imported at the bottom of this
file, so importing the package registers every entry.

`$ACKD_BENCH_DOWNLOAD_CATALOG` may name a JSON file `{entry: {urls, checksum, size_bytes, extracted_bytes,
archive}}` that overrides those fields, e.g. to fetch from a lab mirror holding repacked archives (the
tests use it to point every entry at a server on 127.0.0.1).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ackd_bench.errors import ConfigError
from ackd_bench.registry import Registry, import_submodules

CATALOG_ENV = "ACKD_BENCH_DOWNLOAD_CATALOG"
DATA_DIR_ENV = "ACKD_BENCH_DATA"
OVERRIDABLE = ("urls", "checksum", "size_bytes", "extracted_bytes", "archive")
HASH_ALGORITHMS = ("md5", "sha256")


@dataclass(frozen=True)
class DatasetEntry:
    name: str  # registry name, also the folder name under the download directory
    title: str
    version: str  # which release of the archive (the checksum pins it)
    archive: str  # archive file name
    urls: tuple[str, ...]  # official first, then mirrors; empty: fetch by hand (`manual`)
    checksum: str | None  # "md5:<hex>" or "sha256:<hex>" as the publisher / mirror gives it; None: none published
    size_bytes: int  # archive size (approximate unless `size_exact`)
    extracted_bytes: int  # approximate size of the extracted folder
    licence: str
    citation: str
    homepage: str
    source: str  # the build-dataset source that reads the extracted folder
    source_options: dict[str, Any] = field(default_factory=dict)
    layout: str = ""  # folder inside the archive that holds the class (or patch) folders
    classes: tuple[str, ...] = ()  # the class folder names (labels for multi-label sets) as published
    contents: str = ""  # images, classes, size, bands (for `list` and docs)
    manual: str | None = None  # where to get the archive when no stable direct link exists
    size_exact: bool = False
    notes: str = ""

    @property
    def needs_manual_fetch(self) -> bool:
        return not self.urls


DOWNLOADS: Registry[DatasetEntry] = Registry("dataset download")


def register(entry: DatasetEntry) -> DatasetEntry:
    """Register `entry` under its name after checking its checksum's form."""
    if entry.checksum is not None:
        check_checksum_text(entry.checksum, entry.name)
    return DOWNLOADS.register(entry.name)(entry)


def check_checksum_text(text: str, where: str) -> str:
    alg, _, digest = text.partition(":")
    n = {"md5": 32, "sha256": 64}.get(alg)
    if n is None or len(digest) != n or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(f"{where}: checksum must be 'md5:<32 hex>' or 'sha256:<64 hex>', got {text!r}")
    return text


def _catalog_overrides() -> dict[str, dict[str, Any]]:
    path = os.environ.get(CATALOG_ENV)
    if not path:
        return {}
    from ackd_bench.io import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise ConfigError("download catalog must be a JSON object {entry: {field: value}}", path)
    for name, fields in data.items():
        if name not in DOWNLOADS:
            raise ConfigError(
                f"download catalog names unknown dataset {name!r} (known: {', '.join(DOWNLOADS.names())})", path
            )
        if not isinstance(fields, dict) or set(fields) - set(OVERRIDABLE):
            raise ConfigError(f"download catalog entry {name!r} may only set {list(OVERRIDABLE)}", path)
    return data


def get_entry(name: str) -> DatasetEntry:
    """The registered entry `name`, with any `$ACKD_BENCH_DOWNLOAD_CATALOG` overrides applied."""
    entry = DOWNLOADS.get(name)
    fields = _catalog_overrides().get(name)
    if not fields:
        return entry
    fields = dict(fields)
    if "urls" in fields:
        fields["urls"] = tuple(fields["urls"])
    if fields.get("checksum") is not None:
        check_checksum_text(fields["checksum"], f"{os.environ[CATALOG_ENV]}: {name}")
    return dataclasses.replace(entry, **fields)


def default_data_dir() -> Path:
    """Where datasets are downloaded when no folder is given: `$ACKD_BENCH_DATA`, else `./data`."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


def entry_as_dict(entry: DatasetEntry) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(entry).items()}


def human_bytes(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


import_submodules(__name__, __path__)

# Re-exported last: _install imports the registry and helpers above.
from ackd_bench.data.downloads._install import describe, install, is_present, receipt  # noqa: E402

__all__ = [
    "DOWNLOADS",
    "DatasetEntry",
    "default_data_dir",
    "describe",
    "entry_as_dict",
    "get_entry",
    "human_bytes",
    "install",
    "is_present",
    "receipt",
    "register",
]
