"""Fused renderer kernels (numba): every step of a recipe, and optionally the output encoding, in one pass.

A filter module may define, next to its exact NumPy op, `fused_params(prepared) -> (k,) float32` and
`fused_block(r, g, b, n, p)` (plain Python that numba compiles; see filters/exposure.py). This module compiles
those kernels and chains them behind one opcode dispatcher (opcode = the filter's index in REGISTRY). The parallel
kernel copies BLOCK pixels at a time into three small per-channel float32 arrays that stay in L1, runs every step
on them (each step is a simple loop LLVM vectorises), then writes them back as float32 linear working RGB or
encodes them (working -> output matrix, clip, transfer curve, uint8/uint16) like `io.write.encode_to_int`.
A recipe that uses a filter without a fused kernel goes through the NumPy path instead (render.py decides).

Compiled code is cached on disk (numba `cache=True`: next to this file, or in the user cache when that is
read-only); the key includes a hash of the filter modules' sources, so an edited kernel never runs stale.
Set EXPOSURE_BATCH_NO_NUMBA=1 to turn the fused path off.

Exports: ENV_DISABLE, BLOCK, enabled, pack_steps, run_render, run_encode, transfer_params.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import threading
from typing import Sequence

import numpy as np

from . import filters
from .color import Space

ENV_DISABLE = "EXPOSURE_BATCH_NO_NUMBA"
#: Pixels per block: 3 x 512 x 4 bytes = 6 KiB of channel arrays per thread, well inside L1.
BLOCK = 512

_LOCK = threading.Lock()
_DISPATCH = None  # the compiled opcode dispatcher; a module global so the cached kernels can refer to it


@functools.lru_cache(maxsize=1)
def _numba():
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        return None
    return numba


def enabled() -> bool:
    """True when the fused path may run: numba imports and EXPOSURE_BATCH_NO_NUMBA is unset (or 0)."""
    if os.environ.get(ENV_DISABLE, "").strip() not in ("", "0"):
        return False
    return _numba() is not None


def _kernel_funcs(spec):
    """(fused_params, fused_block) from the filter's module, or None when it has no fused kernel."""
    module = sys.modules.get(spec.apply_np.__module__)
    fparams, fblock = getattr(module, "fused_params", None), getattr(module, "fused_block", None)
    return (fparams, fblock) if callable(fparams) and callable(fblock) else None


