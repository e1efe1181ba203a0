"""`install`: fetch (or take a hand-fetched file), verify, then extract one dataset into `<to>/<name>/`.

Order, each step a one-line DataError/ConfigError on failure: free space (archive still to fetch + the
extracted folder) -> download with resume (`_fetch`) or the `--from` file -> checksum -> every archive
member checked (`_archive`) -> extraction into a hidden temp sibling, receipt written, rename. So a
failed or interrupted run leaves no `<to>/<name>/` folder; only a `.downloads/<archive>.part` that the
next run resumes. `<to>/<name>/.ackd-download.json` (the receipt) marks a complete download.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ackd_bench.data.downloads import (
    DatasetEntry,
    _archive,
    _fetch,
    check_checksum_text,
    entry_as_dict,
    get_entry,
    human_bytes,
)
from ackd_bench.errors import ConfigError, DataError
from ackd_bench.io import atomic_dir, atomic_write_json, read_json

RECEIPT = ".ackd-download.json"
ARCHIVES = ".downloads"


def dataset_dir(to: str | Path, name: str) -> Path:
    return Path(to) / name


def receipt(to: str | Path, name: str) -> dict[str, Any] | None:
    """The receipt of a completed download of `name` under `to`, or None."""
    path = dataset_dir(to, name) / RECEIPT
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except DataError:  # unreadable receipt: not a completed download
        return None
    return data if isinstance(data, dict) and data.get("name") == name else None


def is_present(to: str | Path, name: str) -> bool:
    return receipt(to, name) is not None


def install(
    name: str,
    to: str | Path,
    *,
    from_file: str | Path | None = None,
    expect: str | None = None,
    unverified: bool = False,
    keep_archive: bool = False,
    retries: int = 2,
    quiet: bool = False,
) -> dict[str, Any]:
    """Download (or take `from_file`), verify and extract dataset `name` into `to/name`. Returns the receipt.

    `expect` ('sha256:<hex>' or 'md5:<hex>') replaces the entry's checksum, e.g. for an entry that has
    none; `unverified` accepts a hand-fetched file when no checksum exists at all (recorded as such).
    An existing complete download is returned as is.
    """
    from filelock import FileLock

    entry = get_entry(name)
    to = Path(to)
    target = dataset_dir(to, name)
    known = check_checksum_text(expect, "--sha256/--md5") if expect else entry.checksum
    if from_file is not None:
        if not Path(from_file).is_file():
            raise DataError("file not found", from_file)
        if known is None and not unverified:
            raise ConfigError(
                f"{name}: no published checksum for this dataset; pass --sha256 HEX (from a source you trust) "
                "or --unverified to accept the file as is"
            )
    elif entry.needs_manual_fetch:
        raise ConfigError(
            f"{name} has no direct download link: {entry.manual} Then run: ackd-bench download {name} --from FILE"
        )
    elif known is None:
        raise ConfigError(f"{name}: entry has no checksum; pass --sha256 HEX")
    to.mkdir(parents=True, exist_ok=True)
    with FileLock(str(to / f".{name}.lock")):  # one install of `name` at a time (the lock file stays)
        done = receipt(to, name)
        if done is not None:
            return done
        if target.exists():
            raise DataError(
                f"folder exists but holds no completed download of {name!r} (no {RECEIPT}); move it away first", target
            )
        for leftover in to.glob(f".{name}.building-*"):  # a killed extraction
            shutil.rmtree(leftover, ignore_errors=True)
        if from_file is not None:
            archive, url = Path(from_file), None
            _fetch.check_free_space(to, entry.extracted_bytes, f"{name} (extracted)")
            if known is not None:
                _fetch.verify_file(archive, known)
        else:
            archive = to / ARCHIVES / entry.archive
            part = archive.with_name(archive.name + ".part")
            have = archive.stat().st_size if archive.exists() else (part.stat().st_size if part.exists() else 0)
            _fetch.check_free_space(to, max(entry.size_bytes - have, 0) + entry.extracted_bytes, name)
            try:
                url = _fetch.fetch_archive(
                    entry.urls, archive, known, retries=retries, quiet=quiet, total=entry.size_bytes
                )
            finally:
                _remove_if_empty(archive.parent)
        members = _archive.check_archive(archive)
        sha256 = known.partition(":")[2] if known and known.startswith("sha256:") else _sha256(archive)
        record = {
            "name": name,
            "title": entry.title,
            "version": entry.version,
            "archive": archive.name,
            "checksum": known,
            "verified": known is not None,
            "sha256": sha256,
            "url": url,
            "source": entry.source,
            "source_options": dict(entry.source_options),
            "members": members,
            "licence": entry.licence,
            "citation": entry.citation,
        }
        with atomic_dir(target) as tmp:
            _archive.extract(archive, tmp, quiet=quiet)
            atomic_write_json(tmp / RECEIPT, record)
        if from_file is None and not keep_archive:
            archive.unlink(missing_ok=True)
            _remove_if_empty(archive.parent)
        return record


def _sha256(path: Path) -> str:
    from ackd_bench.io import sha256_file

    return sha256_file(path)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def describe(entry: DatasetEntry, to: str | Path | None = None) -> dict[str, Any]:
    """An entry as a dict, plus `present` when a download folder is given."""
    out = entry_as_dict(entry)
    out["size"] = ("" if entry.size_exact else "~") + human_bytes(entry.size_bytes)
    if to is not None:
        out["present"] = is_present(to, entry.name)
    return out
