"""Packed arrays: one `.npy` per pool and split (memory-mappable) + `packed/index.json`.

index.json: {"arrays": {"teacher_train": {"file", "sample_ids", "shape", "dtype", "bands", "sha256"}, ...}}
`load_packed` checks each file's sha256 against index.json before using it (once per process and file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ackd_bench.errors import DataError
from ackd_bench.io import atomic_path, atomic_write_json, read_json, sha256_file

INDEX = "index.json"


def write_array(path: Path, x: np.ndarray) -> str:
    """np.save atomically; returns the file's sha256."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(x), allow_pickle=False)
    return sha256_file(path)


def write_packed(packed_dir: Path, arrays: dict[str, tuple[np.ndarray, list[str], list[str]]]) -> dict:
    """arrays: key ("teacher_train") -> (x, sample_ids, bands). Writes the .npy files and index.json."""
    index: dict[str, dict] = {}
    for key in sorted(arrays):
        x, ids, bands = arrays[key]
        if len(ids) != x.shape[0]:
            raise ValueError(f"{key}: {x.shape[0]} rows but {len(ids)} ids")
        name = f"{key}.npy"
        index[key] = {
            "file": name,
            "sample_ids": list(ids),
            "shape": list(x.shape),
            "dtype": str(x.dtype),
            "bands": list(bands),
            "sha256": write_array(packed_dir / name, x),
        }
    atomic_write_json(packed_dir / INDEX, {"arrays": index})
    return index


_VERIFIED: dict[tuple, str] = {}


def _digest(path: Path) -> str:
    """sha256 of `path`, remembered for this process while its (inode, size, mtime) stay the same."""
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_file(path)
    return _VERIFIED[key]


def read_index(packed_dir: Path) -> dict:
    index = read_json(packed_dir / INDEX)
    if not isinstance(index, dict) or not isinstance(index.get("arrays"), dict):
        raise DataError("not a packed-array index (no 'arrays' mapping)", packed_dir / INDEX)
    return index["arrays"]


def load_packed(packed_dir: Path, key: str, mmap: bool = True) -> tuple[np.ndarray, list[str]] | None:
    """(memory-mapped array, sample ids) for `key`, or None when the folder or key is absent."""
    if not (packed_dir / INDEX).is_file():
        return None
    entry = read_index(packed_dir).get(key)
    if entry is None:
        return None
    path = packed_dir / entry["file"]
    if not path.is_file():
        raise DataError("packed array listed in packed/index.json is missing (rebuild the benchmark)", path)
    if _digest(path) != entry.get("sha256"):
        raise DataError(
            "packed array sha256 differs from packed/index.json (corrupt or modified file; "
            "`ackd-bench verify` lists every such file, rebuild the benchmark)",
            path,
        )
    try:
        x = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable packed array ({exc})", path) from None
    if list(x.shape) != entry["shape"] or str(x.dtype) != entry["dtype"]:
        raise DataError(f"packed array shape/dtype {list(x.shape)}/{x.dtype} differs from index.json", path)
    return x, list(entry["sample_ids"])


# ---------------------------------------------------------------- GeoTIFF encoder for derived tiles
_SAMPLE_FORMAT = {"u": 1, "i": 2, "f": 3}
_SHORT, _LONG, _DOUBLE = 3, 4, 12


@lru_cache(maxsize=None)
def _is_geographic(crs: str) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def geotiff_bytes(x: np.ndarray, crs: str | None = None, transform: tuple[float, ...] | None = None) -> bytes:
    """Encode (C, H, W) `x` as an uncompressed band-interleaved GeoTIFF (one strip per band).

    `transform` is the affine (a, b, c, d, e, f) of a north-up grid (b = d = 0); `crs` an "EPSG:n" string.
    Written with plain `struct` for speed (the build writes thousands of small tiles); readable by GDAL.
    """
    import struct

    if x.ndim != 3 or x.dtype.kind not in _SAMPLE_FORMAT:
        raise ValueError(f"geotiff_bytes needs a (C,H,W) int/float array, got {x.dtype} {x.shape}")
    c, h, w = x.shape
    data = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("<")).tobytes()
    band_bytes = h * w * x.dtype.itemsize
    entries: list[tuple[int, int, list]] = [
        (256, _LONG, [w]),
        (257, _LONG, [h]),
        (258, _SHORT, [x.dtype.itemsize * 8] * c),
        (259, _SHORT, [1]),
        (262, _SHORT, [1]),
        (273, _LONG, [8 + i * band_bytes for i in range(c)]),
        (277, _SHORT, [c]),
        (278, _LONG, [h]),
        (279, _LONG, [band_bytes] * c),
        (284, _SHORT, [2]),
    ]
    if c > 1:
        entries.append((338, _SHORT, [0] * (c - 1)))
    entries.append((339, _SHORT, [_SAMPLE_FORMAT[x.dtype.kind]] * c))
    if transform is not None and crs is not None and crs.upper().startswith("EPSG:"):
        a, b, xoff, d, e, yoff = transform[:6]
        if b or d:
            raise ValueError("geotiff_bytes supports north-up transforms only")
        epsg = int(crs.split(":", 1)[1])
        geo = _is_geographic(crs)
        keys = [1, 1, 0, 3, 1024, 0, 1, 2 if geo else 1, 1025, 0, 1, 1, 2048 if geo else 3072, 0, 1, epsg]
        entries += [
            (33550, _DOUBLE, [a, -e, 0.0]),
            (33922, _DOUBLE, [0.0, 0.0, 0.0, xoff, yoff, 0.0]),
            (34735, _SHORT, keys),
        ]
    fmt = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}
    ifd_off = 8 + len(data)
    extra_off = ifd_off + 2 + 12 * len(entries) + 4
    ifd, extra = [struct.pack("<H", len(entries))], []
    for tag, typ, values in entries:
        blob = struct.pack(f"<{len(values)}{fmt[typ]}", *values)
        if len(blob) <= 4:
            ifd.append(struct.pack("<HHI", tag, typ, len(values)) + blob.ljust(4, b"\0"))
        else:
            ifd.append(struct.pack("<HHII", tag, typ, len(values), extra_off))
            extra.append(blob)
            extra_off += len(blob)
    ifd.append(struct.pack("<I", 0))
    return b"II" + struct.pack("<HI", 42, ifd_off) + data + b"".join(ifd) + b"".join(extra)
