"""Fused renderer kernels (numba): every step of a recipe, and optionally the output encoding, in one pass.

A filter declares, next to its exact NumPy op, a `FusedKernel` (filters/base.py): `params(prepared) -> (k,) float32`
and `block(r, g, b, n, p)` (plain Python that numba compiles; see filters/exposure.py), with `fma=True` when fused
multiply-add cannot move its result beyond the 1e-5 contract. This module compiles
those kernels and chains them behind one opcode dispatcher (opcode = the filter's index in REGISTRY). The parallel
kernel copies BLOCK pixels at a time into three small per-channel float32 arrays that stay in L1, runs every step
on them (each step is a simple loop LLVM vectorises), then writes them back as float32 linear working RGB or
encodes them (working -> output matrix, clip, transfer curve, uint8/uint16) like `io.write.encode_to_int`.
A recipe that uses a filter without a fused kernel goes through the NumPy path instead (renderer.py decides).

Compiled code is cached on disk (numba `cache=True`: next to this file, or in the user cache when that is
read-only); the key includes a hash of the filter modules' sources, so an edited kernel never runs stale.
Set EXPOSURE_BATCH_NO_NUMBA=1 to turn the fused path off.

16-bit sources (LibRaw's linear output, value = code / 65535): a filter's FusedKernel may also declare `separable`
(True, or a function of its prepared parameters) when each output channel depends only on the same input channel.
`run_encode16` reads the codes directly (the float image is never made) and gives the codes `run_encode` gives for
their float32 values. When the recipe's longest separable prefix holds a step that is costly per pixel (FusedKernel
`tabulate`: gamma's power), that prefix runs once over all 65536 codes (a (3, 65536) table made by
the same compiled steps) and each pixel looks its codes up, then runs the remaining steps and the encoding.

Exports: ENV_DISABLE, BLOCK, enabled, pack_steps, run_render, run_encode, run_encode16, is_separable,
separable_prefix, worth_tabulating, code_table, transfer_params, warm_up, compiled_marker.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import os
import threading
from typing import Sequence

import numpy as np

from .. import color, filters
from ..color import Space
from ..io.raw import CODE_SCALE, code_values

ENV_DISABLE = "EXPOSURE_BATCH_NO_NUMBA"
#: Pixels per block: 3 x 512 x 4 bytes = 6 KiB of channel arrays per thread, well inside L1.
BLOCK = 512
#: Pixels per parallel work item (64 blocks): big enough to amortise its scratch allocation, small enough to balance.
CHUNK = 64 * BLOCK

#: numba options of every compiled function: no Python error checks (division by zero gives inf, like NumPy); no
#: fastmath, not even FMA contraction (e.g. saturation's formula cancels large terms for near-grey pixels, and only
#: the NumPy op's own rounding reproduces its result there). A filter module whose kernel has no such cancellation
#: may set FusedKernel(fma=True) to allow fused multiply-add (tone and colour curves, contrast: ~10% faster).
_JIT_OPTS = dict(nogil=True, error_model="numpy")

_LOCK = threading.Lock()
_CALL_LOCK = threading.Lock()
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


def is_separable(step) -> bool:
    """True when the step's filter declares (FusedKernel.separable) that with these parameters each output channel
    depends only on the same input channel."""
    fused = step.spec.fused
    return fused is not None and fused.is_separable(step.spec.prepare(step.params))


def separable_prefix(steps: Sequence) -> int:
    """Number of leading steps that are separable (see is_separable): they can be tabulated per channel."""
    for k, step in enumerate(steps):
        if not is_separable(step):
            return k
    return len(steps)


def pack_steps(steps: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Validated Steps -> (ops (S,) int64 opcodes, params (P,) float32, offsets (S+1,) int64), or None.

    Step s uses params[offsets[s]:offsets[s + 1]]. None when some step's filter has no fused kernel.
    """
    ops, chunks = [], []
    for step in steps:
        fused = step.spec.fused
        if fused is None:
            return None
        ops.append(filters.NAMES.index(step.spec.name))
        chunks.append(np.asarray(fused.params(step.spec.prepare(step.params)), dtype=np.float32).reshape(-1))
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([c.size for c in chunks], dtype=np.int64)
    params = np.concatenate(chunks) if chunks else np.zeros(1, dtype=np.float32)
    return np.asarray(ops, dtype=np.int64), params, offsets


