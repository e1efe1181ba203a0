"""Torch datasets over a Benchmark: arrays are loaded once (packed memmap), normalised per item."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ackd_bench.data.benchmark import Benchmark


class _ArrayDataset(Dataset):
    def __init__(self, arrays, norm):
        self.arrays = arrays
        self.norm = norm
        self.labels = torch.from_numpy(np.array(arrays.labels, dtype=np.int64))
        self.sample_ids = list(arrays.sample_ids)

    def __len__(self) -> int:
        return len(self.sample_ids)

    def raw(self, index: int) -> torch.Tensor:
        x = self.arrays.x[index]
        # copy out of the (read-only) memmap; torch has limited uint16 support: widen losslessly
        x = x.astype(np.int32) if x.dtype == np.uint16 else np.array(x)
        return torch.from_numpy(x)

    def __getitem__(self, index: int) -> dict:
        return {
            "image": self.norm(self.raw(index)),
            "label": self.labels[index],
            "index": index,
            "sample_id": self.sample_ids[index],
        }


class TeacherDataset(_ArrayDataset):
    """Teacher MS images over `bands` (default: the card's teacher_bands), normalised by `norm`."""

    def __init__(self, bench: Benchmark, split: str, bands=None, norm: str = "mean_std"):
        self.bands = list(bands) if bands is not None and not isinstance(bands, str) else bands
        sel = bands if bands is not None else bench.teacher_bands
        arrays = bench.load_arrays("teacher", split, bands=sel)
        super().__init__(arrays, bench.teacher_norm(arrays.bands, mode=norm))
        self.bands = arrays.bands


class StudentDataset(_ArrayDataset):
    """Student RGB images (uint8 on disk) normalised with the student-train statistics."""

    def __init__(self, bench: Benchmark, split: str):
        super().__init__(bench.load_arrays("student", split), bench.student_norm())


class PairedDataset(Dataset):
    """Student item i with teacher item `teacher_index[i]` (a pairing computed elsewhere)."""

    def __init__(self, student_ds: StudentDataset, teacher_ds: TeacherDataset, teacher_index):
        self.student_ds, self.teacher_ds = student_ds, teacher_ds
        self.teacher_index = [int(i) for i in teacher_index]
        if len(self.teacher_index) != len(student_ds):
            raise ValueError(f"teacher_index has {len(self.teacher_index)} entries for {len(student_ds)} students")

    def __len__(self) -> int:
        return len(self.student_ds)

    def __getitem__(self, index: int) -> dict:
        s = self.student_ds[index]
        t = self.teacher_ds[self.teacher_index[index]]
        return {
            "student": s["image"],
            "teacher": t["image"],
            "label": s["label"],
            "teacher_label": t["label"],
            "index": index,
            "teacher_index": self.teacher_index[index],
            "sample_id": s["sample_id"],
            "teacher_id": t["sample_id"],
        }
