"""Agent input: the 64x64 linear preview, made the way the paper does at inference (reference section 6).

Centre square crop of the full image (side = short edge), then an area-average resize to 64x64 (the paper trained
with INTER_AREA; area averaging of linear light is also what a camera's downscale would do).
Space: linear working RGB in -> linear working RGB out (no clipping, no encoding).

The resize is Pillow's BOX filter (each output pixel averages the input pixels whose centres fall in its box;
horizontal pass, then vertical, float64 sums stored as float32). With numba it runs as one compiled kernel straight on
the interleaved (H, W, 3) array (about 8x faster on a 12 MP frame than three per-channel Pillow calls, which need a
contiguous copy of each channel); without numba (or with EXPOSURE_BATCH_NO_NUMBA=1) Pillow does it. Both give the same
coefficients, the same summation order and so the same values (tests/test_preview.py).

Exports: PREVIEW_SIZE, make_preview, thumbnail.
"""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from . import kernels
from ..io.raw import code_values, linear_values

PREVIEW_SIZE = 64


def _box_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's BOX resampling taps for one axis: (start (out,), count (out,), weights (out, k) float64).

    Output pixel i covers input [i, i + 1) x scale; input pixel j (centre j + 0.5) gets weight 1 when its centre lies
    in that box (half-open on the left, like Pillow's box_filter), then the taps are normalised to sum 1.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 0.5 * filter_scale
    centres = (np.arange(out_size) + 0.5) * scale
    start = np.maximum(np.trunc(centres - support + 0.5), 0).astype(np.int64)
    count = np.minimum(np.trunc(centres + support + 0.5), in_size).astype(np.int64) - start
    taps = np.arange(int(np.ceil(support)) * 2 + 1)
    arg = (taps[None, :] + start[:, None] - centres[:, None] + 0.5) * (1.0 / filter_scale)
    weights = np.where((arg > -0.5) & (arg <= 0.5) & (taps[None, :] < count[:, None]), 1.0, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return start, count, weights / np.where(total == 0.0, 1.0, total)


def _value(v, values, coded):  # compiled by numba, inlined into _box_kernel
    """float64 of a float32 value, or of values[code] for a uint16 code."""
    return np.float64(values[np.int64(v)]) if coded else np.float64(v)


def _box_kernel(src, values, coded, x0, xn, xw, y0, yn, yw, tmp, dst):  # compiled by numba (_compiled_box_kernel)
    """src (H, W, 3) float32 values, or (coded) uint16 codes whose values are values[code] (float32 table) ->
    tmp (H, OW, 3) horizontal pass -> dst (OH, OW, 3) vertical pass; float64 sums.

    The horizontal pass sums four rows at a time: twelve independent sums instead of three keep the FPU busy, and
    each output value still gets exactly Pillow's sequence of operations."""
    h = src.shape[0]
    quads = h - h % 4
    for y in range(0, quads, 4):
        for i in range(x0.shape[0]):
            r0 = g0 = b0 = r1 = g1 = b1 = r2 = g2 = b2 = r3 = g3 = b3 = 0.0
            for k in range(xn[i]):
                wk = xw[i, k]
                x = x0[i] + k
                r0 += _VALUE(src[y, x, 0], values, coded) * wk
                g0 += _VALUE(src[y, x, 1], values, coded) * wk
                b0 += _VALUE(src[y, x, 2], values, coded) * wk
                r1 += _VALUE(src[y + 1, x, 0], values, coded) * wk
                g1 += _VALUE(src[y + 1, x, 1], values, coded) * wk
                b1 += _VALUE(src[y + 1, x, 2], values, coded) * wk
                r2 += _VALUE(src[y + 2, x, 0], values, coded) * wk
                g2 += _VALUE(src[y + 2, x, 1], values, coded) * wk
                b2 += _VALUE(src[y + 2, x, 2], values, coded) * wk
                r3 += _VALUE(src[y + 3, x, 0], values, coded) * wk
                g3 += _VALUE(src[y + 3, x, 1], values, coded) * wk
                b3 += _VALUE(src[y + 3, x, 2], values, coded) * wk
            tmp[y, i, 0], tmp[y, i, 1], tmp[y, i, 2] = r0, g0, b0
            tmp[y + 1, i, 0], tmp[y + 1, i, 1], tmp[y + 1, i, 2] = r1, g1, b1
            tmp[y + 2, i, 0], tmp[y + 2, i, 1], tmp[y + 2, i, 2] = r2, g2, b2
            tmp[y + 3, i, 0], tmp[y + 3, i, 1], tmp[y + 3, i, 2] = r3, g3, b3
    for y in range(quads, h):
        for i in range(x0.shape[0]):
            r = g = b = 0.0
            for k in range(xn[i]):
                wk = xw[i, k]
                x = x0[i] + k
                r += _VALUE(src[y, x, 0], values, coded) * wk
                g += _VALUE(src[y, x, 1], values, coded) * wk
                b += _VALUE(src[y, x, 2], values, coded) * wk
            tmp[y, i, 0], tmp[y, i, 1], tmp[y, i, 2] = r, g, b
    for j in range(y0.shape[0]):
        for i in range(x0.shape[0]):
            r = g = b = 0.0
            for k in range(yn[j]):
                wk = yw[j, k]
                r += tmp[y0[j] + k, i, 0] * wk
                g += tmp[y0[j] + k, i, 1] * wk
                b += tmp[y0[j] + k, i, 2] * wk
            dst[j, i, 0], dst[j, i, 1], dst[j, i, 2] = r, g, b


_VALUE = None  # the compiled _value, a module global for the cached kernel (see kernels: no closure cells)


@functools.lru_cache(maxsize=1)
def _compiled_box_kernel():
    global _VALUE
    numba = kernels._numba()
    _VALUE = numba.njit(nogil=True, inline="always", error_model="numpy")(_value)
    return numba.njit(nogil=True, cache=True, error_model="numpy")(_box_kernel)


def _resize_area_pillow(rgb_lin: np.ndarray, width: int, height: int) -> np.ndarray:
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb_lin[..., c]), mode="F").resize((width, height), Image.BOX))
        for c in range(3)
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


