"""Grid YAML -> validated `Grid` -> list of `Cell`s, each with a deterministic run folder and command."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from ackd_bench.config import PAIRINGS
from ackd_bench.errors import ConfigError

GRID_KEYS = ("benchmarks", "methods", "pairings", "pairs", "seeds", "train_fractions", "run_args", "out", "slurm")
LIST_KEYS = ("benchmarks", "methods", "pairings", "pairs", "seeds")
# Options the grid itself sets on every `ackd-bench run`; run_args may not repeat them.
RESERVED_RUN_ARGS = {
    "benchmark",
    "method",
    "arch",
    "pair",
    "pairing",
    "seed",
    "out",
    "resume",
    "train-fraction",
    "train_fraction",
}
# run_args that name a file: relative values are relative to the grid file, like every path in it.
PATH_RUN_ARGS = {"config"}

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")


def sanitize(name: str) -> str:
    """A file-system safe folder name: unsafe characters -> '_', no leading dots, never empty."""
    safe = _UNSAFE.sub("_", name).lstrip(".")
    return safe or "_"


@dataclass(frozen=True)
class Cell:
    """One (benchmark, method, pairing, pair, seed, train fraction) combination and where it runs."""

    benchmark: Path  # absolute benchmark folder
    method: str
    pairing: str
    pair: str
    seed: int
    run_dir: Path  # absolute: <out>/<benchmark-name>/<method>/<pairing>/<pair>/seed<k>[-frac<F>]
    rel_dir: str  # run_dir relative to the out root (POSIX)
    run_args: tuple[str, ...] = ()
    train_fraction: float | None = None  # None / 1: the whole student train split

    # The sweep's own files sit NEXT TO the run folder, not in it: `ackd-bench run` refuses to start in a
    # non-empty folder that is not a run folder yet.
    @property
    def log_path(self) -> Path:
        """<run_dir>.sweep.log, e.g. .../S-S/seed0.sweep.log."""
        return self.run_dir.with_name(self.run_dir.name + ".sweep.log")

    @property
    def lock_path(self) -> Path:
        return self.run_dir.with_name(f".{self.run_dir.name}.sweep.lock")

    @property
    def submit_log_path(self) -> Path:
        return self.run_dir.with_name(self.run_dir.name + ".submit.log")

    def command(self) -> list[str]:
        """The `ackd-bench run` command line (always --resume: a fresh folder simply starts at epoch 0)."""
        return [
            sys.executable,
            "-m",
            "ackd_bench",
            "run",
            "--benchmark",
            str(self.benchmark),
            "--method",
            self.method,
            "--arch",
            self.pair,
            "--pairing",
            self.pairing,
            "--seed",
            str(self.seed),
            *(("--train-fraction", f"{self.train_fraction:g}") if self.train_fraction not in (None, 1.0) else ()),
            *self.run_args,
            "--out",
            str(self.run_dir),
            "--resume",
        ]


@dataclass
class Grid:
    """A validated grid file. Relative paths in the YAML are relative to the YAML file's folder."""

    path: Path
    benchmarks: list[Path]
    methods: list[str]
    pairings: list[str]
    pairs: list[str]
    seeds: list[int]
    train_fractions: list[float] = field(default_factory=lambda: [1.0])
    run_args: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None
    slurm: dict[str, Any] = field(default_factory=dict)


def _fail(path: Path, problem: str) -> ConfigError:
    return ConfigError(problem, path)


def _check_list(path: Path, key: str, value: Any, item_type: type) -> list:
    if not isinstance(value, list):
        raise _fail(path, f"'{key}' must be a list, got {type(value).__name__}")
    if not value:
        raise _fail(path, f"'{key}' is an empty list")
    for item in value:
        if not isinstance(item, item_type) or isinstance(item, bool):
            raise _fail(path, f"'{key}' items must be {item_type.__name__}, got {item!r}")
        if item_type is str and not item.strip():
            raise _fail(path, f"'{key}' has an empty name")
    duplicates = sorted({str(v) for v in value if value.count(v) > 1})
    if duplicates:
        raise _fail(path, f"'{key}' repeats {', '.join(duplicates)}")
    return list(value)


