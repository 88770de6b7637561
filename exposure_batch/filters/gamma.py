"""Gamma: y = max(x, 0.001)^gamma per channel (gamma < 1 brightens, > 1 darkens).

Space: linear working RGB -> same. Values below 0.001 are lifted to 0.001 first (paper), so gamma 1 is the identity
only for x >= 0.001. Paper: filter 1 (G), gamma = exp(ln 3 * tanh(f)) in [1/3, 3].
darktable: rgbcurve (approximate, sampled) · Adobe: tone curve points (approximate).
"""
from __future__ import annotations

import numpy as np

from .base import FilterSpec, Param

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
    """rgb_lin (B, H, W, 3) linear, params (B, 1) -> max(rgb, 0.001)^gamma."""
    import tensorflow as tf  # noqa: PLC0415

    return tf.pow(tf.maximum(rgb_lin, FLOOR), params[:, None, None, 0:1])


def prepare(values) -> np.float32:
    return np.float32(values["gamma"])


def apply_np(rgb_lin: np.ndarray, gamma: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    np.maximum(rgb_lin, FLOOR, out=rgb_lin)
    if gamma != 1.0:
        np.power(rgb_lin, gamma, out=rgb_lin)
    return rgb_lin


def describe(values) -> str:
    return f"Gamma {values['gamma']:.2f}"


SPEC = FilterSpec(NAME, VERSION, "Gamma", PARAMS, 1, map_raw_np, map_raw_tf, apply_tf, prepare, apply_np, describe)


# --- Fused kernel (compiled by exposure_batch.fast_kernels with numba; plain Python here) ------------------------
# fused_params(prepared) -> 1-D float32 vector; fused_block(r, g, b, n, p) applies this filter in place to the first
# n entries of the float32 channel arrays r, g, b (linear working RGB), with the same pixels as apply_np (to 1e-5).


#: Each output channel depends only on the same input channel (the same power on each channel): tabulated per 16-bit code by
#: fast_kernels.run_encode16.
fused_separable = True
#: A power per value costs more than a table lookup: a separable prefix holding gamma is tabulated over 16-bit codes.
fused_tabulate = True


def fused_params(gamma) -> np.ndarray:
    return np.array([gamma], dtype=np.float32)


#: x^e for finite float32 x > 0, bound by exposure_batch.fast_kernels to its compiled power (polynomials that LLVM
#: vectorises) before fused_block compiles: a plain `**` calls libm's powf per value, about 10x the cost of any
#: other step. Values above _BIG are clamped to it (inputs this large do not occur); NaN stays NaN.
fast_pow = None
_BIG = np.float32(1e30)


def fused_block(r, g, b, n, p):
    gamma = np.float64(p[0])
    for c in (r, g, b):
        for i in range(n):
            x = max(c[i], FLOOR)
            y = fast_pow(min(x, _BIG), gamma)
            c[i] = y if x == x else x
