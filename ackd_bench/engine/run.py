"""`ackd-bench run`: teacher (cached) -> teacher outputs (cached) -> pairing -> student loop -> run folder.

RUN_DIR layout and result.json keys follow docs/ARCHITECTURE.md §5. Epochs are 0-based everywhere
(metrics.jsonl "epoch", best_val_epoch, pairings/epoch_NNN, rematch epochs).
"""

from __future__ import annotations

import copy
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml
from tqdm import tqdm

from ackd_bench import __version__
from ackd_bench.config import budget_record, derive_epochs, dump_yaml, recipe, teacher_seed
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.engine.augment import epoch_augment
from ackd_bench.engine.cache import cache_root
from ackd_bench.engine.loops import forward_all, make_optimizer, make_scheduler
from ackd_bench.engine.metrics import MetricsLog, macro_f1, overall_accuracy, per_class_accuracy
from ackd_bench.engine.pairing import Pairer, check_protocol
from ackd_bench.engine.pools import load_pool
from ackd_bench.engine.seed import (
    determinism_plan,
    generator,
    record_nondeterminism,
    rng_state,
    seed_everything,
    set_deterministic,
    set_rng_state,
)
from ackd_bench.engine.teacher import TeacherRecord, get_teacher, load_teacher, teacher_summary, train_count
from ackd_bench.engine.teacher_outputs import CachedTeacher, LiveTeacher, teacher_outputs
from ackd_bench.engine.timer import timed
from ackd_bench.engine.trainer import predict_logits, train_epoch
from ackd_bench.errors import ConfigError
from ackd_bench.fidelity import fidelity_record
from ackd_bench.io import atomic_path, atomic_write_json, atomic_write_text, read_json, remove_temp_leftovers
from ackd_bench.methods import Distiller, TeacherOutput, build_method, method_type
from ackd_bench.methods.context import PoolTensors, RunContext
from ackd_bench.models import build_model, resolve_pair
from ackd_bench.result_record import BenchmarkRef, Metrics, ResultRecord, Training
from ackd_bench.result_schema import schema_violations
from ackd_bench.runtime import distributed
from ackd_bench.runtime.checkpoint import load_checkpoint, save_checkpoint
from ackd_bench.runtime.device import prepare_model, resolve_device
from ackd_bench.transport_costs import costs_from_embeddings

# Keys that may differ between the saved config.yaml and a `--resume` invocation.
RESUMABLE_CHANGES = ("epochs", "device", "checkpoint_every_s")
# The engine's phases, recorded in every result.json as timings.<phase>_s (0 when a phase did not run); a
# method's hooks time theirs with ctx.add_time, and the record has them as well when they ran.
ENGINE_PHASES = ("teacher", "teacher_cache", "rematch", "distill")
# Keys of the timings dict that are not phases of result.json (transport: the optional cost computation).
_NOT_PHASES = ("transport", "train_images", "train_seconds")
# Accumulated over every invocation of a resumed run (stored in last.pt).
_CARRIED_TIMINGS = ("distill", "rematch", "transport", "train_images", "train_seconds")


def finalize_config(cfg: dict, bench: Benchmark) -> dict:
    """A new config with what depends on the benchmark and the method filled in: archs from the pair, bands,
    epochs, then the method's own run-time options and pairing default (its class's `finalize_config`), and the
    pairing checked. Everything fails here, before a teacher is trained or anything is written."""
    if not cfg.get("method"):
        raise ConfigError("--method is required")
    method_cls = method_type(cfg["method"])  # an unknown method fails here
    cfg = copy.deepcopy(cfg)
    if not cfg.get("pair"):
        raise ConfigError("--arch is required (a pair like R-R or teacher:student)")
    teacher_arch, student_arch = resolve_pair(cfg["pair"])
    cfg["teacher"]["arch"] = teacher_arch
    cfg["student_arch"] = student_arch
    cfg["bands"] = list(bench.run_bands(cfg.get("bands")))
    cfg["train_fraction"] = bench.check_train_fraction(cfg.get("train_fraction"))  # refuse one not built
    # budgets -> epochs on this benchmark's train pools (config.derive_epochs); config.yaml holds the result
    cfg["epochs"] = derive_epochs(cfg, train_count(bench, "student", cfg["train_fraction"]))
    cfg = method_cls.finalize_config(cfg)
    check_protocol(
        cfg["pairing"],
        method_cls.pairing_protocols,
        bench.sckd_pairs is not None,
        cfg["method"],
        Path(cfg["benchmark"] or bench.root) / "benchmark.json",
    )
    return cfg