def pack_steps(steps: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Validated Steps -> (ops (S,) int64 opcodes, params (P,) float32, offsets (S+1,) int64), or None.

    Step s uses params[offsets[s]:offsets[s + 1]]. None when some step's filter has no fused kernel.
    """
    ops, chunks = [], []
    for step in steps:
        funcs = _kernel_funcs(step.spec)
        if funcs is None:
            return None
        ops.append(filters.NAMES.index(step.spec.name))
        chunks.append(np.asarray(funcs[0](step.spec.prepare(step.params)), dtype=np.float32).reshape(-1))
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([c.size for c in chunks], dtype=np.int64)
    params = np.concatenate(chunks) if chunks else np.zeros(1, dtype=np.float32)
    return np.asarray(ops, dtype=np.int64), params, offsets


# --- output encoding --------------------------------------------------------------------------------------------
# Each transfer curve as a linear toe + scaled power: y = x * slope if x < thr (x <= thr when inclusive) else
# scale * x^exponent - offset; the same float32 maths as color.encode (a test checks every space against it).
_TRANSFER = {
    Space.SRGB: (0.0031308, 12.92, 1.055, 1 / 2.4, 0.055, 1.0),
    Space.DISPLAY_P3: (0.0031308, 12.92, 1.055, 1 / 2.4, 0.055, 1.0),
    Space.ADOBE_RGB: (0.0, 1.0, 1.0, 1.0 / (563 / 256), 0.0, 0.0),
    Space.PROPHOTO: (1 / 512, 16.0, 1.0, 1 / 1.8, 0.0, 0.0),
    Space.REC2020: (0.018053968510807, 4.5, 1.09929682680944, 0.45,
                    float(np.float32(1.09929682680944) - np.float32(1.0)), 0.0),
}


def transfer_params(space: Space, linear: bool = False) -> np.ndarray:
    """(7,) float32 [power?, thr, slope, scale, exponent, offset, inclusive] for `space`'s transfer curve."""
    if linear:
        return np.array([0, 0, 1, 1, 1, 0, 0], dtype=np.float32)
    thr, slope, scale, exponent, offset, inclusive = _TRANSFER[Space(space)]
    return np.array([1, thr, slope, scale, exponent, offset, inclusive], dtype=np.float32)


# --- compilation ------------------------------------------------------------------------------------------------
def _source_key() -> str:
    """Hash of every filter module's source: part of the on-disk cache key of the fused kernels."""
    digest = hashlib.sha256()
    for spec in filters.REGISTRY:
        path = inspect.getsourcefile(sys.modules[spec.apply_np.__module__])
        digest.update(spec.name.encode())
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def _chain(numba, blocks: list, idx: int):
    """Compiled `dispatch(op, r, g, b, n, p)` that runs blocks[op] (an if-chain, one link per filter)."""
    opts = dict(nogil=True, error_model="numpy")
    if idx == len(blocks):
        @numba.njit(**opts)
        def tail(op, r, g, b, n, p):  # unknown opcode: pack_steps never produces one
            return None

        return tail
    rest = _chain(numba, blocks, idx + 1)
    block = blocks[idx]
    if block is None:
        return rest

    @numba.njit(**opts)
    def link(op, r, g, b, n, p):
        if op == idx:
            block(r, g, b, n, p)
        else:
            rest(op, r, g, b, n, p)

    return link


_ONE, _ZERO, _HALF = np.float32(1.0), np.float32(0.0), np.float32(0.5)
# Compiled helpers, set by _kernels() before the parallel kernels compile. They are module globals, not closure
# cells, because numba's on-disk cache key hashes closure cells and a compiled function pickles with a random id.
_RUN_STEPS = None
_STORE = None
_ENCODE_VALUE = None
_U64 = np.uint64


@functools.lru_cache(maxsize=1)
def _kernels():
    """Compile (lazily, once per process) the dispatcher and the two parallel kernels; returns (render, encode)."""
    global _DISPATCH, _RUN_STEPS, _STORE, _ENCODE_VALUE
    numba = _numba()
    jit = numba.njit(nogil=True, error_model="numpy")
    blocks = []
    for spec in filters.REGISTRY:
        funcs = _kernel_funcs(spec)
        blocks.append(jit(funcs[1]) if funcs else None)
    _DISPATCH = _chain(numba, blocks, 0)
    _RUN_STEPS = jit(_run_steps)
    _STORE = jit(_store)
    _ENCODE_VALUE = jit(_encode_value)
    return _make_kernels(numba, _source_key())


def _run_steps(src, start, m, buf, ops, params, offsets):
    """Load pixels start..start+m of src (3N,) interleaved RGB into buf (3, BLOCK) and run every step on them.

    Unsigned indices let LLVM see a plain stride-3 access and vectorise the de-interleave.
    """
    r, g, b = buf[0], buf[1], buf[2]
    base = src[3 * start:3 * (start + m)]
    for i in range(_U64(m)):
        j = _U64(3) * i
        r[i] = base[j]
        g[i] = base[j + _U64(1)]
        b[i] = base[j + _U64(2)]
    for s in range(ops.shape[0]):
        _DISPATCH(ops[s], r, g, b, m, params[offsets[s]:offsets[s + 1]])


def _store(dst, start, m, buf):
    """Write buf (3, BLOCK) back as pixels start..start+m of dst (3N,) interleaved float32 RGB."""
    r, g, b = buf[0], buf[1], buf[2]
    base = dst[3 * start:3 * (start + m)]
    for i in range(_U64(m)):
        j = _U64(3) * i
        base[j] = r[i]
        base[j + _U64(1)] = g[i]
        base[j + _U64(2)] = b[i]


def _encode_value(x, tp, maxv):
    """One linear output-space value -> quantised code (nan -> 0, clip [0, 1], transfer, * maxv + 0.5, floor)."""
    if not x == x:
        x = _ZERO
    x = min(max(x, _ZERO), _ONE)
    if tp[0] != _ZERO:
        low = x <= tp[1] if tp[6] != _ZERO else x < tp[1]
        x = x * tp[2] if low else tp[3] * x ** tp[4] - tp[5]
    return int(x * maxv + _HALF)


def _make_kernels(numba, key: str):
    """The two parallel kernels; `key` (their only closure cell) ties numba's on-disk cache to the sources."""
    prange = numba.prange
    opts = dict(nogil=True, error_model="numpy", cache=True, parallel=True)

    @numba.njit(**opts)
    def render_kernel(src, dst, ops, params, offsets):
        """src, dst: (3N,) float32 interleaved RGB (may be the same array); runs every step on every pixel."""
        assert len(key) > 0
        n = src.shape[0] // 3
        for k in prange((n + BLOCK - 1) // BLOCK):
            start = k * BLOCK
            m = min(BLOCK, n - start)
            buf = np.empty((3, BLOCK), dtype=np.float32)
            _RUN_STEPS(src, start, m, buf, ops, params, offsets)
            _STORE(dst, start, m, buf)

    @numba.njit(**opts)
    def encode_kernel(src, dst, ops, params, offsets, mat, use_mat, tp, maxv):
        """src (3N,) float32 working RGB; dst (N, 3) uint8/uint16; mat (3, 3) float32 working -> output."""
        assert len(key) > 0
        n = src.shape[0] // 3
        for k in prange((n + BLOCK - 1) // BLOCK):
            start = k * BLOCK
            m = min(BLOCK, n - start)
            buf = np.empty((3, BLOCK), dtype=np.float32)
            _RUN_STEPS(src, start, m, buf, ops, params, offsets)
            for i in range(m):
                x0, x1, x2 = buf[0, i], buf[1, i], buf[2, i]
                if use_mat:
                    y0 = x0 * mat[0, 0] + x1 * mat[0, 1] + x2 * mat[0, 2]
                    y1 = x0 * mat[1, 0] + x1 * mat[1, 1] + x2 * mat[1, 2]
                    y2 = x0 * mat[2, 0] + x1 * mat[2, 1] + x2 * mat[2, 2]
                    x0, x1, x2 = y0, y1, y2
                dst[start + i, 0] = _ENCODE_VALUE(x0, tp, maxv)
                dst[start + i, 1] = _ENCODE_VALUE(x1, tp, maxv)
                dst[start + i, 2] = _ENCODE_VALUE(x2, tp, maxv)

    return render_kernel, encode_kernel


def _with_threads(threads: int | None, fn, *args) -> None:
    numba = _numba()
    with _LOCK:
        kernels = _kernels()
    fn = kernels[fn]
    if threads is None:
        fn(*args)
        return
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        fn(*args)
    finally:
        numba.set_num_threads(before)


def run_render(src_flat: np.ndarray, out_flat: np.ndarray, packed, threads: int | None = None) -> None:
    """Render (N, 3) float32 C-contiguous src_flat into out_flat (same shape; may be src_flat itself)."""
    ops, params, offsets = packed
    _with_threads(threads, 0, src_flat.reshape(-1), out_flat.reshape(-1), ops, params, offsets)


def run_encode(src_flat: np.ndarray, out_flat: np.ndarray, packed, matrix: np.ndarray | None, tparams: np.ndarray,
               threads: int | None = None) -> None:
    """Render (N, 3) float32 src_flat and encode into (N, 3) uint8/uint16 out_flat.

    matrix: (3, 3) working -> output linear RGB (row-vector convention of color.convert_matrix: y = M @ x),
    None for the working space itself; tparams from `transfer_params`.
    """
    ops, params, offsets = packed
    maxv = np.float32(np.iinfo(out_flat.dtype).max)
    use_mat = matrix is not None
    mat = np.ascontiguousarray(matrix if use_mat else np.eye(3), dtype=np.float32)
    _with_threads(threads, 1, src_flat.reshape(-1), out_flat, ops, params, offsets, mat, use_mat, tparams, maxv)
