"""Every filter against the formula docs/recipes.md documents, on values worked out by hand (the arithmetic is written
next to each number), independently of the filters' own NumPy code. Both render paths are checked: the exact NumPy
op and the fused kernel (numba) that the renderer normally uses."""
from __future__ import annotations

import math

import numpy as np
import pytest

from exposure_batch import filters
from exposure_batch.recipe import Recipe
from exposure_batch.render import fused_available, render


def _both_paths(name: str, params: dict, pixels) -> list[np.ndarray]:
    """The filter's output on (N, 3) linear pixels through the NumPy op and, when numba is there, the renderer."""
    x = np.asarray(pixels, dtype=np.float32).reshape(1, -1, 3)
    outs = [filters.get(name).apply(x, params)[0]]
    if fused_available():
        outs.append(render(Recipe.from_steps([(name, params)]), x.copy())[0])
    return outs


def check(name: str, params: dict, pixels, expected, tol: float = 2e-6) -> None:
    for out in _both_paths(name, params, pixels):
        np.testing.assert_allclose(out, np.asarray(expected, dtype=np.float64).reshape(out.shape), atol=tol, rtol=0,
                                   err_msg=f"{name} {params}")


def test_exposure_multiplies_by_two_to_the_ev():
    check("exposure", {"ev": 1.0}, [[0.25, 0.5, 1.5]], [[0.5, 1.0, 3.0]])  # x * 2
    check("exposure", {"ev": -2.0}, [[0.8, 0.4, 0.0]], [[0.2, 0.1, 0.0]])  # x / 4


def test_gamma_is_a_power_with_a_straight_toe_through_black():
    check("gamma", {"gamma": 2.0}, [[0.5, 0.25, 0.0]], [[0.25, 0.0625, 0.0]])  # black stays black
    # below 0.001 the line x 0.001^(g - 1): 0.0004 / sqrt(0.001) = 0.0126491; at 0.001 both give sqrt(0.001)
    check("gamma", {"gamma": 0.5}, [[0.25, 0.64, 0.0004]], [[0.5, 0.8, 0.0126491]], tol=3e-6)
    check("gamma", {"gamma": 0.5}, [[0.001, -0.2, 1.0]], [[0.0316228, 0.0, 1.0]], tol=3e-6)


def test_black_renders_to_code_0_and_a_near_identity_gamma_is_dropped():
    from exposure_batch.agent.data import display_np
    from exposure_batch.recipe import Recipe, Step, drop_noop_steps
    from exposure_batch.render import render

    black = np.zeros((4, 4, 3), np.float32)
    for g in (1.0 / 3.0, 0.5, 1.000002, 3.0):
        for fused in (False, True):
            out = render(Recipe((Step("gamma", {"gamma": g}),)), black.copy(), fused=fused)
            assert int(np.round(display_np(out) * 255).max()) == 0, (g, fused)
    ramp = np.linspace(0, 1, 64, dtype=np.float32)[:, None].repeat(3, 1)
    assert drop_noop_steps([Step("gamma", {"gamma": 1.000002})], ramp) == ()


def test_white_balance_multiplies_each_channel():
    check("white_balance", {"red": 2.0, "green": 1.0, "blue": 0.5}, [[0.5, 0.5, 0.5], [0.2, 0.4, 0.8]],
          [[1.0, 0.5, 0.25], [0.4, 0.4, 0.4]])


def test_saturation_boost_in_the_midtones():
    # x = (0.6, 0.4, 0.3): v = 0.6, s = (0.6 - 0.3) / 0.6 = 0.5, fade = min(0.5 / 0.05, 1) = 1,
    # s'' = 0.5 + 0.5 * 0.8 * (0.5 - |0.6 - 0.5|) = 0.66, s''/s = 1.32: y = 0.6 - 1.32 (0.6 - x) = (0.6, 0.336, 0.204)
    check("saturation", {"amount": 1.0}, [[0.6, 0.4, 0.3]], [[0.6, 0.336, 0.204]])
    # p = 0.5: halfway between x and the boosted pixel
    check("saturation", {"amount": 0.5}, [[0.6, 0.4, 0.3]], [[0.6, 0.368, 0.252]])


def test_saturation_near_grey_fades_in_and_greys_stay_grey():
    # x = (0.5, 0.49, 0.49): s = 0.02, fade = 0.4, s'' = 0.02 + 0.98 * 0.8 * 0.5 * 0.4 = 0.1768, s''/s = 8.84:
    # y = 0.5 - 8.84 * 0.01 = 0.4116 for G and B
    check("saturation", {"amount": 1.0}, [[0.5, 0.49, 0.49], [0.3, 0.3, 0.3]], [[0.5, 0.4116, 0.4116],
                                                                                [0.3, 0.3, 0.3]], tol=2e-5)


def test_saturation_clips_at_one_first():
    # x' = min(x, 1) = (1, 0.5, 0.5): v = 1, s = 0.5, s'' = 0.5 + 0.5 * 0.8 * (0.5 - 0.5) = 0.5: no boost at v = 1
    check("saturation", {"amount": 1.0}, [[1.5, 0.5, 0.5]], [[1.0, 0.5, 0.5]])
    check("saturation", {"amount": 0.0}, [[1.5, 0.5, 0.2]], [[1.0, 0.5, 0.2]])


