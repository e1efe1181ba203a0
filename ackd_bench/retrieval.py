"""Exact inner-product gallery search: FAISS (GPU when available) or torch matmul + topk in chunks.

`Gallery(vectors, labels=None, backend="auto", normalize=True).search(queries, k, query_labels)` returns
`(scores (Q,k) float32, indices (Q,k) int64)` with indices into the FULL gallery, best first.
- `normalize=True` (retrieval): vectors and queries are L2-normalised, so scores are cosine similarities.
- `normalize=False` (DynM's KL search): raw inner products.
- With `query_labels`, each query only sees gallery items of its own label (class-conditional search).
- Missing results (fewer than k candidates) are index -1 and score -inf, as in FAISS.
- Ties are broken deterministically: equal scores are ordered by ascending gallery index, also at the
  k-th position (a row whose (k+1)-th score equals its k-th score is re-solved exactly).

Backend "auto": FAISS when importable, except that CUDA tensors go to torch when FAISS has no GPU support
(a GPU matmul beats a CPU index); torch otherwise. Both give the same indices (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ackd_bench.errors import ConfigError

try:  # faiss-cpu or faiss-gpu; optional
    import faiss  # type: ignore
except ImportError:  # pragma: no cover - exercised only where faiss is absent
    faiss = None

BACKENDS = ("auto", "faiss", "torch")


def faiss_has_gpu() -> bool:
    """True when the FAISS build has GPU support and sees a GPU."""
    return faiss is not None and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def _as_tensor(x: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(dtype) if dtype is not None else t


def _l2n(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _resolve_backend(backend: str, device: torch.device) -> str:
    if backend not in BACKENDS:
        raise ConfigError(f"unknown retrieval backend {backend!r} (known: {', '.join(BACKENDS)})")
    if backend == "faiss" and faiss is None:
        raise ConfigError("retrieval backend 'faiss' requested but faiss is not installed")
    if backend != "auto":
        return backend
    if faiss is None or (device.type == "cuda" and not faiss_has_gpu()):
        return "torch"
    return "faiss"


class Gallery:
    """A searchable set of vectors (optionally labelled) with exact inner-product search."""

    def __init__(
        self,
        vectors: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor | None = None,
        backend: str = "auto",
        normalize: bool = True,
        chunk: int = 4096,
    ):
        v = _as_tensor(vectors, torch.float32)
        if v.ndim != 2:
            raise ValueError(f"gallery vectors must be (N, d), got {tuple(v.shape)}")
        self.device = v.device
        self.normalize = normalize
        self.vectors = _l2n(v) if normalize else v
        self.labels = None if labels is None else _as_tensor(labels).long().cpu().numpy()
        if self.labels is not None and len(self.labels) != len(v):
            raise ValueError("gallery labels and vectors differ in length")
        self.backend = _resolve_backend(backend, self.device)
        self.chunk = chunk

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def search(
        self,
        queries: np.ndarray | torch.Tensor,
        k: int = 1,
        query_labels: np.ndarray | torch.Tensor | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k gallery items per query (class-conditional when `query_labels` is given)."""
        q = _as_tensor(queries, torch.float32).to(self.device)
        if q.ndim != 2 or q.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"queries must be (Q, {self.vectors.shape[1]}), got {tuple(q.shape)}")
        if self.normalize:
            q = _l2n(q)
        scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        indices = np.full((q.shape[0], k), -1, dtype=np.int64)
        if query_labels is None:
            s, i = self._search_subset(q, np.arange(len(self)), k)
            scores[:], indices[:] = s, i
            return scores, indices
        if self.labels is None:
            raise ValueError("class-conditional search needs gallery labels")
        ql = _as_tensor(query_labels).long().cpu().numpy()
        if len(ql) != q.shape[0]:
            raise ValueError("query_labels and queries differ in length")
        for c in np.unique(ql):
            rows = np.flatnonzero(ql == c)
            members = np.flatnonzero(self.labels == c)
            if len(members) == 0:
                continue
            s, i = self._search_subset(q[torch.as_tensor(rows, device=self.device)], members, k)
            scores[rows], indices[rows] = s, i
        return scores, indices

    # -- internals ---------------------------------------------------------------------------------
    def _search_subset(self, q: torch.Tensor, members: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search `q` among gallery rows `members`; returns (Q,k) scores and FULL-gallery indices."""
        sub = self.vectors[torch.as_tensor(members, device=self.device)]
        if k == 1 and self.backend == "torch":  # top-1: max() already returns the lowest index among ties
            s, i = self._torch_top1(sub, q)
            return s, members[i]
        kk = min(k + 1, len(members))  # one extra result detects a tie at the k-th position
        if self.backend == "faiss":
            s, i = self._faiss(sub, q, kk)
        else:
            s, i = self._torch(sub, q, kk)
        s, i = _tie_break(s, i, sub, q, k)
        out_s = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        out_i = np.full((q.shape[0], k), -1, dtype=np.int64)
        n = s.shape[1]
        out_s[:, :n] = s
        out_i[:, :n] = np.where(i >= 0, members[np.clip(i, 0, None)], -1)
        return out_s, out_i

    def _faiss(self, sub: torch.Tensor, q: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
        xb = np.ascontiguousarray(sub.cpu().numpy(), dtype=np.float32)
        xq = np.ascontiguousarray(q.cpu().numpy(), dtype=np.float32)
        index = faiss.IndexFlatIP(xb.shape[1])
        if self.device.type == "cuda" and faiss_has_gpu():
            res = faiss.StandardGpuResources()
            index = faiss.index_cpu_to_gpu(res, self.device.index or 0, index)
        index.add(xb)
        s, i = index.search(xq, k)
        return s.astype(np.float32), i.astype(np.int64)

    def _torch_top1(self, sub: torch.Tensor, q: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(Q,1) best scores and subset indices; max() picks the first (lowest-index) maximum."""
        ss, ii = [], []
        sub_t = sub.T.contiguous()
        for start in range(0, q.shape[0], 1024):  # 1,024-row score blocks stay in cache
            s, i = (q[start : start + 1024] @ sub_t).max(dim=1)
            ss.append(s.cpu())
            ii.append(i.cpu())
        return torch.cat(ss).numpy().astype(np.float32)[:, None], torch.cat(ii).numpy().astype(np.int64)[:, None]

    def _torch(self, sub: torch.Tensor, q: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
        ss, ii = [], []
        for start in range(0, q.shape[0], self.chunk):
            s, i = torch.topk(q[start : start + self.chunk] @ sub.T, k, dim=1)
            ss.append(s.cpu())
            ii.append(i.cpu())
        return torch.cat(ss).numpy().astype(np.float32), torch.cat(ii).numpy().astype(np.int64)


def _tie_break(
    s: np.ndarray, i: np.ndarray, sub: torch.Tensor, q: torch.Tensor, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Order equal scores by index; rows with a tie straddling position k are solved exactly."""
    n = min(k, s.shape[1])
    if s.shape[1] > k:
        straddle = np.flatnonzero(s[:, k] == s[:, k - 1])
        for r in straddle:  # rare: exact stable ranking of the whole row
            row = (q[int(r)] @ sub.T).cpu().numpy().astype(np.float32)
            order = np.lexsort((np.arange(len(row)), -row))[: s.shape[1]]
            s[r], i[r] = row[order], order
    s, i = s[:, :n], i[:, :n]
    order = np.lexsort((i, -s), axis=1) if n > 1 else np.zeros_like(i)
    return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)
