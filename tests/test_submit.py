"""`ackd-bench submit`: every kind of bad record is refused with its reason and the folder stays unchanged."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.cli import cli  # noqa: E402
from ackd_bench.errors import SubmissionError  # noqa: E402
from ackd_bench.io import atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: E402
from ackd_bench.report.submit import safe_component, submit  # noqa: E402


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return fx.build_benchmark(tmp_path_factory.mktemp("bench") / "bench")


@pytest.fixture()
def datasets(tmp_path, bench) -> Path:
    """A private datasets/ folder holding the benchmark's card as a shipped card."""
    fx.shipped_card(bench, tmp_path / "datasets")
    return tmp_path / "datasets"


@pytest.fixture()
def store(tmp_path, bench) -> Path:
    """A submissions folder that already holds one accepted record."""
    root = tmp_path / "submissions"
    submit(fx.make_run(tmp_path / "first", bench, method="kd", seed=5), root, benchmark=bench)
    return root


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(p.relative_to(root).as_posix().encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def refused(run: Path, store: Path, **kwargs) -> str:
    """Submit `run`, expect a refusal, check the folder is untouched; returns the one-line message."""
    before = tree_digest(store)
    with pytest.raises(SubmissionError) as info:
        submit(run, store, **kwargs)
    assert tree_digest(store) == before
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(run))
    return message


def edit_record(run: Path, **changes) -> None:
    record = json.loads((run / "result.json").read_text())
    for dotted, value in changes.items():
        node = record
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    atomic_write_text(run / "result.json", json.dumps(record))  # json.dumps writes NaN as NaN, like a sloppy writer


def test_valid_record_is_stored(tmp_path, bench, store):
    run = fx.make_run(
        tmp_path / "run", bench, method="dkd+sembridge", pairing="ssm", pair="resnet18:resnet34", seed=3, wrong=4
    )
    target = submit(run, store, benchmark=bench)
    cell = store / "eurosat-sample" / "dkd+sembridge" / "ssm" / "resnet18__resnet34" / fx.cell_hash(run)
    assert target == cell / "seed3"
    assert sorted(p.name for p in target.iterdir()) == ["metrics.jsonl", "predictions.parquet", "result.json"]
    assert (target / "predictions.parquet").read_bytes() == (run / "predictions.parquet").read_bytes()
    stored = json.loads((target / "result.json").read_text())
    card = json.loads((bench / "benchmark.json").read_text())
    assert stored.pop("submission") == {
        "config_hash": fx.cell_hash(run),
        "variant": None,
        "card": {k: card[k] for k in ("sckd_reference", "paper_dataset", "teacher_bands", "classes") if k in card},
    }
    assert stored == json.loads((run / "result.json").read_text())
    assert not [p for p in store.rglob(".*")]  # no temp leftovers


def test_shipped_card_and_config_benchmark_path(tmp_path, bench, datasets):
    root = tmp_path / "subs"
    run = fx.make_run(tmp_path / "run", bench, seed=1)
    assert submit(run, root, datasets_dir=datasets).is_dir()
    # without the benchmark folder the scores cannot be recomputed: refused, even with a known card
    lost = fx.make_run(tmp_path / "lost", bench, seed=2, benchmark_path=str(tmp_path / "nowhere"))
    assert "cannot recompute scores" in refused(lost, root, datasets_dir=datasets)


