"""`ackd-bench submit`: check a run folder and store it under leaderboard/submissions/ (docs/leaderboard.md).

Every check runs before anything is written; a refusal raises SubmissionError with ALL violations and
leaves the submissions folder untouched. An accepted record is built in a temp folder and renamed into
`<to>/<benchmark>/<method>/<pairing>/<pair>/<config hash>/seed<k>/` (result.json, predictions.parquet,
metrics.jsonl); the config hash is the run's configuration identity (report/identity.py): runs that differ in
a hyper-parameter or in the teacher's recipe are separate cells, never averaged together. The stored
result.json gains a `submission` block {config_hash, variant, card}: `variant` is the name given with
`submit --variant NAME` (null: the leaderboard derives one from the config's difference to its profile);
`card` the benchmark card's facts the leaderboard uses (`card_facts`).
Writers (`submit`) and readers (`ackd-bench leaderboard`) of one submissions folder take `submissions_lock`,
so concurrent processes never lose a record or read a half-replaced one (tests/test_concurrency.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from filelock import FileLock

from ackd_bench.errors import AckdError, SubmissionError
from ackd_bench.io import atomic_dir, atomic_write_bytes, atomic_write_json
from ackd_bench.report import validate
from ackd_bench.report.benchmarks import DATASETS_DIR, identity_violations, known_cards, open_benchmark
from ackd_bench.report.identity import identity_hash
from ackd_bench.result_schema import schema_violations

DEFAULT_SUBMISSIONS = Path("leaderboard") / "submissions"
RUN_FILES = ("result.json", "predictions.parquet", "metrics.jsonl")
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def submissions_lock(root: str | Path) -> FileLock:
    """The lock of submissions folder `root`: the hidden sibling file `.<name>.lock` (outside the folder, whose
    layout `validate_submissions_folder` checks). An inter-process file lock, released if the holder dies."""
    root = Path(root).resolve()
    root.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(root.parent / f".{root.name}.lock"))


def safe_component(value: object) -> str | None:
    """A folder name for `value` (':' becomes '__'), or None when it is not safe (separators, '..', odd chars)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).replace(":", "__")
    if not _SAFE.match(text) or ".." in text:
        return None
    return text


def record_key(record: dict) -> tuple[list[str], list[str]]:
    """The record's folder components [benchmark, method, pairing, pair, config hash, seed<k>] and any
    unsafe-name violations. A run on a student train fraction F < 1 goes to `seed<k>-frac<F>` instead of `seed<k>`."""
    bench = record.get("benchmark")
    fields = [
        ("benchmark.name", bench.get("name") if isinstance(bench, dict) else None),
        ("method", record.get("method")),
        ("pairing", record.get("pairing")),
        ("pair", record.get("pair")),
    ]
    parts, out = [], []
    for label, value in fields:
        part = safe_component(value)
        if part is None:
            out.append(f"{label}: {value!r} cannot be a folder name (allowed: letters, digits, . _ + - and ':')")
        parts.append(part or "")
    config = record.get("config")
    if isinstance(config, dict):
        parts.append(identity_hash(config))
    else:
        out.append("config: the resolved config (an object) is needed for the configuration identity")
        parts.append("")
    seed = record.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        out.append(f"seed: {seed!r} cannot be a folder name (a non-negative integer is required)")
    fraction = record.get("train_fraction", 1)
    if isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 < fraction < 1:
        parts.append(f"seed{seed}-frac{fraction:g}")  # label-efficiency runs sit beside the full-split run
    else:
        parts.append(f"seed{seed}")
    return parts, out


