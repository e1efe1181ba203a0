"""`ackd-bench cost --run RUN_DIR`: transport cost of a finished run, written to RUN_DIR/cost.json.

Teacher side (documented in docs/results-schema.md): for every student sample, its partner teacher under the
run's pairing; class c's teacher distribution is the multiset of partners of the class-c students (so a
pairing that sends students to atypical teachers costs more). With SCKD pairs in the benchmark, the same is
computed with each student's paired tile as its partner and stored under "sckd" (the paired tiles live in the
benchmark's `sckd_teacher` pool: their embeddings are passed as `sckd_teacher_ids` / `sckd_teacher_emb`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench.io import atomic_write_json
from ackd_bench.transport import TransportError, class_costs, partner_rows


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _partners(emb: Any, pairs: Any) -> tuple[Any, Any, np.ndarray]:
    """(teacher embeddings of partners, student embeddings, student labels) for the students `pairs` pairs."""
    s_ids = [str(i) for i in _field(emb, "student_ids")]
    t_ids = [str(i) for i in _field(emb, "teacher_ids")]
    s_rows, t_rows = partner_rows(s_ids, t_ids, pairs)
    if len(s_rows) == 0:
        raise TransportError("the pairing pairs none of the run's student samples")
    s_lab = np.asarray(_field(emb, "student_labels"))
    return _take(_field(emb, "teacher_emb"), t_rows), _take(_field(emb, "student_emb"), s_rows), s_lab[s_rows]


def _take(x: Any, rows: np.ndarray) -> Any:
    if type(x).__module__.startswith("torch"):
        import torch

        return x[torch.as_tensor(rows, device=x.device)]
    return np.asarray(x)[rows]


def costs_from_embeddings(emb: Any, *, method: str = "exact", n_max: int | None = 500, reg: float = 0.05,
                          seed: int = 0, classes: list[str] | None = None) -> dict:
    """class_costs under the run's pairing (and under the SCKD pairs when `emb` has them)."""
    classes = classes or _field(emb, "classes")
    opts = {"classes": list(classes) if classes is not None else None, "method": method, "n_max": n_max,
            "reg": reg, "seed": seed}
    pairing = _field(emb, "pairing")
    if pairing is not None and len(pairing):
        t, s, lab = _partners(emb, pairing)
        out = {"teacher_side": "partners", **class_costs(t, s, lab, lab, **opts)}
    else:  # no pairing table (or another split): each class's whole teacher pool
        out = {"teacher_side": "class_pool",
               **class_costs(_field(emb, "teacher_emb"), _field(emb, "student_emb"), _field(emb, "teacher_labels"),
                             _field(emb, "student_labels"), **opts)}
    sckd_pairs = _field(emb, "sckd_pairs")
    # the paired tiles are not in the ACKD teacher pool: their embeddings come as sckd_teacher_{ids,emb}
    side = emb
    if _field(emb, "sckd_teacher_ids") is not None:
        side = {k: _field(emb, k) for k in ("student_ids", "student_emb", "student_labels")}
        side.update(teacher_ids=_field(emb, "sckd_teacher_ids"), teacher_emb=_field(emb, "sckd_teacher_emb"))
    if sckd_pairs is not None:  # only pairs whose tile and student are embedded (the same split)
        sckd_pairs = sckd_pairs[sckd_pairs["teacher_id"].astype(str).isin([str(i) for i in side["teacher_ids"]])
                                & sckd_pairs["student_id"].astype(str).isin([str(i) for i in side["student_ids"]])]
    if sckd_pairs is not None and len(sckd_pairs):
        t2, s2, lab2 = _partners(side, sckd_pairs)
        sckd = class_costs(t2, s2, lab2, lab2, **opts)
        out["sckd"] = {k: sckd[k] for k in ("per_class", "n_per_class", "mean", "iterations")}
    return out


def run_cost(run_dir: str | Path, *, split: str = "train", benchmark: str | Path | None = None,
             device: str = "auto", **options: Any) -> dict:
    """Embed the run's pools with its best checkpoint (engine.embed.run_embeddings) and write cost.json.

    The run's pairing tables name TRAIN samples, so partners are used for split="train"; other splits
    compare each class's whole teacher pool ("teacher_side": "class_pool").
    """
    from dataclasses import asdict

    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.embed import load_run_config, run_embeddings

    run_dir = Path(run_dir)
    bench = Benchmark.open(benchmark or load_run_config(run_dir)["benchmark"])
    emb = asdict(run_embeddings(run_dir, split, benchmark=benchmark, device=device))
    emb["classes"] = list(bench.classes)
    if split != "train":
        emb["pairing"] = None
    emb["sckd_pairs"] = bench.sckd_pairs
    result = {"split": split, **costs_from_embeddings(emb, **options)}
    atomic_write_json(run_dir / "cost.json", result)
    return result