def _check_run_args(path: Path, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, f"'run_args' must be a mapping, got {type(value).__name__}")
    for key, val in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", key):
            raise _fail(path, f"'run_args' key {key!r} is not an option name")
        if key.replace("_", "-") in RESERVED_RUN_ARGS or key in RESERVED_RUN_ARGS:
            raise _fail(path, f"'run_args' may not set '{key}' (the grid sets it per cell)")
        if not isinstance(val, (str, int, float, bool)):
            raise _fail(path, f"'run_args.{key}' must be a string, number or true/false, got {val!r}")
    args = dict(value)
    for key in PATH_RUN_ARGS & set(args):
        if not isinstance(args[key], str):
            raise _fail(path, f"'run_args.{key}' must be a file path, got {args[key]!r}")
        args[key] = str((path.parent / args[key]).resolve())
    return args


def _check_fractions(path: Path, value: Any) -> list[float]:
    """Optional `train_fractions` axis: numbers in (0, 1] (1 = the whole student train split)."""
    if value is None:
        return [1.0]
    if not isinstance(value, list) or not value:
        raise _fail(path, f"'train_fractions' must be a non-empty list, got {value!r}")
    for f in value:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise _fail(path, f"'train_fractions' items must be numbers in (0, 1], got {f!r}")
    if len({float(f) for f in value}) != len(value):
        raise _fail(path, "'train_fractions' repeats a value")
    return [float(f) for f in value]


def _check_built_fractions(grid: Grid, bench: Path) -> None:
    """Every train fraction < 1 of the grid must have been built into `bench` (build-dataset --train-fractions)."""
    from ackd_bench.io import read_json

    wanted = [f for f in grid.train_fractions if f < 1.0]
    if not wanted:
        return
    built = (read_json(bench / "benchmark.json").get("train_fractions") or {}).get("fractions", [])
    missing = [f for f in wanted if not any(abs(f - b) < 1e-9 for b in built)]
    if missing:
        raise _fail(
            grid.path,
            f"benchmark {bench} has no train fraction {', '.join(f'{f:g}' for f in missing)} "
            f"(built: {', '.join(f'{b:g}' for b in built) or 'none'}; rebuild with --train-fractions)",
        )


def run_args_to_argv(run_args: dict[str, Any]) -> tuple[str, ...]:
    """{profile: fast, epochs: 1, no_dynm: true} -> ('--profile', 'fast', '--epochs', '1', '--no-dynm')."""
    argv: list[str] = []
    for key, val in run_args.items():
        flag = "--" + key.replace("_", "-")
        if val is True:
            argv.append(flag)
        elif val is not False:
            argv += [flag, str(val)]
    return tuple(argv)


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid YAML; every problem is a one-line ConfigError naming the file."""
    from ackd_bench.sweep.slurm_config import check_slurm

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "grid file not found") from None
    except yaml.YAMLError as exc:
        raise _fail(path, f"not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise _fail(path, "a grid must be a YAML mapping")
    unknown = sorted(str(k) for k in raw if k not in GRID_KEYS)
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(GRID_KEYS)})")
    missing = [k for k in LIST_KEYS if k not in raw]
    if missing:
        raise _fail(path, f"missing key(s) {', '.join(missing)}")
    base = path.parent
    benchmarks = [base / b for b in _check_list(path, "benchmarks", raw["benchmarks"], str)]
    out = raw.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise _fail(path, f"'out' must be a folder path, got {out!r}")
    return Grid(
        path=path,
        benchmarks=benchmarks,
        methods=_check_list(path, "methods", raw["methods"], str),
        pairings=_check_list(path, "pairings", raw["pairings"], str),
        pairs=_check_list(path, "pairs", raw["pairs"], str),
        seeds=_check_list(path, "seeds", raw["seeds"], int),
        train_fractions=_check_fractions(path, raw.get("train_fractions")),
        run_args=_check_run_args(path, raw.get("run_args")),
        out=base / out if out is not None else None,
        slurm=check_slurm(path, raw.get("slurm")),
    )


def _unique_names(path: Path, key: str, values: list[str], base_name=lambda v: v) -> dict[str, str]:
    """value -> sanitised folder name; two values that sanitise to one name are an error."""
    names: dict[str, str] = {}
    for value in values:
        if value in names:
            raise _fail(path, f"'{key}' lists {value!r} twice")
        name = sanitize(base_name(value))
        clash = [v for v, n in names.items() if n == name]
        if clash:
            raise _fail(path, f"'{key}' values {clash[0]!r} and {value!r} both map to folder {name!r}")
        names[value] = name
    return names


def out_root(grid: Grid, out: str | Path | None = None) -> Path:
    """The absolute output root: `out` (the --out option) overrides the grid's `out`; one must be set."""
    root = Path(out) if out is not None else grid.out
    if root is None:
        raise _fail(grid.path, "no output root: set 'out' in the grid or pass --out")
    return root.resolve()