_NO_VALUES = np.zeros(1, dtype=np.float32)


def _resize_area(rgb_lin: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average (BOX) resize of an (H, W, 3) linear image (float32 values or uint16 linear codes) to
    (height, width, 3) float32 values (same space)."""

    rgb_lin = np.asarray(rgb_lin)
    if not kernels.enabled() or rgb_lin.ndim != 3 or rgb_lin.shape[2] != 3:
        return _resize_area_pillow(linear_values(rgb_lin), width, height)
    coded = rgb_lin.dtype == np.uint16
    if not coded:
        rgb_lin = np.asarray(rgb_lin, dtype=np.float32)
    h, w = rgb_lin.shape[:2]
    x0, xn, xw = _box_coefficients(w, width)
    y0, yn, yw = _box_coefficients(h, height)
    tmp = np.empty((h, width, 3), np.float32)
    out = np.empty((height, width, 3), np.float32)
    values = code_values() if coded else _NO_VALUES
    _compiled_box_kernel()(rgb_lin, values, coded, x0, xn, xw, y0, yn, yw, tmp, out)
    return out


def center_square(rgb_lin: np.ndarray) -> np.ndarray:
    """Centre square crop (a view) of an (H, W, 3) image; side = the short edge."""
    h, w = rgb_lin.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return rgb_lin[top : top + side, left : left + side]


def make_preview(rgb_lin: np.ndarray, size: int = PREVIEW_SIZE) -> np.ndarray:
    """(H, W, 3) linear ProPhoto (float32 values or uint16 linear codes) -> (size, size, 3) float32 linear ProPhoto
    agent input."""
    return _resize_area(center_square(np.asarray(rgb_lin)), size, size)


def thumbnail(rgb_lin: np.ndarray, max_side: int = 256) -> np.ndarray:
    """Whole-frame area-averaged thumbnail, (h, w, 3) float32 linear, long side <= max_side (for statistics).
    rgb_lin: float32 values or uint16 linear codes."""

    rgb_lin = np.asarray(rgb_lin)
    h, w = rgb_lin.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return linear_values(rgb_lin).copy()
    return _resize_area(rgb_lin, max(1, round(w * scale)), max(1, round(h * scale)))