def _load_record(path: Path) -> tuple[dict | None, list[str]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except FileNotFoundError:
        return None, ["result.json: file missing"]
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, or an integer of > 4300 digits
        return None, [f"result.json: not valid JSON ({exc.__class__.__name__})"]
    except RecursionError:
        return None, ["result.json: not valid JSON (nested too deeply)"]


def _metrics_violations(path: Path) -> list[str]:
    if not path.is_file():
        return ["metrics.jsonl: file missing"]
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        try:
            ok = isinstance(json.loads(line), dict)
        except (ValueError, RecursionError):  # not JSON, a > 4300-digit integer, nested too deeply
            ok = False
        if not ok:
            return [f"metrics.jsonl: line {n} is not a JSON object"]
    return []


def _benchmark_folder(record: dict, run_dir: Path, benchmark: str | Path | None) -> Path | None:
    if benchmark is not None:
        return Path(benchmark)
    declared = (record.get("config") or {}).get("benchmark")
    if not isinstance(declared, str) or not declared:
        return None
    for candidate in (Path(declared), run_dir / declared):
        if (candidate / "benchmark.json").is_file():
            return candidate
    return None


def _score_violations(record: dict, run_dir: Path, bench_dir: Path | None, cards: list[dict], source: str) -> list[str]:
    """Benchmark identity + scores recomputed from the predictions against the build's own labels."""
    reported = record.get("benchmark")
    if not isinstance(reported, dict):
        return ["benchmark: cannot check the benchmark identity (not an object)"]
    out = identity_violations(reported, cards, source)
    if bench_dir is None:
        return out + [
            "cannot recompute scores: no benchmark folder (pass --benchmark DIR, or keep config.benchmark"
            " pointing at the build)"
        ]
    try:
        bench = open_benchmark(bench_dir)
    except AckdError as exc:
        return out + [f"cannot recompute scores: {exc}"]
    out += identity_violations(reported, [bench.card], f"the benchmark folder {bench_dir}")
    df, problems = validate.read_predictions(run_dir / "predictions.parquet")
    if df is None:
        return out + problems
    scores, problems = validate.recompute(df, bench.test_labels, bench.classes)
    out += problems
    if scores is not None and isinstance(record.get("metrics"), dict):
        out += validate.metric_violations(record["metrics"], scores)
    return out


def check_run(
    run_dir: str | Path, *, benchmark: str | Path | None = None, datasets_dir: str | Path = DATASETS_DIR
) -> tuple[dict | None, list[str]]:
    """Every violation that stops `run_dir` from being submitted (an empty list = acceptable), with the record."""
    run_dir = Path(run_dir)
    record, out = _load_record(run_dir / "result.json")
    out += validate.size_violations([run_dir / name for name in RUN_FILES])
    out += _metrics_violations(run_dir / "metrics.jsonl")
    if record is None:
        return None, out
    out += schema_violations(record)
    if not isinstance(record, dict):
        return None, out
    if benchmark is not None:
        try:
            cards, source = [open_benchmark(benchmark).card], f"the build at {benchmark}"
        except AckdError as exc:
            cards, source = [], "no benchmark"
            out.append(f"--benchmark: {exc}")
    else:
        cards, source = known_cards(datasets_dir), "the shipped cards (datasets/*/card.json)"
    out += _score_violations(record, run_dir, _benchmark_folder(record, run_dir, benchmark), cards, source)
    out += record_key(record)[1]
    return record, out


CARD_FACTS = ("sckd_reference", "paper_dataset", "teacher_bands", "classes")


def card_facts(bench_dir: Path | None) -> dict:
    """What the leaderboard needs from the benchmark card the run was checked against (`CARD_FACTS`, those the
    card has): the SCKD reference build, the paper dataset it reproduces, default bands, class names."""
    path = bench_dir / "benchmark.json" if bench_dir is not None else None
    if path is None or not path.is_file():
        return {}
    card = json.loads(path.read_text(encoding="utf-8"))
    return {k: card[k] for k in CARD_FACTS if k in card} if isinstance(card, dict) else {}


def _variant_violations(cell: Path, variant: str | None, seed_folder: str) -> list[str]:
    """A `--variant` name must agree with the name the cell's other seeds were submitted with."""
    for sibling in sorted(cell.glob("seed*/result.json")) if cell.is_dir() else []:
        if sibling.parent.name == seed_folder:
            continue
        try:
            other = (json.loads(sibling.read_text(encoding="utf-8")).get("submission") or {}).get("variant")
        except (ValueError, OSError, AttributeError):
            continue
        if other != variant:
            return [
                f"variant: {variant!r} differs from {other!r}, the name this configuration's other seeds were "
                f"submitted with ({sibling.parent.as_posix()})"
            ]
    return []


def submit(
    run_dir: str | Path,
    to: str | Path = DEFAULT_SUBMISSIONS,
    *,
    benchmark: str | Path | None = None,
    replace: bool = False,
    datasets_dir: str | Path = DATASETS_DIR,
    variant: str | None = None,
) -> Path:
    """Validate `run_dir` and store it; returns the record's folder. Raises SubmissionError listing every violation.

    `variant`: a readable name for the run's configuration (default: derived by the leaderboard)."""
    run_dir = Path(run_dir)
    record, out = check_run(run_dir, benchmark=benchmark, datasets_dir=datasets_dir)
    if variant is not None and (not variant.strip() or len(variant) > 100 or not variant.isprintable()):
        out.append(f"--variant: {variant!r} must be 1-100 printable characters")
    target = None
    if record is not None and isinstance(record, dict):
        parts, unsafe = record_key(record)
        if not unsafe:
            target = Path(to).joinpath(*parts)
            if target.exists() and not replace:
                out.append(f"duplicate: {'/'.join(parts)} is already submitted (use --replace to overwrite it)")
            out += _variant_violations(target.parent, variant, target.name)
    if out or target is None:
        raise SubmissionError(out or ["record could not be read"], run_dir)
    record = {
        **record,
        "submission": {
            "config_hash": parts[4],
            "variant": variant,
            "card": card_facts(_benchmark_folder(record, run_dir, benchmark)),
        },
    }
    with submissions_lock(to):
        late = (
            []
            if replace or not target.exists()
            else [f"duplicate: {'/'.join(parts)} is already submitted (use --replace to overwrite it)"]
        )
        late += _variant_violations(target.parent, variant, target.name)  # others may have submitted since
        if late:
            raise SubmissionError(late, run_dir)
        with atomic_dir(target, overwrite=replace) as tmp:
            atomic_write_json(tmp / "result.json", record)
            for name in RUN_FILES[1:]:
                atomic_write_bytes(tmp / name, (run_dir / name).read_bytes())
    return target
