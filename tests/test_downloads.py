"""`ackd-bench download` / `list` against a loopback HTTP server serving fixture archives.

Archives come from tests/data/downloads/make_archives.py (each entry's real layout); the server runs on
127.0.0.1 (tests/download_server.py) and `$ACKD_BENCH_DOWNLOAD_CATALOG` points every entry at it.
A guard refuses any socket connection to a non-loopback address during these tests.
"""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from ackd_bench.cli import cli
from ackd_bench.data.downloads import DOWNLOADS, get_entry, receipt

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("make_archives", HERE / "data" / "downloads" / "make_archives.py")
make_archives = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_archives)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)  # a proxy would be a non-loopback hop
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach non-loopback address {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("archives")
    paths = make_archives.build_archives(out, per_class=3)
    paths.update({f"unsafe:{k}": v for k, v in make_archives.unsafe_archives(out / "unsafe").items()})
    return paths


@pytest.fixture()
def server(archives):
    from download_server import LoopbackServer

    srv = LoopbackServer(next(iter(archives.values())).parent)
    yield srv
    srv.stop()


def _catalog(tmp_path, monkeypatch, archives, server, **overrides) -> dict:
    direct = {k: v for k, v in archives.items() if ":" not in k and get_entry(k).urls}  # manual entries stay manual
    body = make_archives.catalog(direct, server.url)
    for name, fields in overrides.items():
        body[name.replace("_", "-")].update(fields)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(body))
    monkeypatch.setenv("ACKD_BENCH_DOWNLOAD_CATALOG", str(path))
    return body


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _leftovers(folder: Path) -> list[str]:
    """Everything under `folder` except the per-dataset lock files."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.name.endswith(".lock"))


def _one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_download_zip_and_tar_then_list(tmp_path, monkeypatch, archives, server):
    _catalog(tmp_path, monkeypatch, archives, server)
    to = tmp_path / "data"
    server.content_encoding = "gzip"  # the archive's bytes must be stored as sent, never gunzipped
    for name in ("ucmerced", "bigearthnet-s2"):
        res = _run("download", name, "--to", str(to), "--quiet", "--retries", "0")
        assert res.exit_code == 0, res.output
        rec = receipt(to, name)
        assert rec is not None and rec["verified"] and rec["url"].startswith(server.url)
        layout = to / name / get_entry(name).layout
        assert layout.is_dir()
    assert sorted(p.name for p in (to / "ucmerced" / "UCMerced_LandUse" / "Images").iterdir()) == sorted(
        get_entry("ucmerced").classes
    )
    patch = next((to / "bigearthnet-s2" / "BigEarthNet-v1.0").iterdir())
    assert len(list(patch.glob("*_B*.tif"))) == 12 and len(list(patch.glob("*_labels_metadata.json"))) == 1
    assert not (to / ".downloads").exists()  # archives are removed after extraction
    # a second run is a no-op (nothing fetched)
    n = len(server.log)
    assert _run("download", "ucmerced", "--to", str(to), "--quiet").exit_code == 0
    assert len(server.log) == n
    res = _run("list", "--data-dir", str(to))
    assert res.exit_code == 0
    rows = {ln.split()[0]: ln for ln in res.output.splitlines() if ln.startswith("  ") and len(ln.split()) > 3}
    assert "present" in rows["ucmerced"] and "present" in rows["bigearthnet-s2"]
    assert "missing" in rows["eurosat-ms"] and "MIT" in rows["eurosat-ms"]
    assert "fetch by hand" in rows["aid"]


def test_wrong_checksum_leaves_nothing(tmp_path, monkeypatch, archives, server):
    _catalog(tmp_path, monkeypatch, archives, server, nwpu_resisc45={"checksum": "sha256:" + "0" * 64})
    to = tmp_path / "data"
    res = _run("download", "nwpu-resisc45", "--to", str(to), "--quiet", "--retries", "0")
    _one_line_error(res, "checksum mismatch", "sha256:" + "0" * 64)
    assert server.log, "the archive was fetched"
    assert _leftovers(to) == []


def test_interrupted_transfer_resumes_on_rerun(tmp_path, monkeypatch, archives, server):
    _catalog(tmp_path, monkeypatch, archives, server)
    to = tmp_path / "data"
    size = archives["eurosat-ms"].stat().st_size
    server.drop_next = 1
    res = _run("download", "eurosat-ms", "--to", str(to), "--quiet", "--retries", "0")
    _one_line_error(res, "rerun to resume")
    part = to / ".downloads" / "EuroSATallBands.zip.part"
    assert part.is_file() and 0 < part.stat().st_size < size
    assert not (to / "eurosat-ms").exists()
    have = part.stat().st_size
    killed = to / ".eurosat-ms.building-killed"  # what a run killed during extraction leaves
    (killed / "ds").mkdir(parents=True)
    res = _run("download", "eurosat-ms", "--to", str(to), "--quiet", "--retries", "0")
    assert res.exit_code == 0, res.output
    assert server.log[-1][1] == f"bytes={have}-"  # only the rest was requested
    assert (
        receipt(to, "eurosat-ms")["sha256"]
        == make_archives.catalog({"x": archives["eurosat-ms"]}, "")["x"]["checksum"][7:]
    )
    tifs = list((to / "eurosat-ms").rglob("*.tif"))
    assert len(tifs) == 3 * len(get_entry("eurosat-ms").classes)
    assert not (to / ".downloads").exists()  # the .part became the archive, removed after extraction
    assert not killed.exists()


def test_interruption_retried_within_one_run_and_server_without_range(tmp_path, monkeypatch, archives, server):
    _catalog(tmp_path, monkeypatch, archives, server)
    to = tmp_path / "data"
    server.drop_next = 1
    res = _run("download", "eurosat-ms", "--to", str(to), "--quiet", "--retries", "1")
    assert res.exit_code == 0, res.output
    assert server.log[-2][1] is None and server.log[-1][1].startswith("bytes=")  # the retry resumed
    # a server that ignores Range: the partial file is discarded and the download starts over
    server.ranges = False
    server.drop_next = 1
    res = _run("download", "ucmerced", "--to", str(to), "--quiet", "--retries", "1")
    assert res.exit_code == 0, res.output
    assert server.log[-1][1].startswith("bytes=") and receipt(to, "ucmerced")["verified"]


@pytest.mark.parametrize(
    "unsafe", ["dotdot.zip", "absolute.tar.gz", "symlink.zip", "symlink.tar.gz", "hardlink.tar.gz"]
)
def test_unsafe_archive_refused(tmp_path, archives, unsafe):
    to = tmp_path / "data"
    res = _run(
        "download", "aid", "--to", str(to), "--from", str(archives[f"unsafe:{unsafe}"]), "--unverified", "--quiet"
    )
    _one_line_error(res, "unsafe archive member", "refused")
    assert _leftovers(to) == []
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/ackd-evil.txt").exists()


def test_from_file(tmp_path, archives):
    to = tmp_path / "data"
    aid = archives["aid"]
    sha = make_archives.catalog({"aid": aid}, "")["aid"]["checksum"][7:]
    # no published checksum: refused unless the user vouches for the file
    _one_line_error(
        _run("download", "aid", "--to", str(to), "--from", str(aid)), "no published checksum", "--unverified"
    )
    # wrong expectation: nothing extracted
    _one_line_error(
        _run("download", "aid", "--to", str(to), "--from", str(aid), "--sha256", "f" * 64), "checksum mismatch"
    )
    assert _leftovers(to) == []
    res = _run("download", "aid", "--to", str(to), "--from", str(aid), "--sha256", sha, "--quiet")
    assert res.exit_code == 0, res.output
    rec = receipt(to, "aid")
    assert rec["verified"] and rec["sha256"] == sha and rec["url"] is None
    assert sorted(p.name for p in (to / "aid" / "AID").iterdir()) == sorted(get_entry("aid").classes)
    assert aid.exists()  # the user's file is never deleted
    # a manual entry without --from says where to get the archive
    _one_line_error(_run("download", "nasc-tg2-ms", "--to", str(to)), "no direct download link", "--from FILE")


def test_not_enough_space_and_foreign_folder(tmp_path, monkeypatch, archives, server):
    _catalog(tmp_path, monkeypatch, archives, server, ucmerced={"extracted_bytes": 10**18})
    to = tmp_path / "data"
    _one_line_error(_run("download", "ucmerced", "--to", str(to), "--quiet"), "not enough free space")
    assert server.log == [] and _leftovers(to) == []
    (to / "eurosat-rgb").mkdir(parents=True)
    _one_line_error(_run("download", "eurosat-rgb", "--to", str(to), "--quiet"), "no completed download")
    assert server.log == []


def test_registered_entries_are_complete():
    from ackd_bench.data.sources import SOURCES

    expected = {
        "eurosat-ms",
        "eurosat-rgb",
        "ucmerced",
        "nwpu-resisc45",
        "aid",
        "nasc-tg2-rgb",
        "nasc-tg2-ms",
        "bigearthnet-s2",
    }
    assert expected <= set(DOWNLOADS.names())
    for name in DOWNLOADS.names():
        e = DOWNLOADS.get(name)
        assert e.licence and e.citation and e.homepage and e.size_bytes > 0 and e.classes and e.layout
        if e.urls:
            assert e.checksum and all(u.startswith(("https://", "http://")) for u in e.urls)
        else:
            assert e.manual
        if e.source != "bigearthnet-s2":  # registered by the multi-label work (data/sources/bigearthnet_s2.py)
            assert e.source in SOURCES


def test_catalog_override_is_validated(tmp_path, monkeypatch):
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps({"nope": {"urls": []}}))
    monkeypatch.setenv("ACKD_BENCH_DOWNLOAD_CATALOG", str(bad))
    _one_line_error(_run("download", "ucmerced", "--to", str(tmp_path / "d")), "unknown dataset 'nope'")
    _one_line_error(_run("download", "imagenet", "--to", str(tmp_path / "d")), "unknown dataset download 'imagenet'")
    bad.write_text(json.dumps({"ucmerced": {"checksum": "md5:xyz"}}))
    _one_line_error(_run("download", "ucmerced", "--to", str(tmp_path / "d")), "checksum must be")


def test_complete_or_foreign_part_file(tmp_path, monkeypatch, archives, server):
    """A .part already as long as the archive (killed before the rename) gets 416 and a fresh download;
    a .part holding other bytes resumes into a checksum mismatch and is deleted (nothing extracted)."""
    _catalog(tmp_path, monkeypatch, archives, server)
    to = tmp_path / "data"
    part = to / ".downloads" / "EuroSAT.zip.part"
    part.parent.mkdir(parents=True)
    size = archives["eurosat-rgb"].stat().st_size
    part.write_bytes(archives["eurosat-rgb"].read_bytes())
    res = _run("download", "eurosat-rgb", "--to", str(to), "--quiet", "--retries", "0")
    assert res.exit_code == 0, res.output
    assert [r for _, r in server.log] == [f"bytes={size}-", None]  # 416, then the whole file
    assert receipt(to, "eurosat-rgb")["verified"]
    part = to / ".downloads" / "UCMerced_LandUse.zip.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"not the archive" * 100)
    _one_line_error(_run("download", "ucmerced", "--to", str(to), "--quiet", "--retries", "0"), "checksum mismatch")
    assert not part.exists() and not (to / "ucmerced").exists()
    assert _run("download", "ucmerced", "--to", str(to), "--quiet", "--retries", "0").exit_code == 0  # fresh start
