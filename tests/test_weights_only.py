"""Checkpoints from elsewhere are loaded with weights_only=True: a pickle payload is refused and never runs.

The payload's `__reduce__` would create a marker file when unpickled. A positive control shows the payload
is live (plain `torch.load(weights_only=False)` does create the marker); every loader of the project refuses
it with a DataError naming the file, and the marker stays absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ackd_bench.errors import DataError
from ackd_bench.runtime.checkpoint import load_checkpoint


class Payload:
    """Unpickling this calls Path(marker).touch()."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _malicious(path: Path, marker: Path, legacy: bool = False) -> Path:
    state = {"epoch": 0, "state_dict": {"w": torch.zeros(2)}, "evil": Payload(marker)}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)  # legacy: the pre-1.6 pickle format
    return path


@pytest.mark.parametrize("legacy", [False, True])
def test_payload_is_live_without_weights_only(tmp_path, legacy):
    marker = tmp_path / "pwned"
    ckpt = _malicious(tmp_path / "evil.pt", marker, legacy)
    torch.load(ckpt, weights_only=False)
    assert marker.exists()  # the control: this payload does execute when allowed to


@pytest.mark.parametrize("legacy", [False, True])
def test_load_checkpoint_refuses_a_pickle_payload(tmp_path, legacy):
    marker = tmp_path / "pwned"
    ckpt = _malicious(tmp_path / "evil.pt", marker, legacy)
    with pytest.raises(DataError, match="evil.pt: cannot load checkpoint"):
        load_checkpoint(ckpt)
    assert not marker.exists()


def test_matcher_and_teacher_loaders_refuse_it(tmp_path):
    from ackd_bench.engine.teacher import TeacherRecord, load_teacher
    from ackd_bench.io import sha256_file
    from ackd_bench.methods.sembridge.matcher import load_matcher

    marker = tmp_path / "pwned"
    ckpt = _malicious(tmp_path / "matcher.pt", marker)
    with pytest.raises(DataError, match="matcher.pt"):
        load_matcher(ckpt, sha256=sha256_file(ckpt))  # even with a matching checksum
    entry = tmp_path / "teacher"
    entry.mkdir()
    _malicious(entry / "teacher.pt", marker)
    with pytest.raises(DataError, match="teacher.pt"):
        load_teacher(TeacherRecord("k", entry, {}, trained=False), torch.device("cpu"))
    assert not marker.exists()


def test_resume_refuses_a_planted_last_pt(tmp_path):
    """A run folder whose last.pt was replaced by a payload: `run --resume` stops with an error, nothing runs."""
    from ackd_bench.engine.run import StudentRun

    marker = tmp_path / "pwned"
    run = StudentRun.__new__(StudentRun)  # restore() only needs the checkpoint folder and the device
    run.ckpt_dir, run.device = tmp_path / "checkpoints", torch.device("cpu")
    run.ckpt_dir.mkdir()
    _malicious(run.ckpt_dir / "last.pt", marker)
    with pytest.raises(DataError, match="last.pt: cannot load checkpoint"):
        run.restore(resuming=True)
    assert not marker.exists()


def test_packed_and_cached_arrays_refuse_pickled_objects(tmp_path):
    """.npy files are read with allow_pickle=False: an object array (pickle inside) is refused."""
    from ackd_bench.data.packing import load_packed
    from ackd_bench.io import atomic_write_json, sha256_file

    marker = tmp_path / "pwned"
    arr = np.empty(1, dtype=object)
    arr[0] = Payload(marker)
    np.save(tmp_path / "teacher_train.npy", arr, allow_pickle=True)
    atomic_write_json(
        tmp_path / "index.json",
        {
            "arrays": {
                "teacher_train": {
                    "file": "teacher_train.npy",
                    "sample_ids": ["a"],
                    "shape": [1],
                    "dtype": "object",
                    "bands": [],
                    "sha256": sha256_file(tmp_path / "teacher_train.npy"),
                }
            }
        },
    )
    with pytest.raises(DataError, match="teacher_train.npy: unreadable packed array"):
        load_packed(tmp_path, "teacher_train")
    assert not marker.exists()