def test_bad_schema_lists_every_violation(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    edit_record(
        run,
        metrics__test_oa_last=1.5,
        seed=KeyError,
        timings__distill_s=float("nan"),
        pairing="telepathy",
        epochs="three",
    )
    message = refused(run, store, benchmark=bench)
    for reason in (
        "metrics.test_oa_last: 1.5 is above the maximum 1",
        "seed: required key missing",
        "timings.distill_s: nan is not a finite number",
        "pairing: 'telepathy' is not one of",
        "epochs: expected integer, got str",
    ):
        assert reason in message


def test_unknown_schema_version(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    edit_record(run, schema_version=2)
    assert "unknown schema_version 2" in refused(run, store, benchmark=bench)


def test_tampered_prediction(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7, wrong=3)
    df = pd.read_parquet(run / "predictions.parquet")
    right = df.index[df["prediction"] != df["label"]][0]  # fix one wrong prediction: OA goes up, record doesn't
    df.loc[right, "prediction"] = df.loc[right, "label"]
    atomic_write_bytes(run / "predictions.parquet", df.to_parquet(index=False))
    message = refused(run, store, benchmark=bench)
    assert "metrics.test_oa_best_val: reports" in message and "but predictions give" in message
    assert "metrics.per_class_acc: differs" in message


def test_reported_numbers_off_beyond_rounding(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    record = json.loads((run / "result.json").read_text())
    edit_record(run, metrics__test_macro_f1_best_val=record["metrics"]["test_macro_f1_best_val"] - 2e-6)
    assert "metrics.test_macro_f1_best_val" in refused(run, store, benchmark=bench)
    edit_record(run, metrics__test_macro_f1_best_val=record["metrics"]["test_macro_f1_best_val"] - 5e-7)
    assert submit(run, store, benchmark=bench).is_dir()  # within rounding is accepted


def test_missing_unknown_and_duplicate_ids(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    df = pd.read_parquet(run / "predictions.parquet")
    df = pd.concat([df.iloc[1:], df.iloc[[1]]])  # drop the first id, repeat the second
    df.iloc[-2, df.columns.get_loc("sample_id")] = "student-not-a-tile"
    atomic_write_bytes(run / "predictions.parquet", df.to_parquet(index=False))
    message = refused(run, store, benchmark=bench)
    assert "1 duplicate sample id(s)" in message and "1 unknown sample id(s)" in message
    assert "missing sample id(s)" in message


def test_unknown_benchmark_checksum_and_version(tmp_path, bench, store, datasets):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    record = json.loads((run / "result.json").read_text())
    record["benchmark"]["manifests_sha256"]["teacher.parquet"] = "0" * 64
    atomic_write_json(run / "result.json", record)
    assert "manifest checksum differs from the shipped cards" in refused(run, store, datasets_dir=datasets)
    assert "manifest checksum differs from the build at" in refused(run, store, benchmark=bench)
    record["benchmark"]["version"] = "99"
    atomic_write_json(run / "result.json", record)
    assert "version '99' is unknown to the shipped cards" in refused(run, store, datasets_dir=datasets)
    assert "is not a benchmark known" in refused(run, store, datasets_dir=tmp_path / "no-datasets")


def test_duplicate_refused_unless_replace(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "again", bench, method="kd", seed=5, wrong=6)
    assert f"duplicate: eurosat-sample/kd/random/R-R/{fx.cell_hash(run)}/seed5 is already submitted" in refused(
        run, store, benchmark=bench
    )
    target = submit(run, store, benchmark=bench, replace=True)
    assert (
        json.loads((target / "result.json").read_text())["metrics"]
        == json.loads((run / "result.json").read_text())["metrics"]
    )
    assert sorted(p.name for p in target.parent.iterdir()) == ["seed5"]  # nothing else deleted, no leftovers


def test_oversized_file(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    pad = json.dumps({"epoch": 99, "note": "x" * (10 * 1024 * 1024)})
    atomic_write_text(run / "metrics.jsonl", (run / "metrics.jsonl").read_text() + pad + "\n")
    assert "metrics.jsonl:" in refused(run, store, benchmark=bench)
    assert "exceeds the 10485760 byte limit" in refused(run, store, benchmark=bench)


@pytest.mark.parametrize(
    "field,value",
    [
        ("method", "../../../etc"),
        ("pair", "R-R/../../x"),
        ("method", ".hidden"),
        ("pair", "a\\b"),
        ("method", "kd;rm -rf"),
    ],
)
def test_traversal_and_unsafe_names(tmp_path, bench, store, field, value):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    edit_record(run, **{field: value})
    assert f"{field}: {value!r} cannot be a folder name" in refused(run, store, benchmark=bench)
    assert not (tmp_path / "etc").exists() and not (store.parent / "x").exists()


def test_safe_component():
    assert safe_component("resnet18:resnet34") == "resnet18__resnet34"
    assert safe_component("kd+sembridge") == "kd+sembridge"
    for bad in ("", ".", "..", "a/b", "a..b", "x" * 101, None, True, "é"):
        assert safe_component(bad) is None


def test_cli_refusal_is_one_line_exit_2(tmp_path, bench, store):
    run = fx.make_run(tmp_path / "run", bench, seed=7)
    edit_record(run, metrics__test_oa_best_val=-0.1)
    before = tree_digest(store)
    res = CliRunner().invoke(cli, ["submit", str(run), "--to", str(store), "--benchmark", str(bench)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "below the minimum 0" in lines[0]
    assert tree_digest(store) == before
    ok = fx.make_run(tmp_path / "ok", bench, seed=8)
    res = CliRunner().invoke(cli, ["submit", str(ok), "--to", str(store), "--benchmark", str(bench)])
    assert res.exit_code == 0 and res.output.strip().endswith("seed8")


def test_configurations_are_separate_cells(tmp_path, bench):
    """One hyper-parameter apart: side by side; two seeds of one config: one cell; another teacher: own cell."""
    store = tmp_path / "subs"
    base = fx.make_run(tmp_path / "a0", bench, method="kd", seed=0)
    other_seed = fx.make_run(
        tmp_path / "a1", bench, method="kd", seed=1, config={"device": "cuda", "checkpoint_every_s": 60}
    )
    hyper = fx.make_run(tmp_path / "b0", bench, method="kd", seed=0, config={"method_args": {"T": 2.0}})
    teacher = fx.make_run(tmp_path / "c1", bench, method="kd", seed=1, config={"teacher": {"epochs": 3}})
    cells = {
        name: submit(run, store, benchmark=bench).parent
        for name, run in (("base", base), ("seed", other_seed), ("hyper", hyper), ("teacher", teacher))
    }
    assert cells["seed"] == cells["base"]  # seed, device and checkpoint interval vary within a cell
    assert len({cells["base"], cells["hyper"], cells["teacher"]}) == 3
    assert sorted(p.name for p in cells["base"].iterdir()) == ["seed0", "seed1"]


def test_teacher_seed_follow_and_fixed_are_constant_across_seeds(tmp_path, bench):
    store = tmp_path / "subs"
    for mode in ("follow", 7):
        runs = [fx.make_run(tmp_path / f"{mode}{s}", bench, seed=s, config={"teacher": {"seed": mode}}) for s in (0, 1)]
        assert len({submit(r, store, benchmark=bench).parent for r in runs}) == 1


def test_variant_name_is_stored_and_must_agree_within_a_cell(tmp_path, bench):
    store = tmp_path / "subs"
    run0 = fx.make_run(tmp_path / "r0", bench, seed=0, config={"method_args": {"T": 2.0}})
    target = submit(run0, store, benchmark=bench, variant="T2")
    assert json.loads((target / "result.json").read_text())["submission"]["variant"] == "T2"
    run1 = fx.make_run(tmp_path / "r1", bench, seed=1, config={"method_args": {"T": 2.0}})
    assert "variant: 'other' differs from 'T2'" in refused(run1, store, benchmark=bench, variant="other")
    assert submit(run1, store, benchmark=bench, variant="T2").parent == target.parent
    res = CliRunner().invoke(
        cli,
        [
            "submit",
            str(fx.make_run(tmp_path / "r2", bench, seed=2, config={"method_args": {"T": 2.0}})),
            "--to",
            str(store),
            "--benchmark",
            str(bench),
            "--variant",
            "T2",
        ],
    )
    assert res.exit_code == 0, res.output
