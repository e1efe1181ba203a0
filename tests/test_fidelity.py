"""`--profile official` and the deviation list in result.json (issue 11 §2)."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_run import invoke_run

from ackd_bench.config import DEFAULTS, PROFILES, resolve_config
from ackd_bench.data.bands import BAND_SETS
from ackd_bench.fidelity import OFFICIAL, PAPER10, UNCONFIGURABLE, deviations, fidelity_record
from ackd_bench.methods import build_method, method_names
from ackd_bench.result_schema import schema_violations

K = 4


def _method(name: str, cfg: dict):
    return build_method(name, torch.nn.Identity(), K, cfg, teacher_token_dim=512, student_token_dim=512)


def _keys(devs: list[dict]) -> set[str]:
    return {d["key"] for d in devs} - {d["key"] for d in UNCONFIGURABLE}


def _configurable(devs: list[dict]) -> list[dict]:
    assert devs[-len(UNCONFIGURABLE) :] == UNCONFIGURABLE  # always listed, last
    return devs[: -len(UNCONFIGURABLE)]


@pytest.mark.parametrize("name", method_names())
def test_official_profile_has_no_deviation_for_any_method(name: str):
    cfg = resolve_config("official", None, {"method": name})
    assert _configurable(deviations(cfg, _method(name, cfg))) == []


def test_official_profile_sets_every_official_config_key_explicitly():
    """So it stays official whatever DEFAULTS become (keys of other in-flight settings excepted)."""
    profile = PROFILES["official"]
    for setting in OFFICIAL:
        top, *rest = setting.key.split(".")
        if top in ("sembridge", "w_ce", "w_kd") or top not in DEFAULTS:
            continue
        node = profile[top]
        for part in rest:
            if part not in DEFAULTS[top]:
                break
            node = node[part]
        else:
            assert node == setting.official, setting.key
    assert profile["sembridge"]["coral_scale"] == "official" and profile["sembridge"]["w_ot"] == {"official": 0.003}
    assert PAPER10 == list(BAND_SETS["paper10"]) == profile["bands"]


def test_official_profile_survives_changed_defaults(monkeypatch):
    for key, value in (
        ("optimizer", "sgd"),
        ("lr", 0.1),
        ("ms_norm", "mean_std"),
        ("warmups", "scaled"),
        ("w_ce", 1.0),
        ("cosine", True),
        ("weight_decay", 0.05),
    ):
        monkeypatch.setitem(DEFAULTS, key, value)
    cfg = resolve_config("official", None, {"method": "dkd+sembridge"})
    assert _configurable(deviations(cfg, _method("dkd+sembridge", cfg))) == []


def test_default_profile_lists_what_differs_from_the_official_code():
    cfg = resolve_config("paper", None, {"method": "dkd+sembridge"})
    devs = {d["key"]: d for d in deviations(cfg, _method("dkd+sembridge", cfg))}
    assert {"ms_norm", "bands", "warmups", "sembridge.coral_scale", "sembridge.w_ot", "sembridge.matcher.loss"} <= set(
        devs
    )
    assert devs["ms_norm"] == {"key": "ms_norm", "official": "per_image_max", "run": "mean_std"}
    assert devs["sembridge.w_ot"]["run"] == "calibrated"
    # a method argument set away from the official value is listed; kd's default (no T^2) is official
    cfg = resolve_config("official", None, {"method": "kd", "method_args": {"t2": True}})
    assert _configurable(deviations(cfg, _method("kd", cfg))) == [
        {"key": "method_args.t2", "official": False, "run": True}
    ]
    cfg = resolve_config("official", None, {"method": "distilvpr", "method_args": {"stop_grad": False}})
    assert _keys(deviations(cfg, _method("distilvpr", cfg))) == {"method_args.stop_grad"}
    # the fixes kept are those that touch the run
    cfg = resolve_config("official", None, {"method": "rkd"})
    record = fidelity_record(cfg, _method("rkd", cfg))
    assert record["profile"] == "official" and "rkd_gradient" in record["fixes"]
    assert "matcher_checkpoint" not in record["fixes"]


def test_run_records_profile_and_deviations(synthetic_small_bench, tiny_cfg, tmp_path):
    """A real run under --profile official with CPU-sized overrides: exactly those overrides are deviations."""
    out = tmp_path / "run"
    invoke_run(synthetic_small_bench, "dkd", out, config=tiny_cfg, profile="official")
    record = json.loads((out / "result.json").read_text())
    assert schema_violations(record) == []
    fid = record["fidelity"]
    assert fid["profile"] == record["profile"] == "official"
    assert _keys(fid["deviations"]) == {"epochs", "batch_size", "teacher.epochs", "teacher.batch_size"}
    assert record["config"]["ms_norm"] == "per_image_max" and record["band_set"] == PAPER10
    assert record["config"]["warmups"] == "official"


def test_a_step_budget_is_shown_as_steps():
    cfg = resolve_config("official", None, {"method": "kd"})
    cfg["teacher"].update(epochs=None, steps=400)  # the teacher's budget is turned into epochs where it trains
    assert _configurable(deviations(cfg, _method("kd", cfg))) == [
        {"key": "teacher.epochs", "official": 200, "run": "400 steps"}
    ]
