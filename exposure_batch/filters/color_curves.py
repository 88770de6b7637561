"""Colour curves: one monotone piecewise-linear curve (8 segments) per channel, gentle slopes in [0.9, 1.1].

Space: linear working RGB in [0, 1] -> same; clips to [0, 1]. Paper: filter 7 (C), t_ci = 1 + 0.1 tanh(f_ci).
darktable: rgbcurve independent channels (approximate) · Adobe: crs:ToneCurvePV2012Red/Green/Blue (approximate).
"""
from __future__ import annotations

import numpy as np

from . import curve_math
from .base import EditorMapping, FilterSpec, FusedKernel, Param, tanh_range_np, tanh_range_tf
from .curve_math import knot_nodes

NAME = "color_curves"
VERSION = 1
SEGMENTS = 8
LOW, HIGH = 0.9, 1.1
CHANNELS = ("red", "green", "blue")
PARAMS = tuple(
    Param(c, LOW, HIGH, 1.0, "", f"relative slope of each of 8 equal input segments of the {c} curve", SEGMENTS)
    for c in CHANNELS
)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return tanh_range_np(raw, LOW, HIGH)


def map_raw_tf(raw):
    return tanh_range_tf(raw, LOW, HIGH)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 24) = R, G, B slopes -> (B, H, W, 3) in [0, 1]."""
    import tensorflow as tf  # noqa: PLC0415

    return curve_math.apply_curve_tf(rgb_lin, tf.reshape(params, (-1, 3, SEGMENTS)))


def prepare(values):
    return [curve_math.knots(values[c]) for c in CHANNELS]


def apply_np(rgb_lin: np.ndarray, prepared) -> np.ndarray:
    """(..., 3) float32 linear -> same, in [0, 1]."""
    for c, (xs, ys) in enumerate(prepared):
        rgb_lin[..., c] = curve_math.apply_curve_np(rgb_lin[..., c], xs, ys)
    return rgb_lin


def describe(values) -> str:
    mids = [np.interp(0.5, *curve_math.knots(values[c])) for c in CHANNELS]
    return "Colour curves mid R {:.2f} G {:.2f} B {:.2f}".format(*mids)


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
_ZERO, _ONE, _STEP = np.float32(0.0), np.float32(1.0), np.float32(1.0 / SEGMENTS)


def fused_params(prepared) -> np.ndarray:
    """Per channel (xs, ys) knots -> hinge weights [R (8), G (8), B (8)]: f_c(x) = sum_k w_ck max(x - k/8, 0)."""
    return np.concatenate([np.diff(np.diff(ys) / np.diff(xs), prepend=0.0) for xs, ys in prepared]).astype(np.float32)


def fused_block(r, g, b, n, p):
    for i in range(n):
        x0, x1, x2 = min(max(r[i], _ZERO), _ONE), min(max(g[i], _ZERO), _ONE), min(max(b[i], _ZERO), _ONE)
        y0 = y1 = y2 = _ZERO
        for k in range(SEGMENTS):
            knot = np.float32(k) * _STEP
            y0 += p[k] * max(x0 - knot, _ZERO)
            y1 += p[SEGMENTS + k] * max(x1 - knot, _ZERO)
            y2 += p[2 * SEGMENTS + k] * max(x2 - knot, _ZERO)
        r[i], g[i], b[i] = y0, y1, y2


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Colour curves -> darktable rgbcurve independent channels (approximate) / crs:ToneCurvePV2012Red/Green/Blue.
def to_darktable(params) -> EditorMapping:
    curves = [knot_nodes(*curve_math.knots(params[c])) for c in CHANNELS]
    return EditorMapping(ops=(("curve", curves, False, 0),), exact=False,
                         note="piecewise-linear curves as monotone splines through 17 nodes")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    knots = [curve_math.knots(params[c]) for c in CHANNELS]
    fns = tuple((lambda v, k=k: np.interp(np.clip(v, 0, 1), *k)) for k in knots)
    return EditorMapping(settings={"_rgb": fns}, exact=False, note="per-channel curves as Red/Green/Blue point curves")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Colour curves", params=PARAMS, n_raw=3 * SEGMENTS,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=fused_params, block=fused_block, separable=True, fma=True),
)
