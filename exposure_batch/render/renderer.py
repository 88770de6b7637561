"""Full-resolution renderer: apply a Recipe to a linear image with bounded memory.

Two paths give the same pixels (within 1e-5):
* fused (default when numba is installed): `render.kernels` runs every step of the recipe on blocks of 512 pixels
  held in L1 cache, on all cores, in one read and one write of the image; `render_encoded` also folds in the
  output encoding (working -> output space, clip, transfer curve, uint8/uint16).
* NumPy (EXPOSURE_BATCH_NO_NUMBA=1, numba missing, or a filter without a fused kernel): every band of 64K pixels
  goes through the filters' exact NumPy ops (`FilterSpec.apply_np`) on a thread pool.

Peak extra memory is the output array (none with `out=rgb_lin`) plus block/band-sized temporaries per thread.

Exports: render, render_encoded, warm_up, prepare_steps, apply_prepared, fused_available; for the first-run
compile (engine.warmup.prepare_kernels): KERNEL_JOBS, compile_job, idle_cores.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from .. import color
from ..io.raw import linear_values
from ..io.write import encode_to_int
from ..recipe import Recipe, Step
from . import kernels, preview

#: Pixels per band: 64K pixels x 3 x 4 bytes = 768 KiB, so a band and its temporaries stay in L2/L3 cache.
BAND_PIXELS = 1 << 16

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="render")
    return _POOL


def fused_available() -> bool:
    """True when `render` uses the fused numba kernels (numba installed, EXPOSURE_BATCH_NO_NUMBA unset)."""
    return kernels.enabled()


def warm_up() -> None:
    """Load (or, on a machine's first run, compile) the fused kernels now rather than on the first image."""
    kernels.warm_up()


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


def _steps_of(recipe: Recipe | Sequence[Step]) -> tuple[Step, ...]:
    return recipe.steps if isinstance(recipe, Recipe) else tuple(recipe)


def _source(rgb_lin: np.ndarray) -> np.ndarray:
    """(H, W, 3) image as C-contiguous float32 (a copy only when it is not already)."""
    src = np.asarray(rgb_lin)
    if src.ndim != 3 or src.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {src.shape}")
    return np.ascontiguousarray(src, dtype=np.float32)


def _packed(steps: Sequence[Step], fused: bool | None):
    """Packed steps for the fused kernels, or None for the NumPy path. fused=True insists (RuntimeError)."""
    if fused is False or not kernels.enabled():
        if fused:
            raise RuntimeError("fused rendering needs numba (pip install numba) and EXPOSURE_BATCH_NO_NUMBA unset")
        return None
    packed = kernels.pack_steps(steps)
    if packed is None and fused:
        raise RuntimeError("a recipe step's filter has no fused kernel")
    return packed


def render(
    recipe: Recipe | Sequence[Step],
    rgb_lin: np.ndarray,
    out: np.ndarray | None = None,
    *,
    band_pixels: int = BAND_PIXELS,
    threads: int | None = None,
    fused: bool | None = None,
) -> np.ndarray:
    """Apply a recipe to a full-size image.

    Args:
        recipe: a Recipe (or a sequence of Steps).
        rgb_lin: (H, W, 3) float32, linear working RGB (ProPhoto), [0, inf).
        out: optional (H, W, 3) float32 destination; pass `rgb_lin` itself to render in place (no extra copy).
        band_pixels: pixels per work unit of the NumPy path.
        threads: worker threads (default: all cores; 1 = run in the calling thread).
        fused: None = fused kernels when available; False = NumPy ops; True = fused or RuntimeError.
    Returns:
        (H, W, 3) float32 linear working RGB (values > 1 possible unless a clipping step ran).
    """
    steps = _steps_of(recipe)
    src = _source(rgb_lin)
    if out is None:
        out = np.empty(src.shape, dtype=np.float32)
    elif out.shape != src.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float32 array of the image's shape")
    src_flat = src.reshape(-1, 3)
    out_flat = out.reshape(-1, 3)
    in_place = np.shares_memory(out_flat, src_flat)
    if not steps or src_flat.shape[0] == 0:
        if not in_place:
            out_flat[...] = src_flat
        return out
    packed = _packed(steps, fused)
    if packed is not None:
        kernels.run_render(src_flat, out_flat, packed, threads)
        return out
    _render_np(steps, src_flat, out_flat, in_place, band_pixels, threads)
    return out


def _render_np(steps, src_flat, out_flat, in_place, band_pixels, threads) -> None:
    prepared = prepare_steps(steps)
    n = src_flat.shape[0]
    bounds = [(i, min(i + band_pixels, n)) for i in range(0, n, band_pixels)]

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


def render_encoded(
    recipe: Recipe | Sequence[Step],
    rgb_lin: np.ndarray,
    space="srgb",
    *,
    linear: bool = False,
    bits: int = 8,
    threads: int | None = None,
    fused: bool | None = None,
) -> np.ndarray:
    """Render and encode for output in one pass: what `io.write.encode_to_int(render(recipe, rgb_lin), ...)` gives.

    Args:
        recipe: a Recipe (or a sequence of Steps).
        rgb_lin: (H, W, 3) linear ProPhoto RGB, not modified: float32 values, or uint16 codes meaning
            float32(code) * (1 / 65535) (LibRaw's 16-bit output, see io.raw). Codes give the same result as their
            float32 values, without making the float image (kernels.run_encode16: a separable prefix holding a
            power is tabulated over the 65536 codes).
        space: output colour space (color.Space or a short name: 'srgb', 'prophoto', 'adobergb', 'p3', 'rec2020').
        linear: keep linear values (no transfer curve).
        bits: 8 -> uint8, 16 -> uint16.
        threads, fused: as for `render`.
    Returns:
        (H, W, 3) uint8/uint16, `space`'s transfer curve applied (unless linear), values clipped to [0, 1] first.
        Codes equal the NumPy path's, or differ by 1 where a value sits on a rounding boundary.
    """

    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    sp = space if isinstance(space, color.Space) else color.space_from_name(str(space))
    steps = _steps_of(recipe)
    codes = _codes(rgb_lin)
    src = None if codes is not None else _source(rgb_lin)
    packed = _packed(steps, fused)
    if packed is None:
        if src is None:
            src = linear_values(codes)
        return encode_to_int(render(steps, src, fused=False, threads=threads), sp, linear=linear, bits=bits)
    shape = (codes if codes is not None else src).shape
    out = np.empty(shape, dtype=np.uint8 if bits == 8 else np.uint16)
    matrix = None if sp == color.WORKING_SPACE else color.convert_matrix(color.WORKING_SPACE, sp)
    tparams = kernels.transfer_params(sp, linear)
    if out.size == 0:
        return out
    if codes is not None:
        kernels.run_encode16(codes.reshape(-1, 3), out.reshape(-1, 3), steps, matrix, tparams, threads)
    else:
        kernels.run_encode(src.reshape(-1, 3), out.reshape(-1, 3), packed, matrix, tparams, threads)
    return out


def _codes(image: np.ndarray) -> np.ndarray | None:
    """A uint16 (H, W, 3) image as C-contiguous codes, or None for any other dtype."""
    arr = np.asarray(image)
    if arr.dtype != np.uint16:
        return None
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


# --- first run: compile ahead, in parallel ------------------------------------------------------------------------
#: Kernel families (one numba cache index each, so two processes never write the same index) and what a run needs.
KERNEL_JOBS = ("render", "encode", "encode16")


def compile_job(job: str, bits: tuple[int, ...]) -> str:
    """Compile (or load) one kernel family for every argument type the renderer gives it, on tiny inputs, so that
    numba writes it to its on-disk cache. Runs in a helper process (engine.warmup); returns `job`."""
    px = np.full((8, 3), 0.25, np.float32)
    tp = kernels.transfer_params(color.Space.SRGB)
    matrix = color.convert_matrix(color.WORKING_SPACE, color.Space.SRGB)
    if job == "render":
        kernels.run_render(px.copy(), px.copy(), kernels.EMPTY_STEPS, 1)
        img = np.full((4, 6, 3), 0.25, np.float32)
        for src in (img, img[:, ::-1], (img * 65535).astype(np.uint16)[:, ::-1]):  # the preview's box kernel
            preview._resize_area(src, 2, 2)
    for b in bits:
        out = np.empty((8, 3), np.uint8 if b == 8 else np.uint16)
        if job == "encode":
            kernels.run_encode(px, out, kernels.EMPTY_STEPS, matrix, tp, 1)
        elif job == "encode16":
            kernels.run_encode16((px * 65535).astype(np.uint16), out, [], matrix, tp, 1)
    return job


def idle_cores() -> int:
    """Cores nobody else is using now (CPU count minus the 1-minute load average, at least 1)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, int((os.cpu_count() or 1) - load + 0.5))
