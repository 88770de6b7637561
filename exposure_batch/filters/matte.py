"""Matte (black level): lifted blacks and softened whites, a straight line on sRGB-encoded axes, per channel.

y = dec(black + (white - black) * enc(clip(x, 0, 1))), enc/dec = the IEC 61966-2-1 (sRGB) transfer curve
(color.TRANSFER_CURVES), black/white = the sRGB-encoded levels that input black and white map to. black 0, white 1
is the identity on [0, 1]. This is what dragging the end points of Lightroom's point curve does (its curves act on
gamma-encoded values): the classic matte / faded look.

Space: linear working RGB -> same, in [dec(black), dec(white)] (inputs clip to [0, 1] first, like the curves).
Look-only: not one of the agent's actions (filters.AGENT_ACTIONS); studio profiles (exposure_batch.look) use it.
darktable: rgbcurve linked RGB, 20 nodes packed near black (approximate) · Adobe: the master point curve's end
points (0, 255 black) and (255, 255 white) (exact up to the 8-bit points, on sRGB axes).
"""
from __future__ import annotations

import numpy as np

from .. import color
from .base import EditorMapping, FilterSpec, FusedKernel, Param, tanh_range_np, tanh_range_tf
from .curve_math import sample_curve

NAME = "matte"
VERSION = 1
BLACK_RANGE = (0.0, 0.3)
WHITE_RANGE = (0.7, 1.0)
PARAMS = (
    Param("black", *BLACK_RANGE, 0.0, "sRGB level", "sRGB-encoded level that input black maps to (0 = identity)"),
    Param("white", *WHITE_RANGE, 1.0, "sRGB level", "sRGB-encoded level that input white maps to (1 = identity)"),
)
_SRGB = color.TRANSFER_CURVES[color.Space.SRGB]
_TOE_END, _TOE_SLOPE, _SCALE, _OFFSET = _SRGB.toe_end, _SRGB.toe_slope, _SRGB.scale, _SRGB.offset
_DECODE_TOE_END, _GAMMA = _SRGB.decode_toe_end, _SRGB.gamma
_ZERO, _ONE = np.float32(0.0), np.float32(1.0)


def map_raw_np(raw: np.ndarray) -> np.ndarray:
    """(B, 2) unbounded -> (B, 2) [black, white] within their ranges (tanh mapping, like the paper's filters)."""
    raw = np.asarray(raw, np.float32)
    return np.stack([tanh_range_np(raw[:, 0], *BLACK_RANGE), tanh_range_np(raw[:, 1], *WHITE_RANGE)], axis=-1)


def map_raw_tf(raw):
    import tensorflow as tf  # noqa: PLC0415

    return tf.stack([tanh_range_tf(raw[:, 0], *BLACK_RANGE), tanh_range_tf(raw[:, 1], *WHITE_RANGE)], axis=-1)


def apply_tf(rgb_lin, params):
    """rgb_lin (B, H, W, 3) linear, params (B, 2) [black, white] -> (B, H, W, 3) linear; differentiable in params."""
    import tensorflow as tf  # noqa: PLC0415

    x = tf.clip_by_value(rgb_lin, 0.0, 1.0)
    enc = tf.where(x <= _TOE_END, x * _TOE_SLOPE, _SCALE * tf.pow(tf.maximum(x, 1e-8), 1.0 / _GAMMA) - _OFFSET)
    black, white = params[:, None, None, 0:1], params[:, None, None, 1:2]
    u = black + (white - black) * enc
    return tf.where(u <= _DECODE_TOE_END, u / _TOE_SLOPE,
                    tf.pow(tf.maximum((u + _OFFSET) / _SCALE, 1e-8), _GAMMA))


def prepare(values) -> tuple[float, float]:
    """(black, white - black): the line's offset and slope on sRGB-encoded axes."""
    return float(values["black"]), float(values["white"]) - float(values["black"])


def curve(x: np.ndarray, black: float, span: float) -> np.ndarray:
    """The matte curve on any-shaped linear values (float64 maths) -> float32 linear."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    enc = np.where(x <= _TOE_END, x * _TOE_SLOPE, _SCALE * np.power(x, 1.0 / _GAMMA) - _OFFSET)
    u = black + span * enc
    return np.where(u <= _DECODE_TOE_END, u / _TOE_SLOPE,
                    np.power(np.maximum((u + _OFFSET) / _SCALE, 0.0), _GAMMA)).astype(np.float32)


def apply_np(rgb_lin: np.ndarray, prepared) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place (NaN stays NaN)."""
    black, span = prepared
    rgb_lin[...] = np.where(np.isnan(rgb_lin), rgb_lin, curve(rgb_lin, black, span))
    return rgb_lin


def describe(values) -> str:
    return f"Matte black {values['black']:.3f} white {values['white']:.3f}"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---
def fused_params(prepared) -> np.ndarray:
    return np.array(prepared, dtype=np.float32)


def fused_block(pow01):
    """The kernel around `pow01(x, e)` (render.kernels' vectorisable power for float32 x >= 0)."""
    inv_gamma, gamma = np.float64(1.0 / _GAMMA), np.float64(_GAMMA)

    def block(r, g, b, n, p):
        black, span = np.float64(p[0]), np.float64(p[1])
        for c in (r, g, b):
            for i in range(n):
                x = min(max(c[i], _ZERO), _ONE)
                if x <= _TOE_END:
                    enc = np.float64(x) * _TOE_SLOPE
                else:
                    enc = _SCALE * np.float64(pow01(x, inv_gamma)) - _OFFSET
                u = black + span * enc
                if u <= _DECODE_TOE_END:
                    y = np.float32(u / _TOE_SLOPE)
                else:
                    y = pow01(np.float32((u + _OFFSET) / _SCALE), gamma)
                c[i] = y if c[i] == c[i] else c[i]

    return block


# --- Editor mappings (see base.EditorMapping) -------------------------------------------------------------------
def _fn(values):
    black, span = prepare(values)
    return lambda x: curve(x, black, span)


def to_darktable(params) -> EditorMapping:
    xs, ys = sample_curve(_fn(params), 20, power=2.0)
    return EditorMapping(ops=(("curve", [(xs, ys)], True, 0),), exact=False,
                         note="matte curve sampled at 20 nodes packed near black")


def to_adobe(params, raw: bool = False) -> EditorMapping:
    """'_master': a linear -> linear function; adobe.py composes curve steps into one ToneCurvePV2012 on sRGB axes,
    where this one is the straight line from (0, 255 black) to (255, 255 white)."""
    return EditorMapping(settings={"_master": _fn(params)}, exact=False,
                         note="end points of the master point curve (8-bit integer points)")


SPEC = FilterSpec(
    name=NAME, version=VERSION, label="Matte", params=PARAMS, n_raw=2,
    map_raw_np=map_raw_np, map_raw_tf=map_raw_tf, apply_tf=apply_tf, prepare=prepare, apply_np=apply_np,
    describe=describe, to_darktable=to_darktable, to_adobe=to_adobe,
    fused=FusedKernel(params=fused_params, block=fused_block, needs=("pow01",), separable=True, tabulate=True),
)
