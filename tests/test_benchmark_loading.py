"""Benchmark API: packed and decoded-file loading agree; normalisers; band selection."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.build import build_dataset
from ackd_bench.data.presets import spec_from_options


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Benchmark:
    out = tmp_path_factory.mktemp("l") / "bench"
    build_dataset(spec_from_options(preset="synthetic-small-paired"), out, quiet=True)
    return Benchmark.open(out)


@pytest.mark.parametrize("pool", ["teacher", "student"])
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_packed_equals_decoded_files(bench, pool, split):
    a = bench.load_arrays(pool, split)
    b = bench.load_arrays(pool, split, packed=False)
    assert a.sample_ids == b.sample_ids and np.array_equal(a.labels, b.labels)
    assert a.x.dtype == b.x.dtype and np.array_equal(np.asarray(a.x), b.x)
    assert a.x.dtype == (np.uint16 if pool == "teacher" else np.uint8)


def test_without_packed_folder_same_results(bench, tmp_path):
    dst = tmp_path / "nopack"
    shutil.copytree(bench.root, dst)
    shutil.rmtree(dst / "packed")
    other = Benchmark.open(dst)
    assert np.array_equal(np.asarray(bench.load_arrays("teacher", "val").x), other.load_arrays("teacher", "val").x)


def test_band_selection_by_name(bench):
    full = bench.load_arrays("teacher", "train")
    sel = bench.load_arrays("teacher", "train", bands=["B08", "B04"])
    assert sel.bands == ["B08", "B04"]
    assert np.array_equal(np.asarray(sel.x[:, 1]), np.asarray(full.x[:, full.bands.index("B04")]))


def test_teacher_norm_mean_std_uses_train_stats(bench):
    arr = bench.load_arrays("teacher", "train", bands=bench.teacher_bands)
    x = torch.from_numpy(np.asarray(arr.x).astype(np.int32))
    z = bench.teacher_norm(bench.teacher_bands)(x)
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(len(bench.teacher_bands)), atol=1e-3)
    assert torch.allclose(z.std(dim=(0, 2, 3), unbiased=False), torch.ones(len(bench.teacher_bands)), atol=1e-3)


def test_teacher_norm_per_image_max(bench):
    x = torch.tensor([[[[0, 100], [200, 400]]]], dtype=torch.int32)  # (1,1,2,2), max 400
    z = bench.teacher_norm(["B02"], mode="per_image_max")(x)
    expected = (torch.floor(torch.tensor([0, 63.75, 127.5, 255.0])) / 255.0 - 0.5) / 0.5
    assert torch.allclose(z.flatten(), expected)


def test_student_norm(bench):
    arr = bench.load_arrays("student", "train")
    z = bench.student_norm()(torch.from_numpy(np.array(arr.x)))
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)


def test_card_fields(bench):
    assert bench.num_classes == 4 and bench.size == 32 and bench.paired
    assert set(bench.manifests_sha256) == {"teacher.parquet", "student.parquet", "sckd_pairs.parquet"}
    assert bench.stats["teacher"]["bands"] == bench.available_bands
