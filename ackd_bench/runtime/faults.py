"""Crash injection for the crash-safety tests: a real SIGKILL of this process at a named point.

`ACKD_BENCH_CRASH_AT="STAGE:N"` (several comma-separated) kills the process with SIGKILL, so with no cleanup,
no `finally` and no atexit, the N-th time (1-based) it reaches STAGE. Stages:

* ``teacher_epoch``: end of a teacher training epoch (before teacher.pt exists)
* ``matcher_epoch``: end of a SemBridge matcher training epoch
* ``dynm_round``: inside a Dynamic Matching round (new pairing computed, not yet applied or saved)
* ``student_batch``: after an optimiser step of the student loop (mid-epoch)
* ``epoch_logged``: after an epoch's metrics.jsonl line is written, before its checkpoints
* ``write:<file name>``: inside `io.atomic_path`, the temp file complete and fsynced, before the rename
  (e.g. ``write:last.pt:2`` = while writing the second last.pt)

Unset (the normal case) a stage costs one environment lookup. Tests: tests/test_crash_resume.py.
"""

from __future__ import annotations

import os
import signal

ENV = "ACKD_BENCH_CRASH_AT"
_counts: dict[str, int] = {}


def _targets(spec: str) -> dict[str, int]:
    out = {}
    for item in spec.split(","):
        stage, _, n = item.strip().rpartition(":")
        if stage and n.isdigit():
            out[stage] = int(n)
    return out


def reached(stage: str) -> None:
    """Count `stage`; SIGKILL this process when the count equals the one `ACKD_BENCH_CRASH_AT` names."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target = _targets(spec).get(stage)
    if target is None:
        return
    _counts[stage] = _counts.get(stage, 0) + 1
    if _counts[stage] == target:
        os.kill(os.getpid(), signal.SIGKILL)
