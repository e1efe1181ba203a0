"""`ackd-bench run` end to end on the real default benchmark (200 EuroSAT tiles), S-S pair, 1-2 epochs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_run import invoke_run

from ackd_bench.config import resolve_config
from ackd_bench.engine.run import run_experiment
from ackd_bench.result_record import TIMING_KEYS
from ackd_bench.runtime.checkpoint import load_checkpoint

TIME_KEYS = {"images_per_s", "epoch_s"}


@pytest.fixture(scope="module")
def bench_dir(default_bench) -> Path:
    return default_bench


def _metrics(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIME_KEYS} for r in rows]


def test_run_writes_a_valid_record_and_reuses_the_teacher(bench_dir, tiny_cfg, tmp_path):
    from ackd_bench.report.submit import check_run

    out = tmp_path / "kd"
    invoke_run(bench_dir, "kd", out, "--cost-every", "1", config=tiny_cfg, epochs=2)
    record, violations = check_run(out, benchmark=bench_dir)
    assert violations == []
    assert (record["method"], record["pairing"], record["pair"], record["epochs"]) == ("kd", "random", "S-S", 2)
    assert record["teacher_arch"] == record["student_arch"] == "shufflenetv2_x0_5"
    # the engine's phases only: a method records its own phases (SemBridge's matcher_s...) when they run
    assert set(record["timings"]) == set(TIMING_KEYS)
    # the recipe and the budget rule are in the record (fast profile: AdamW, cosine, dihedral; --epochs given)
    student, teacher = record["training"]["student"], record["training"]["teacher"]
    assert (student["optimizer"], student["cosine"], student["augment"], student["rule"]) == (
        "adamw",
        True,
        "dihedral",
        "epochs",
    )
    assert student["epochs"] == 2 and student["train_images"] == 60 and teacher["augment"] == "dihedral"
    # OA recomputed from predictions.parquet and the manifest's labels
    pred = pd.read_parquet(out / "predictions.parquet")
    manifest = pd.read_parquet(bench_dir / "student.parquet")
    truth = manifest[manifest["split"] == "test"].set_index("sample_id")["label"]
    assert sorted(pred["sample_id"]) == sorted(truth.index)
    assert record["metrics"]["test_oa_best_val"] == pytest.approx(
        float(np.mean(pred["prediction"].to_numpy() == truth.loc[pred["sample_id"]].to_numpy()))
    )
    logits = np.stack(pred["logits"].to_numpy())
    assert logits.shape == (len(pred), 10) and np.array_equal(logits.argmax(1), pred["prediction"].to_numpy())
    rows = _metrics(out)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert {"ce", "kd", "loss", "train_acc", "val_acc", "lr", "transport"} <= set(rows[0])
    assert record["transport"] == rows[-1]["transport"]
    # ACKD (the run's random partners) and SCKD (each student's own MS tile): both measured every epoch
    sckd = record["transport"]["sckd"]
    assert set(sckd["per_class"]) == set(record["transport"]["per_class"]) and len(sckd["per_class"]) == 10
    for t in (r["transport"] for r in rows):
        assert all(t["sckd"][k] > 0 for k in ("w2_prob", "gw", "pair_cost"))
        assert t["pair_cost"] >= t["w2_prob"] and t["sckd"]["pair_cost"] >= t["sckd"]["w2_prob"]
    assert sorted(p.name for p in (out / "pairings").iterdir()) == ["epoch_000.parquet", "epoch_001.parquet"]
    assert {"last.pt", "best.pt"} <= {p.name for p in (out / "checkpoints").iterdir()}
    # second run: the teacher comes from the cache (not retrained)
    from ackd_bench.engine.cache import cache_root

    (teacher_pt,) = (cache_root() / "teachers").glob("*/teacher.pt")
    before = (teacher_pt.stat().st_mtime_ns, json.loads((teacher_pt.parent / "info.json").read_text()))
    res = invoke_run(bench_dir, "student", tmp_path / "student", config=tiny_cfg, quiet=False)
    assert "(cached" in res.output
    assert (teacher_pt.stat().st_mtime_ns, json.loads((teacher_pt.parent / "info.json").read_text())) == before
    # an existing run folder is refused without --resume, and --resume on a finished run is a no-op
    res = invoke_run(bench_dir, "kd", out, ok=False, config=tiny_cfg, epochs=None, quiet=False)
    assert res.exit_code == 2 and "--resume" in res.output
    invoke_run(bench_dir, "kd", out, "--cost-every", "1", "--resume", config=tiny_cfg, epochs=2)
    assert json.loads((out / "result.json").read_text()) == record


def _cfg(bench_dir: Path, tiny_cfg: Path, **over) -> dict:
    base = {"benchmark": str(bench_dir), "method": "kd", "pair": "S-S", "epochs": 2, "device": "cpu", "seed": 5}
    return resolve_config("fast", tiny_cfg, {**base, **over})


class Interrupt(Exception):
    pass


def _stop_after_first_epoch(epoch: int) -> None:
    if epoch == 0:
        raise Interrupt


def test_same_seed_same_metrics_and_resume_matches_uninterrupted(bench_dir, tiny_cfg, tmp_path):
    a = run_experiment(_cfg(bench_dir, tiny_cfg), tmp_path / "a", quiet=True)
    b = run_experiment(_cfg(bench_dir, tiny_cfg), tmp_path / "b", quiet=True)
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert a["metrics"] == b["metrics"]

    with pytest.raises(Interrupt):  # checkpoints every epoch: the resume starts from epoch 0's last.pt
        run_experiment(
            _cfg(bench_dir, tiny_cfg, checkpoint_every_s=0),
            tmp_path / "c",
            quiet=True,
            on_epoch_end=_stop_after_first_epoch,
        )
    assert len(_metrics(tmp_path / "c")) == 1 and not (tmp_path / "c" / "result.json").exists()
    assert load_checkpoint(tmp_path / "c" / "checkpoints" / "last.pt")["epoch"] == 0
    c = run_experiment(_cfg(bench_dir, tiny_cfg), tmp_path / "c", resume=True, quiet=True)
    # with a long checkpoint interval the interrupted run left no last.pt: resume re-runs from epoch 0
    with pytest.raises(Interrupt):
        run_experiment(
            _cfg(bench_dir, tiny_cfg, checkpoint_every_s=3600),
            tmp_path / "e",
            quiet=True,
            on_epoch_end=_stop_after_first_epoch,
        )
    assert not (tmp_path / "e" / "checkpoints" / "last.pt").exists()
    e = run_experiment(_cfg(bench_dir, tiny_cfg, checkpoint_every_s=3600), tmp_path / "e", resume=True, quiet=True)
    assert e["metrics"] == a["metrics"] and _metrics(tmp_path / "e") == _metrics(tmp_path / "a")
    assert _metrics(tmp_path / "c") == _metrics(tmp_path / "a")  # no duplicated lines, same numbers
    assert c["metrics"] == a["metrics"]
    pa = pd.read_parquet(tmp_path / "a" / "predictions.parquet")
    pc = pd.read_parquet(tmp_path / "c" / "predictions.parquet")
    assert pa.equals(pc)
    # a different seed gives a different run
    d = run_experiment(_cfg(bench_dir, tiny_cfg, seed=6), tmp_path / "d", quiet=True)
    assert _metrics(tmp_path / "d") != _metrics(tmp_path / "a") or d["metrics"] != a["metrics"]


def test_checkpoints_follow_checkpoint_every_s(bench_dir, tiny_cfg, tmp_path, monkeypatch):
    """last.pt every epoch with 0; with a long interval only after the last epoch, best.pt written with it."""
    import ackd_bench.engine.run as run_module

    written: list[tuple[str, int]] = []
    real = run_module.save_checkpoint

    def spy(path, state):
        written.append((Path(path).name, state["epoch"]))
        real(path, state)

    monkeypatch.setattr(run_module, "save_checkpoint", spy)
    every = run_experiment(_cfg(bench_dir, tiny_cfg, epochs=3, checkpoint_every_s=0), tmp_path / "every", quiet=True)
    assert [e for name, e in written if name == "last.pt"] == [0, 1, 2]
    written.clear()
    rare = run_experiment(_cfg(bench_dir, tiny_cfg, epochs=3, checkpoint_every_s=3600), tmp_path / "rare", quiet=True)
    best_epoch = rare["metrics"]["best_val_epoch"]
    assert written == [("best.pt", best_epoch), ("last.pt", 2)]  # one write of each, at the end
    assert rare["metrics"] == every["metrics"]  # the same training either way
    assert load_checkpoint(tmp_path / "rare" / "checkpoints" / "best.pt")["epoch"] == best_epoch


def test_resume_refuses_a_changed_config(bench_dir, tiny_cfg, tmp_path):
    from ackd_bench.errors import ConfigError

    with pytest.raises(Interrupt):
        run_experiment(_cfg(bench_dir, tiny_cfg), tmp_path / "r", quiet=True, on_epoch_end=_stop_after_first_epoch)
    with pytest.raises(ConfigError, match="lr"):
        run_experiment(_cfg(bench_dir, tiny_cfg, lr=0.5), tmp_path / "r", resume=True, quiet=True)


def test_oracle_pairs_each_student_with_its_own_tile(bench_dir, tiny_cfg, tmp_path):
    out = tmp_path / "oracle"
    record = run_experiment(_cfg(bench_dir, tiny_cfg, pairing="oracle", epochs=1), out, quiet=True)
    assert record["pairing"] == "oracle"
    table = pd.read_parquet(out / "pairings" / "epoch_000.parquet")
    pairs = pd.read_parquet(bench_dir / "sckd_pairs.parquet").set_index("student_id")["teacher_id"]
    assert table["teacher_id"].tolist() == pairs.loc[table["student_id"]].tolist()
    assert set(table["protocol"]) == {"oracle"}


def _method_cases() -> list[str]:
    from ackd_bench.methods import METHODS

    return METHODS.names() + ["sembridge"]


@pytest.mark.parametrize("method", _method_cases())
def test_every_method_runs_from_the_cli(method, bench_dir, tiny_cfg, tmp_path):
    out = tmp_path / "run"
    extra = ["--dynm-epochs", "0"] if method == "sembridge" else []
    invoke_run(bench_dir, method, out, *extra, config=tiny_cfg)
    record = json.loads((out / "result.json").read_text())
    assert record["method"] == method and 0.0 <= record["metrics"]["test_oa_best_val"] <= 1.0
    rows = _metrics(out)
    assert len(rows) == 1 and np.isfinite(rows[0]["loss"])
    if method == "sembridge":
        assert record["pairing"] == "ssm" and record["sembridge"]["dynm_epochs"] == [0]
        assert {"ot1", "ot2", "kd", "ce"} <= set(rows[0])
        names = sorted(p.name for p in (out / "pairings").iterdir())
        assert names == ["round_000.parquet", "round_001.parquet"]
        assert record["timings"]["matcher_s"] > 0 and record["timings"]["rematch_s"] > 0


def test_run_embeddings_feed_the_cost_command(bench_dir, tiny_cfg, tmp_path):
    from ackd_bench.engine.embed import run_embeddings
    from ackd_bench.report.cost import run_cost

    out = tmp_path / "emb"
    run_experiment(_cfg(bench_dir, tiny_cfg, epochs=1), out, quiet=True)
    emb = run_embeddings(out, "train", device="cpu")
    assert emb.student_emb.shape == (60, 512) and emb.teacher_emb.shape == (60, 512)
    assert emb.student_logits.shape == emb.teacher_logits.shape == (60, 10)
    assert len(emb.student_ids) == len(emb.student_labels) == 60 and emb.classes[0] == "AnnualCrop"
    assert emb.pairing["student_id"].tolist() == emb.student_ids
    cost = run_cost(out)
    assert cost["w2_prob"] > 0 and cost["gw"] > 0 and cost["pair_cost"] > 0 and (out / "cost.json").is_file()
