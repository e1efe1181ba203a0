"""Several processes submitting and building the leaderboard at once: no lost, torn or doubled rows.

Real OS processes (not threads) released together; each submits its own runs, rebuilds the leaderboard after
every submit, and all race for one contested record. Meanwhile this process keeps reading the leaderboard
files without any lock: every read must parse (atomic renames: never a torn file) and the row count never
goes down (builds are serialised with submits by the submissions lock).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.report.folder_check import validate_submissions_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WORKERS, RUNS_EACH = 4, 3
WORKER = r"""
import json, sys, time
from pathlib import Path
from ackd_bench.errors import SubmissionError
from ackd_bench.report.leaderboard import build
from ackd_bench.report.submit import submit

go, subs, out, bench, contested, *runs = sys.argv[1:]
while not Path(go).exists():
    time.sleep(0.005)
for run in [contested] + runs:
    try:
        submit(run, subs, benchmark=bench)
        print(json.dumps({"run": run, "ok": True}), flush=True)
    except SubmissionError as exc:
        print(json.dumps({"run": run, "ok": False, "why": str(exc)}), flush=True)
    tables = build(subs, out, check=True)
    print(json.dumps({"build": len(tables["runs"])}), flush=True)
"""


@pytest.fixture(scope="module")
def runs(default_bench, tmp_path_factory):
    root = tmp_path_factory.mktemp("conc")
    methods = ["kd", "dkd", "rkd", "lskd"]
    made = {
        w: [
            fx.make_run(
                root / f"w{w}-s{s}", default_bench, method=methods[w], seed=s, wrong=1 + w * RUNS_EACH + s
            )  # distinct predictions in every run
            for s in range(RUNS_EACH)
        ]
        for w in range(WORKERS)
    }
    contested = fx.make_run(root / "contested", default_bench, method="ctkd", seed=9, wrong=WORKERS * RUNS_EACH + 1)
    return default_bench, made, contested


def test_concurrent_submits_and_builds_lose_nothing(runs, tmp_path):
    bench, made, contested = runs
    subs, out, go = tmp_path / "lb" / "submissions", tmp_path / "lb", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(go),
                str(subs),
                str(out),
                str(bench),
                str(contested),
                *map(str, made[w]),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    seen, problems, stop = [], [], threading.Event()

    def read_while_building():
        while not stop.is_set():
            try:
                # one read() per file: pyarrow opens a path more than once, and a rename between its
                # opens would mix two complete versions (a reader artefact, not a torn file)
                n_csv = (
                    len(pd.read_csv(io.BytesIO((out / "leaderboard.csv").read_bytes())))
                    if (out / "leaderboard.csv").is_file()
                    else 0
                )
                n_runs = (
                    len(pd.read_parquet(io.BytesIO((out / "submissions.parquet").read_bytes())))
                    if (out / "submissions.parquet").is_file()
                    else 0
                )
                seen.append((n_csv, n_runs))
            except Exception as exc:  # a torn or half-written file
                problems.append(repr(exc))
            time.sleep(0.01)

    reader = threading.Thread(target=read_while_building)
    reader.start()
    go.touch()
    try:
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        stop.set()
        reader.join()
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr
    events = [json.loads(line) for stdout, _ in results for line in stdout.splitlines()]
    contest = [e for e in events if e.get("run") == str(contested)]
    assert sum(e["ok"] for e in contest) == 1, contest  # exactly one process got the contested record
    assert all("duplicate: " in e["why"] for e in contest if not e["ok"])  # the others: a clear refusal
    assert all(e["ok"] for e in events if "run" in e and e["run"] != str(contested))

    total = WORKERS * RUNS_EACH + 1
    assert problems == [] and seen  # every read parsed
    runs_seen = [n for _, n in seen]
    assert runs_seen == sorted(runs_seen)  # never fewer rows than an earlier build
    assert validate_submissions_folder(subs) == []  # no leftovers, no half-written record
    final = pd.read_parquet(out / "submissions.parquet")
    assert len(final) == total and not final.duplicated(["method", "seed"]).any()  # no lost or doubled rows
    assert sorted(final["method"].unique()) == ["ctkd", "dkd", "kd", "lskd", "rkd"]
    cells = pd.read_csv(out / "leaderboard.csv")
    assert int(cells["n"].sum()) == total
    assert max(e["build"] for e in events if "build" in e) == total
