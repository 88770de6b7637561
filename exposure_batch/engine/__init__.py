"""The one engine behind `process`, `watch` (and `serve`): spawned workers, each running the pipelined stages.

    engine.pool.WorkerPool   supervisor: spawn with thread limits, per-task timeout, RLIMIT_AS memory cap, crash
                             attribution (started tasks fail typed, unstarted ones come back abandoned), solo
                             retries, replacement of dead workers
    engine.stream.run_stream the loop inside each worker: decode thread -> batched agent -> render + atomic writes
    engine.batch.run_batch   a whole file list through the pool (`process`; one crash retry per file, alone)
    engine.scheduler         lanes of waiting tasks + the one RetryPolicy (run_batch, the service, the watch daemon)
    engine.warmup            first-run kernel compile in helper processes (the other place processes start)
    engine.ray               the same stages on a Ray cluster (`process --ray`)
    engine.limits            thread limits, memory cap, keep-freed-memory, die-with-parent, parse_size
    failures.Failure         typed outcome (INPUT | ENVIRONMENT | CRASH | TIMEOUT | LIMIT), set where it happens

A long-lived service submits single files and collects Outcomes asynchronously, as `watch` does:

    from exposure_batch.engine import WorkerPool
    from exposure_batch.sources import SourceSpec
    pool = WorkerPool(2, SourceSpec("learned"), timeout=600, memory_limit=4 << 30)
    pool.submit("job-1", ("in/a.dng", "out/a.jpg", OutputOptions("out")))   # False while no worker has room
    while pool.in_flight():
        for outcome in pool.poll(0.5):        # Outcome(task_id, result, failure, seconds)
            if outcome.abandoned: ...         # resubmit: its worker died because of another file
            elif outcome.failure: ...         # outcome.failure.kind decides: retry (failure.retryable) or not
            else: ...                         # outcome.result: a done or skipped pipeline.Result
    pool.close()

A planning step (e.g. grouping photos before the agent decides) runs before submit, or as a task function:
`WorkerPool(..., task_ref="package.module:function")` calls function(source, *args) in the workers and may return
a pipeline.Prepared (then rendered with args[-1], an OutputOptions) or a Result.

Exports: WorkerPool, Outcome, WorkerInitError, RetryPolicy, Scheduler, run_stream, run_batch, run_tasks, parse_size,
keep_freed_memory, child_thread_limits, DEFAULT_PREFETCH, DEFAULT_MAX_BATCH.
"""
from .batch import run_batch, run_tasks
from .limits import child_thread_limits, keep_freed_memory, parse_size
from .pool import Outcome, WorkerInitError, WorkerPool
from .scheduler import RetryPolicy, Scheduler
from .stream import DEFAULT_MAX_BATCH, DEFAULT_PREFETCH, run_stream

__all__ = ["WorkerPool", "Outcome", "WorkerInitError", "RetryPolicy", "Scheduler", "run_stream", "run_batch",
           "run_tasks", "parse_size", "keep_freed_memory", "child_thread_limits", "DEFAULT_PREFETCH", "DEFAULT_MAX_BATCH"]
