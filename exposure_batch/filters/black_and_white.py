"""Black & white: blend towards the luminance (0.27 R + 0.67 G + 0.06 B) on all three channels.

Space: linear working RGB -> same. Paper: filter 6 (BW), p = sigmoid(f); y = (1 - p) x + p lum(x).
It is a 3x3 matrix: darktable channelmixerrgb (exact) · Adobe: crs:ConvertToGrayscale only at p = 1, else
crs:Saturation (approximate).
"""
from __future__ import annotations

import numpy as np

from ..color import LUMA_WEIGHTS
from .base import EditorMapping, FilterSpec, FusedKernel, Param, scalar_fused_params, separable_at_zero

NAME = "black_and_white"
VERSION = 1
PARAMS = (Param("amount", 0.0, 1.0, 0.0, "", "blend weight of the luminance (1 = monochrome)"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.sigmoid(raw)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) amount -> (B, H, W, 3) linear."""
    import tensorflow as tf  # noqa: PLC0415

    lum = tf.reduce_sum(rgb_lin * LUMA_WEIGHTS, axis=-1, keepdims=True)
    p = params[:, None, None, 0:1]
    return (1.0 - p) * rgb_lin + p * lum


def matrix(amount: float) -> np.ndarray:
    """The equivalent 3x3 matrix M (y = M @ x) for linear RGB column vectors."""
    return ((1.0 - amount) * np.eye(3) + amount * np.tile(LUMA_WEIGHTS.astype(np.float64), (3, 1))).astype(np.float32)


def prepare(values) -> np.float32:
    return np.float32(values["amount"])


def apply_np(rgb_lin: np.ndarray, amount: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    if amount == 0:
        return rgb_lin
    lum = rgb_lin @ LUMA_WEIGHTS
    lum *= amount
    rgb_lin *= np.float32(1.0) - amount
    rgb_lin += lum[..., None]
    return rgb_lin


def describe(values) -> str:
    return f"Black & white {values['amount'] * 100:.0f}%"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
_ONE = np.float32(1.0)
_LR, _LG, _LB = LUMA_WEIGHTS[0], LUMA_WEIGHTS[1], LUMA_WEIGHTS[2]


def fused_block(r, g, b, n, p):
    amount = p[0]
    keep = _ONE - amount
    for i in range(n):
        lum = (r[i] * _LR + g[i] * _LG + b[i] * _LB) * amount
        r[i] = r[i] * keep + lum
        g[i] = g[i] * keep + lum
        b[i] = b[i] * keep + lum


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Black & white -> darktable color calibration matrix (exact) / crs:ConvertToGrayscale or Saturation (approx.).
def to_darktable(params) -> EditorMapping:
    return EditorMapping(ops=(("matrix", matrix(float(params["amount"])).astype("float64")),))


def to_adobe(params, raw: bool = False) -> EditorMapping:
    p = float(params["amount"])
    if p >= 0.999:
        return EditorMapping(settings={"ConvertToGrayscale": True}, exact=False, note="Adobe's grey mix differs")
    return EditorMapping(settings={"Saturation": -int(round(100 * p))}, exact=False, note="partial B&W as Saturation")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Black & white", params=PARAMS, n_raw=1,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=scalar_fused_params, block=fused_block, separable=separable_at_zero),
)
