"""Atomic file writes and checksums. Every file the project writes goes through these helpers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ackd_bench.errors import DataError
from ackd_bench.runtime import faults


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (Linux), else by a set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _default_mode(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700 entries: give the final file 0666 & ~umask, a folder 0777 & ~umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to `path`; on success it is fsynced and renamed over `path`.

    On any exception the temp file is removed and `path` is untouched. The final file gets the usual
    permissions (0666 & ~umask), not mkstemp's 0600. A process killed at any point leaves either the old
    `path` or the new one, plus at most a hidden `.<name>.*.tmp` leftover (see `remove_temp_leftovers`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _default_mode(tmp_path, directory=False)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        faults.reached(f"write:{path.name}")  # crash tests: killed with the temp file complete, before the rename
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, canonical_json(obj))


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", path) from None


@contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory in a temp sibling and move it into place at the end.

    An interrupted build leaves only a hidden `.<name>.building-*` folder, never a half-written `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        yield tmp
        _default_mode(tmp, directory=True)
        if path.exists():
            if not overwrite:
                raise FileExistsError(path)
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_temp_leftovers(root: str | Path) -> list[Path]:
    """Delete what interrupted atomic writes left under `root` (`.<name>.*.tmp` files, `.<name>.building-*` and
    `.<name>.old-*` folders); returns what was removed. Only for folders one process owns (a run folder)."""
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for p in sorted(root.rglob(".*"), key=lambda q: len(q.parts), reverse=True):
        name = p.name
        if p.is_file() and name.endswith(".tmp"):
            p.unlink(missing_ok=True)
        elif p.is_dir() and (".building-" in name or ".old-" in name):
            shutil.rmtree(p, ignore_errors=True)
        else:
            continue
        removed.append(p)
    return removed