# --- output encoding --------------------------------------------------------------------------------------------
def transfer_params(space: Space, linear: bool = False) -> np.ndarray:
    """(7,) float32 [power?, thr, slope, scale, exponent, offset, inclusive] for `space`'s transfer curve
    (color.TRANSFER_CURVES: y = x * slope if x < thr (x <= thr when inclusive) else scale * x^exponent - offset)."""
    if linear:
        return np.array([0, 0, 1, 1, 1, 0, 0], dtype=np.float32)
    c = color.TRANSFER_CURVES[Space(space)]
    return np.array([1, c.toe_end, c.toe_slope, c.scale, c.exponent, c.offset, c.inclusive], dtype=np.float32)


# --- compilation ------------------------------------------------------------------------------------------------
def _source_key() -> str:
    """Hash of every filter module's source: part of the on-disk cache key of the fused kernels."""
    digest = hashlib.sha256()
    for spec in filters.REGISTRY:
        path = inspect.getsourcefile(spec.apply_np)
        digest.update(spec.name.encode())
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def _chain(numba, blocks: list, idx: int):
    """Compiled `dispatch(op, r, g, b, n, p)` that runs blocks[op] (an if-chain, one link per filter)."""
    opts = _JIT_OPTS
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
_LOAD_CODES = None
_STORE = None
_ENCODE_BLOCK = None
_POW01 = None
_F32_AS_I32 = _I32_AS_F32 = _I64_AS_F64 = None  # bit casts (numba intrinsics)
_U64 = np.uint64
_SQRT2, _LN2 = np.sqrt(2.0), np.log(2.0)


@functools.lru_cache(maxsize=1)
def _kernels():
    """Compile (lazily, once per process) the dispatcher and the parallel kernels; returns (render, encode,
    encode16)."""
    global _DISPATCH, _RUN_STEPS, _LOAD_CODES, _STORE, _ENCODE_BLOCK, _POW01, _F32_AS_I32, _I32_AS_F32, _I64_AS_F64
    numba = _numba()
    jit = numba.njit(**_JIT_OPTS)
    _F32_AS_I32, _I32_AS_F32, _I64_AS_F64 = _bitcasts(numba)
    _POW01 = numba.njit(**dict(_JIT_OPTS, fastmath={"contract"}))(_pow01)  # float64 inside: FMA is harmless
    helpers = {"pow01": _POW01}  # what FusedKernel.needs may name
    blocks = []
    for spec in filters.REGISTRY:
        fused = spec.fused
        if fused is None:
            blocks.append(None)
            continue
        block = fused.block(*(helpers[name] for name in fused.needs)) if fused.needs else fused.block
        blocks.append(numba.njit(**dict(_JIT_OPTS, fastmath={"contract"}) if fused.fma else _JIT_OPTS)(block))
    _DISPATCH = _chain(numba, blocks, 0)
    _RUN_STEPS = jit(_run_steps)
    _LOAD_CODES = jit(_load_codes)
    _STORE = jit(_store)
    _ENCODE_BLOCK = jit(_encode_block)
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


def _load_codes(src, start, m, buf, table, tabulated, scale, ops, params, offsets):
    """Pixels start..start+m of src (3N,) interleaved uint16 codes into buf (3, BLOCK) as float32: looked up in
    table (3, 65536) (the separable prefix already applied) when tabulated, else converted, float32(code) * scale;
    then run the remaining steps (ops) on them."""
    r, g, b = buf[0], buf[1], buf[2]
    base = src[3 * start:3 * (start + m)]
    if tabulated:
        t0, t1, t2 = table[0], table[1], table[2]
        for i in range(_U64(m)):
            j = _U64(3) * i
            r[i] = t0[base[j]]
            g[i] = t1[base[j + _U64(1)]]
            b[i] = t2[base[j + _U64(2)]]
    else:
        for i in range(_U64(m)):
            j = _U64(3) * i
            r[i] = np.float32(base[j]) * scale
            g[i] = np.float32(base[j + _U64(1)]) * scale
            b[i] = np.float32(base[j + _U64(2)]) * scale
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


