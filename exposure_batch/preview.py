"""Agent input: the 64x64 linear preview, made the way the paper does at inference (reference section 6).

Centre square crop of the full image (side = short edge), then an area-average resize to 64x64 (the paper trained
with INTER_AREA; area averaging of linear light is also what a camera's downscale would do).
Space: linear working RGB in -> linear working RGB out (no clipping, no encoding).

Exports: PREVIEW_SIZE, make_preview, thumbnail.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

PREVIEW_SIZE = 64


def _resize_area(rgb_lin: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average resize of float32 (H, W, 3) per channel with Pillow's BOX filter (exact pixel areas)."""
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb_lin[..., c]), mode="F").resize((width, height), Image.BOX))
        for c in range(3)
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


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
