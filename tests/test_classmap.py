"""Class maps: many-to-one mapping, dropped counts, errors naming the file."""

from __future__ import annotations

import pytest

from ackd_bench.data.classmap import apply_class_map, load_class_map
from ackd_bench.data.sources import RawSample
from ackd_bench.errors import ConfigError

TEACHER = ["Forest", "Residential", "River"]


def _samples(names: list[str]) -> list[RawSample]:
    return [
        RawSample(f"s{i}", c, f"{c}/{i}.jpg", "imagefolder-rgb", "aid", 64, 64, ("R", "G", "B"))
        for i, c in enumerate(names)
    ]


def test_many_to_one_and_dropped_counts(tmp_path):
    path = tmp_path / "aid.yaml"
    path.write_text("Forest: Forest\nDenseResidential: Residential\nMediumResidential: Residential\nRiver: River\n")
    mapping = load_class_map(path)
    assert mapping == {
        "Forest": "Forest",
        "DenseResidential": "Residential",
        "MediumResidential": "Residential",
        "River": "River",
    }
    samples = _samples(["Airport", "DenseResidential", "Forest", "MediumResidential", "Airport", "Beach", "River"])
    kept, dropped = apply_class_map(samples, mapping, TEACHER)
    assert [s.class_name for s in kept] == ["DenseResidential", "Forest", "MediumResidential", "River"]
    assert {mapping[s.class_name] for s in kept} == {"Residential", "Forest", "River"}
    assert dropped == {"Airport": 2, "Beach": 1}


def test_unknown_target_class_names_file_and_class(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("Lake: Water\nForest: Forest\n")
    with pytest.raises(ConfigError) as err:
        apply_class_map(_samples(["Lake"]), load_class_map(path), TEACHER)
    assert str(path) in str(err.value) and "Water" in str(err.value)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("a: [b\n", "malformed YAML"),
        ("- Forest\n- River\n", "mapping"),
        ("", "mapping"),
        ("Forest: 3\n", "strings"),
        ("1: Forest\n", "strings"),
        ("Forest:\n", "strings"),
    ],
)
def test_malformed_class_maps(tmp_path, text, problem):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem) as err:
        load_class_map(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_missing_class_map_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_class_map(tmp_path / "nope.yaml")