def _bitcasts(numba):
    """Intrinsics reinterpreting bits: float32 -> int32, int32 -> float32, int64 -> float64."""
    from llvmlite import ir  # noqa: PLC0415
    from numba.core import types  # noqa: PLC0415
    from numba.extending import intrinsic  # noqa: PLC0415

    def make(src, dst, llvm_dst):
        @intrinsic
        def cast(typingctx, x):
            def codegen(context, builder, signature, args):
                return builder.bitcast(args[0], llvm_dst)

            return dst(src), codegen

        return cast

    return (make(types.float32, types.int32, ir.IntType(32)), make(types.int32, types.float32, ir.FloatType()),
            make(types.int64, types.float64, ir.DoubleType()))


def _pow01(x, e):
    """x^e for finite float32 x >= 0 (normal or 0) and e > 0 with e ln x within +-700, computed in float64 as
    exp(e ln x) with polynomials so that LLVM vectorises it (libm's powf does not); the float32 result is the
    correctly rounded one almost always. Used by the output encoding (x in [0, 1]) and handed to filter kernels
    that declare FusedKernel(needs=("pow01",)) (gamma)."""
    bits = _F32_AS_I32(x)
    k = (bits >> 23) - 127
    m = np.float64(_I32_AS_F32((bits & 0x7FFFFF) | 0x3F800000))  # x = m 2^k, m in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    k = k + 1 if big else k
    t = (m - 1.0) / (m + 1.0)  # ln m = 2 atanh t, |t| <= 0.1716
    t2 = t * t
    ln_m = 2.0 * t * (1.0 + t2 * (1 / 3 + t2 * (1 / 5 + t2 * (1 / 7 + t2 * (1 / 9 + t2 * (1 / 11 + t2 / 13))))))
    y = e * (np.float64(k) * _LN2 + ln_m)  # ln(x^e) <= 0
    n = np.floor(y / _LN2 + 0.5)
    r = y - n * _LN2  # |r| <= ln2 / 2
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r / 3628800)))))))))
    scale = _I64_AS_F64((np.int64(n) + 1023) << 52)
    return np.float32(p * scale) if x > np.float32(1.2e-38) else _ZERO


def _encode_block(buf, m, dst, start, mat, use_mat, tp, maxv, lut_base, lut_step, use_lut):
    """buf (3, BLOCK) working RGB -> pixels start..start+m of dst (3N,) uint8/uint16, as io.write.encode_to_int:
    working -> output matrix, nan -> 0, clip [0, 1], transfer curve (tp, see transfer_params), * maxv + 0.5, floor.
    With use_lut the last three steps are the 8-bit table (see encode_lut), which gives the same codes.
    Simple loops, one job each, so that LLVM vectorises every one of them."""
    r, g, b = buf[0], buf[1], buf[2]
    if use_mat:
        m00, m01, m02, m10, m11, m12, m20, m21, m22 = (mat[0, 0], mat[0, 1], mat[0, 2], mat[1, 0], mat[1, 1],
                                                       mat[1, 2], mat[2, 0], mat[2, 1], mat[2, 2])
        for i in range(m):
            x0, x1, x2 = r[i], g[i], b[i]
            r[i] = x0 * m00 + x1 * m01 + x2 * m02
            g[i] = x0 * m10 + x1 * m11 + x2 * m12
            b[i] = x0 * m20 + x1 * m21 + x2 * m22
    power, thr, slope, scale, expo, offset = tp[0] != _ZERO, tp[1], tp[2], tp[3], np.float64(tp[4]), tp[5]
    inclusive = tp[6] != _ZERO
    for c in range(3 if use_lut else 0):
        row = buf[c]
        for i in range(m):
            x = row[i]
            bits = _F32_AS_I32(min(max(x, _ZERO), _ONE) if x == x else _ZERO) & 0x7FFFFFFF  # -0.0 -> 0.0
            k = bits >> LUT_SHIFT
            row[i] = np.float32(lut_base[k] + np.int32(bits >= lut_step[k]))
    for c in range(0 if use_lut else 3):
        row = buf[c]
        for i in range(m):
            x = row[i]
            x = min(max(x, _ZERO), _ONE) if x == x else _ZERO
            if power:
                low = x <= thr if inclusive else x < thr
                x = x * slope if low else scale * _POW01(x, expo) - offset
            row[i] = x * maxv + _HALF
    base = dst[3 * start:3 * (start + m)]
    for i in range(_U64(m)):
        j = _U64(3) * i
        base[j] = np.int32(r[i])
        base[j + _U64(1)] = np.int32(g[i])
        base[j + _U64(2)] = np.int32(b[i])


