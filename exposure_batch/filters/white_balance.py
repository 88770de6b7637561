"""White balance: per-channel gains on linear RGB.

Space: linear working RGB -> same. The agent's gains are normalised so that grey keeps its luminance
(0.27 r + 0.67 g + 0.06 b = 1); recipes written by hand may use any gains within the range.
Paper: filter 2 (W): f_R forced to 0, s_c = exp(0.5 tanh(f_c)), s /= (1e-5 + 0.27 s_R + 0.67 s_G + 0.06 s_B).
darktable: channelmixerrgb diagonal matrix (exact) · Adobe: Temperature/Tint or Incremental* (approximate).
"""
from __future__ import annotations

import math

import numpy as np

from ..color import LUMA_WEIGHTS
from .base import EditorMapping, FilterSpec, FusedKernel, Param

NAME = "white_balance"
VERSION = 1
LOG_RANGE = 0.5
# Ranges cover everything the network mapping can reach (r 0.68-1.40, g 0.78-1.17, b 0.43-2.13) with headroom.
PARAMS = (
    Param("red", 0.4, 2.5, 1.0, "x", "gain on the red channel (linear)"),
    Param("green", 0.4, 2.5, 1.0, "x", "gain on the green channel (linear)"),
    Param("blue", 0.4, 2.5, 1.0, "x", "gain on the blue channel (linear)"),
)
_RAW_MASK = np.array([0.0, 1.0, 1.0], dtype=np.float32)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    """(B, 3) unbounded -> (B, 3) luminance-normalised gains."""
    s = np.exp(LOG_RANGE * np.tanh(raw * _RAW_MASK))
    return (s / (1e-5 + s @ LUMA_WEIGHTS)[..., None]).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    s = tf.exp(LOG_RANGE * tf.tanh(raw * _RAW_MASK))
    return s / (1e-5 + tf.reduce_sum(s * LUMA_WEIGHTS, axis=-1, keepdims=True))


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 3) gains -> rgb * gains."""
    return rgb_lin * params[:, None, None, :]


def prepare(values) -> np.ndarray:
    return np.array([values["red"], values["green"], values["blue"]], dtype=np.float32)


def apply_np(rgb_lin: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place."""
    rgb_lin *= gains
    return rgb_lin


def describe(values) -> str:
    return f"White balance R x{values['red']:.2f} G x{values['green']:.2f} B x{values['blue']:.2f}"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---


def fused_params(gains) -> np.ndarray:
    return np.asarray(gains, dtype=np.float32).reshape(3)


def fused_block(r, g, b, n, p):
    gr, gg, gb = p[0], p[1], p[2]
    for i in range(n):
        r[i] *= gr
        g[i] *= gg
        b[i] *= gb


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# White balance -> darktable color calibration diagonal matrix (exact) / Adobe temperature-tint (approximate).
def gains(params) -> np.ndarray:
    return np.array([params["red"], params["green"], params["blue"]], dtype=np.float64)


def to_darktable(params) -> EditorMapping:
    return EditorMapping(ops=(("matrix", np.diag(gains(params))),))


def to_adobe(params, raw: bool = False) -> EditorMapping:
    """Blue/red balance -> temperature, green/magenta -> tint. Heuristic scale (no published formula for
    IncrementalTemperature/Tint; Temperature/Tint go through the camera profile)."""
    r, g, b = gains(params)
    warm = math.log2(r / b)  # > 0: warmer
    green = math.log2(g / math.sqrt(r * b))  # > 0: greener
    if raw:
        temp = int(round(min(50000, max(2000, 5500 * 2 ** (warm * 0.9)))))
        tint = int(round(max(-150, min(150, -green * 60))))
        settings = {"WhiteBalance": "Custom", "Temperature": temp, "Tint": tint}
    else:
        settings = {"WhiteBalance": "Custom",
                    "IncrementalTemperature": int(round(max(-100, min(100, warm * 40)))),
                    "IncrementalTint": int(round(max(-100, min(100, -green * 40))))}
    return EditorMapping(settings=settings, exact=False,
                         note="white balance gains -> temperature/tint (heuristic scale)")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="White balance", params=PARAMS, n_raw=3,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=fused_params, block=fused_block, separable=True),
)
