"""Fixtures for the report tests: a real benchmark folder and run folders against it.

- `build_benchmark(out)`: `ackd-bench build-dataset --out out` (the default real preset) when the data area's
  build command is available; otherwise a minimal benchmark folder in the ARCHITECTURE.md §2 layout (card +
  manifests with their sha256) listing the real EuroSAT-MS-200 tiles from the shared data folder, with a
  seeded per-class split. Either way the labels are those of real images.
- `make_run(...)`: a run folder as ARCHITECTURE.md §5 describes (result.json, predictions.parquet,
  metrics.jsonl) whose predictions get exactly `wrong` test samples wrong; per-epoch transport entries are
  real `class_costs` calls on seeded embeddings.

Run as a script to write a demo fixture: `python tests/data/report/make_fixture.py OUT_DIR`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.config import deep_update, resolve_config
from ackd_bench.io import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file
from ackd_bench.report.identity import identity_hash
from ackd_bench.report.validate import score
from ackd_bench.transport_costs import costs_from_embeddings

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data" / "eurosat-ms-200"


def _build_cli_available() -> bool:
    try:
        import ackd_bench.data.benchmark  # noqa: F401
        from ackd_bench.cli import cli
    except ImportError:
        return False
    return "build-dataset" in cli.commands


def build_benchmark(out: Path) -> Path:
    """A real benchmark folder at `out` (see the module docstring)."""
    if _build_cli_available():
        exe = Path(sys.executable).with_name("ackd-bench")
        subprocess.run([str(exe), "build-dataset", "--out", str(out)], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        return out
    return _minimal_benchmark(out)


def _manifest(pool: str, files: list[Path], classes: list[str], seed: int) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        mine = sorted(f for f in files if f.parent.name == name)
        order = rng.permutation(len(mine))
        for rank, i in enumerate(order):
            split = "test" if rank < 3 else "val" if rank < 6 else "train"
            f = mine[i]
            rows.append(
                {
                    "sample_id": f"{pool}-{f.stem}",
                    "path": f"{name}/{f.name}",
                    "class_name": name,
                    "label": label,
                    "split": split,
                }
            )
    return pd.DataFrame(rows).sort_values(["class_name", "sample_id"]).reset_index(drop=True)


def _minimal_benchmark(out: Path) -> Path:
    files = sorted(SHARED.glob("*/*.tif"))
    if not files:
        raise FileNotFoundError(f"real EuroSAT-MS-200 tiles not found under {SHARED}")
    classes = sorted({f.parent.name for f in files})
    out.mkdir(parents=True, exist_ok=True)
    sums = {}
    for pool, seed in (("teacher", 1), ("student", 2)):
        df = _manifest(pool, files, classes, seed)
        path = out / f"{pool}.parquet"
        with_tmp = df.to_parquet(index=False)
        atomic_write_bytes(path, with_tmp)
        sums[f"{pool}.parquet"] = sha256_file(path)
    card = {"name": "eurosat-sample", "version": "1", "classes": classes, "manifests_sha256": sums, "paired": False}
    atomic_write_json(out / "benchmark.json", card)
    return out


def shipped_card(bench: Path, datasets_dir: Path) -> Path:
    """Write `bench`'s card as a shipped card `datasets_dir/<name>/card.json` (a private datasets folder)."""
    card = json.loads((bench / "benchmark.json").read_text())
    path = datasets_dir / card["name"] / "card.json"
    atomic_write_json(path, card)
    return path


def test_ids(bench: Path) -> pd.DataFrame:
    """The student test split: sample_id, label (sorted by sample_id)."""
    df = pd.read_parquet(bench / "student.parquet", columns=["sample_id", "label", "split"])
    return df[df["split"] == "test"].sort_values("sample_id").reset_index(drop=True)


