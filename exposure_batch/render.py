"""Full-resolution renderer: apply a Recipe to a linear image with bounded memory.

The image is processed in bands of pixels small enough to stay in the CPU cache, on a thread pool (NumPy releases
the GIL inside its loops). Every band goes through the filters' exact NumPy ops (`FilterSpec.apply_np`) in float32,
so the result is the same as applying the ops to the whole image at once. Peak extra memory is the output array
(or none with `out=rgb_lin`) plus a few band-sized temporaries per thread.

Exports: render, prepare_steps, apply_prepared.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from .recipe import Recipe, Step

#: Pixels per band: 64K pixels x 3 x 4 bytes = 768 KiB, so a band and its temporaries stay in L2/L3 cache.
BAND_PIXELS = 1 << 16

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="render")
    return _POOL


def prepare_steps(steps: Sequence[Step]) -> list:
    """Turn validated steps into (apply_np, prepared) pairs once per image (curve knots, gains, ...)."""
    return [(s.spec.apply_np, s.spec.prepare(s.params)) for s in steps]


def apply_prepared(pixels_lin: np.ndarray, prepared: list) -> np.ndarray:
    """Apply prepared steps to a float32 (N, 3) or (H, W, 3) linear array, in place where the ops allow."""
    for apply_np, params in prepared:
        result = apply_np(pixels_lin, params)
        if result is not pixels_lin:
            pixels_lin[...] = result
    return pixels_lin


def render(
    recipe: Recipe | Sequence[Step],
    rgb_lin: np.ndarray,
    out: np.ndarray | None = None,
    *,
    band_pixels: int = BAND_PIXELS,
    threads: int | None = None,
) -> np.ndarray:
    """Apply a recipe to a full-size image.

    Args:
        recipe: a Recipe (or a sequence of Steps).
        rgb_lin: (H, W, 3) float32, linear working RGB (ProPhoto), [0, inf).
        out: optional (H, W, 3) float32 destination; pass `rgb_lin` itself to render in place (no extra copy).
        band_pixels: pixels per work unit.
        threads: worker threads (default: all cores; 1 = run in the calling thread).
    Returns:
        (H, W, 3) float32 linear working RGB (values > 1 possible unless a clipping step ran).
    """
    steps = recipe.steps if isinstance(recipe, Recipe) else tuple(recipe)
    src = np.asarray(rgb_lin)
    if src.ndim != 3 or src.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {src.shape}")
    if src.dtype != np.float32:
        src = src.astype(np.float32)
    if out is None:
        out = np.empty(src.shape, dtype=np.float32)
    elif out.shape != src.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float32 array of the image's shape")
    src_flat = src.reshape(-1, 3)
    out_flat = out.reshape(-1, 3)
    prepared = prepare_steps(steps)
    n = src_flat.shape[0]
    bounds = [(i, min(i + band_pixels, n)) for i in range(0, n, band_pixels)]

    in_place = np.shares_memory(out_flat, src_flat)

    def work(bound):
        start, stop = bound
        band = out_flat[start:stop]
        if not in_place:
            band[...] = src_flat[start:stop]
        apply_prepared(band, prepared)

    n_threads = threads or (os.cpu_count() or 1)
    if n_threads == 1 or len(bounds) == 1:
        for b in bounds:
            work(b)
    else:
        list(_pool().map(work, bounds))
    return out
