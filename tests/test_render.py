"""render_rgb: B04/B03/B02 by name, DN / 3000, clip, x255, round."""

from __future__ import annotations

import numpy as np
import pytest

from ackd_bench.data.bands import EUROSAT_ORDER
from ackd_bench.data.render import RENDER_SCALE, render_rgb
from ackd_bench.errors import ConfigError


def test_formula_and_band_order():
    ms = np.zeros((13, 1, 4), np.uint16)
    ms[3, 0] = [0, 1500, 3000, 9000]  # B04 red
    ms[2, 0] = [6, 5, 7, 2994]  # B03 green: 5/3000*255 = 0.425 -> 0, 6 -> 0.51 -> 1
    ms[1, 0] = [3000, 100, 2000, 65535]  # B02 blue
    rgb = render_rgb(ms, EUROSAT_ORDER)
    assert RENDER_SCALE == 3000.0 and rgb.dtype == np.uint8 and rgb.shape == (3, 1, 4)
    assert rgb[0, 0].tolist() == [0, 128, 255, 255]
    assert rgb[1, 0].tolist() == [1, 0, 1, 254]
    assert rgb[2, 0].tolist() == [255, 8, 170, 255]


def test_selects_by_name_and_batches():
    rng = np.random.default_rng(0)
    ms = rng.integers(0, 5000, size=(2, 4, 8, 8)).astype(np.uint16)
    names = ("B02", "B08", "B04", "B03")
    batch = render_rgb(ms, names)
    assert batch.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(batch[1], render_rgb(ms[1], names))
    np.testing.assert_array_equal(batch[0, 0], render_rgb(ms[0][[2, 3, 0]], ("B04", "B03", "B02"))[0])


def test_signed_input_clips_at_zero():
    ms = np.array([[[-100]], [[200]], [[3100]]], np.int16)
    assert render_rgb(ms, ("B04", "B03", "B02"))[:, 0, 0].tolist() == [0, 17, 255]


def test_errors():
    with pytest.raises(ConfigError, match="B04"):
        render_rgb(np.zeros((3, 2, 2)), ("B01", "B02", "B03"))
    with pytest.raises(ValueError):
        render_rgb(np.zeros((2, 2)), ("B04",))
    with pytest.raises(ValueError):
        render_rgb(np.zeros((2, 2, 2)), ("B04", "B03", "B02"))
