"""report/identity.py: which config keys make a cell, and the readable variant names."""

from __future__ import annotations

from ackd_bench.config import deep_update, resolve_config
from ackd_bench.report.identity import config_diff, identity_hash, variant_label


def _cfg(**extra) -> dict:
    cfg = resolve_config("fast", overrides={"method": "sembridge", "pairing": "ssm", "pair": "R-R", "seed": 0})
    return deep_update(cfg, {"benchmark": "demo/benchmark", "bands": ["B02", "B03"], **extra})


def test_what_varies_within_a_cell_does_not_change_the_hash():
    base = identity_hash(_cfg())
    same = _cfg(
        seed=4,
        device="cuda",
        benchmark="/elsewhere",
        checkpoint_every_s=30,
        num_workers=4,
        cost_every=1,
        eval_batch_size=7,
        sembridge={"retrieval_backend": "faiss"},
    )
    assert identity_hash(same) == base
    for changed in (
        _cfg(lr=0.01),
        _cfg(teacher={"epochs": 3}),
        _cfg(teacher={"seed": "follow"}),
        _cfg(sembridge={"coral_scale": "official"}),
        _cfg(bands=["B02"]),
    ):
        assert identity_hash(changed) != base


def test_sembridge_options_do_not_split_a_plain_method():
    kd = dict(_cfg(), method="kd", pairing="random")
    assert identity_hash(kd) == identity_hash(deep_update(kd, {"sembridge": {"coral_scale": "official"}}))


def test_variant_names_from_the_difference_to_the_profile():
    assert variant_label(_cfg(), config_diff(_cfg(), ["B02", "B03"])) == "fast"
    cfg = _cfg(sembridge={"coral_scale": "official"}, teacher={"epochs": 3})
    assert (
        variant_label(cfg, config_diff(cfg, ["B02", "B03"])) == "fast: sembridge.coral_scale=official, teacher.epochs=3"
    )
    assert config_diff(_cfg(), ["B02", "B03", "B04"]) == {"bands": ["B02", "B03"]}
    # an option given at the method's default value is no difference (but a separate hash: nothing is filled in
    # from the code's current defaults, so stored hashes never move)
    kd = dict(_cfg(), method="kd", pairing="random")
    explicit = deep_update(kd, {"method_args": {"T": 3.0}})
    assert config_diff(explicit) == {} and identity_hash(explicit) != identity_hash(kd)


def test_official_profile_runs_are_named_official():
    """`official` fixes the bands itself (paper10): its runs are no variant of the benchmark's default bands."""
    cfg = resolve_config("official", overrides={"method": "sembridge", "pairing": "ssm", "pair": "R-R", "seed": 0})
    cfg = deep_update(cfg, {"benchmark": "demo/benchmark"})
    assert variant_label(cfg, config_diff(cfg, ["B02", "B03"])) == "official"
    other = deep_update(cfg, {"bands": ["B02", "B03"]})
    assert config_diff(other, ["B02", "B03"]) == {"bands": ["B02", "B03"]}


def test_recipe_and_method_defaults():
    from ackd_bench.report.identity import method_at_defaults, recipe_hash

    sb, kd = _cfg(), dict(_cfg(), method="kd", pairing="random", method_args={"T": 2.0})
    assert recipe_hash(sb) == recipe_hash(kd)  # same training recipe, different methods and hyper-parameters
    assert recipe_hash(_cfg(teacher={"epochs": 3})) != recipe_hash(sb) and recipe_hash(_cfg(lr=0.1)) != recipe_hash(sb)
    assert method_at_defaults(config_diff(_cfg(teacher={"epochs": 3})))  # a recipe difference: ranked, own row
    assert not method_at_defaults(config_diff(_cfg(sembridge={"coral_scale": "official"})))
    assert not method_at_defaults(config_diff(kd))


def test_derived_values_are_named_but_do_not_unrank():
    # the fast profile leaves `epochs` to the run (derived from a step budget): the name shows the value (a record
    # cannot tell it from a choice), ranking only looks at the method's own hyper-parameters
    from ackd_bench.report.identity import method_at_defaults

    diff = config_diff(_cfg(epochs=37))
    assert diff == {"epochs": 37} and method_at_defaults(diff)
