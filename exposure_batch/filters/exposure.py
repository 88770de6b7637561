"""Exposure: a linear gain of 2^ev on every channel.

Space: linear working RGB, scene-referred -> same (values may exceed 1; nothing is clipped).
Paper: filter 0 (E), ev = 3.5 * tanh(f).  darktable: exposure (black 0) · Adobe: crs:Exposure2012 (approximate:
ACR rolls highlights off).
"""
from __future__ import annotations

import numpy as np

from .base import EditorMapping, FilterSpec, FusedKernel, Param, scalar_fused_params, signed

NAME = "exposure"
VERSION = 1
EV_RANGE = 3.5
PARAMS = (Param("ev", -EV_RANGE, EV_RANGE, 0.0, "EV", "exposure change in stops: multiplies linear RGB by 2^ev"),)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    """(B, 1) unbounded -> (B, 1) ev in [-3.5, 3.5]."""
    return (EV_RANGE * np.tanh(raw)).astype(np.float32)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return EV_RANGE * tf.tanh(raw)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 1) ev -> rgb_lin * 2^ev."""
    import tensorflow as tf  # noqa: PLC0415

    gain = tf.exp(params[:, 0] * np.float32(np.log(2.0)))
    return rgb_lin * gain[:, None, None, None]


def prepare(values) -> np.float32:
    return np.float32(2.0 ** values["ev"])


def apply_np(rgb_lin: np.ndarray, gain: np.float32) -> np.ndarray:
    """(..., 3) float32 linear -> (..., 3) float32 linear, in place."""
    rgb_lin *= gain
    return rgb_lin


def describe(values) -> str:
    return f"Exposure {signed(values['ev'])} EV"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---


def fused_block(r, g, b, n, p):
    gain = p[0]
    for i in range(n):
        r[i] *= gain
        g[i] *= gain
        b[i] *= gain


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
# Exposure -> darktable exposure module (exact) / crs:Exposure2012 (approximate: ACR rolls highlights off).
def to_darktable(params) -> EditorMapping:
    return EditorMapping(ops=(("exposure", float(params["ev"])),))


def to_adobe(params, raw: bool = False) -> EditorMapping:
    ev = max(-5.0, min(5.0, float(params["ev"])))
    return EditorMapping(settings={"Exposure2012": ev}, exact=False, note="Exposure2012 rolls highlights off softly")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Exposure", params=PARAMS, n_raw=1,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=scalar_fused_params, block=fused_block, separable=True),
)
