"""Pairings: initial SSM retrieval (class-conditional or label-free) and DynM (random ones: engine/pairing.py).

A PairingTable is a DataFrame with one row per student train image:
student_id, teacher_id, score, rank, round, epoch, protocol, matcher_sha256.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ackd_bench.errors import DataError
from ackd_bench.retrieval import Gallery

PAIRING_COLUMNS = ["student_id", "teacher_id", "score", "rank", "round", "epoch", "protocol", "matcher_sha256"]


def pairing_table(
    student_ids: list[str],
    teacher_ids: list[str],
    indices: np.ndarray,
    scores: np.ndarray,
    *,
    round_idx: int,
    epoch: int,
    protocol: str,
    matcher_sha256: str | None,
) -> pd.DataFrame:
    """Build the PairingTable from top-1 gallery indices (one per student)."""
    indices = np.asarray(indices).reshape(-1)
    if (indices < 0).any():
        missing = sorted({student_ids[i] for i in np.flatnonzero(indices < 0)})[:3]
        raise DataError(f"no same-class teacher train sample for student(s) {', '.join(missing)}")
    teacher_ids_arr = np.asarray(teacher_ids, dtype=object)
    n = len(student_ids)
    return pd.DataFrame(
        {
            "student_id": list(student_ids),
            "teacher_id": teacher_ids_arr[indices].tolist(),
            "score": np.asarray(scores, dtype=np.float64).reshape(-1),
            "rank": np.ones(n, dtype=np.int64),
            "round": np.full(n, round_idx, dtype=np.int64),
            "epoch": np.full(n, epoch, dtype=np.int64),
            "protocol": [protocol] * n,
            "matcher_sha256": [matcher_sha256] * n,
        },
        columns=PAIRING_COLUMNS,
    )


def retrieve(
    student_emb: torch.Tensor,
    teacher_emb: torch.Tensor,
    student_labels: torch.Tensor | None,
    teacher_labels: torch.Tensor | None,
    backend: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 cosine retrieval; class-conditional when labels are given (the paper's protocol)."""
    gallery = Gallery(teacher_emb, labels=teacher_labels, backend=backend, normalize=True)
    scores, indices = gallery.search(student_emb, k=1, query_labels=student_labels)
    return scores[:, 0], indices[:, 0]


def dynm_match(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    student_labels: torch.Tensor,
    teacher_labels: torch.Tensor,
    tau: float = 3.0,
    backend: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """For each student i: argmin over same-class j of KL(softmax(o_T_j/tau) || softmax(o_S_i/tau)).

    KL(p_T || p_S) = -H(p_T) - <p_T, log p_S>, so the argmin is the argmax of the inner product of
    gallery [p_T_j, H(p_T_j)] with query [log p_S_i, 1]: one exact MIPS per class.
    Returns (indices into the teacher set, KL of the chosen pair).
    """
    log_ps = F.log_softmax(student_logits.float() / tau, dim=1)
    log_pt = F.log_softmax(teacher_logits.float() / tau, dim=1)
    pt = log_pt.exp()
    entropy = -(pt * log_pt).sum(dim=1, keepdim=True)
    gallery_vecs = torch.cat([pt, entropy], dim=1)
    queries = torch.cat([log_ps, torch.ones_like(log_ps[:, :1])], dim=1)
    # (C+1)-dimensional vectors: a blocked torch matmul + max is ~2x faster than a FAISS flat index here
    # (benchmarks/bench_dynm.py), so "auto" means torch; "faiss" can still be asked for
    backend = "torch" if backend == "auto" else backend
    gallery = Gallery(gallery_vecs, labels=teacher_labels, backend=backend, normalize=False)
    scores, indices = gallery.search(queries, k=1, query_labels=student_labels)
    return indices[:, 0], -scores[:, 0]


def dynm_match_reference(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    student_labels: torch.Tensor,
    teacher_labels: torch.Tensor,
    tau: float = 3.0,
) -> np.ndarray:
    """Per-sample loop computing every KL directly in float64 (tests only; the official algorithm)."""
    log_ps = F.log_softmax(student_logits.double() / tau, dim=1)
    log_pt = F.log_softmax(teacher_logits.double() / tau, dim=1)
    out = np.full(len(student_logits), -1, dtype=np.int64)
    for i in range(len(student_logits)):
        members = torch.nonzero(teacher_labels == student_labels[i]).flatten()
        if len(members) == 0:
            continue
        kl = (log_pt[members].exp() * (log_pt[members] - log_ps[i])).sum(dim=1)
        out[i] = int(members[int(torch.argmin(kl))])
    return out


@torch.inference_mode()
def batched_forward(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Eval-mode forward of `model` over `x` in batches (train mode restored); returns logits."""
    was_training = model.training
    model.eval()
    try:
        outs = []
        for start in range(0, len(x), batch_size):
            out = model(x[start : start + batch_size])
            outs.append(out.logits if hasattr(out, "logits") else out)
        return torch.cat(outs)
    finally:
        model.train(was_training)
