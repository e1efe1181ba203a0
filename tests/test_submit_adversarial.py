"""Property-based: malformed and adversarial submissions are ALL refused with a reason and write nothing.

Hypothesis (derandomized, so every CI run tries the same examples) draws one defect per example from: wrong
types, missing keys, NaN/inf, huge numbers, unicode and path tricks in the names that become folder names,
predictions for unknown ids, duplicate/missing ids, out-of-range predictions, and files that are not what
they claim (binary garbage, truncated, deeply nested or 5000-digit JSON). Each is submitted through the CLI:
exit code 2, one `error: ... refused: <reason>` line, and the submissions folder (and its parent, where the
lock file lives) byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.cli import cli  # noqa: E402
from ackd_bench.report.submit import safe_component, submit  # noqa: E402

SETTINGS = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON paths (tuples) of required fields, by the type the schema wants there
STRINGS = [
    ("ackd_bench_version",),
    ("benchmark", "name"),
    ("benchmark", "version"),
    ("method",),
    ("pairing",),
    ("pair",),
    ("teacher_arch",),
    ("student_arch",),
]
FRACTIONS = [
    ("metrics", k)
    for k in ("test_oa_best_val", "test_oa_last", "test_macro_f1_best_val", "test_macro_f1_last", "val_oa_best")
]
INTEGERS = [("seed",), ("epochs",), ("metrics", "best_val_epoch")]
OBJECTS = [
    ("benchmark",),
    ("metrics",),
    ("timings",),
    ("environment",),
    ("config",),
    ("files",),
    ("metrics", "per_class_acc"),
    ("benchmark", "manifests_sha256"),
]
TIMINGS = [("timings", k) for k in ("teacher_s", "distill_s", "total_s", "train_images_per_s")]
REQUIRED = STRINGS + FRACTIONS + INTEGERS + OBJECTS + [("schema_version",), ("band_set",), ("profile",)] + TIMINGS
NAME_FIELDS = [("method",), ("pair",), ("benchmark", "name")]
NAME_TRICKS = [
    "..",
    ".",
    "../../../etc/passwd",
    "kd/../../x",
    "/abs",
    "a\\b",
    "~root",
    "C:\\evil",
    "kd\x00",
    "kd\n",
    " kd",
    ".hidden",
    "-rf",
    "kd;rm -rf /",
    "ｋｄ",
    "kd\u202etxt.exe",
    "kd\u200b",
    "é",
    "CON/x",
    "x" * 101,
    "a..b",
    "%2e%2e",
    "kd\t",
    "",
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
HUGE = st.sampled_from([10**30, -(10**30), 2**64, 1e308, -1e308, 1.7976931348623157e308, 10**300, -1])


@pytest.fixture(scope="module")
def env(default_bench, tmp_path_factory):
    """(benchmark, pristine valid run folder, submissions folder holding one accepted record)."""
    root = tmp_path_factory.mktemp("adv")
    store = root / "lb" / "submissions"
    submit(fx.make_run(root / "accepted", default_bench, method="kd", seed=1), store, benchmark=default_bench)
    pristine = fx.make_run(root / "pristine", default_bench, method="kd", seed=2)
    check = root / "check"
    assert submit(pristine, check, benchmark=default_bench).is_dir()  # unmodified, it IS accepted
    shutil.rmtree(check)
    return default_bench, pristine, store


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _get(record: dict, path: tuple):
    node = record
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def _type_of(path: tuple) -> type:
    if path in STRINGS or path == ("profile",):
        return str
    if path in OBJECTS:
        return dict
    if path == ("band_set",):
        return list
    return float


def _wrong_type(value, want: type) -> bool:
    if value is None:
        return want is not float or True
    if want is float:
        return isinstance(value, bool) or not isinstance(value, (int, float))
    if want is dict:
        return not isinstance(value, dict)
    if want is list:
        return not isinstance(value, list)
    return not isinstance(value, str)


# ------------------------------------------------------------------ defects: each returns (kind, apply(run))
def _edit(fn):
    def apply(run: Path) -> None:
        record = json.loads((run / "result.json").read_text())
        fn(record)
        # json.dumps writes NaN/Infinity like a sloppy writer would
        (run / "result.json").write_text(json.dumps(record, allow_nan=True), encoding="utf-8")

    return apply


@st.composite
def defects(draw):
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "missing",
                "nonfinite",
                "huge",
                "name",
                "seed",
                "unknown_id",
                "duplicate_id",
                "missing_id",
                "bad_prediction",
                "result_bytes",
                "predictions_bytes",
                "metrics_lines",
                "not_object",
            ]
        )
    )
    if kind == "wrong_type":
        path = draw(st.sampled_from(REQUIRED))
        value = draw(JSON_VALUES.filter(lambda v, p=path: _wrong_type(v, _type_of(p))))

        def fn(r, path=path, value=value):
            node, key = _get(r, path)
            node[key] = value

        return kind, (path, value), _edit(fn)
    if kind == "missing":
        path = draw(st.sampled_from(REQUIRED))

        def fn(r, path=path):
            node, key = _get(r, path)
            del node[key]

        return kind, path, _edit(fn)
    if kind == "nonfinite":
        path = draw(st.sampled_from(FRACTIONS + TIMINGS + [("metrics", "per_class_acc", "*"), ("config", "lr")]))
        value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))

        def fn(r, path=path, value=value):
            if path[-1] == "*":
                pc = r["metrics"]["per_class_acc"]
                pc[sorted(pc)[0]] = value
            else:
                node, key = _get(r, path)
                node[key] = value

        return kind, (path, value), _edit(fn)
    if kind == "huge":
        path = draw(st.sampled_from(FRACTIONS + INTEGERS + TIMINGS))
        value = draw(HUGE.filter(lambda v, p=path: not (p in TIMINGS and v > 0)))  # big timings are legal

        def fn(r, path=path, value=value):
            node, key = _get(r, path)
            node[key] = value

        return kind, (path, value), _edit(fn)
    if kind == "name":
        path = draw(st.sampled_from(NAME_FIELDS))
        value = draw(st.sampled_from(NAME_TRICKS) | st.text(max_size=12).filter(lambda t: safe_component(t) is None))

        def fn(r, path=path, value=value):
            node, key = _get(r, path)
            node[key] = value

        return kind, (path, value), _edit(fn)
    if kind == "seed":
        value = draw(st.sampled_from([-1, "1", "../1", 1.5, True, None, 2**63, 10**100, [1]]))

        def fn(r, value=value):
            r["seed"] = value

        return kind, value, _edit(fn)
    if kind in ("unknown_id", "duplicate_id", "missing_id", "bad_prediction"):
        row = draw(st.integers(0, 10_000))
        text = draw(st.text(min_size=0, max_size=12))
        bad = draw(st.sampled_from([-1, 10, 10**6, 2**62, -(2**62), 0.5, math.nan, math.inf]))

        def apply(run: Path, kind=kind, row=row, text=text, bad=bad) -> None:
            df = pd.read_parquet(run / "predictions.parquet")
            i = row % len(df)
            if kind == "unknown_id":
                df.loc[i, "sample_id"] = "student-" + text + "-not-a-tile"
            elif kind == "duplicate_id":
                df = pd.concat([df, df.iloc[[i]]], ignore_index=True)
            elif kind == "missing_id":
                df = df.drop(index=i).reset_index(drop=True)
            else:
                df["prediction"] = df["prediction"].astype("float64")
                df.loc[i, "prediction"] = bad
            (run / "predictions.parquet").write_bytes(df.to_parquet(index=False))

        return kind, (row, text, bad), apply
    if kind == "result_bytes":
        data = draw(
            st.sampled_from(
                [
                    b"",
                    b"{",
                    b"\xff\xfe\x00garbage",
                    b"[" * 100_000 + b"]" * 100_000,
                    b'{"seed": ' + b"9" * 5000 + b"}",
                    b"null",
                    b"NaN",
                ]
            )
            | st.binary(max_size=64)
        )
        return kind, data[:40], lambda run, data=data: (run / "result.json").write_bytes(data)
    if kind == "predictions_bytes":
        cut = draw(st.floats(0, 0.99))
        garbage = draw(st.binary(max_size=64))

        def apply(run: Path, cut=cut, garbage=garbage) -> None:
            data = (run / "predictions.parquet").read_bytes()
            (run / "predictions.parquet").write_bytes(data[: int(len(data) * cut)] + garbage)

        return kind, (cut, garbage), apply
    if kind == "metrics_lines":
        line = draw(
            st.sampled_from(["[1, 2]", "nope", "42", '"text"', "{", "\x00\xff", "9" * 5000, "[" * 50_000])
            | st.text(max_size=10).filter(lambda t: not _is_object(t))
        )
        return (
            kind,
            line[:40],
            lambda run, line=line: (run / "metrics.jsonl").write_text(
                (run / "metrics.jsonl").read_text() + line + "\n", encoding="utf-8", errors="surrogatepass"
            ),
        )
    value = draw(st.sampled_from([[1, 2], "record", 3, None, [{"method": "kd"}]]))
    return kind, value, lambda run, value=value: (run / "result.json").write_text(json.dumps(value))


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict) or not text.strip()
    except (ValueError, RecursionError):
        return False


@SETTINGS
@given(defect=defects())
def test_every_malformed_submission_is_refused_and_nothing_is_written(env, defect):
    bench, pristine, store = env
    kind, detail, apply = defect
    before = (_digest(store), sorted(p.name for p in store.parent.iterdir()))
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(pristine, run)
        apply(run)
        res = CliRunner().invoke(cli, ["submit", str(run), "--to", str(store), "--benchmark", str(bench)])
    assert res.exit_code == 2, f"{kind} {detail!r}: exit {res.exit_code}\n{res.output}\n{res.exception!r}"
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "refused: " in lines[0], (kind, detail, res.output)
    assert len(lines[0].split("refused: ", 1)[1]) > 5  # a reason follows
    assert (_digest(store), sorted(p.name for p in store.parent.iterdir())) == before, (kind, detail)
