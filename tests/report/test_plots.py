"""Histograms, curves and display conversion."""
from __future__ import annotations

import numpy as np

from exposure_batch import color
from exposure_batch.recipe import Step
from exposure_batch.report import plots


def test_luminance_hist_bins_an_encoded_grey():
    grey_lin = np.full((8, 8, 3), color.srgb_decode(np.float32(0.5)), np.float32)  # encoded luminance 0.5
    hist = plots.luminance_hist(grey_lin, bins=10)
    assert hist.shape == (10,) and abs(hist.sum() - 1.0) < 1e-9
    assert hist[5] == 1.0


def test_recipe_curve_identity_and_exposure():
    x, y = plots.recipe_curve(())
    np.testing.assert_allclose(y, np.repeat(x[:, None], 3, axis=1), atol=1e-5)
    x, y = plots.recipe_curve((Step("exposure", {"ev": 1.0}),))
    mid = len(x) // 2
    assert y[mid, 0] > x[mid] + 0.1  # +1 EV lifts mid grey
    assert np.allclose(y[:, 0], y[:, 2])  # neutral: a grey stays grey


def test_draw_curve_colours_only_when_channels_differ():
    x, neutral = plots.recipe_curve((Step("exposure", {"ev": 0.5}),))
    x, split = plots.recipe_curve((Step("white_balance", {"red": 1.5, "green": 1.0, "blue": 0.6}),))
    red = np.array(plots.CHANNELS[0])

    def has_red(im):
        px = np.asarray(im).reshape(-1, 3).astype(int)
        return bool((np.abs(px - red).sum(axis=1) < 30).any())

    assert not has_red(plots.draw_curve(x, neutral, 90))
    assert has_red(plots.draw_curve(x, split, 90))


def test_histogram_draws_after_line():
    before = np.zeros(16)
    before[3] = 1.0
    after = np.zeros(16)
    after[12] = 1.0
    px = np.asarray(plots.draw_histogram(before, after, (160, 80), label=False)).astype(int)
    amber = (np.abs(px - np.array(plots.AFTER)).sum(axis=2) < 30)
    cols = np.nonzero(amber[:40].any(axis=0))[0]  # the after peak sits in the upper half
    assert cols.min() >= 110 and cols.max() <= 135


def test_to_display_u8_clips_and_encodes():
    lin = np.array([[[0.0, 0.0, 0.0], [0.18, 0.18, 0.18], [4.0, 4.0, 4.0]]], np.float32)
    out = plots.to_display_u8(lin)
    assert out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 2].tolist() == [255, 255, 255]
    assert abs(int(out[0, 1, 1]) - 118) <= 1  # 0.18 linear -> 0.461 sRGB-encoded