def test_tone_curve_piecewise_linear_in_eight_segments():
    slopes = [2.0] + [1.0] * 7  # sum 9
    # x = 0.1: 8x = 0.8 -> 2 * 0.8 / 9 = 0.177778; x = 0.5: 8x = 4 -> (2 + 1 + 1 + 1) / 9 = 0.555556;
    # x = 0.9: 8x = 7.2 -> (2 + 6 * 1 + 0.2) / 9 = 0.911111; x >= 1 -> 1; x <= 0 -> 0 (on R, G and B alike)
    check("tone_curve", {"slopes": slopes}, [[0.1, 0.5, 0.9], [1.3, -0.2, 0.0]],
          [[1.6 / 9, 5 / 9, 8.2 / 9], [1.0, 0.0, 0.0]], tol=3e-6)


def test_contrast_s_curve_on_luminance_as_a_ratio():
    # grey 0.2: l = 0.2, l' = 0.5 - 0.5 cos(0.2 pi) = 0.0954915; p = 1: y = 0.2 * 0.0954915 / 0.200001 = 0.0954910
    check("contrast", {"amount": 1.0}, [[0.2, 0.2, 0.2]], [[0.0954910] * 3], tol=2e-6)
    # p = 0.5: y = 0.5 * 0.2 + 0.5 * 0.0954910 = 0.1477455
    check("contrast", {"amount": 0.5}, [[0.2, 0.2, 0.2]], [[0.1477455] * 3], tol=2e-6)
    # colour (0.6, 0.5, 0.4): l = 0.27 * 0.6 + 0.67 * 0.5 + 0.06 * 0.4 = 0.521, l' = 0.5 + 0.5 sin(0.021 pi)
    l_ = 0.521
    ratio = (0.5 - 0.5 * math.cos(math.pi * l_)) / (l_ + 1e-6)  # 1.0229634...
    assert ratio == pytest.approx(0.532962799 / 0.521001, rel=1e-8)
    check("contrast", {"amount": 1.0}, [[0.6, 0.5, 0.4]], [[0.6 * ratio, 0.5 * ratio, 0.4 * ratio]], tol=3e-6)
    # negative p lowers contrast: y = 2 x - x l' / l
    check("contrast", {"amount": -1.0}, [[0.2, 0.2, 0.2]], [[0.4 - 0.0954910] * 3], tol=3e-6)


def test_black_and_white_blends_with_luminance():
    # lum(1, 0, 0) = 0.27; lum(0.2, 0.4, 0.8) = 0.054 + 0.268 + 0.048 = 0.37
    check("black_and_white", {"amount": 1.0}, [[1.0, 0.0, 0.0], [0.2, 0.4, 0.8]], [[0.27] * 3, [0.37] * 3])
    # p = 0.25: 0.75 x + 0.25 * 0.37
    check("black_and_white", {"amount": 0.25}, [[0.2, 0.4, 0.8]], [[0.2425, 0.3925, 0.6925]])


def test_color_curves_one_curve_per_channel():
    red = [1.1] * 4 + [0.9] * 4  # sum 8: x = 0.5 -> 4 * 1.1 / 8 = 0.55
    green = [1.0] * 8  # identity on [0, 1]
    blue = [0.9] + [1.0] * 7  # sum 7.9: x = 0.5 -> (0.9 + 3) / 7.9 = 0.493671; x = 0.0625 -> 0.45 / 7.9 = 0.056962
    check("color_curves", {"red": red, "green": green, "blue": blue}, [[0.5, 0.5, 0.5], [0.25, 0.3, 0.0625]],
          [[0.55, 0.5, 3.9 / 7.9], [2.2 / 8, 0.3, 0.45 / 7.9]], tol=3e-6)


def test_matte_is_a_straight_line_on_srgb_axes():
    # y = dec(black + (white - black) enc(x)), sRGB transfer: enc(x) = 1.055 x^(1/2.4) - 0.055 above 0.0031308.
    # x = 0 -> u = 0.1: dec(0.1) = ((0.1 + 0.055) / 1.055)^2.4 = 0.146919^2.4 = 0.0100228
    # x = 1 -> u = 0.9: dec(0.9) = (0.955 / 1.055)^2.4 = 0.905213^2.4 = 0.787412
    # x = 0.214041 (enc = 0.5) -> u = 0.1 + 0.8 * 0.5 = 0.5: dec(0.5) = (0.555 / 1.055)^2.4 = 0.214041
    # x = 2 (clipped to 1) -> 0.787412; x = 0.002 (toe: enc = 0.02584) -> u = 0.120672 -> 0.0135357
    check("matte", {"black": 0.1, "white": 0.9}, [[0.0, 1.0, 0.214041], [2.0, 0.002, 0.214041]],
          [[0.0100228, 0.787412, 0.214041], [0.787412, 0.0135357, 0.214041]], tol=3e-6)
    # identity on [0, 1]: 0.04045 / 12.92 = 0.00313080 sits on the toe's end
    check("matte", {"black": 0.0, "white": 1.0}, [[0.0, 0.0031308, 0.5]], [[0.0, 0.0031308, 0.5]], tol=2e-6)


def test_every_registered_filter_is_checked_here():
    tested = {"exposure", "gamma", "white_balance", "saturation", "tone_curve", "contrast", "black_and_white",
              "color_curves", "matte"}
    assert set(filters.NAMES) == tested