def _prepare_run_dir(out: Path, cfg: dict, resume: bool) -> bool:
    """Create or check RUN_DIR; returns True when an existing run is being resumed."""
    cfg_path = out / "config.yaml"
    if cfg_path.is_file():
        if not resume:
            raise ConfigError("already holds a run; pass --resume to continue it or choose another --out", out)
        saved = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        changed = sorted(k for k in set(saved) | set(cfg) if k not in RESUMABLE_CHANGES and saved.get(k) != cfg.get(k))
        if changed:
            raise ConfigError(f"--resume with a different config ({', '.join(changed)}); use another --out", cfg_path)
        if distributed.is_main():  # (torchrun: one rank cleans; the others only check)
            remove_temp_leftovers(out)  # temp files of writes a crash interrupted (io.atomic_path)
        return True
    if out.exists() and any(out.iterdir()):
        raise ConfigError("exists and is not an ackd-bench run folder (no config.yaml); choose another --out", out)
    return False


def run_experiment(
    cfg: dict,
    out: str | Path,
    resume: bool = False,
    quiet: bool = False,
    on_epoch_end: Callable[[int], None] | None = None,
) -> dict:
    """Train (or resume) one student run into RUN_DIR `out`; returns the result.json record.

    `on_epoch_end(epoch)` is called after each epoch and its checkpoint, when one is due (tests interrupt there).
    """
    wall_start = time.perf_counter()
    out = Path(out)
    bench = Benchmark.open(cfg["benchmark"])
    # before finalize_config fills in `epochs`; a train fraction's budget counts the fraction's images
    budget = budget_record(cfg, train_count(bench, "student", bench.check_train_fraction(cfg.get("train_fraction"))))
    cfg = finalize_config(cfg, bench)
    resuming = _prepare_run_dir(out, cfg, resume)
    if resuming and (out / "result.json").is_file():
        done = read_json(out / "result.json")
        if done.get("epochs") == cfg["epochs"]:
            _say(quiet, f"{out}: already complete")
            return done
    distributed.barrier()  # every rank has checked RUN_DIR before rank 0 writes into it
    if distributed.is_main():  # under torchrun only rank 0 writes the run folder
        atomic_write_text(out / "config.yaml", dump_yaml(cfg))
    run = StudentRun(cfg, bench, out, quiet, budget)
    with record_nondeterminism(determinism_plan(run.device.type, cfg["deterministic"])) as determinism:
        run.setup()
        run.restore(resuming)
        run.train(on_epoch_end)
        record = run.finish()
    record.determinism = determinism
    record.timings["total_s"] = time.perf_counter() - wall_start
    result = record.to_dict()
    check_record(result)
    if distributed.is_main():
        atomic_write_json(out / "result.json", result)
    return result


