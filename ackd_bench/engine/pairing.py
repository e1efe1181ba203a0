"""Pairing for unpaired training: which teacher train image each student train image is distilled from.

Protocols owned here (every method may use them):
* ``random``: a same-class teacher train image drawn uniformly, redrawn every epoch from (seed, epoch): over a
  run each student sees many partners (on average, a class-mean teacher).
* ``random-fixed``: one such draw per run (the epoch-0 draw of ``random``), kept for every epoch: each
  student keeps one partner, as in a single unpaired draw.
* ``oracle``: the benchmark's SCKD pairs: each student image with the MS tile it was rendered from, WHEREVER
  that tile is (in the default benchmark the tiles are outside the teacher pool: `Benchmark.load_sckd_teacher`
  holds them). The partner gallery is then those tiles, not teacher train; a student train image without an
  SCKD pair is a DataError. Fixed over epochs.
``ssm``/``ssm-free`` and Dynamic Matching come from a method's hooks; the Pairer applies them.

A PairingTable is a DataFrame with columns student_id, teacher_id, epoch, protocol (+ optional extras).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ackd_bench.engine.seed import derive_seed
from ackd_bench.errors import ConfigError, DataError
from ackd_bench.io import atomic_path
from ackd_bench.methods import pairing_provider
from ackd_bench.runtime import distributed

COLUMNS = ["student_id", "teacher_id", "epoch", "protocol"]
RANDOM_PROTOCOLS = ("random", "random-fixed")


def _class_members(
    teacher_labels: np.ndarray, classes: np.ndarray, class_names: list[str] | None
) -> dict[int, np.ndarray]:
    members: dict[int, np.ndarray] = {}
    for k in classes:
        idx = np.flatnonzero(teacher_labels == k)
        if len(idx) == 0:
            name = class_names[k] if class_names and k < len(class_names) else str(k)
            raise DataError(f"class {name!r} has student train images but no teacher train image to pair with")
        members[int(k)] = idx
    return members


def random_partners(
    student_labels: np.ndarray,
    teacher_labels: np.ndarray,
    seed: int,
    epoch: int,
    class_names: list[str] | None = None,
) -> np.ndarray:
    """For every student row, the row of a same-class teacher image drawn from (seed, epoch)."""
    student_labels = np.asarray(student_labels)
    teacher_labels = np.asarray(teacher_labels)
    rng = np.random.default_rng(derive_seed(seed, "pairing", epoch))
    partners = np.empty(len(student_labels), dtype=np.int64)
    members = _class_members(teacher_labels, np.unique(student_labels), class_names)
    for k, pool in members.items():
        rows = np.flatnonzero(student_labels == k)
        partners[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
    return partners


def random_pairing(
    student_ids: list[str],
    student_labels: np.ndarray,
    teacher_ids: list[str],
    teacher_labels: np.ndarray,
    seed: int,
    epoch: int,
    class_names: list[str] | None = None,
    protocol: str = "random",
) -> pd.DataFrame:
    """The `random` draw for `epoch` as a pairing table (same-class partners; `random_partners`)."""
    partners = random_partners(student_labels, teacher_labels, seed, epoch, class_names)
    return make_table(student_ids, [teacher_ids[j] for j in partners], epoch, protocol)


def oracle_pairing(sckd_pairs: pd.DataFrame | None, student_ids: list[str], epoch: int) -> pd.DataFrame:
    """Each student image with the MS tile it was rendered from (the benchmark's SCKD pairs)."""
    if sckd_pairs is None:
        raise ConfigError("--pairing oracle needs SCKD pairs, but this benchmark has no sckd_pairs.parquet")
    sckd = dict(zip(sckd_pairs["student_id"].astype(str), sckd_pairs["teacher_id"].astype(str)))
    missing = [sid for sid in student_ids if sid not in sckd]
    if missing:
        raise DataError(
            f"{len(missing)} student train image(s) have no SCKD pair (e.g. {missing[0]!r})", "sckd_pairs.parquet"
        )
    return make_table(student_ids, [sckd[sid] for sid in student_ids], epoch, "oracle")


def make_table(student_ids: list[str], teacher_ids: list[str], epoch: int, protocol: str, **extra: Any) -> pd.DataFrame:
    """A PairingTable: row i pairs student_ids[i] with teacher_ids[i]; `extra` columns are added as given."""
    table = pd.DataFrame(
        {
            "student_id": pd.Series(student_ids, dtype=str),
            "teacher_id": pd.Series(teacher_ids, dtype=str),
            "epoch": np.full(len(student_ids), epoch, dtype=np.int64),
            "protocol": pd.Series([protocol] * len(student_ids), dtype=str),
        }
    )
    for name, values in extra.items():
        table[name] = values
    return table


def partner_index(table: pd.DataFrame, student_ids: list[str], teacher_ids: list[str]) -> np.ndarray:
    """Gallery row of each student row (student order), validating the table covers every student."""
    missing_cols = [c for c in ("student_id", "teacher_id") if c not in table.columns]
    if missing_cols:
        raise ValueError(f"pairing table lacks columns {missing_cols}")
    teacher_row = {tid: j for j, tid in enumerate(teacher_ids)}
    by_student = dict(zip(table["student_id"].astype(str), table["teacher_id"].astype(str)))
    out = np.empty(len(student_ids), dtype=np.int64)
    for i, sid in enumerate(student_ids):
        tid = by_student.get(sid)
        if tid is None:
            raise ValueError(f"pairing table has no partner for student {sid!r}")
        if tid not in teacher_row:
            raise ValueError(f"pairing table partner {tid!r} of {sid!r} is not in the partner gallery")
        out[i] = teacher_row[tid]
    return out


def save_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a pairing table atomically as Parquet.

    Raises:
        ValueError: the table lacks one of the required COLUMNS (a bug in its producer).
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"pairing table lacks columns {missing}")
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)