def make_run(
    run_dir: Path,
    bench: Path,
    *,
    method: str = "kd",
    pairing: str = "random",
    pair: str = "R-R",
    seed: int = 0,
    wrong: int = 2,
    epochs: int = 3,
    benchmark_path: str | None = None,
    config: dict | None = None,
) -> Path:
    """A run folder whose first `wrong` test samples (seeded order) are misclassified; its config is the `fast`
    profile's resolved config for the run, with `config` merged in (e.g. {"method_args": {"T": 2.0}})."""
    card = json.loads((bench / "benchmark.json").read_text())
    classes = list(card["classes"])
    test = test_ids(bench)
    labels = test["label"].to_numpy(dtype=np.int64)
    preds = labels.copy()
    order = np.random.default_rng([seed, len(method)]).permutation(len(labels))
    preds[order[:wrong]] = (labels[order[:wrong]] + 1) % len(classes)
    logits = [[10.0 if k == p else 0.0 for k in range(len(classes))] for p in preds]
    pred_df = pd.DataFrame({"sample_id": test["sample_id"], "label": labels, "prediction": preds, "logits": logits})
    atomic_write_bytes(run_dir / "predictions.parquet", pred_df.to_parquet(index=False))
    lines, transport = [], None
    for epoch in range(epochs):
        transport = _epoch_transport(classes, seed + 100 * len(method), epoch, sckd=pairing != "oracle")
        lines.append(
            json.dumps(
                {
                    "epoch": epoch,
                    "losses": {"ce": 1.0 / (epoch + 1)},
                    "train_acc": 0.5,
                    "val_acc": 0.5,
                    "lr": 0.001,
                    "images_per_s": 100.0,
                    "transport": transport,
                },
                sort_keys=True,
            )
        )
    atomic_write_text(run_dir / "metrics.jsonl", "\n".join(lines) + "\n")
    scores = score(labels, preds, classes)
    teacher, student = pair.split(":") if ":" in pair else ("resnet34", "resnet34")
    record = {
        "schema_version": 1,
        "ackd_bench_version": "0.1.0",
        "benchmark": {"name": card["name"], "version": card["version"], "manifests_sha256": card["manifests_sha256"]},
        "method": method,
        "pairing": pairing,
        "pair": pair,
        "teacher_arch": teacher,
        "student_arch": student,
        "seed": seed,
        "band_set": ["B02", "B03", "B04", "B08"],
        "profile": "fast",
        "epochs": epochs,
        "metrics": {
            **scores,
            "test_oa_last": scores["test_oa_best_val"],
            "test_macro_f1_last": scores["test_macro_f1_best_val"],
            "best_val_epoch": epochs - 1,
            "val_oa_best": 0.5,
            "teacher_test_oa": 0.9,
        },
        "timings": {
            "teacher_s": 1.0,
            "teacher_cache_s": 0.5,
            "matcher_s": 0.0,
            "gallery_s": 0.0,
            "rematch_s": 0.0,
            "distill_s": 10.0 + seed,
            "total_s": 12.0 + seed,
            "train_images_per_s": 100.0,
        },
        "environment": {
            "python": "3.11",
            "torch": "2.14.1",
            "numpy": "2.4.6",
            "platform": "linux",
            "device": "cpu",
            "git_sha": None,
        },
        "config": run_config(
            method,
            pairing,
            pair,
            seed,
            benchmark_path if benchmark_path is not None else str(bench),
            {"bands": card.get("teacher_bands") or ["B02", "B03", "B04", "B08"], **(config or {})},
        ),
        "files": {"predictions": "predictions.parquet", "metrics": "metrics.jsonl", "pairings": "pairings"},
        "transport": transport,
    }
    atomic_write_json(run_dir / "result.json", record)
    return run_dir


def run_config(method: str, pairing: str, pair: str, seed: int, benchmark: str, extra: dict | None = None) -> dict:
    """A resolved config as `ackd-bench run` records it (the `fast` profile), plus `extra`."""
    teacher, student = pair.split(":") if ":" in pair else ("resnet34", "resnet34")
    cfg = resolve_config(
        "fast",
        overrides={
            "method": method,
            "pairing": pairing,
            "pair": pair,
            "seed": seed,
            "student_arch": student,
            "teacher": {"arch": teacher},
        },
    )
    cfg = deep_update(cfg, {"benchmark": benchmark, "bands": ["B02", "B03", "B04", "B08"], **(extra or {})})
    return json.loads(json.dumps(cfg))


def cell_hash(run_dir: Path) -> str:
    """The configuration identity (submissions folder level) of a run folder's record."""
    return identity_hash(json.loads((run_dir / "result.json").read_text())["config"])


def _epoch_transport(classes: list[str], seed: int, epoch: int, sckd: bool) -> dict:
    """The real transport record (transport_costs.costs_from_embeddings) on small seeded logits and embeddings whose
    teacher/student gap shrinks with the epoch."""
    rng = np.random.default_rng([seed, epoch])
    labels = np.repeat(np.arange(len(classes)), 6)
    ids = [f"s{i}" for i in range(len(labels))]
    student = rng.normal(size=(len(labels), 8)) + labels[:, None]
    s_logits = 3 * np.eye(len(classes))[labels] + rng.normal(size=(len(labels), len(classes)))
    teacher = student + rng.normal(scale=1.0 / (epoch + 1), size=student.shape)
    t_logits = s_logits + rng.normal(scale=1.0 / (epoch + 1), size=s_logits.shape)
    emb = {
        "student_ids": ids,
        "student_labels": labels,
        "student_emb": student,
        "student_logits": s_logits,
        "teacher_ids": [f"t{i}" for i in range(len(labels))],
        "teacher_labels": labels,
        "teacher_emb": teacher,
        "teacher_logits": t_logits,
        "classes": classes,
        "pairing": pd.DataFrame({"student_id": ids, "teacher_id": [f"t{i}" for i in range(len(labels))]}),
    }
    if sckd:
        emb.update(
            sckd_pairs=pd.DataFrame({"student_id": ids, "teacher_id": [f"p{i}" for i in range(len(labels))]}),
            sckd_teacher_ids=[f"p{i}" for i in range(len(labels))],
            sckd_teacher_emb=student + rng.normal(scale=0.3 / (epoch + 1), size=student.shape),
            sckd_teacher_logits=s_logits + rng.normal(scale=0.3 / (epoch + 1), size=s_logits.shape),
        )
    return costs_from_embeddings(emb, seed=seed)


if __name__ == "__main__":
    root = Path(sys.argv[1])
    b = build_benchmark(root / "bench")
    for s in range(2):
        make_run(root / "runs" / f"kd-{s}", b, seed=s, wrong=s + 1)
    print(root)
