"""The `transport` record of result.json and cost.json (docs/results-schema.md) from a run's embeddings:
transport costs (ackd_bench/transport.py) between each student and its partner teachers under the run's pairing,
and under the benchmark's SCKD pairs when it has them. Used by the engine (`cost_every`) and by `ackd-bench cost`
(report/cost.py).

Teacher side: for every student sample, its partner teacher under the run's pairing, row-aligned with the student
(so the pair-level cost exists); class c's teacher distribution is the multiset of partners of the class-c
students (so a pairing that sends students to atypical teachers costs more). With SCKD pairs in the benchmark,
the same is computed with each student's paired tile as its partner and stored under "sckd" (the paired tiles
live in the benchmark's `sckd_teacher` pool: their embeddings are passed as `sckd_teacher_ids` /
`sckd_teacher_emb`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ackd_bench.transport import DEFAULT_TEMPERATURE, GROUND_COSTS, HEADLINE, TransportError, class_costs, partner_rows


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _partners(emb: Any, pairs: Any) -> tuple[Any, Any, Any, Any, np.ndarray]:
    """(partner logits, partner embeddings, student logits, student embeddings, student labels), row-aligned,
    for the students `pairs` pairs."""
    s_ids = [str(i) for i in _field(emb, "student_ids")]
    t_ids = [str(i) for i in _field(emb, "teacher_ids")]
    s_rows, t_rows = partner_rows(s_ids, t_ids, pairs)
    if len(s_rows) == 0:
        raise TransportError("the pairing pairs none of the run's student samples")
    s_lab = np.asarray(_field(emb, "student_labels"))
    return (
        _take(_field(emb, "teacher_logits"), t_rows),
        _take(_field(emb, "teacher_emb"), t_rows),
        _take(_field(emb, "student_logits"), s_rows),
        _take(_field(emb, "student_emb"), s_rows),
        s_lab[s_rows],
    )


def _take(x: Any, rows: np.ndarray) -> Any:
    if type(x).__module__.startswith("torch"):
        import torch

        return x[torch.as_tensor(rows, device=x.device)]
    return np.asarray(x)[rows]


def _paired_costs(side: Any, pairs: Any, opts: dict) -> dict:
    t_logits, t_emb, s_logits, s_emb, lab = _partners(side, pairs)
    return class_costs(t_logits, t_emb, lab, s_logits, s_emb, lab, aligned=True, **opts)


def costs_from_embeddings(
    emb: Any,
    *,
    method: str = "exact",
    n_max: int | None = 500,
    reg: float = 0.05,
    seed: int = 0,
    classes: list[str] | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
) -> dict:
    """The `transport` record (docs/results-schema.md) under the run's pairing, and under the SCKD pairs when
    `emb` has them (else "sckd" is None).

    `emb` holds student_{ids,labels,logits,emb}, teacher_{ids,labels,logits,emb}, pairing, classes and
    optionally sckd_pairs with the paired tiles' sckd_teacher_{ids,logits,emb}.
    """
    classes = classes or _field(emb, "classes")
    opts = {
        "classes": list(classes) if classes is not None else None,
        "method": method,
        "n_max": n_max,
        "reg": reg,
        "seed": seed,
        "temperature": temperature,
    }
    head = {
        "method": method,
        "reg": float(reg) if method == "sinkhorn" else None,
        "n_max": n_max,
        "temperature": float(temperature),
        "seed": int(seed),
        "gw_solver": "conditional_gradient",
        "ground_cost": dict(GROUND_COSTS),
    }
    pairing = _field(emb, "pairing")
    if pairing is not None and len(pairing):
        out = {**head, "teacher_side": "partners", **_paired_costs(emb, pairing, opts)}
    else:  # no pairing table (or another split): each class's whole teacher pool
        out = {
            **head,
            "teacher_side": "class_pool",
            **class_costs(
                _field(emb, "teacher_logits"),
                _field(emb, "teacher_emb"),
                _field(emb, "teacher_labels"),
                _field(emb, "student_logits"),
                _field(emb, "student_emb"),
                _field(emb, "student_labels"),
                **opts,
            ),
        }
    out["sckd"] = None
    sckd_pairs = _field(emb, "sckd_pairs")
    # the paired tiles are not in the ACKD teacher pool: their outputs come as sckd_teacher_{ids,logits,emb}
    side = emb
    if _field(emb, "sckd_teacher_ids") is not None:
        side = {k: _field(emb, k) for k in ("student_ids", "student_emb", "student_logits", "student_labels")}
        side.update(
            teacher_ids=_field(emb, "sckd_teacher_ids"),
            teacher_emb=_field(emb, "sckd_teacher_emb"),
            teacher_logits=_field(emb, "sckd_teacher_logits"),
        )
    if sckd_pairs is not None:  # only pairs whose tile and student are embedded (the same split)
        sckd_pairs = sckd_pairs[
            sckd_pairs["teacher_id"].astype(str).isin([str(i) for i in side["teacher_ids"]])
            & sckd_pairs["student_id"].astype(str).isin([str(i) for i in side["student_ids"]])
        ]
    if sckd_pairs is not None and len(sckd_pairs):
        out["sckd"] = _paired_costs(side, sckd_pairs, opts)
    return out


def headline(t: dict | None, sckd: bool = False) -> dict:
    """{"w2_prob", "gw", "pair_cost", "w2_embed_diag"} of a `transport` record (or its "sckd" part), NaN where
    absent. A record from before the headline costs (schema v1 with "metric": "W2") held only the embedding
    W2 under "mean": it is read as `w2_embed_diag`, never as a headline cost."""
    t = (t or {}).get("sckd") if sckd else t
    t = t or {}
    out = {}
    for key in (*HEADLINE, "w2_embed_diag"):
        v = t.get(key)
        if key == "w2_embed_diag" and v is None and "w2_prob" not in t:
            v = t.get("mean")
        out[key] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")
    return out
