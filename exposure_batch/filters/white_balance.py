"""White balance: per-channel gains on linear RGB, clipped highlights kept neutral.

Space: linear working RGB -> same. The agent's gains are normalised so that grey keeps its luminance
(0.27 r + 0.67 g + 0.06 b = 1); recipes written by hand may use any gains within the range.
Highlights: a pixel at or near clipping (largest channel >= HIGHLIGHT_START of white, 1.0) has lost the channel
ratios the gains would correct -- a warm cast clips white to (1, 1, 0.75), and the inverse gains would turn it
cyan/mint. Such pixels, when they are not strongly coloured (HSV saturation below HIGHLIGHT_SAT_END), are blended
towards neutral grey of their balanced luminance, fully from HIGHLIGHT_FULL on, in proportion to how far the gains
move colours (fully from HIGHLIGHT_GAIN_FULL stops between the largest and smallest gain): like darktable's
highlight reconstruction ("clip highlights", which makes clipped raw pixels white after its white balance).
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
    """rgb_lin (B, H, W, 3) linear, params (B, 3) gains -> rgb * gains, near-clipped pale pixels towards neutral
    (as apply_np)."""
    import tensorflow as tf  # noqa: PLC0415

    gains = params[:, None, None, :]
    spread = tf.math.log(tf.reduce_max(params, axis=-1) / tf.reduce_min(params, axis=-1)) / math.log(2.0)
    strength = tf.minimum(spread / HIGHLIGHT_GAIN_FULL, 1.0)[:, None, None]
    top = tf.reduce_max(rgb_lin, axis=-1)
    sat = (top - tf.reduce_min(rgb_lin, axis=-1)) / tf.maximum(top, 1e-6)
    w = _ramp_tf(tf, top, HIGHLIGHT_START, HIGHLIGHT_FULL) * (1.0 - _ramp_tf(tf, sat, HIGHLIGHT_SAT_START,
                                                                             HIGHLIGHT_SAT_END)) * strength
    out = rgb_lin * gains
    lum = tf.reduce_sum(out * LUMA_WEIGHTS, axis=-1, keepdims=True)
    return out + w[..., None] * (lum - out)


def _ramp_tf(tf, x, start, end):
    t = tf.clip_by_value((x - start) / (end - start), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


#: Highlight handling (see the module doc): near-clipped from HIGHLIGHT_START, fully neutral from HIGHLIGHT_FULL
#: (largest channel, linear, white = 1); pixels more saturated than HIGHLIGHT_SAT_START less so, none from
#: HIGHLIGHT_SAT_END; the whole effect in proportion to the gains' spread up to HIGHLIGHT_GAIN_FULL stops.
HIGHLIGHT_START = 0.88
HIGHLIGHT_FULL = 0.98
HIGHLIGHT_SAT_START = 0.35
HIGHLIGHT_SAT_END = 0.6
HIGHLIGHT_GAIN_FULL = 0.15


def prepare(values) -> np.ndarray:
    """-> (7,) float32: the gains, the highlight handling's strength (0 when the gains are equal) and the
    luminance weights."""
    g = np.array([values["red"], values["green"], values["blue"]], dtype=np.float64)
    spread = float(np.log2(g.max() / g.min()))
    strength = min(1.0, spread / HIGHLIGHT_GAIN_FULL)
    return np.array([*g, strength, *LUMA_WEIGHTS], dtype=np.float32)


def _ramp(x, start, end):
    """0 below start, 1 above end, smoothstep between (float32 arrays or scalars)."""
    t = np.clip((x - np.float32(start)) / np.float32(end - start), 0.0, 1.0)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def apply_np(rgb_lin: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(..., 3) float32 linear -> same, in place: gains, then near-clipped pale pixels towards neutral."""
    gains, strength = params[:3], params[3]
    if strength <= 0:
        rgb_lin *= gains
        return rgb_lin
    top = np.maximum(np.maximum(rgb_lin[..., 0], rgb_lin[..., 1]), rgb_lin[..., 2])
    low = np.minimum(np.minimum(rgb_lin[..., 0], rgb_lin[..., 1]), rgb_lin[..., 2])
    sat = (top - low) / np.maximum(top, np.float32(1e-6))
    w = (_ramp(top, HIGHLIGHT_START, HIGHLIGHT_FULL) * (np.float32(1.0) - _ramp(sat, HIGHLIGHT_SAT_START, HIGHLIGHT_SAT_END))
         * strength).astype(np.float32)
    rgb_lin *= gains
    lum = rgb_lin[..., 0] * params[4] + rgb_lin[..., 1] * params[5] + rgb_lin[..., 2] * params[6]
    for c in range(3):
        rgb_lin[..., c] += w * (lum - rgb_lin[..., c])
    return rgb_lin


def describe(values) -> str:
    return f"White balance R x{values['red']:.2f} G x{values['green']:.2f} B x{values['blue']:.2f}"


# --- Fused kernel (compiled by exposure_batch.render.kernels with numba; plain Python here, see base.FusedKernel) ---


def fused_params(prepared) -> np.ndarray:
    return np.asarray(prepared, dtype=np.float32).reshape(7)


def _is_separable(prepared) -> bool:
    """Each channel alone only when the highlight handling is off (equal gains)."""
    return float(prepared[3]) <= 0.0


_H0, _H1 = np.float32(HIGHLIGHT_START), np.float32(HIGHLIGHT_FULL - HIGHLIGHT_START)
_S0, _S1 = np.float32(HIGHLIGHT_SAT_START), np.float32(HIGHLIGHT_SAT_END - HIGHLIGHT_SAT_START)


def fused_block(r, g, b, n, p):
    gr, gg, gb, strength = p[0], p[1], p[2], p[3]
    if strength <= 0:
        for i in range(n):
            r[i] *= gr
            g[i] *= gg
            b[i] *= gb
        return
    for i in range(n):
        x, y, z = r[i], g[i], b[i]
        top = max(x, max(y, z))
        t = min(max((top - _H0) / _H1, np.float32(0.0)), np.float32(1.0))
        x, y, z = x * gr, y * gg, z * gb
        if t > 0:
            low = min(r[i], min(g[i], b[i]))
            sat = (top - low) / max(top, np.float32(1e-6))
            u = min(max((sat - _S0) / _S1, np.float32(0.0)), np.float32(1.0))
            w = t * t * (np.float32(3.0) - np.float32(2.0) * t) * (np.float32(1.0) - u * u * (np.float32(3.0) - np.float32(2.0) * u)) * strength
            lum = x * p[4] + y * p[5] + z * p[6]
            x += w * (lum - x)
            y += w * (lum - y)
            z += w * (lum - z)
        r[i], g[i], b[i] = x, y, z


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
    fused=FusedKernel(params=fused_params, block=fused_block, separable=_is_separable),
)
