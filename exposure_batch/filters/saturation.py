"""Saturation+ : blend towards an HSV-saturation-boosted copy, strongest in the midtones.

Space: linear working RGB -> same, but values are clipped to <= 1 first (as in the paper), so this step clips
highlights. Paper: filter 3 (S+), p = sigmoid(f):
  x' = min(x, 1); (h, s, v) = HSV(x'); s'' = s + (1 - s) * 0.8 * (0.5 - |v - 0.5|); y = (1 - p) x' + p RGB(h, s'', v).
RGB(h, s'', v) is computed in closed form, v - (s''/s)(v - x'), which equals the HSV round trip exactly. One
deliberate deviation: the paper's boost is discontinuous at the neutral axis (hue is undefined at s = 0, its HSV code
tints exact greys red, and a grey with float-rounding chroma of 1e-8 jumps to full boost in a random hue). Here the
added saturation fades in linearly over s < 0.05 (NEUTRAL_S), so greys stay grey, near-greys change smoothly, and
the step is continuous (and so representable by a LUT). Above s = 0.05 it is exactly the paper's formula.
darktable: no exact module (LUT mode is exact) · Adobe: crs:Saturation (approximate).
"""
from __future__ import annotations

import functools
import numpy as np

from .. import color
from .base import EditorMapping, FilterSpec, FusedKernel, Param, scalar_fused_params, separable_at_zero

NAME = "saturation"
VERSION = 1
#: HSV saturation below which the boost fades in linearly (continuity at the neutral axis).
NEUTRAL_S = 0.05
PARAMS = (Param("amount", 0.0, 1.0, 0.0, "", "blend weight of the saturation-boosted image (0 = identity below 1)"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.sigmoid(raw)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) amount -> (B, H, W, 3), clipped to <= 1."""
    import tensorflow as tf  # noqa: PLC0415

    x = tf.minimum(rgb_lin, 1.0)
    v = tf.reduce_max(x, axis=-1, keepdims=True)
    chroma = v - tf.reduce_min(x, axis=-1, keepdims=True)
    has_v = v > 0
    s = tf.where(has_v, chroma / tf.where(has_v, v, 1.0), 0.0)
    fade = tf.minimum(s * (1.0 / NEUTRAL_S), 1.0)
    s2 = s + (1.0 - s) * 0.8 * (0.5 - tf.abs(v - 0.5)) * fade
    has_chroma = chroma > 0
    ratio = s2 * v / tf.where(has_chroma, chroma, 1.0)
    full = tf.where(has_chroma, v - ratio * (v - x), x)
    p = params[:, None, None, 0:1]
    return (1.0 - p) * x + p * full


def prepare(values) -> np.float32:
    return np.float32(values["amount"])


def apply_np(rgb_lin: np.ndarray, amount: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same (clipped to <= 1); works in place on rgb_lin."""
    x = np.minimum(rgb_lin, np.float32(1.0), out=rgb_lin)
    if amount == 0:
        return x
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = np.maximum(np.maximum(r, g), b)
    chroma = v - np.minimum(np.minimum(r, g), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, chroma / v, np.float32(0.0))
        fade = np.minimum(s * np.float32(1.0 / NEUTRAL_S), np.float32(1.0))
        s2 = s + (np.float32(1.0) - s) * np.float32(0.8) * (np.float32(0.5) - np.abs(v - np.float32(0.5))) * fade
        # y = (1 - p) x + p (v - ratio (v - x)), ratio = s'' v / chroma; neutral pixels (chroma 0) stay x.
        ratio = np.where(chroma > 0, s2 * v / chroma, np.float32(1.0))
    # y = (1 - p) x + p (v - ratio (v - x)) = x + p (1 - ratio) (v - x). Written this way every term stays bounded
    # (ratio (v - x) <= s'' v), so near-grey pixels (tiny chroma, huge ratio) do not cancel catastrophically.
    weight = (amount * (np.float32(1.0) - ratio))[..., None]
    x += weight * (v[..., None] - x)
    return x


def describe(values) -> str:
    return f"Saturation +{values['amount'] * 100:.0f}%"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
_ZERO, _HALF, _ONE, _BOOST = np.float32(0.0), np.float32(0.5), np.float32(1.0), np.float32(0.8)
_INV_NEUTRAL = np.float32(1.0 / NEUTRAL_S)


def fused_block(r, g, b, n, p):
    amount = p[0]
    for i in range(n):
        x0, x1, x2 = min(r[i], _ONE), min(g[i], _ONE), min(b[i], _ONE)
        v = max(max(x0, x1), x2)
        chroma = v - min(min(x0, x1), x2)
        s = chroma / v if v > _ZERO else _ZERO
        fade = min(s * _INV_NEUTRAL, _ONE)
        s2 = s + (_ONE - s) * _BOOST * (_HALF - abs(v - _HALF)) * fade
        ratio = s2 * v / chroma if chroma > _ZERO else _ONE
        weight = amount * (_ONE - ratio)
        r[i] = x0 + weight * (v - x0)
        g[i] = x1 + weight * (v - x1)
        b[i] = x2 + weight * (v - x2)


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Saturation+ -> darktable color calibration 3x3 matrix fitted by least squares (approximate) / crs:Saturation.
@functools.lru_cache(maxsize=64)
def fitted_matrix(amount: float) -> np.ndarray:
    """Least-squares 3x3 M (linear ProPhoto, out = M @ in) closest to the filter on sRGB-gamut colours."""
    rng = np.random.default_rng(12345)
    srgb = rng.uniform(0.0, 1.0, (4096, 3)).astype(np.float32)
    x = color.convert_linear(color.srgb_decode(srgb), color.Space.SRGB, color.WORKING_SPACE)
    y = apply_np(x.copy(), prepare({"amount": amount}))
    m, *_ = np.linalg.lstsq(x.astype(np.float64), y.astype(np.float64), rcond=None)
    return m.T


def to_darktable(params) -> EditorMapping:
    m = fitted_matrix(round(float(params["amount"]), 4))
    return EditorMapping(ops=(("matrix", m),), exact=False, note="HSV midtone saturation boost as a fitted 3x3 matrix")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    return EditorMapping(settings={"Saturation": int(round(40 * float(params["amount"])))}, exact=False,
                         note="HSV saturation boost as crs:Saturation (heuristic scale)")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Saturation", params=PARAMS, n_raw=1,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=scalar_fused_params, block=fused_block, separable=separable_at_zero),
)
