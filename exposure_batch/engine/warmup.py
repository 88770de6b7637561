"""First run on a machine: compile the render kernels before the workers start, in helper processes started here
(the engine is where processes start: WorkerPool's workers and these helpers).

Exports: prepare_kernels.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing as mp
import os
import time
from typing import Callable, Sequence

from ..render import kernels
from ..render.renderer import KERNEL_JOBS, compile_job, idle_cores


def prepare_kernels(raw_sources: bool = True, bits: Sequence[int] = (8,), notify: Callable[[str], None] | None = None,
                    workers: int = 2) -> float:
    """Make sure the kernels a run needs are compiled before its workers start. On a machine's first run (no
    marker, see render.kernels.compiled_marker) `notify(message)` is called once and the kernel families are
    compiled: in up to `workers` spawned helper processes in parallel when that many cores are idle (each writes
    numba's on-disk cache; the run's workers then load them), else in this process (helpers would only add their
    start-up and a second compile of the shared steps on busy cores); afterwards this returns at once.
    raw_sources: some input is a RAW (the 16-bit code path is compiled too); bits: output bit depths.
    Returns the seconds spent."""
    start = time.perf_counter()
    marker = kernels.compiled_marker() if kernels.enabled() else None
    if marker is None or os.path.exists(marker):
        return 0.0
    jobs = [j for j in KERNEL_JOBS if j != "encode16" or raw_sources]
    if notify is not None:
        notify("compiling the render kernels for this machine (first run only; cached for later runs)...")
    bits = tuple(sorted(set(int(b) for b in bits)))
    workers = min(workers, idle_cores())
    if workers <= 1:
        for job in jobs:
            compile_job(job, bits)
    else:
        ctx = mp.get_context("spawn")  # spawn, as the workers: no inherited numba or LibRaw state
        with concurrent.futures.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
            for future in [pool.submit(compile_job, job, bits) for job in jobs]:
                future.result()
    with contextlib.suppress(OSError):
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(f"compiled: {', '.join(jobs)}; bits {bits}\n")
    return time.perf_counter() - start
