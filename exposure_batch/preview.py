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

from . import fast_kernels

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


def _box_kernel(src, x0, xn, xw, y0, yn, yw, tmp, dst):  # compiled by numba (see _compiled_box_kernel)
    """src (H, W, 3) float32 -> tmp (H, OW, 3) horizontal pass -> dst (OH, OW, 3) vertical pass; float64 sums."""
    for y in range(src.shape[0]):
        for i in range(x0.shape[0]):
            r = g = b = 0.0
            for k in range(xn[i]):
                wk = xw[i, k]
                r += src[y, x0[i] + k, 0] * wk
                g += src[y, x0[i] + k, 1] * wk
                b += src[y, x0[i] + k, 2] * wk
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


@functools.lru_cache(maxsize=1)
def _compiled_box_kernel():
    return fast_kernels._numba().njit(nogil=True, cache=True, error_model="numpy")(_box_kernel)


def _resize_area_pillow(rgb_lin: np.ndarray, width: int, height: int) -> np.ndarray:
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb_lin[..., c]), mode="F").resize((width, height), Image.BOX))
        for c in range(3)
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def _resize_area(rgb_lin: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average (BOX) resize of a float32 (H, W, 3) linear image to (height, width, 3) float32 (same space)."""
    rgb_lin = np.asarray(rgb_lin, dtype=np.float32)
    if not fast_kernels.enabled() or rgb_lin.ndim != 3 or rgb_lin.shape[2] != 3:
        return _resize_area_pillow(rgb_lin, width, height)
    h, w = rgb_lin.shape[:2]
    x0, xn, xw = _box_coefficients(w, width)
    y0, yn, yw = _box_coefficients(h, height)
    tmp = np.empty((h, width, 3), np.float32)
    out = np.empty((height, width, 3), np.float32)
    _compiled_box_kernel()(rgb_lin, x0, xn, xw, y0, yn, yw, tmp, out)
    return out


def center_square(rgb_lin: np.ndarray) -> np.ndarray:
    """Centre square crop (a view) of an (H, W, 3) image; side = the short edge."""
    h, w = rgb_lin.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return rgb_lin[top : top + side, left : left + side]


def make_preview(rgb_lin: np.ndarray, size: int = PREVIEW_SIZE) -> np.ndarray:
    """(H, W, 3) float32 linear ProPhoto -> (size, size, 3) float32 linear ProPhoto agent input."""
    return _resize_area(center_square(np.asarray(rgb_lin, dtype=np.float32)), size, size)


def thumbnail(rgb_lin: np.ndarray, max_side: int = 256) -> np.ndarray:
    """Whole-frame area-averaged thumbnail, (h, w, 3) float32 linear, long side <= max_side (for statistics)."""
    h, w = rgb_lin.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return np.asarray(rgb_lin, dtype=np.float32).copy()
    return _resize_area(np.asarray(rgb_lin, dtype=np.float32), max(1, round(w * scale)), max(1, round(h * scale)))
