"""Contrast: blend towards an S-curve on luminance, applied as a luminance ratio (keeps hue).

Space: linear working RGB -> same. Paper: filter 5 (Ct), p = tanh(f) in [-1, 1]:
  l = clip(lum(x), 0, 1); l' = 0.5 - 0.5 cos(pi l); y = (1 - p) x + p x l' / (l + 1e-6). Negative p lowers contrast.
darktable: rgbcurve with luminance-preserving mode (approximate) · Adobe: crs:Contrast2012 (approximate).
"""
from __future__ import annotations

import numpy as np

from ..color import LUMA_WEIGHTS
from .base import EditorMapping, FilterSpec, FusedKernel, Param, scalar_fused_params, separable_at_zero, signed
from .curve_math import sample_curve

NAME = "contrast"
VERSION = 1
PARAMS = (Param("amount", -1.0, 1.0, 0.0, "", "blend weight of the luminance S-curve (negative lowers contrast)"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return np.tanh(raw).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.tanh(raw)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) amount -> (B, H, W, 3) linear."""
    import tensorflow as tf  # noqa: PLC0415

    lum = tf.clip_by_value(tf.reduce_sum(rgb_lin * LUMA_WEIGHTS, axis=-1, keepdims=True), 0.0, 1.0)
    curved = 0.5 - 0.5 * tf.cos(np.float32(np.pi) * lum)
    p = params[:, None, None, 0:1]
    return (1.0 - p) * rgb_lin + p * rgb_lin * curved / (lum + 1e-6)


def prepare(values) -> np.float32:
    return np.float32(values["amount"])


def apply_np(rgb_lin: np.ndarray, amount: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    if amount == 0:
        return rgb_lin
    lum = rgb_lin @ LUMA_WEIGHTS
    np.clip(lum, 0.0, 1.0, out=lum)
    curved = np.float32(0.5) - np.float32(0.5) * np.cos(np.float32(np.pi) * lum)
    # factor = (1 - p) + p * l' / (l + 1e-6), per pixel; y = x * factor
    factor = curved / (lum + np.float32(1e-6))
    factor *= amount
    factor += np.float32(1.0) - amount
    rgb_lin *= factor[..., None]
    return rgb_lin


def describe(values) -> str:
    return f"Contrast {signed(values['amount'] * 100, 0)}%"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
_ZERO, _HALF, _ONE, _EPS = np.float32(0.0), np.float32(0.5), np.float32(1.0), np.float32(1e-6)
_LR, _LG, _LB = LUMA_WEIGHTS[0], LUMA_WEIGHTS[1], LUMA_WEIGHTS[2]
# sin(pi u) ~ u (S1 + u^2 (S3 + u^2 (S5 + u^2 (S7 + u^2 S9)))) on |u| <= 0.5 (least squares, error 3e-9), so that
# 0.5 - 0.5 cos(pi l) = sin(pi l / 2)^2 is evaluated without cancellation near l = 0.
_S1, _S3, _S5 = np.float32(3.141592502593994), np.float32(-5.1677069664001465), np.float32(2.5500311851501465)
_S7, _S9 = np.float32(-0.5980440974235535), np.float32(0.07721816748380661)


def fused_block(r, g, b, n, p):
    amount = p[0]
    keep = _ONE - amount
    for i in range(n):
        lum = min(max(r[i] * _LR + g[i] * _LG + b[i] * _LB, _ZERO), _ONE)
        u = lum * _HALF
        u2 = u * u
        s = u * (_S1 + u2 * (_S3 + u2 * (_S5 + u2 * (_S7 + u2 * _S9))))
        factor = s * s / (lum + _EPS) * amount + keep
        r[i] *= factor
        g[i] *= factor
        b[i] *= factor


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Contrast -> darktable rgbcurve with luminance-preserving mode (approximate: darktable's luminance weights) /
# crs:Contrast2012 (approximate).
def _fn(p):
    return lambda lum: (1 - p) * lum + p * (0.5 - 0.5 * np.cos(np.pi * lum))


def to_darktable(params) -> EditorMapping:
    xs, ys = sample_curve(_fn(float(params["amount"])), 20)
    return EditorMapping(ops=(("curve", [(xs, ys)], True, 1),), exact=False,
                         note="luminance S-curve as an rgbcurve preserving darktable's luminance")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    return EditorMapping(settings={"Contrast2012": int(round(50 * float(params["amount"])))}, exact=False,
                         note="luminance S-curve as crs:Contrast2012 (heuristic scale)")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Contrast", params=PARAMS, n_raw=1,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=scalar_fused_params, block=fused_block, separable=separable_at_zero, fma=True),
)
