"""What a worker process is allowed: threads, memory, its parent's lifetime (applied by engine.pool).

Exports: child_thread_limits, keep_freed_memory, cap_memory, die_with_parent, parse_size.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import re
import resource
import signal

#: Thread-count variables a worker must see when its Python starts: OpenBLAS (NumPy's matrix products, the learned
#: agent) reads them when NumPy is imported, which happens while the worker unpickles its arguments.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def child_thread_limits(threads: int | None):
    """While a worker is spawned (it copies this process's environment), set the THREAD_VARS the user has not set:
    LibRaw's OpenMP and numba get `threads`, BLAS gets one. The agent's matrix products are small: more BLAS threads
    cost CPU for no gain (idle threads spin into the other stages' time), and with one the learned agent's floats
    do not depend on --jobs. Restores the environment afterwards; `threads` None sets nothing."""
    added = [name for name in THREAD_VARS if threads and name not in os.environ]
    for name in added:
        os.environ[name] = "1" if name in _BLAS_VARS else str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


#: glibc mallopt parameters (malloc.h) and the values a batch worker sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Let this process reuse the memory of one file's buffers for the next file (glibc only; False elsewhere).

    By default glibc serves every allocation above 32 MiB (LibRaw's buffers, the decoded and encoded images) with a
    fresh mmap and unmaps it on free, so each 12 MP file costs ~42,000 page faults and the kernel zeroing ~170 MB:
    ~0.09 CPU-s per file, 10% of the decode. With allocations up to 1 GiB kept on the heap (and not trimmed) they
    are reused instead. One arena for all threads: a thread arena's heap is at most 64 MiB, so the decode thread's
    big buffers would be mmapped whatever the threshold. Peak memory is unchanged; the process keeps its high-water
    mark until it exits, which suits batch workers (not the long-lived watch workers)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) and libc.mallopt(_M_TRIM_THRESHOLD, 2 * _KEEP_BYTES)
                    and libc.mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def cap_memory(limit: int | None) -> None:
    """RLIMIT_AS of this process to `limit` bytes (None: unchanged): a runaway decode gets MemoryError instead of
    the OOM killer picking a victim."""
    if limit:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies (PR_SET_PDEATHSIG): no orphan keeps writing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def parse_size(text: str | int | None) -> int | None:
    """'4G' / '512M' / '2GiB' / '1024' (bytes) -> bytes; None, 0, 'none', 'off' -> None (no cap)."""
    if text is None or isinstance(text, int):
        return text or None
    s = str(text).strip().lower()
    if s in ("", "0", "none", "off", "unlimited"):
        return None
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?", s)
    value = int(float(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]) if m else 0
    if value <= 0:
        raise ValueError(f"bad memory size {text!r} (use e.g. 4G, 512M)")
    return value
