"""Gamma: y = x^gamma per channel for x >= 0.001, a straight line through black below (gamma < 1 brightens, > 1
darkens).

Space: linear working RGB -> same. Below FLOOR = 0.001 the power would have an unbounded slope, so the curve goes on as
the line y = x 0.001^(gamma - 1) through 0 (continuous at FLOOR; negative values clamp to 0): black stays black (the
paper's max(x, 0.001)^gamma lifted it to 0.001, sRGB code 3, at any gamma, even 1.000002), and gamma 1 is the
identity everywhere. Paper: filter 1 (G), gamma = exp(ln 3 * tanh(f)) in [1/3, 3].
darktable: rgbcurve (approximate, sampled) · Adobe: tone curve points (approximate).
"""
from __future__ import annotations

import numpy as np

from .base import EditorMapping, FilterSpec, FusedKernel, Param
from .curve_math import sample_curve

NAME = "gamma"
VERSION = 1
LOG_RANGE = float(np.log(3.0))
FLOOR = np.float32(0.001)
PARAMS = (Param("gamma", 1.0 / 3.0, 3.0, 1.0, "", "power applied to linear RGB (1 = identity)"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return np.exp(LOG_RANGE * np.tanh(raw)).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.exp(LOG_RANGE * tf.tanh(raw))


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) -> rgb^gamma, the line through black below FLOOR."""
    import tensorflow as tf  # noqa: PLC0415

    g = params[:, None, None, 0:1]
    x = tf.maximum(rgb_lin, 0.0)
    power = tf.pow(tf.maximum(x, FLOOR), g)
    return tf.where(x >= FLOOR, power, x * tf.pow(FLOOR, g - 1.0))


def prepare(values) -> np.float32:
    return np.float32(values["gamma"])


def toe_slope(gamma) -> np.float32:
    """Slope of the line below FLOOR: FLOOR^(gamma - 1) (the power's value at FLOOR over FLOOR)."""
    return np.float32(np.float64(FLOOR) ** (np.float64(gamma) - 1.0))


def apply_np(rgb_lin: np.ndarray, gamma: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    np.maximum(rgb_lin, 0.0, out=rgb_lin)
    if gamma != 1.0:
        toe = rgb_lin < FLOOR
        low = rgb_lin[toe] * toe_slope(gamma)
        np.power(rgb_lin, gamma, out=rgb_lin)
        rgb_lin[toe] = low
    return rgb_lin


def describe(values) -> str:
    return f"Gamma {values['gamma']:.2f}"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---


def fused_params(gamma) -> np.ndarray:
    return np.array([gamma, toe_slope(gamma)], dtype=np.float32)


_BIG = np.float32(1e30)


def fused_block(pow01):
    """The kernel around `pow01(x, e)` (x^e for finite float32 x > 0), render.kernels' compiled power (polynomials
    that LLVM vectorises): a plain `**` calls libm's powf per value, about 10x the cost of any other step. Values
    above _BIG are clamped to it (inputs this large do not occur); NaN stays NaN."""

    def block(r, g, b, n, p):
        gamma, slope = np.float64(p[0]), p[1]
        for c in (r, g, b):
            for i in range(n):
                x = c[i]
                if x >= FLOOR:
                    c[i] = pow01(min(x, _BIG), gamma)
                elif x > 0:
                    c[i] = x * slope
                elif x <= 0:
                    c[i] = np.float32(0.0)
                # NaN stays NaN

    return block


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Gamma -> darktable rgbcurve, 20 nodes packed near black (approximate) / Adobe point curve (approximate).
def _fn(g):
    return lambda x: np.where(x >= FLOOR, np.maximum(x, FLOOR) ** g, np.maximum(x, 0.0) * float(FLOOR) ** (g - 1.0))


def to_darktable(params) -> EditorMapping:
    xs, ys = sample_curve(_fn(float(params["gamma"])), 20, power=2.0)
    return EditorMapping(ops=(("curve", [(xs, ys)], True, 0),), exact=False, note="power curve sampled at 20 nodes")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    """'_master': a linear -> linear function; adobe.py composes curve steps into one ToneCurvePV2012."""
    return EditorMapping(settings={"_master": _fn(float(params["gamma"]))}, exact=False,
                         note="power curve as 17 integer points of the master point curve")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Gamma", params=PARAMS, n_raw=1,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=fused_params, block=fused_block, needs=("pow01",), separable=True, tabulate=True),
)
