"""Tone curve: one monotone piecewise-linear curve (8 segments) applied to R, G and B alike.

Space: linear working RGB in [0, 1] -> same; clips to [0, 1] (inputs >= 1 map to 1). Paper: filter 4 (T),
t_i = 0.5 + 0.75 (tanh(f_i) + 1) in [0.5, 2]; segment i's slope is proportional to t_i.
darktable: rgbcurve linked RGB (approximate: spline through the knots) · Adobe: crs:ToneCurvePV2012 (approximate).
"""
from __future__ import annotations

import numpy as np

from . import curve_math
from .base import EditorMapping, FilterSpec, FusedKernel, Param, tanh_range_np, tanh_range_tf
from .curve_math import knot_nodes

NAME = "tone_curve"
VERSION = 1
SEGMENTS = 8
LOW, HIGH = 0.5, 2.0
PARAMS = (Param("slopes", LOW, HIGH, 1.0, "", "relative slope of each of 8 equal input segments on [0, 1]", SEGMENTS),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return tanh_range_np(raw, LOW, HIGH)


def map_raw_tf(raw):
    return tanh_range_tf(raw, LOW, HIGH)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 8) slopes -> (B, H, W, 3) in [0, 1]."""
    return curve_math.apply_curve_tf(rgb_lin, params[:, None, :])


def prepare(values):
    return curve_math.knots(values["slopes"])


def apply_np(rgb_lin: np.ndarray, prepared) -> np.ndarray:
    """(..., 3) float32 linear -> same, in [0, 1]."""
    xs, ys = prepared
    rgb_lin[...] = curve_math.apply_curve_np(rgb_lin, xs, ys)
    return rgb_lin


def describe(values) -> str:
    return f"Tone curve {curve_math.describe_curve(values['slopes'])}"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
_ZERO, _ONE, _STEP = np.float32(0.0), np.float32(1.0), np.float32(1.0 / SEGMENTS)


def fused_params(prepared) -> np.ndarray:
    """(xs, ys) knots -> hinge weights [w_0..w_7]: f(x) = sum_k w_k max(x - k/8, 0) on [0, 1] (w_k: slope changes).
    Every term is 0 below its knot, so near black f(x) = w_0 x to float32's relative precision (the form
    sum_k w_k max(x, k/8) - C cancels to an absolute error of about 1e-7 there: up to 29 codes of a 16-bit Adobe RGB
    output, whose pure-power encoding has an unbounded slope at black)."""
    xs, ys = prepared
    return np.diff(np.diff(ys) / np.diff(xs), prepend=0.0).astype(np.float32)


def fused_block(r, g, b, n, p):
    for i in range(n):
        x0, x1, x2 = min(max(r[i], _ZERO), _ONE), min(max(g[i], _ZERO), _ONE), min(max(b[i], _ZERO), _ONE)
        y0, y1, y2 = p[0] * x0, p[0] * x1, p[0] * x2
        for k in range(1, SEGMENTS):
            knot = np.float32(k) * _STEP
            y0 += p[k] * max(x0 - knot, _ZERO)
            y1 += p[k] * max(x1 - knot, _ZERO)
            y2 += p[k] * max(x2 - knot, _ZERO)
        r[i], g[i], b[i] = y0, y1, y2


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Tone curve -> darktable rgbcurve linked RGB (approximate: spline rounds the kinks) / crs:ToneCurvePV2012.
def to_darktable(params) -> EditorMapping:
    xs, ys = curve_math.knots(params["slopes"])
    return EditorMapping(ops=(("curve", [knot_nodes(xs, ys)], True, 0),), exact=False,
                         note="piecewise-linear curve as a monotone spline through 17 nodes")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    xs, ys = curve_math.knots(params["slopes"])
    return EditorMapping(settings={"_master": lambda v: np.interp(np.clip(v, 0, 1), xs, ys)}, exact=False,
                         note="curve as 17 integer points of the master point curve")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Tone curve", params=PARAMS, n_raw=SEGMENTS,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=fused_params, block=fused_block, separable=True, fma=True),
)
