"""Fetching one archive with pooch: a resuming HTTP downloader, hash verification, mirrors, retries.

pooch streams into a temp file next to the archive, checks the known hash and only then moves it into
place (a mismatch deletes it). Its own HTTP downloader restarts from zero after an interruption, so
`RangeDownloader` keeps the bytes received so far in `<archive>.part` and asks for the rest with an HTTP
Range request on the next attempt (or the next run); a server that ignores Range gets a fresh start.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ackd_bench.errors import DataError

CHUNK = 1 << 16  # a broken connection loses at most the chunk being read
TIMEOUT = (30, 120)  # connect, read (seconds)


class RangeDownloader:
    """A pooch downloader that resumes into `part` with `Range: bytes=N-`."""

    def __init__(self, part: Path, *, quiet: bool = True, total: int | None = None):
        self.part = Path(part)
        self.quiet = quiet
        self.total = total

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        import requests
        import urllib3

        if check_only:
            return requests.head(url, allow_redirects=True, timeout=TIMEOUT).ok
        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Accept-Encoding": "identity"}  # the archive's own bytes: never a transfer-encoded variant
        if have:
            headers["Range"] = f"bytes={have}-"
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT, allow_redirects=True) as r:
            if r.status_code == 416 and have:  # nothing left to send: the .part is complete or bogus; start over
                self.part.unlink(missing_ok=True)
                return self(url, output_file, pooch)
            r.raise_for_status()
            resumed = r.status_code == 206
            if resumed and _range_start(r.headers.get("Content-Range")) != have:  # not the range asked for
                self.part.unlink(missing_ok=True)
                raise requests.exceptions.ChunkedEncodingError(
                    f"server sent {r.headers.get('Content-Range')!r} for bytes={have}-"
                )
            if not resumed:
                have = 0
            length = r.headers.get("Content-Length")
            expected = have + int(length) if length and length.isdigit() else None
            with (
                open(self.part, "ab" if resumed else "wb") as f,
                _progress(self.quiet, expected or self.total, have, url) as bar,
            ):
                try:
                    for block in r.raw.stream(CHUNK, decode_content=False):  # bytes as sent (no gunzip of .tar.gz)
                        f.write(block)
                        bar.update(len(block))
                except urllib3.exceptions.HTTPError as exc:  # a broken transfer: what arrived stays in .part
                    raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
                finally:
                    f.flush()
                    os.fsync(f.fileno())
        got = self.part.stat().st_size
        if expected is not None and got != expected:
            raise requests.exceptions.ChunkedEncodingError(f"transfer ended at {got} of {expected} bytes")
        os.replace(self.part, output_file)


def _range_start(content_range: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not content_range or not content_range.startswith("bytes "):
        return None
    try:
        return int(content_range[6:].split("-", 1)[0])
    except ValueError:
        return None


def _progress(quiet: bool, total: int | None, initial: int, url: str):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=quiet,
        desc=url.rsplit("/", 1)[-1][:40],
        leave=False,
        mininterval=0.5,
    )


def fetch_archive(
    urls: tuple[str, ...],
    archive: Path,
    known_hash: str | None,
    *,
    retries: int = 2,
    quiet: bool = False,
    total: int | None = None,
) -> str:
    """Download `archive` (a path) from the first URL that works, verified against `known_hash`.

    Returns the URL used. Keeps `<archive>.part` after a broken transfer (the next call resumes it);
    a checksum mismatch leaves nothing behind. Every failure -> one DataError listing each URL's reason.
    """
    import pooch
    import requests

    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    part = archive.with_name(archive.name + ".part")
    pooch.get_logger().setLevel(logging.WARNING if quiet else logging.INFO)  # "Downloading file ... from ..."
    reasons = []
    for url in urls:
        fetcher = pooch.create(
            path=archive.parent,
            base_url="",
            registry={archive.name: known_hash},
            urls={archive.name: url},
            retry_if_failed=retries,
        )
        try:
            fetcher.fetch(archive.name, downloader=RangeDownloader(part, quiet=quiet, total=total))
            return url
        except ValueError as exc:  # pooch: hash mismatch (the temp file is already deleted)
            part.unlink(missing_ok=True)
            reasons.append(f"{url}: {_mismatch_text(str(exc), known_hash)}")
        except (requests.exceptions.RequestException, OSError) as exc:
            reasons.append(f"{url}: {exc.__class__.__name__}: {' '.join(str(exc).split())[:160]}")
    kept = f" ({part.stat().st_size} bytes kept in {part.name}; rerun to resume)" if part.exists() else ""
    raise DataError(f"download failed: {'; '.join(reasons)}{kept}", archive)


def _mismatch_text(message: str, known_hash: str | None) -> str:
    if "hash" in message.lower():
        return f"checksum mismatch (expected {known_hash}); the file was deleted"
    return " ".join(message.split())[:160]


def verify_file(path: Path, known_hash: str) -> None:
    """Check a local archive against `known_hash` ('md5:...' or 'sha256:...'); mismatch -> DataError."""
    import pooch

    alg, _, digest = known_hash.partition(":")
    got = pooch.file_hash(str(path), alg=alg)
    if got != digest:
        raise DataError(f"checksum mismatch: expected {known_hash}, got {alg}:{got}", path)


def check_free_space(folder: Path, need: int, what: str) -> None:
    """DataError when `folder`'s file system has less than `need` bytes (+5%) free."""
    import shutil

    from ackd_bench.data.downloads import human_bytes

    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need * 1.05:
        raise DataError(
            f"not enough free space for {what}: need about {human_bytes(int(need * 1.05))}, {human_bytes(free)} free",
            folder,
        )
