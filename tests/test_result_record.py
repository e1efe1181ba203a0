"""The result record's one definition (ackd_bench/result_record.py): the published schema file is generated
from it and up to date, records built from it validate, and the generator maps type hints as documented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from ackd_bench.result_record import (
    SCHEMA_PATH,
    TIMING_KEYS,
    BenchmarkRef,
    Metrics,
    ResultRecord,
    Schema,
    optional,
    render_schema,
    schema_of,
)
from ackd_bench.result_schema import schema_violations


def test_the_published_schema_file_is_generated_from_the_dataclasses():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "ackd_bench/result.schema.json is out of date: run `python -m ackd_bench.result_record`"
    )


def _record(**overrides) -> ResultRecord:
    fields = dict(
        ackd_bench_version="0.1.0",
        benchmark=BenchmarkRef(
            name="b", version="1", manifests_sha256={"teacher.parquet": "a" * 64, "student.parquet": "b" * 64}
        ),
        method="kd",
        pairing="random",
        pair="R-R",
        teacher_arch="resnet18",
        student_arch="resnet18",
        seed=0,
        band_set=["B04"],
        profile="fast",
        epochs=1,
        metrics=Metrics(
            test_oa_best_val=0.5,
            test_oa_last=0.5,
            test_macro_f1_best_val=0.5,
            test_macro_f1_last=0.5,
            per_class_acc={"a": 0.5},
            best_val_epoch=0,
            val_oa_best=0.5,
            teacher_test_oa=None,
        ),
        timings={key: 0.0 for key in TIMING_KEYS},
        environment=dict.fromkeys(("python", "torch", "numpy", "platform", "device", "git_sha"), "x"),
        config={},
    )
    return ResultRecord(**{**fields, **overrides})


def test_a_record_built_from_the_definition_is_valid_and_leaves_out_unset_optional_keys():
    record = _record().to_dict()
    assert schema_violations(record) == []
    assert record["schema_version"] == 1 and record["files"]["predictions"] == "predictions.parquet"
    assert "transport" not in record and "teacher_test_multilabel" not in record["metrics"]
    assert record["metrics"]["teacher_test_oa"] is None  # required and nullable: kept as null


def test_a_method_phase_is_recorded_only_when_it_ran_and_breaks_nothing_when_absent():
    timings = {key: 0.0 for key in TIMING_KEYS}
    assert schema_violations(_record(timings={**timings, "matcher_s": 1.5}).to_dict()) == []
    missing = {k: v for k, v in timings.items() if k != "distill_s"}
    assert schema_violations(_record(timings=missing).to_dict()) == ["timings.distill_s: required key missing"]


def test_a_bad_value_is_caught_by_the_generated_schema():
    record = _record(pairing="paired", seed=-1).to_dict()
    assert schema_violations(record) == [
        "pairing: 'paired' is not one of ['random', 'random-fixed', 'oracle', 'ssm', 'ssm-free']",
        "seed: -1 is below the minimum 0",
    ]


@dataclass(kw_only=True)
class _Inner:
    x: Annotated[int, Schema(minimum=1)]
    note: str = optional()


def test_the_generator_maps_type_hints():
    assert schema_of(str | None) == {"type": ["string", "null"]}
    assert schema_of(Literal[1]) == {"const": 1}
    assert schema_of(Literal["a", "b"]) == {"type": "string", "enum": ["a", "b"]}
    assert schema_of(list[float]) == {"type": "array", "items": {"type": "number"}}
    assert schema_of(dict[str, bool]) == {"type": "object", "additionalProperties": {"type": "boolean"}}
    inner = {
        "type": "object",
        "required": ["x"],
        "properties": {"x": {"type": "integer", "minimum": 1}, "note": {"type": "string"}},
    }
    assert schema_of(_Inner) == inner
    assert schema_of(_Inner | None) == {**inner, "type": ["object", "null"]}
