"""Gallery search: faiss and torch agree, class-conditional search stays in class, ties are deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ackd_bench.retrieval import Gallery


def _brute(gallery, queries, k, g_labels=None, q_labels=None, normalize=True):
    g, q = np.asarray(gallery, np.float64), np.asarray(queries, np.float64)
    if normalize:
        g = g / np.linalg.norm(g, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = q @ g.T
    if q_labels is not None:
        s = np.where(q_labels[:, None] == g_labels[None, :], s, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(g)), s.shape), -s), axis=1)[:, :k]
    return np.take_along_axis(s, order, 1), order


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(300, 16)).astype(np.float32)
    q = rng.normal(size=(70, 16)).astype(np.float32)
    return g, q, rng.integers(0, 4, 300), rng.integers(0, 4, 70)


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_label_free_matches_brute_force(data, backend):
    g, q, _, _ = data
    scores, idx = Gallery(g, backend=backend).search(q, k=5)
    ref_s, ref_i = _brute(g, q, 5)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(scores, ref_s, atol=1e-5)


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_class_conditional_matches_brute_force_and_stays_in_class(data, backend):
    g, q, gl, ql = data
    gallery = Gallery(torch.from_numpy(g), labels=torch.from_numpy(gl), backend=backend)
    scores, idx = gallery.search(torch.from_numpy(q), k=3, query_labels=torch.from_numpy(ql))
    ref_s, ref_i = _brute(g, q, 3, gl, ql)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(scores, ref_s, atol=1e-5)
    assert (gl[idx] == ql[:, None]).all()


def test_faiss_and_torch_agree(data):
    g, q, gl, ql = data
    a = Gallery(g, labels=gl, backend="faiss").search(q, k=4, query_labels=ql)
    b = Gallery(g, labels=gl, backend="torch").search(q, k=4, query_labels=ql)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_ties_broken_by_lowest_index_even_at_kth_position(backend):
    base = np.eye(4, dtype=np.float32)
    g = np.concatenate([base[[1, 0, 0, 2, 0, 0]], base])  # rows 1, 2, 4, 5, 7 equal e0
    q = np.array([[1, 0, 0, 0]], np.float32)
    scores, idx = Gallery(g, backend=backend).search(q, k=3)
    assert idx.tolist() == [[1, 2, 4]]
    np.testing.assert_allclose(scores, [[1, 1, 1]])
    # top-1 (DynM's case; the torch backend takes a max() shortcut): the lowest index among ties, in class too
    assert Gallery(g, backend=backend).search(q, k=1)[1].tolist() == [[1]]
    labels = np.array([0, 0, 1, 0, 1, 0, 0, 1, 0, 0])
    assert Gallery(g, labels, backend=backend).search(q, k=1, query_labels=[1])[1].tolist() == [[2]]


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_top1_matches_brute_force(data, backend):
    g, q, gl, ql = data
    for labels in ((None, None), (gl, ql)):
        scores, idx = Gallery(g, labels=labels[0], backend=backend).search(q, k=1, query_labels=labels[1])
        ref_s, ref_i = _brute(g, q, 1, *labels)
        np.testing.assert_array_equal(idx, ref_i)
        np.testing.assert_allclose(scores, ref_s, atol=1e-5)


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_unnormalised_inner_product_and_padding(backend):
    g = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]], np.float32)
    gl = np.array([0, 0, 1])
    q = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    scores, idx = Gallery(g, labels=gl, backend=backend, normalize=False).search(q, k=3, query_labels=[0, 1])
    assert idx.tolist() == [[1, 0, -1], [2, -1, -1]]
    np.testing.assert_allclose(scores[0, :2], [3.0, 1.0])
    assert scores[1, 0] == 5.0 and np.isneginf(scores[1, 1:]).all()


def test_auto_backend_prefers_faiss_on_cpu_and_bad_backend_is_config_error(data):
    from ackd_bench.errors import ConfigError

    g, *_ = data
    assert Gallery(g).backend == "faiss"
    with pytest.raises(ConfigError):
        Gallery(g, backend="annoy")