def check_protocol(
    protocol: str,
    method_protocols: tuple[str, ...] = (),
    has_sckd_pairs: bool = True,
    method: str | None = None,
    where: str | Path | None = None,
) -> None:
    """The one check of a run's pairing protocol: a protocol owned here, or one the method's hooks provide
    (`method_protocols`); `oracle` needs the benchmark's SCKD pairs (`where`: the card, for the message)."""
    if protocol in method_protocols or protocol in RANDOM_PROTOCOLS:
        return
    if protocol == "oracle":
        if not has_sckd_pairs:
            raise ConfigError("--pairing oracle needs SCKD pairs, but this benchmark has no sckd_pairs.parquet", where)
        return
    provider = pairing_provider(protocol) or "a method that provides it"
    raise ConfigError(f"--pairing {protocol} needs {provider}" + (f" (method {method!r})" if method else ""))


class Pairer:
    """Gives the partner index for each epoch and saves the tables under RUN_DIR/pairings/.

    Partners are rows of a gallery (teacher train, or the SCKD tiles for `oracle`). Baseline protocols give
    a table per epoch, saved as epoch_NNN.parquet when it differs from the previous epoch's. A method-provided
    table (round 0 from `initial_pairing`, rounds 1.. from `rematch`) replaces the protocol from then
    on and is saved as round_NNN.parquet.
    """

    def __init__(
        self,
        protocol: str,
        student_ids: list[str],
        student_labels: np.ndarray,
        gallery_ids: list[str],
        gallery_labels: np.ndarray,
        seed: int,
        out_dir: Path,
        sckd_pairs: pd.DataFrame | None = None,
        class_names: list[str] | None = None,
        method_protocols: tuple[str, ...] = (),
    ):
        check_protocol(protocol, method_protocols, sckd_pairs is not None)
        self.protocol = protocol
        self.student_ids = student_ids
        self.student_labels = np.asarray(student_labels)
        self.gallery_ids = gallery_ids
        self.gallery_labels = np.asarray(gallery_labels)
        self.seed = seed
        self.out_dir = Path(out_dir)
        self.sckd_pairs = sckd_pairs
        self.class_names = class_names
        self.method_table: pd.DataFrame | None = None  # the current method-provided pairing
        self.round = -1  # index of the current method round (-1: none yet)
        self._last_saved: np.ndarray | None = None

    def set_method_table(self, table: pd.DataFrame, round_idx: int, save: bool = True) -> None:
        """Use a method-provided table from now on (round `round_idx`); saves round_NNN.parquet unless `save` is
        False (a resumed run whose round 0 is already on disk).

        Raises:
            ValueError: the table misses a student or names a partner outside the gallery.
        """
        table = table.reset_index(drop=True)
        partner_index(table, self.student_ids, self.gallery_ids)  # validate now
        if "round" not in table.columns:
            table["round"] = round_idx
        self.method_table = table
        self.round = round_idx
        if save and distributed.is_main():  # under torchrun only rank 0 writes the run folder
            save_table(table, self.out_dir / f"round_{round_idx:03d}.parquet")

    def table_for_epoch(self, epoch: int) -> pd.DataFrame:
        """The pairing in force at `epoch`: the method's current table, else the protocol's table for it."""
        if self.method_table is not None:
            return self.method_table
        if self.protocol in RANDOM_PROTOCOLS:
            draw = epoch if self.protocol == "random" else 0  # random-fixed: the one epoch-0 draw, every epoch
            return random_pairing(
                self.student_ids,
                self.student_labels,
                self.gallery_ids,
                self.gallery_labels,
                self.seed,
                draw,
                self.class_names,
                protocol=self.protocol,
            )
        if self.protocol == "oracle":
            return oracle_pairing(self.sckd_pairs, self.student_ids, epoch)
        raise RuntimeError(f"pairing {self.protocol}: the method's hooks gave no pairing table")

    def partners_for_epoch(self, epoch: int) -> np.ndarray:
        """Partner rows for `epoch`; saves epoch_NNN.parquet for a protocol table that changed."""
        table = self.table_for_epoch(epoch)
        partners = partner_index(table, self.student_ids, self.gallery_ids)
        if self.method_table is None and (self._last_saved is None or not np.array_equal(partners, self._last_saved)):
            if distributed.is_main():
                save_table(table, self.out_dir / f"epoch_{epoch:03d}.parquet")
            self._last_saved = partners
        return partners

    def state(self) -> dict:
        """What a checkpoint needs to restore the method-provided pairing."""
        if self.method_table is None:
            return {"round": self.round}
        return {
            "round": self.round,
            "student_ids": self.method_table["student_id"].astype(str).tolist(),
            "teacher_ids": self.method_table["teacher_id"].astype(str).tolist(),
        }

    def load_state(self, state: dict, epoch: int) -> None:
        """Resume at `epoch`: restore the method-provided pairing, or the last protocol table (not re-saved)."""
        if "student_ids" in state:
            table = make_table(state["student_ids"], state["teacher_ids"], epoch, self.protocol)
            self.set_method_table(table, state["round"], save=False)
        elif epoch > 0:
            self._last_saved = partner_index(self.table_for_epoch(epoch - 1), self.student_ids, self.gallery_ids)