def pairing_problem(method: str, pairing: str, run_args: dict[str, Any]) -> str | None:
    """Why `ackd-bench run` would refuse `method` with `pairing` (None when the combination is valid).

    SemBridge methods pair by their matcher (ssm, ssm-free), or with --no-ssm randomly (random, random-fixed);
    the other methods pair randomly (random, random-fixed) or by the SCKD oracle (docs/running.md, "Pairing").
    """
    randoms = ("random", "random-fixed")
    if "sembridge" in method.split("+"):
        if run_args.get("no_ssm") or run_args.get("no-ssm"):
            return None if pairing in randoms else "SemBridge with --no-ssm pairs randomly (random, random-fixed)"
        return None if pairing in ("ssm", "ssm-free") else "SemBridge pairs by its matcher (ssm, ssm-free)"
    return None if pairing in (*randoms, "oracle") else f"pairing {pairing} needs a +sembridge method"


def left_out(grid: Grid) -> list[tuple[str, str, str]]:
    """(method, pairing, reason) of every grid combination `expand` leaves out because run would refuse it."""
    return [
        (m, p, why)
        for m, p in product(grid.methods, grid.pairings)
        if (why := pairing_problem(m, p, grid.run_args)) is not None
    ]


def expand(grid: Grid, out: str | Path | None = None) -> list[Cell]:
    """All valid cells in YAML order (benchmarks x methods x pairings x pairs x seeds x train fractions), under
    `out_root`. A fraction F < 1 runs in `seed<k>-frac<F>` (the submissions layout) with --train-fraction F.

    Method/pairing combinations that `ackd-bench run` refuses (`left_out`) are not cells; a grid with no
    valid combination at all is a ConfigError.
    """
    root = out_root(grid, out)
    for bench in grid.benchmarks:
        if not bench.is_dir():
            raise _fail(grid.path, f"benchmark folder {bench} does not exist")
        _check_built_fractions(grid, bench)
    benchmarks = [b.resolve() for b in grid.benchmarks]
    bench_names = _unique_names(grid.path, "benchmarks", [str(b) for b in benchmarks], lambda v: Path(v).name)
    methods = _unique_names(grid.path, "methods", grid.methods)
    pairings = _unique_names(grid.path, "pairings", grid.pairings)
    pairs = _unique_names(grid.path, "pairs", grid.pairs)
    argv = run_args_to_argv(grid.run_args)
    invalid = {(m, p) for m, p, _ in left_out(grid)}
    if len(invalid) == len(grid.methods) * len(grid.pairings):
        m, p, why = left_out(grid)[0]
        raise _fail(grid.path, f"no valid method/pairing combination (e.g. {m} with {p}: {why})")
    cells = []
    for bench, method, pairing, pair, seed, fraction in product(
        benchmarks, grid.methods, grid.pairings, grid.pairs, grid.seeds, grid.train_fractions
    ):
        if (method, pairing) in invalid:
            continue
        leaf = f"seed{seed}" if fraction == 1.0 else f"seed{seed}-frac{fraction:g}"
        rel = "/".join([bench_names[str(bench)], methods[method], pairings[pairing], pairs[pair], leaf])
        cells.append(Cell(bench, method, pairing, pair, seed, root / rel, rel, argv, fraction))
    return cells


def check_names(grid: Grid) -> None:
    """Unknown pairing, method or pair names are ConfigErrors before anything runs.

    Methods and pairs are checked against the registries (skipped for one that cannot be imported,
    e.g. a partial install; the run then reports it), pairings against the run-folder contract.
    """
    bad = [p for p in grid.pairings if p not in PAIRINGS]
    if bad:
        raise _fail(grid.path, f"unknown pairing {bad[0]!r} (known: {', '.join(PAIRINGS)})")
    try:
        from ackd_bench.methods import METHODS
    except ImportError:
        METHODS = None
    if METHODS is not None and METHODS.names():
        known = set(METHODS.names()) | {"sembridge"}
        for method in grid.methods:
            bad = [part for part in method.split("+") if part not in known]
            if bad:
                raise _fail(grid.path, f"unknown method {method!r} (known: {', '.join(sorted(known))})")
    try:
        from ackd_bench.models import resolve_pair
    except ImportError:
        return
    for pair in grid.pairs:
        try:
            resolve_pair(pair)
        except (ConfigError, KeyError, ValueError) as exc:
            raise _fail(grid.path, f"'pairs': {exc}") from None
