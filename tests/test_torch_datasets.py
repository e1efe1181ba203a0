"""Torch datasets over a built benchmark."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.build import build_dataset
from ackd_bench.data.presets import spec_from_options
from ackd_bench.data.torch_datasets import PairedDataset, StudentDataset, TeacherDataset


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Benchmark:
    out = tmp_path_factory.mktemp("t") / "bench"
    build_dataset(spec_from_options(preset="synthetic-small"), out, quiet=True)
    return Benchmark.open(out)


def test_teacher_dataset_items(bench):
    ds = TeacherDataset(bench, "train")
    item = ds[3]
    assert item["image"].shape == (len(bench.teacher_bands), 32, 32) and item["image"].dtype == torch.float32
    assert item["sample_id"] == ds.sample_ids[3] and int(item["label"]) == int(ds.labels[3])
    assert ds.bands == bench.teacher_bands
    assert TeacherDataset(bench, "val", bands="all13")[0]["image"].shape[0] == 13


def test_student_dataset_and_loader(bench):
    ds = StudentDataset(bench, "train")
    batch = next(iter(DataLoader(ds, batch_size=8)))
    assert batch["image"].shape == (8, 3, 32, 32)
    raw = np.asarray(bench.load_arrays("student", "train").x[0], dtype=np.float32) / 255.0
    st = bench.stats["student"]
    expected = (raw - np.array(st["mean"])[:, None, None]) / np.array(st["std"])[:, None, None]
    assert np.allclose(ds[0]["image"].numpy(), expected, atol=1e-5)


def test_paired_dataset(bench):
    s, t = StudentDataset(bench, "train"), TeacherDataset(bench, "train")
    index = [int(np.flatnonzero(t.labels.numpy() == int(lab))[0]) for lab in s.labels]
    p = PairedDataset(s, t, index)
    item = p[5]
    assert item["label"] == item["teacher_label"] and item["teacher"].shape[0] == len(bench.teacher_bands)
    with pytest.raises(ValueError):
        PairedDataset(s, t, index[:-1])