class StudentRun:
    """The state of one run: teacher side, student pools, method, optimiser, pairing, best-val bookkeeping."""

    def __init__(self, cfg: dict, bench: Benchmark, out: Path, quiet: bool, budget: dict | None = None):
        self.cfg, self.bench, self.out, self.quiet = cfg, bench, out, quiet
        # how `epochs` was chosen (config.budget_record before finalize_config); default: as given
        self.budget = budget or budget_record(cfg, train_count(bench, "student", cfg.get("train_fraction")))
        self.device = resolve_device(cfg["device"])
        self.timings: dict[str, float] = {}
        self.start_epoch = 0
        self.best = {"val_oa": -1.0, "epoch": -1}
        self.transport_cost: dict | None = None
        self._sckd: dict | None = None  # SCKD pairs + paired-tile embeddings for transport costs (lazy)
        self._best_state: dict | None = None  # a better best.pt not yet written (see _write_checkpoints)
        self._last_checkpoint = time.perf_counter()
        self.log = MetricsLog(out / "metrics.jsonl")
        self.ckpt_dir = out / "checkpoints"
        # set by setup(): the teacher side, the student pools, the method and its optimiser, the pairing
        self.record: TeacherRecord
        self.teacher_model: torch.nn.Module
        self.student: dict[str, PoolTensors]  # train, val, test
        self.teacher_train: PoolTensors
        self.teacher_out: TeacherOutput  # teacher outputs of every teacher train sample
        self.gallery: PoolTensors  # the partners' pool: teacher train, or the SCKD tiles for `oracle`
        self.gallery_out: TeacherOutput
        self.method: Distiller
        self.ctx: RunContext
        self.uses_teacher: bool
        self.teacher_fn: CachedTeacher | LiveTeacher
        self.optimizer: torch.optim.Optimizer
        self.scheduler: torch.optim.lr_scheduler.LRScheduler
        self.train_step: torch.nn.Module  # the method, or its DDP wrapper under torchrun
        self.pairer: Pairer
        # set by restore(): the epochs at which the method re-pairs
        self.rematch_epochs: list[int] = []

    def setup(self) -> None:
        """Teacher (cached), teacher outputs (cached), student pools, method, optimiser, pairing gallery."""
        cfg, bench, device, timings = self.cfg, self.bench, self.device, self.timings
        set_deterministic(cfg["deterministic"], device)
        with timed(timings, "teacher"), distributed.main_first():  # torchrun: rank 0 fills the cache
            self.record = get_teacher(bench, cfg, device, quiet=self.quiet)
            self.teacher_model = load_teacher(self.record, device)
        _say(
            self.quiet,
            f"teacher {cfg['teacher']['arch']} ({'trained' if self.record.trained else 'cached'}, "
            f"{teacher_summary(self.record.info)}): {self.record.dir}",
        )
        self.student = {
            s: load_pool(bench, "student", s, device, train_fraction=cfg.get("train_fraction"))
            for s in ("train", "val", "test")
        }
        self.teacher_train = load_pool(bench, "teacher", "train", device, cfg["bands"], cfg["ms_norm"])
        with timed(timings, "teacher_cache"), distributed.main_first():
            self.teacher_out = self._outputs("train", self.teacher_train)
            # partner gallery: teacher train, or for `oracle` the SCKD tiles of the student train images
            self.gallery, self.gallery_out = self.teacher_train, self.teacher_out
            if cfg["pairing"] == "oracle":
                self.gallery = load_pool(bench, "sckd_teacher", "train", device, cfg["bands"], cfg["ms_norm"])
                self.gallery_out = self._outputs("sckd_train", self.gallery)

        seed_everything(cfg["seed"])
        student_model = build_model(cfg["student_arch"], in_channels=3, num_classes=bench.num_classes)
        method = build_method(
            cfg["method"],
            student_model,
            bench.num_classes,
            cfg,
            teacher_token_dim=self.teacher_model.token_dim,
            student_token_dim=student_model.token_dim,
        )
        self.method = prepare_model(method, device)
        self.ctx = RunContext(
            bench=bench,
            cfg=cfg,
            device=device,
            run_dir=self.out,
            cache_dir=cache_root(),
            seed=cfg["seed"],
            student_train=self.student["train"],
            teacher_train=self.teacher_train,
            teacher_outputs=self.teacher_out,
            method=self.method,
            bands=tuple(cfg["bands"]),
            timings=timings,
        )
        self.uses_teacher = bool(getattr(self.method, "uses_teacher", True))
        if cfg["teacher_mode"] == "live":
            self.teacher_fn = LiveTeacher(self.teacher_model, self.gallery, device)
        else:
            self.teacher_fn = CachedTeacher(self.gallery_out)
        self.optimizer = make_optimizer(self.method.learnable_parameters(), cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg["cosine"], cfg["epochs"])
        self.train_step = distributed.wrap_method(self.method, device)  # DDP under torchrun, else the method
        # every method records its partners (the `student` baseline too, for transport costs); only
        # distilling methods see them
        self.pairer = Pairer(
            cfg["pairing"],
            self.student["train"].sample_ids,
            _np(self.student["train"].labels),
            self.gallery.sample_ids,
            _np(self.gallery.labels),
            cfg["seed"],
            self.out / "pairings",
            sckd_pairs=bench.sckd_pairs,
            class_names=bench.classes,
            method_protocols=type(self.method).pairing_protocols,
        )

    def _outputs(self, split: str, pool: PoolTensors):
        return teacher_outputs(
            self.teacher_model,
            self.record.info["checkpoint_sha256"],
            self.bench,
            self.cfg["bands"],
            self.cfg["ms_norm"],
            split,
            pool,
            self.cfg["eval_batch_size"],
            self.device,
            quiet=self.quiet,
        ).outputs

    def restore(self, resuming: bool) -> None:
        """Load last.pt when resuming; run the method's initial pairing; restore RNG states last."""
        ck = None
        if resuming and (self.ckpt_dir / "last.pt").is_file():
            ck = load_checkpoint(self.ckpt_dir / "last.pt", map_location=self.device)
            self.method.load_state_dict(ck["method"])
            self.optimizer.load_state_dict(ck["optimizer"])
            self.scheduler.load_state_dict(ck["scheduler"])
            self.start_epoch, self.best, self.transport_cost = ck["epoch"] + 1, ck["best"], ck.get("transport")
            for key in _CARRIED_TIMINGS:
                self.timings[key] = self.timings.get(key, 0.0) + ck["timings"].get(key, 0.0)
            _say(self.quiet, f"resuming {self.out} at epoch {self.start_epoch}")
        self.log.truncate(self.start_epoch)
        rng_before = rng_state()  # whatever the initial pairing trains or loads must leave the same RNG state behind
        table = self.method.initial_pairing(self.ctx)
        if table is not None:
            self.pairer.set_method_table(table, 0, save=self.start_epoch == 0)
        self.rematch_epochs = sorted(set(self.method.rematch_epochs(self.cfg["epochs"])))
        if ck is not None:
            self.pairer.load_state(ck["pairing"], self.start_epoch)
        set_rng_state(ck["rng"] if ck is not None else rng_before)

    def train(self, on_epoch_end: Callable[[int], None] | None = None) -> None:
        epochs = self.cfg["epochs"]
        bar = tqdm(
            range(self.start_epoch, epochs),
            initial=self.start_epoch,
            total=epochs,
            disable=self.quiet or not distributed.is_main(),
            file=sys.stderr,
            desc=f"{self.cfg['method']} {self.cfg['pair']}",
            unit="epoch",
        )
        for epoch in bar:
            row = self.epoch(epoch)
            bar.set_postfix(loss=f"{row['loss']:.3f}", val=f"{row['val_acc']:.3f}")
            if on_epoch_end is not None:
                on_epoch_end(epoch)
        bar.close()

    def epoch(self, epoch: int) -> dict:
        """One epoch: (re)pairing, training, validation, metrics line, checkpoints."""
        cfg, device, timings, method = self.cfg, self.device, self.timings, self.method
        method.on_epoch_start(epoch, cfg["epochs"])
        if epoch in self.rematch_epochs:
            round_idx = self.rematch_epochs.index(epoch) + 1
            with timed(timings, "rematch"):
                self.pairer.set_method_table(method.rematch(self.ctx, epoch, round_idx), round_idx)
        partners = torch.as_tensor(self.pairer.partners_for_epoch(epoch), device=device)
        lr = self.optimizer.param_groups[0]["lr"]
        augment = epoch_augment(
            cfg["augment"], len(self.student["train"].labels), generator(cfg["seed"], "augment", epoch)
        )
        with timed(timings, "distill"):
            stats = train_epoch(
                self.train_step,
                self.optimizer,
                self.student["train"],
                partners if self.uses_teacher else None,
                self.teacher_fn,
                cfg["batch_size"],
                generator(cfg["seed"], "batches", epoch),
                device,
                augment,
            )
            val_oa = _oa(method.student, self.student["val"], cfg, device)
        self.scheduler.step()
        timings["train_images"] = timings.get("train_images", 0.0) + stats["images"]
        timings["train_seconds"] = timings.get("train_seconds", 0.0) + stats["seconds"]
        row = {
            "epoch": epoch,
            **stats["losses"],
            "train_acc": stats["train_acc"],
            "val_acc": val_oa,
            "lr": lr,
            "images_per_s": stats["images"] / max(stats["seconds"], 1e-9),
            "epoch_s": stats["seconds"],
        }
        if cfg["cost_every"] and (epoch + 1) % cfg["cost_every"] == 0:
            with timed(timings, "transport"):
                self.transport_cost = self.transport_now(epoch)
            row["transport"] = self.transport_cost
        self.log.append(row)
        if val_oa > self.best["val_oa"] or len(self.student["val"].labels) == 0:
            self.best = {"val_oa": val_oa, "epoch": epoch}
            if distributed.is_main():  # kept until the next checkpoint writes it (a snapshot if that is later)
                later = float(cfg["checkpoint_every_s"]) > 0
                weights = {k: v.detach().cpu().clone() if later else v for k, v in method.student.state_dict().items()}
                self._best_state = {
                    "student": weights,
                    "epoch": epoch,
                    "val_oa": val_oa,
                    "student_arch": cfg["student_arch"],
                }
        if not distributed.is_main() or not self._checkpoint_due(epoch):
            return row
        self._write_checkpoints(epoch)
        return row

    def _checkpoint_due(self, epoch: int) -> bool:
        """Every epoch with checkpoint_every_s 0; else the first epoch after that many seconds, and the last."""
        every = float(self.cfg["checkpoint_every_s"])
        return every <= 0 or epoch == self.cfg["epochs"] - 1 or time.perf_counter() - self._last_checkpoint >= every

    def _write_checkpoints(self, epoch: int) -> None:
        """best.pt (when a better epoch is pending), then last.pt: a resume from last.pt finds its best.pt."""
        method, timings = self.method, self.timings
        if self._best_state is not None:
            save_checkpoint(self.ckpt_dir / "best.pt", self._best_state)
            self._best_state = None
        save_checkpoint(
            self.ckpt_dir / "last.pt",
            {
                "epoch": epoch,
                "method": method.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": rng_state(),
                "pairing": self.pairer.state(),
                "best": self.best,
                "transport": self.transport_cost,
                "timings": {k: timings.get(k, 0.0) for k in _CARRIED_TIMINGS},
            },
        )
        self._last_checkpoint = time.perf_counter()

    def transport_now(self, epoch: int) -> dict:
        """Transport costs of the current student vs its partner teachers (transport_costs.py's definition)."""
        train = self.student["train"]
        s_out = distributed.gather_rows(
            lambda rows: torch.cat(
                list(
                    forward_all(
                        self.method.student,
                        train.x[rows],
                        self.cfg["eval_batch_size"],
                        self.device,
                        ("logits", "embedding"),
                    ).values()
                ),
                dim=1,
            ),
            len(train.labels),
        )
        k = self.bench.num_classes
        emb = {
            "student_ids": train.sample_ids,
            "student_labels": _np(train.labels),
            "student_logits": s_out[:, :k].numpy(),
            "student_emb": s_out[:, k:].numpy(),
            "teacher_ids": self.gallery.sample_ids,
            "teacher_emb": self.gallery_out.embedding.float().cpu().numpy(),
            "teacher_logits": self.gallery_out.logits.float().cpu().numpy(),
            "pairing": self.pairer.table_for_epoch(epoch),
            "classes": self.bench.classes,
            **self._sckd_side(),
        }
        return costs_from_embeddings(emb, seed=self.cfg["seed"])

    def _sckd_side(self) -> dict:
        """The benchmark's SCKD pairs and the teacher's embeddings of the paired train tiles (none: {})."""
        if self.bench.sckd_pairs is None:
            return {}
        if self._sckd is None:
            if self.cfg["pairing"] == "oracle":  # the gallery already is the paired tiles
                pool, out = self.gallery, self.gallery_out
            else:
                pool = load_pool(
                    self.bench, "sckd_teacher", "train", self.device, self.cfg["bands"], self.cfg["ms_norm"]
                )
                with distributed.main_first():
                    out = self._outputs("sckd_train", pool)
            self._sckd = {
                "sckd_pairs": self.bench.sckd_pairs,
                "sckd_teacher_ids": pool.sample_ids,
                "sckd_teacher_emb": out.embedding.float().cpu().numpy(),
                "sckd_teacher_logits": out.logits.float().cpu().numpy(),
            }
        return self._sckd

    def finish(self) -> ResultRecord:
        """Test the last and the best-val student, write predictions.parquet; the record (without determinism
        and total_s, which the caller adds)."""
        return self._record(self._test_metrics())

    def _test_metrics(self) -> Metrics:
        """Test OA/F1 at the last and the best-val epoch; the best-val student's predictions.parquet."""
        test, batch, device = self.student["test"], self.cfg["eval_batch_size"], self.device
        labels = test.labels.cpu().numpy()
        last_pred = predict_logits(self.method.student, test, batch, device).argmax(1).numpy()
        distributed.barrier()  # rank 0 has written best.pt
        best_ck = load_checkpoint(self.out / "checkpoints" / "best.pt", map_location=device)
        self.method.student.load_state_dict(best_ck["student"])
        best_logits = predict_logits(self.method.student, test, batch, device)
        best_pred = best_logits.argmax(1).numpy()
        if distributed.is_main():
            write_predictions(self.out / "predictions.parquet", test.sample_ids, labels, best_pred, best_logits.numpy())
        teacher = self.record.info
        return Metrics(
            test_oa_best_val=overall_accuracy(best_pred, labels),
            test_oa_last=overall_accuracy(last_pred, labels),
            test_macro_f1_best_val=macro_f1(best_pred, labels),
            test_macro_f1_last=macro_f1(last_pred, labels),
            per_class_acc=per_class_accuracy(best_pred, labels, list(self.bench.classes)),
            best_val_epoch=int(best_ck["epoch"]),
            val_oa_best=float(best_ck["val_oa"]),
            teacher_test_oa=None if teacher["test_oa"] is None else float(teacher["test_oa"]),
            # a multi-label teacher has no OA; its own metrics instead
            teacher_test_multilabel=dict(teacher["test_multilabel"]) if teacher.get("test_multilabel") else None,
        )

    def _record(self, metrics: Metrics) -> ResultRecord:
        """The run's result record around its test metrics."""
        cfg, bench = self.cfg, self.bench
        return ResultRecord(
            ackd_bench_version=__version__,
            benchmark=BenchmarkRef(name=bench.name, version=bench.version, manifests_sha256=bench.manifests_sha256),
            method=cfg["method"],
            pairing=cfg["pairing"],
            pair=cfg["pair"],
            teacher_arch=cfg["teacher"]["arch"],
            student_arch=cfg["student_arch"],
            seed=cfg["seed"],
            teacher_seed=teacher_seed(cfg),
            teacher_seed_policy="follow" if cfg["teacher"]["seed"] == "follow" else "fixed",
            band_set=list(cfg["bands"]),
            profile=cfg["profile"],
            epochs=cfg["epochs"],
            train_fraction=float(cfg.get("train_fraction") or 1.0),
            metrics=metrics,
            timings=phase_timings(self.timings),
            environment=environment(self.device),
            config=cfg,
            # the recipe and how each budget became epochs (docs/running.md "Budgets and the training recipe")
            training=Training(
                student={**recipe(cfg), **self.budget},
                teacher={**recipe(cfg["teacher"]), **(self.record.info.get("budget") or {})},
            ),
            transport=self.transport_cost,
            fidelity=fidelity_record(cfg, self.method),  # deviations from the official ACKD code (docs/fidelity.md)
            **self.method.record_extra(),
        )


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _oa(model: torch.nn.Module, pool: PoolTensors, cfg: dict, device: torch.device) -> float:
    logits = predict_logits(model, pool, cfg["eval_batch_size"], device)
    return overall_accuracy(logits.argmax(1).numpy(), pool.labels.cpu().numpy()) if len(logits) else 0.0


