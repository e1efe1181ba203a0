"""Safe archive extraction: every member is checked before anything is written.

Refused: absolute paths, drive letters, `..` components, symlinks, hard links, device files and FIFOs
(zip-slip / tar traversal). Only .zip and tar (plain, gzip, bzip2, xz) archives are read; RAR and 7z
archives get a one-line error telling the user to unpack them with their own tool.
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from ackd_bench.errors import DataError

_DRIVE = re.compile(r"^[A-Za-z]:")
_MAGIC_OTHER = {b"Rar!\x1a\x07": "RAR", b"7z\xbc\xaf\x27\x1c": "7z"}


def archive_kind(path: Path) -> str:
    """'zip' or 'tar'; anything else is a DataError naming the format when it is known."""
    with open(path, "rb") as f:
        head = f.read(8)
    for magic, name in _MAGIC_OTHER.items():
        if head.startswith(magic):
            raise DataError(
                f"{name} archives are not supported: unpack it with your own tool and pass the folder to build-dataset",
                path,
            )
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise DataError("not a zip or tar archive", path)


def check_member_name(name: str, archive: Path) -> None:
    parts = re.split(r"[\\/]+", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or "\x00" in name:
        raise DataError(f"unsafe archive member {name!r} (absolute path): refused", archive)
    if ".." in parts:
        raise DataError(f"unsafe archive member {name!r} ('..' component): refused", archive)


def _zip_members(zf: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    for info in infos:
        check_member_name(info.filename, archive)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            what = "symlink" if kind == stat.S_IFLNK else "special file"
            raise DataError(f"unsafe archive member {info.filename!r} ({what}): refused", archive)
    return infos


def _tar_members(tf: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    for m in members:
        check_member_name(m.name, archive)
        if m.issym() or m.islnk():
            raise DataError(
                f"unsafe archive member {m.name!r} ({'symlink' if m.issym() else 'hard link'}): refused", archive
            )
        if not (m.isfile() or m.isdir()):
            raise DataError(f"unsafe archive member {m.name!r} (device file or FIFO): refused", archive)
    return members


def check_archive(path: Path) -> int:
    """Validate every member of the archive at `path`; returns the member count. Unsafe -> DataError."""
    try:
        if archive_kind(path) == "zip":
            with zipfile.ZipFile(path) as zf:
                return len(_zip_members(zf, path))
        with tarfile.open(path, "r:*") as tf:
            return len(_tar_members(tf, path))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(
            f"corrupt archive ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})", path
        ) from None


def _progress(items, quiet: bool, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=quiet, unit="file", leave=False, mininterval=0.5)


def extract(path: Path, dest: Path, *, quiet: bool = True) -> None:
    """Extract the archive at `path` into the existing folder `dest`, checking every member first."""
    dest = dest.resolve()
    desc = f"extracting {path.name}"
    try:
        if archive_kind(path) == "zip":
            with zipfile.ZipFile(path) as zf:
                for info in _progress(_zip_members(zf, path), quiet, desc):
                    target = (dest / info.filename).resolve()
                    if not target.is_relative_to(dest):
                        raise DataError(f"unsafe archive member {info.filename!r}: refused", path)
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
            return
        with tarfile.open(path, "r:*") as tf:
            members = _tar_members(tf, path)
            # members are checked above; the "data" filter (Python >= 3.10.12 / 3.11.4) re-checks them
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(dest, members=_progress(members, quiet, desc), **extra)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise DataError(
            f"corrupt archive ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})", path
        ) from None