def _make_kernels(numba, key: str):
    """The two parallel kernels; `key` (their only closure cell) ties numba's on-disk cache to the sources."""
    prange = numba.prange
    opts = dict(_JIT_OPTS, cache=True, parallel=True)

    @numba.njit(**opts)
    def render_kernel(src, dst, ops, params, offsets):
        """src, dst: (3N,) float32 interleaved RGB (may be the same array); runs every step on every pixel."""
        assert len(key) > 0
        n = src.shape[0] // 3
        for chunk in prange((n + CHUNK - 1) // CHUNK):
            buf = np.empty((3, BLOCK), dtype=np.float32)  # one per chunk of CHUNK pixels, reused block after block
            stop = min(n, (chunk + 1) * CHUNK)
            for start in range(chunk * CHUNK, stop, BLOCK):
                m = min(BLOCK, stop - start)
                _RUN_STEPS(src, start, m, buf, ops, params, offsets)
                _STORE(dst, start, m, buf)

    @numba.njit(**opts)
    def encode_kernel(src, dst, ops, params, offsets, mat, use_mat, tp, maxv, lut_base, lut_step, use_lut):
        """src (3N,) float32 working RGB; dst (3N,) uint8/uint16; mat (3, 3) float32 working -> output."""
        assert len(key) > 0
        n = src.shape[0] // 3
        for chunk in prange((n + CHUNK - 1) // CHUNK):
            buf = np.empty((3, BLOCK), dtype=np.float32)  # one per chunk of CHUNK pixels, reused block after block
            stop = min(n, (chunk + 1) * CHUNK)
            for start in range(chunk * CHUNK, stop, BLOCK):
                m = min(BLOCK, stop - start)
                _RUN_STEPS(src, start, m, buf, ops, params, offsets)
                _ENCODE_BLOCK(buf, m, dst, start, mat, use_mat, tp, maxv, lut_base, lut_step, use_lut)

    @numba.njit(**opts)
    def encode16_kernel(src, dst, table, tabulated, scale, ops, params, offsets, mat, use_mat, tp, maxv, lut_base,
                        lut_step, use_lut):
        """src (3N,) uint16 codes; table (3, 65536) float32: the separable prefix of every code (when tabulated);
        then as encode."""
        assert len(key) > 0
        n = src.shape[0] // 3
        for chunk in prange((n + CHUNK - 1) // CHUNK):
            buf = np.empty((3, BLOCK), dtype=np.float32)
            stop = min(n, (chunk + 1) * CHUNK)
            for start in range(chunk * CHUNK, stop, BLOCK):
                m = min(BLOCK, stop - start)
                _LOAD_CODES(src, start, m, buf, table, tabulated, scale, ops, params, offsets)
                _ENCODE_BLOCK(buf, m, dst, start, mat, use_mat, tp, maxv, lut_base, lut_step, use_lut)

    return render_kernel, encode_kernel, encode16_kernel


def _serialise(numba) -> bool:
    """True when kernel calls must not overlap: numba's 'workqueue' threading layer (used when neither TBB nor
    OpenMP loads) aborts the process on concurrent parallel calls; before the first call the layer is unknown."""
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:
        return True


def _with_threads(threads: int | None, which: int, *args) -> None:
    """Run kernel `which` (0 render, 1 encode, 2 encode from 16-bit codes) with `threads` worker threads (None:
    numba's default, all cores)."""
    numba = _numba()
    with _LOCK:
        kernel = _kernels()[which]
    guard = _CALL_LOCK if _serialise(numba) else contextlib.nullcontext()
    with guard:
        if threads is None:
            kernel(*args)
            return
        before = numba.get_num_threads()
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        try:
            kernel(*args)
        finally:
            numba.set_num_threads(before)


def warm_up() -> None:
    """Compile or load the render kernel now (seconds on a machine's first run, ~1 s after) instead of on the first
    image."""
    if enabled():
        img = np.zeros((1, 3), dtype=np.float32)
        run_render(img, img, EMPTY_STEPS, 1)


def compiled_marker() -> str | None:
    """Path of the file saying this machine's kernels were compiled for the current sources: beside numba's cache
    files and named like them (*.nbi), so clearing numba's cache clears it too. None when unknown."""
    numba = _numba()
    try:
        folder = _kernels()[0]._cache._cache_path  # noqa: SLF001  (numba's cache folder for this module)
    except Exception:  # noqa: BLE001  (no numba, or a numba without this attribute: treat as not compiled)
        return None
    return os.path.join(folder, f"exposure_batch.kernels-{_source_key()}-numba{numba.__version__}.nbi")


def run_render(src_flat: np.ndarray, out_flat: np.ndarray, packed, threads: int | None = None) -> None:
    """Render (N, 3) float32 C-contiguous src_flat into out_flat (same shape; may be src_flat itself)."""
    ops, params, offsets = packed
    _with_threads(threads, 0, src_flat.reshape(-1), out_flat.reshape(-1), ops, params, offsets)


def run_encode(src_flat: np.ndarray, out_flat: np.ndarray, packed, matrix: np.ndarray | None, tparams: np.ndarray,
               threads: int | None = None, use_lut: bool = True) -> None:
    """Render (N, 3) float32 src_flat and encode into (N, 3) uint8/uint16 out_flat.

    matrix: (3, 3) working -> output linear RGB (row-vector convention of color.convert_matrix: y = M @ x),
    None for the working space itself; tparams from `transfer_params`. 8-bit output through a transfer curve uses
    the exact table of `encode_lut` (use_lut=False forces the direct evaluation; both give the same codes).
    """
    ops, params, offsets = packed
    _with_threads(threads, 1, src_flat.reshape(-1), out_flat.reshape(-1), ops, params, offsets,
                  *_encode_args(out_flat, matrix, tparams, use_lut))


def code_table(steps: Sequence) -> np.ndarray | None:
    """(3, 65536) float32: separable `steps` applied to every 16-bit code's value float32(code) * CODE_SCALE, by the
    fused kernels themselves (so a lookup gives the same float as running the steps per pixel). CODE_SCALE is
    io.raw's: the codes are LibRaw's linear 16-bit output. None when a step has no fused kernel."""

    packed = pack_steps(steps)
    if packed is None:
        return None
    pixels = np.repeat(code_values(), 3)
    if len(steps):
        run_render(pixels, pixels, packed, 1)
    return np.ascontiguousarray(pixels.reshape(-1, 3).T)


def _encode_args(out_flat: np.ndarray, matrix: np.ndarray | None, tparams: np.ndarray, use_lut: bool) -> tuple:
    maxv = np.float32(np.iinfo(out_flat.dtype).max)
    use_mat = matrix is not None
    mat = np.array(matrix if use_mat else np.eye(3), dtype=np.float32, order="C")  # a writable copy: one signature
    lut = encode_lut(tuple(float(v) for v in tparams)) if use_lut and out_flat.dtype == np.uint8 else None
    base, step = lut if lut is not None else (_NO_LUT, _NO_LUT)
    return mat, use_mat, tparams, maxv, base, step, lut is not None


def worth_tabulating(steps: Sequence) -> bool:
    """True when a step declares (FusedKernel.tabulate) that evaluating it per pixel costs more than a
    table lookup (gamma's power): only then does a separable prefix go through code_table."""
    return any(s.spec.fused is not None and s.spec.fused.tabulate for s in steps)


def run_encode16(codes_flat: np.ndarray, out_flat: np.ndarray, steps: Sequence, matrix: np.ndarray | None,
                 tparams: np.ndarray, threads: int | None = None, use_lut: bool = True,
                 tabulate: bool | None = None) -> bool:
    """Render (N, 3) uint16 linear codes (value = float32(code) * io.raw.CODE_SCALE, linear working RGB) and encode
    into (N, 3) uint8/uint16 out_flat, as `run_encode` would on the float32 values (the same codes). Returns False
    (nothing done) when a step has no fused kernel.

    The separable prefix (separable_prefix) is tabulated once over all 65536 codes (code_table) when that is
    cheaper than evaluating it per pixel (worth_tabulating; tabulate=True/False forces it); the rest runs per
    pixel on the looked-up values, or every step on the converted codes."""

    k = separable_prefix(steps)
    if tabulate is None:
        tabulate = worth_tabulating(steps[:k])
    if not tabulate:
        k = 0
    table = code_table(steps[:k]) if k else _NO_TABLE
    packed = pack_steps(steps[k:])
    if table is None or packed is None:
        return False
    ops, params, offsets = packed
    _with_threads(threads, 2, codes_flat.reshape(-1), out_flat.reshape(-1), table, k > 0, CODE_SCALE, ops, params,
                  offsets, *_encode_args(out_flat, matrix, tparams, use_lut))
    return True


_NO_TABLE = np.zeros((3, 1), dtype=np.float32)


#: 8-bit encoding by table. A clipped value's float32 bit pattern >> LUT_SHIFT picks a bucket of 2^16 consecutive
#: floats; across one bucket (a relative step of at most 2^-7) the 8-bit code of every transfer curve here rises by
#: at most 1 (the steepest relative slope, x f'(x) / f(x), stays below 1), so code = base[bucket] + (bits >=
#: step[bucket]). The table is built by running the direct kernel itself on the bucket ends and bisecting each
#: rise, so it reproduces the direct codes; tests compare every value of every rising bucket.
LUT_SHIFT = 16
_LUT_SIZE = (0x3F800000 >> LUT_SHIFT) + 1  # up to the bucket of 1.0
_NO_LUT = np.zeros(1, dtype=np.int32)
_NO_LUT.setflags(write=False)  # read-only like encode_lut's tables: the encode kernels compile one signature, not two
EMPTY_STEPS = (np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(1, np.int64))


def direct_codes(x: np.ndarray, tparams: np.ndarray) -> np.ndarray:
    """8-bit codes of float32 values x (any shape) through the direct (table-free) encode path, as int32."""
    src = np.repeat(np.asarray(x, dtype=np.float32).reshape(-1), 3)
    out = np.empty(src.shape, dtype=np.uint8)
    run_encode(src, out, EMPTY_STEPS, None, np.asarray(tparams, dtype=np.float32), use_lut=False)
    return out[::3].astype(np.int32).reshape(np.shape(x))


@functools.lru_cache(maxsize=16)
def encode_lut(tparams: tuple) -> tuple[np.ndarray, np.ndarray] | None:
    """(base, step) int32 tables of the 8-bit encoding for transfer parameters `tparams`, or None (no transfer
    curve: the linear encoding needs no table; or a curve too steep for one rise per bucket)."""
    tp = np.asarray(tparams, dtype=np.float32)
    if tp[0] == 0:
        return None
    first = (np.arange(_LUT_SIZE, dtype=np.int64) << LUT_SHIFT).astype(np.int32)
    last = np.minimum(first.astype(np.int64) | ((1 << LUT_SHIFT) - 1), 0x3F800000).astype(np.int32)
    q0, q1 = direct_codes(first.view(np.float32), tp), direct_codes(last.view(np.float32), tp)
    rise = q1 - q0
    if np.any((rise < 0) | (rise > 1)):
        return None
    idx = np.nonzero(rise)[0]
    lo, hi = first[idx].astype(np.int64), last[idx].astype(np.int64)  # code(lo) = q0, code(hi) = q0 + 1
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        up = direct_codes(mid.astype(np.int32).view(np.float32), tp) > q0[idx]
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    step = np.full(_LUT_SIZE, np.iinfo(np.int32).max, dtype=np.int32)
    step[idx] = hi
    for table in (q0, step):  # shared by every caller (lru_cache)
        table.setflags(write=False)
    return q0, step