def phase_timings(timings: dict[str, float]) -> dict[str, float]:
    """result.json's timings: <phase>_s for the engine's phases (0 when one did not run) and for every phase a
    method's hooks timed (ctx.add_time), total_s (set at the end) and the training throughput."""
    method_phases = [k for k in timings if k not in ENGINE_PHASES and k not in _NOT_PHASES]
    return {
        **{f"{phase}_s": timings.get(phase, 0.0) for phase in (*ENGINE_PHASES, *method_phases)},
        "total_s": 0.0,
        "train_images_per_s": timings.get("train_images", 0.0) / max(timings.get("train_seconds", 0.0), 1e-9),
    }


def check_record(result: dict) -> None:
    """The record must satisfy the result schema (generated from result_record.ResultRecord, which `submit` and
    the leaderboard check too): a violation here is a bug in the engine, never written as result.json."""
    violations = schema_violations(result)
    if violations:
        raise RuntimeError(f"the run's result record breaks the result schema: {'; '.join(violations[:5])}")


def write_predictions(
    path: Path, sample_ids: list[str], labels: np.ndarray, pred: np.ndarray, logits: np.ndarray
) -> None:
    """predictions.parquet: sample_id, label, prediction, logits (list<float32>)."""
    logits = np.asarray(logits, dtype=np.float32)
    k = logits.shape[1] if logits.ndim == 2 else 0
    offsets = pa.array(np.arange(len(sample_ids) + 1, dtype=np.int32) * k)
    table = pa.table(
        {
            "sample_id": pa.array(sample_ids, type=pa.string()),
            "label": pa.array(np.asarray(labels, dtype=np.int64)),
            "prediction": pa.array(np.asarray(pred, dtype=np.int64)),
            "logits": pa.ListArray.from_arrays(offsets, pa.array(logits.reshape(-1), type=pa.float32())),
        }
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def environment(device: torch.device) -> dict:
    """result.json's environment: versions, platform, the device (with the GPU's name) and the git commit."""
    name = str(device.type)
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": name,
        "git_sha": git_sha(),
    }


def git_sha() -> str | None:
    """HEAD of the checkout the package runs from; None outside a git checkout or without git."""
    repo = Path(__file__).resolve().parents[2]
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None


def _say(quiet: bool, text: str) -> None:
    if not quiet and distributed.is_main():
        print(text, file=sys.stderr)
