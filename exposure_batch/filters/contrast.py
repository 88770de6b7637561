"""Contrast: blend towards an S-curve on luminance, applied as a luminance ratio (keeps hue).

Space: linear working RGB -> same. Paper: filter 5 (Ct), p = tanh(f) in [-1, 1]:
  l = clip(lum(x), 0, 1); l' = 0.5 - 0.5 cos(pi l); y = (1 - p) x + p x l' / (l + 1e-6). Negative p lowers contrast.
darktable: rgbcurve with luminance-preserving mode (approximate) · Adobe: crs:Contrast2012 (approximate).
"""
from __future__ import annotations

import numpy as np

from .base import FilterSpec, Param, signed

NAME = "contrast"
VERSION = 1
LUMA = np.array([0.27, 0.67, 0.06], dtype=np.float32)
PARAMS = (Param("amount", -1.0, 1.0, 0.0, "", "blend weight of the luminance S-curve (negative lowers contrast)"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    return np.tanh(raw).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.tanh(raw)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) amount -> (B, H, W, 3) linear."""
    import tensorflow as tf  # noqa: PLC0415

    lum = tf.clip_by_value(tf.reduce_sum(rgb_lin * LUMA, axis=-1, keepdims=True), 0.0, 1.0)
    curved = 0.5 - 0.5 * tf.cos(np.float32(np.pi) * lum)
    p = params[:, None, None, 0:1]
    return (1.0 - p) * rgb_lin + p * rgb_lin * curved / (lum + 1e-6)


def prepare(values) -> np.float32:
    return np.float32(values["amount"])


def apply_np(rgb_lin: np.ndarray, amount: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    if amount == 0:
        return rgb_lin
    lum = rgb_lin @ LUMA
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


SPEC = FilterSpec(NAME, VERSION, "Contrast", PARAMS, 1, map_raw_np, map_raw_tf, apply_tf, prepare, apply_np, describe)
