"""A whole list of files through the pool (`exposure-batch process`, every --jobs).

Exports: run_batch, run_tasks.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..pipeline.options import OutputOptions
from ..pipeline.result import Result
from ..sources import SourceSpec
from .pool import Outcome, WorkerPool
from .scheduler import RetryPolicy, Scheduler
from .stream import DEFAULT_MAX_BATCH, DEFAULT_PREFETCH


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
    if not jobs:
        return []
    results: dict[int, Result] = {}

    def settle(i: int, o: Outcome) -> None:
        results[i] = o.result or Result.failed(jobs[i][0], o.failure, o.seconds)
        if on_result:
            on_result(results[i])

    pool = WorkerPool(min(workers, len(jobs)), spec, timeout=timeout, memory_limit=memory_limit,
                      prefetch=prefetch, max_batch=max_batch, threads=threads, keep_memory=True, task_ref=task_ref,
                      on_start=(lambda i: on_start(jobs[i][0])) if on_start else None)
    try:
        run_tasks(pool, [(*job, opts) for job in jobs], settle)
    finally:
        pool.close()
    return [results[i] for i in range(len(jobs))]


def run_tasks(pool: WorkerPool, args: Sequence[tuple],
              on_outcome: Callable[[int, Outcome], None] | None = None,
              policy: RetryPolicy = RetryPolicy()) -> list[Outcome]:
    """Run task i = args[i] for every i through `pool` (task ids are the indices) with the engine's retry policy
    (scheduler.RetryPolicy: a task whose worker crashed is retried once alone in a worker, its worker-mate may have
    caused the crash, then its CRASH stands); tasks a dead worker had not started are handed out again. Returns
    each task's final Outcome in order; on_outcome(i, outcome) is called as each ends. The caller owns (and
    closes) the pool."""
    final: dict[int, Outcome] = {}
    sched = Scheduler(pool, policy)
    for i, a in enumerate(args):
        sched.add(i, a)
    while len(final) < len(args):
        sched.pump()
        for i, o in sched.poll(0.2):
            final[i] = o
            if on_outcome:
                on_outcome(i, o)
    return [final[i] for i in range(len(args))]
