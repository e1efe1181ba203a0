"""The leaderboard page in a REAL headless Chromium: tables render, sorting and filtering work from the URL hash.

Skipped only when Chromium is absent and CI is not set; under CI=true a missing Chromium is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.report.leaderboard import build  # noqa: E402
from ackd_bench.report.submit import submit  # noqa: E402


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but no chromium on PATH (.ci/run installs the Debian package `chromium`)")
    pytest.skip("chromium not installed (apt-get install chromium); required when CI=true")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("page")
    bench = fx.build_benchmark(root / "bench")
    for method, seed, wrong in (("kd", 0, 3), ("kd", 1, 1), ("dkd", 0, 5), ("dkd", 1, 0)):
        submit(fx.make_run(root / "runs" / f"{method}{seed}", bench, method=method, seed=seed, wrong=wrong),
               root / "subs", benchmark=bench)
    build(root / "subs", root / "out")
    return root / "out" / "index.html"


def dump_dom(exe: str, url: str, tmp: Path) -> str:
    """The DOM after the page's scripts ran, from a fresh profile with networking features off."""
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", url]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "<table" in res.stdout, res.stderr[-2000:]
    return res.stdout


def table(dom: str, table_id: str) -> tuple[str, list[str]]:
    """(the <table ...> start tag, the body rows' HTML in DOM order)."""
    m = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', dom, re.S)
    assert m, f"table {table_id} not rendered"
    start = re.search(rf'<table[^>]*id="{table_id}"[^>]*>', dom).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", m.group(1), re.S).group(1)
    return start, re.findall(r"<tr[^>]*>.*?</tr>", body, re.S)


def column(rows: list[str], col: int) -> list[str]:
    return [re.findall(r'<td[^>]*data-v="([^"]*)"', r)[col] for r in rows]


def test_page_renders_and_sorts(page, tmp_path):
    exe = _chromium()
    url = page.resolve().as_uri()
    plain = dump_dom(exe, url, tmp_path)
    start, rows = table(plain, "runs")
    assert len(rows) == 4 and "data-sort-col" not in start
    assert plain.count('src="data:image/png;base64,') == 3
    oa_col = 5  # RUN_COLUMNS: benchmark, method, pairing, pair, seed, OA %
    for direction in ("asc", "desc"):
        dom = dump_dom(exe, f"{url}#sort=runs:{oa_col}:{direction}", tmp_path)
        start, rows = table(dom, "runs")
        assert f'data-sort-col="{oa_col}"' in start and f'data-sort-dir="{direction}"' in start
        values = [float(v) for v in column(rows, oa_col)]
        assert values == sorted(values, reverse=direction == "desc") and len(set(values)) == 4
    dom = dump_dom(exe, f"{url}#sort=runs:1:asc&filter=runs:dkd", tmp_path)
    _, rows = table(dom, "runs")
    assert column(rows, 1) == ["dkd", "dkd", "kd", "kd"]
    hidden = ['display: none' in r for r in rows]
    assert hidden == [False, False, True, True]
    _, cells = table(dom, "cells")
    assert len(cells) == 2
