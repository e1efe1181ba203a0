"""The result record (result.json, schema version 1), defined once as dataclasses.

The engine builds a run's record from these classes (`ResultRecord(...)`, then `to_dict`); its JSON schema is
generated from the same classes (`record_schema`) and checked by `result_schema.schema_violations` in the
engine, `submit` and the leaderboard. `ackd_bench/result.schema.json` is the published copy, written by
`python -m ackd_bench.result_record` (tests/test_result_record.py fails while it is out of date).

How a class becomes a schema: a field's type hint is the JSON value when the key is present (str, int,
float, bool, `X | None` for null, Literal for const/enum, list[X], dict[str, X], bare dict, Any, a nested
dataclass, a union of dataclasses for anyOf); `Annotated[X, Schema(...)]` adds JSON-Schema keywords. A field
made with `optional()` may be absent: it is left out of the record while its value is None. Constructors take
nested dataclasses or plain dicts of the same shape; the schema check, not the constructor, judges values.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from ackd_bench.config import PAIRINGS
from ackd_bench.io import atomic_write_text

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")  # the published copy of record_schema()


class Schema:
    """JSON-Schema keywords added to the generated schema of an `Annotated` type."""

    def __init__(self, **keywords: Any):
        self.keywords = keywords


def optional() -> Any:
    """A field the record may lack: left out while None."""
    return field(default=None, metadata={"optional": True})


NonEmpty = Annotated[str, Schema(minLength=1)]
Sha256 = Annotated[str, Schema(pattern="^[0-9a-f]{64}$")]
Fraction = Annotated[float, Schema(minimum=0, maximum=1)]
NonNegative = Annotated[float, Schema(minimum=0)]
Seed = Annotated[int, Schema(minimum=0, maximum=2**63 - 1)]
Epoch = Annotated[int, Schema(minimum=0, maximum=1_000_000)]
Pairing = Literal[PAIRINGS]  # type: ignore[valid-type]  # the values of config.PAIRINGS
TransportMethod = Literal["exact", "sinkhorn"]

# timings: <phase>_s (seconds) for every phase that ran; these are always there (docs/results-schema.md)
TIMING_KEYS = ("teacher_s", "teacher_cache_s", "rematch_s", "distill_s", "total_s", "train_images_per_s")
ENVIRONMENT_KEYS = ("python", "torch", "numpy", "platform", "device", "git_sha")
RUN_FILES = {"predictions": "predictions.parquet", "metrics": "metrics.jsonl", "pairings": "pairings"}


@dataclass(kw_only=True)
class BenchmarkRef:
    name: NonEmpty
    version: NonEmpty
    manifests_sha256: Annotated[dict[str, Sha256], Schema(required=["teacher.parquet", "student.parquet"])]


@dataclass(kw_only=True)
class Determinism:
    deterministic: bool
    device: str
    autocast: str | None  # null = float32
    bit_reproducible: bool
    why_not: list[NonEmpty]


@dataclass(kw_only=True)
class Metrics:
    test_oa_best_val: Fraction
    test_oa_last: Fraction
    test_macro_f1_best_val: Fraction
    test_macro_f1_last: Fraction
    per_class_acc: dict[str, Fraction]
    best_val_epoch: Epoch
    val_oa_best: Fraction
    teacher_test_oa: Fraction | None  # null for a multi-label teacher
    teacher_test_multilabel: dict[str, Fraction] = optional()


@dataclass(kw_only=True)
class Training:
    student: dict = optional()  # the recipe and how the budget became epochs (docs/running.md)
    teacher: dict = optional()


@dataclass(kw_only=True)
class Submission:
    """Added by `ackd-bench submit`."""

    config_hash: Annotated[str, Schema(pattern="^[0-9a-f]{16}$")] = optional()
    variant: str | None = optional()  # null: derived
    card: dict = optional()


@dataclass(kw_only=True)
class ClassCosts:
    w2_prob: NonNegative
    gw: NonNegative
    pair_cost: NonNegative | None
    w2_embed_diag: NonNegative | None = optional()


@dataclass(kw_only=True)
class SckdCosts:
    w2_prob: NonNegative | None
    gw: NonNegative | None
    pair_cost: NonNegative | None
    w2_embed_diag: NonNegative | None
    per_class: dict[str, ClassCosts]


@dataclass(kw_only=True)
class TransportCosts:
    """Headline costs w2_prob, gw, pair_cost; w2_embed_diag is a diagnostic (docs/results-schema.md)."""

    method: TransportMethod
    reg: NonNegative | None
    n_max: Annotated[int, Schema(minimum=1)] | None
    temperature: NonNegative
    w2_prob: NonNegative | None
    gw: NonNegative | None
    pair_cost: NonNegative | None
    w2_embed_diag: NonNegative | None
    per_class: dict[str, ClassCosts]
    sckd: SckdCosts | None


@dataclass(kw_only=True)
class EmbeddingW2Costs:
    """The embedding-W2 record written before the headline costs existed; still accepted."""

    method: TransportMethod
    metric: Literal["W2"]
    n_max: Annotated[int, Schema(minimum=1)] | None
    reg: NonNegative | None = optional()
    per_class: dict[str, NonNegative]
    mean: NonNegative | None
    sckd: dict | None


@dataclass(kw_only=True)
class Deviation:
    key: NonEmpty
    official: Any
    run: Any


@dataclass(kw_only=True)
class Fidelity:
    """Deviations from the official ACKD code in effect, and the official bugs kept fixed (docs/fidelity.md)."""

    profile: NonEmpty
    reference: str = optional()
    deviations: list[Deviation]
    fixes: list[NonEmpty]


@dataclass(kw_only=True)
class MatcherRef:
    sha256: Sha256
    val_loss: float


@dataclass(kw_only=True)
class SemBridgeRecord:
    ssm: bool
    dynm: bool
    ot1: bool
    ot2: bool
    dynm_epochs: list[Annotated[int, Schema(minimum=0)]]
    coral_scale: Literal["deep_coral", "official"] = optional()
    ot_weights: dict[str, NonNegative] = optional()
    matcher: MatcherRef | None  # null with --no-ssm


@dataclass(kw_only=True)
class ResultRecord:
    """result.json; the meaning of every key: docs/results-schema.md. Other top-level keys are allowed."""

    schema_version: Literal[1] = SCHEMA_VERSION
    ackd_bench_version: NonEmpty
    benchmark: BenchmarkRef
    method: NonEmpty
    pairing: Pairing
    pair: NonEmpty
    teacher_arch: NonEmpty
    student_arch: NonEmpty
    seed: Seed
    teacher_seed: Seed = optional()
    teacher_seed_policy: Literal["fixed", "follow"] = optional()
    band_set: list[NonEmpty]
    profile: str
    epochs: Annotated[int, Schema(minimum=1, maximum=1_000_000)]
    train_fraction: Annotated[float, Schema(minimum=0.0001, maximum=1)] = optional()  # of the student train split
    metrics: Metrics
    timings: Annotated[dict[str, NonNegative | None], Schema(required=list(TIMING_KEYS))]
    environment: Annotated[dict[str, str | None], Schema(required=list(ENVIRONMENT_KEYS))]
    config: dict  # the resolved config
    files: Annotated[dict[str, str | None], Schema(required=list(RUN_FILES))] = field(
        default_factory=lambda: dict(RUN_FILES)
    )
    training: Training = optional()
    transport: TransportCosts | EmbeddingW2Costs | None = optional()
    sembridge: SemBridgeRecord | None = optional()  # SemBridge runs only
    fidelity: Fidelity = optional()
    determinism: Determinism = optional()
    submission: Submission = optional()

    def to_dict(self) -> dict:
        """The record as result.json holds it (optional keys that are None left out)."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get("optional") and getattr(value, f.name) is None)
        }
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def schema_of(hint: Any) -> dict:
    """The JSON schema of a type hint (the subset the module docstring lists)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        out = schema_of(args[0])
        for mark in args[1:]:
            if isinstance(mark, Schema):
                out.update(mark.keywords)
        return out
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        out = schema_of(members[0]) if len(members) == 1 else {"anyOf": [schema_of(m) for m in members]}
        return _with_null(out) if len(members) < len(args) else out
    if origin is Literal:
        if len(args) == 1:
            return {"const": args[0]}
        return {"type": _PRIMITIVES[type(args[0])], "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": schema_of(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(args[1])}
    if hint is dict:
        return {"type": "object"}
    if hint is Any:
        return {}
    if is_dataclass(hint):
        return _object_schema(hint)
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    raise TypeError(f"no JSON schema for the type hint {hint!r}")


def _with_null(schema: dict) -> dict:
    if "anyOf" in schema:
        return {**schema, "anyOf": [_with_null(branch) for branch in schema["anyOf"]]}
    names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*names, "null"]}


def _object_schema(cls: type) -> dict:
    hints = get_type_hints(cls, include_extras=True)
    out: dict[str, Any] = {"type": "object"}
    required = [f.name for f in fields(cls) if not f.metadata.get("optional")]
    if required:
        out["required"] = required
    out["properties"] = {f.name: schema_of(hints[f.name]) for f in fields(cls)}
    return out


def record_schema() -> dict:
    """The JSON schema of result.json, generated from ResultRecord."""
    return {
        "$comment": (
            "ackd-bench result.json, schema version 1. GENERATED from ackd_bench/result_record.py by "
            "`python -m ackd_bench.result_record`; do not edit. Validated by ackd_bench/result_schema.py; "
            "documented in docs/results-schema.md."
        ),
        **schema_of(ResultRecord),
    }


def render_schema() -> str:
    """result.schema.json's text."""
    return json.dumps(record_schema(), indent=2) + "\n"


def main() -> None:
    """Write ackd_bench/result.schema.json from the dataclasses."""
    atomic_write_text(SCHEMA_PATH, render_schema())
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
