"""Helpers for one-folder-per-class layouts (shared by the folder sources)."""

from __future__ import annotations

import re
from pathlib import Path

from ackd_bench.errors import DataError

_SKIP = {"__MACOSX"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP)


def _has_files(folder: Path, exts: tuple[str, ...]) -> bool:
    return any(p.suffix.lower() in exts for p in folder.iterdir() if p.is_file())


def find_class_root(root: Path, exts: tuple[str, ...]) -> Path:
    """The shallowest folder under `root` whose sub-folders (classes) hold files with `exts`.

    Accepts `root/<Class>/` as well as extracted archives such as `root/EuroSAT_MS/<Class>/`.
    """
    if not root.is_dir():
        raise DataError("not a folder", root)
    level = [root]
    while level:
        for folder in level:
            if any(_has_files(d, exts) for d in _visible_dirs(folder)):
                return folder
        level = [d for folder in level for d in _visible_dirs(folder)]
    raise DataError(f"no class folders with {'/'.join(exts)} files found", root)


def class_files(class_root: Path, exts: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(class name, file) for every file, sorted; an empty class folder is a DataError."""
    out: list[tuple[str, Path]] = []
    for cdir in _visible_dirs(class_root):
        files = sorted(
            p for p in cdir.iterdir() if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
        )
        if not files:
            raise DataError(f"empty class folder (no {'/'.join(exts)} files)", cdir)
        out.extend((cdir.name, f) for f in files)
    return out


def safe_id(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "x"


def sample_ids(items: list[tuple[str, Path]]) -> list[str]:
    """File stems as ids; when two classes share a stem, every id becomes `<class>-<stem>`."""
    stems = [safe_id(f.stem) for _, f in items]
    if len(set(stems)) == len(stems):
        return stems
    ids = [f"{safe_id(c)}-{s}" for (c, _), s in zip(items, stems)]
    seen: set[str] = set()
    for sid, (_, f) in zip(ids, items):
        if sid in seen:
            raise DataError(f"two files give the same sample id {sid!r} (same name, other extension?)", f)
        seen.add(sid)
    return ids


def rel_posix(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
