"""Dynamic Matching schedule: e_t = e0 + sum_{i=1..t} (de + em (i-1)), scaled to short runs."""

from __future__ import annotations

from ackd_bench.errors import ConfigError
from ackd_bench.methods.base import REFERENCE_EPOCHS

PAPER_EPOCHS = REFERENCE_EPOCHS  # the same run-length rule as the DKD/CTKD warm-ups (methods/base.py)

# (e0, de, em, rounds): reproduces the official `adjust_epoch` lists exactly (spec §3.2 b).
PAPER_SCHEDULES: dict[str, tuple[int, int, int, int]] = {
    "S2S_EU": (30, 30, 5, 4),  # [30, 60, 95, 135]
    "S2S_CN": (45, 15, 5, 5),  # [45, 60, 80, 105, 135]
    "M2S_GL": (15, 30, 5, 5),  # [15, 45, 80, 120, 165]
}
DEFAULT_SCHEDULE = "S2S_EU"


def curriculum_epochs(e0: int, de: int, em: int, rounds: int) -> list[int]:
    """The first `rounds` epochs of e_t = e0 + sum_{i=1..t} (de + em (i-1)), t = 0, 1, ..."""
    out, e = [], e0
    for t in range(rounds):
        if t > 0:
            e += de + em * (t - 1)
        out.append(e)
    return out


def scale_epochs(epochs: list[int], num_epochs: int, reference: int = PAPER_EPOCHS) -> list[int]:
    """Scale a paper schedule to a run of `num_epochs` (only when shorter than `reference`).

    e -> floor(e * num_epochs / reference + 1/2); epochs < 1 or >= num_epochs are dropped, duplicates removed.
    """
    factor = min(1.0, num_epochs / reference)
    scaled = {int(e * factor + 0.5) for e in epochs}  # round half up
    return sorted(e for e in scaled if 1 <= e < num_epochs)


def dynm_epochs(num_epochs: int, schedule: str | dict | list | None = None) -> list[int]:
    """Re-matching epochs (0-based epoch starts) for a run of `num_epochs` epochs.

    `schedule`: a paper dataset name ("S2S_EU", "S2S_CN", "M2S_GL"), a dict {e0, de, em, rounds}
    (both scaled to the run length), or an explicit list of epochs (used as given; entries >= num_epochs
    are dropped).
    """
    if schedule is None:
        schedule = DEFAULT_SCHEDULE
    if isinstance(schedule, (list, tuple)):
        if not all(isinstance(e, int) and e >= 0 for e in schedule):
            raise ConfigError(f"dynm_epochs must be non-negative integers, got {list(schedule)}")
        return sorted({e for e in schedule if e < num_epochs})
    if isinstance(schedule, str):
        if schedule not in PAPER_SCHEDULES:
            raise ConfigError(f"unknown DynM schedule {schedule!r} (known: {', '.join(PAPER_SCHEDULES)})")
        e0, de, em, rounds = PAPER_SCHEDULES[schedule]
    elif isinstance(schedule, dict):
        try:
            e0, de, em, rounds = (int(schedule[k]) for k in ("e0", "de", "em", "rounds"))
        except KeyError as exc:
            raise ConfigError(f"DynM schedule dict needs e0, de, em, rounds (missing {exc})") from None
    else:
        raise ConfigError(f"bad DynM schedule {schedule!r}")
    return scale_epochs(curriculum_epochs(e0, de, em, rounds), num_epochs)
