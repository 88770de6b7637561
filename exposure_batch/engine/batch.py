"""A whole list of files through the pool (`exposure-batch process`, every --jobs).

Exports: run_batch.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Sequence

from ..failures import Kind
from ..pipeline import OutputOptions, Result
from .pool import WorkerPool
from .stream import DEFAULT_MAX_BATCH, DEFAULT_PREFETCH, SourceSpec


def run_batch(jobs: Sequence[tuple[str, str]], spec: SourceSpec, opts: OutputOptions, workers: int = 1,
              on_result: Callable[[Result], None] | None = None, *, on_start: Callable[[str], None] | None = None,
              timeout: float | None = None, memory_limit: int | None = None, prefetch: int = DEFAULT_PREFETCH,
              max_batch: int = DEFAULT_MAX_BATCH, threads: int | None = None, task_ref: str | None = None
              ) -> list[Result]:
    """Process (input_path, output_path) pairs in `workers` spawned processes; return Results in input order.

    A file whose worker crashed is retried once alone in a fresh worker, then fails (CRASH); a file past `timeout`
    seconds fails (TIMEOUT); files a dead worker had not started are handed out again. on_result gets each Result
    as it finishes, on_start each input path as its decode starts. threads: per worker (default cores // workers);
    task_ref: another task for the workers (WorkerPool), called with (input_path, output_path, opts).
    Raises WorkerInitError (an ExposureBatchError) when workers cannot build the recipe source.
    """
    jobs = [(str(p), str(o)) for p, o in jobs]
    results: dict[int, Result] = {}
    pending, solo, crashed = deque(range(len(jobs))), deque(), set()
    if not jobs:
        return []
    pool = WorkerPool(min(workers, len(jobs)), spec, timeout=timeout, memory_limit=memory_limit,
                      prefetch=prefetch, max_batch=max_batch, threads=threads, keep_memory=True, task_ref=task_ref,
                      on_start=(lambda i: on_start(jobs[i][0])) if on_start else None)
    try:
        while len(results) < len(jobs):
            while solo and pool.submit(solo[0], (*jobs[solo[0]], opts), solo=True):
                solo.popleft()
            while pending and not solo and pool.submit(pending[0], (*jobs[pending[0]], opts)):
                pending.popleft()  # (while a retry waits for an idle worker, the others drain)
            for o in pool.poll(0.2):
                i = o.task_id
                if o.abandoned:
                    pending.appendleft(i)
                elif o.result is None and o.failure.kind is Kind.CRASH and i not in crashed:
                    crashed.add(i)
                    solo.append(i)
                else:
                    results[i] = o.result or Result.failed(jobs[i][0], o.failure, o.seconds)
                    if on_result:
                        on_result(results[i])
    finally:
        pool.close()
    return [results[i] for i in range(len(jobs))]

