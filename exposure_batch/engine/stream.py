"""The in-worker loop: decode of the next file overlaps the batched agent call and the render/write of earlier ones.

    decode thread:  task(source, *args) -> Prepared | Result  (default: pipeline.prepare_stage)  --queue-->
    this thread:    decide_prepared on every Prepared waiting (one batched agent call) -> finish_stage (render,
                    encode, atomic writes); Results pass straight through

LibRaw, NumPy and the encoders release the GIL, so the two threads overlap on real cores. A semaphore admits a task
to the decode thread only while fewer than `prefetch + 2` tasks are between its start and its emitted Result, so
at most that many full-size images live in the process whatever the batch size.

Exports: run_stream, take_batch, DEFAULT_PREFETCH, DEFAULT_MAX_BATCH.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from ..failures import classify
from ..pipeline.result import Result
from ..pipeline.stages import Prepared, decide_prepared, finish_stage, prepare_stage

log = logging.getLogger(__name__)

#: Decoded images waiting for the decide/render thread, per process (the bound on full-size images in memory).
DEFAULT_PREFETCH = 0
#: Most images one agent call sees in the local engine (the Ray path batches more: images live in its object store).
DEFAULT_MAX_BATCH = 8
_DONE = object()


def take_batch(ready: queue.Queue, max_batch: int) -> list:
    """Block for one item, then take whatever else is already waiting, up to max_batch (one agent call each)."""
    batch = [ready.get()]
    while len(batch) < max_batch:
        try:
            batch.append(ready.get_nowait())
        except queue.Empty:
            break
    return batch


def run_stream(source, next_job: Callable[[], tuple | None], emit: Callable[[object, Result], None], *,
               task: Callable = prepare_stage, prefetch: int = DEFAULT_PREFETCH, max_batch: int = DEFAULT_MAX_BATCH,
               on_start: Callable[[object], None] | None = None) -> None:
    """Run tasks until next_job() returns None.

    Args:
        source: recipe source (agent or FixedRecipe), built once for the whole stream (None if `task` needs none).
        next_job: returns (task_id, args) or None when there is no more work (may block); the default task takes
            args = (input_path, output_path, OutputOptions).
        emit: called with (task_id, Result) for every task, in completion order, from this thread.
        task: task(source, *args) -> Result, or Prepared (then args[-1] is the OutputOptions to render with).
        prefetch: decoded images allowed to wait for this thread (prefetch + 2 tasks in flight at most).
        max_batch: most images per agent call.
        on_start: called with task_id when the decode thread starts a task (crash attribution, timeouts).
    """
    ready: queue.Queue = queue.Queue()
    slots = threading.Semaphore(max(0, prefetch) + 2)

    def emit_and_free(task_id, result: Result) -> None:
        slots.release()
        emit(task_id, result)

    decoder = threading.Thread(target=_decode_loop, args=(source, task, next_job, ready, on_start, slots),
                               daemon=True, name="exposure-batch-decode")
    decoder.start()
    finished = False
    while not finished:
        batch = take_batch(ready, max_batch)
        finished = any(b is _DONE for b in batch)
        _decide_and_finish(source, [b for b in batch if b is not _DONE], emit_and_free)
    decoder.join()


def _decode_loop(source, task, next_job, ready: queue.Queue, on_start, slots) -> None:
    """Producer: run the task of each job into the queue; waits for a free slot first (backpressure)."""
    try:
        while slots.acquire() and (job := next_job()) is not None:
            task_id, args = job
            if on_start:
                on_start(task_id)
            ready.put((task_id, _run_task(task, source, args), args[-1] if args else None))
    except BaseException:  # noqa: BLE001  (never leave the consumer waiting forever)
        log.exception("decode thread stopped")
    finally:
        ready.put(_DONE)


def _run_task(task, source, args: tuple):
    start = time.perf_counter()
    try:
        return task(source, *args)
    except Exception as err:  # noqa: BLE001  (a task should not raise: report it instead of dying)
        return Result.failed(str(args[0]) if args else "", classify(err, "task"), time.perf_counter() - start)


def _decide_and_finish(source, batch: list, emit) -> None:
    """One batched agent call for the Prepared items, then render + write each; Results pass straight through."""
    waiting = [(task_id, item, opts) for task_id, item, opts in batch if isinstance(item, Prepared)]
    for task_id, item, _ in batch:
        if not isinstance(item, Prepared):
            emit(task_id, item)
    decided = decide_prepared(source, [item for _, item, _ in waiting])
    for (task_id, item, opts), recipe in zip(waiting, decided):
        result = recipe if isinstance(recipe, Result) else finish_stage(item, recipe, opts)
        item.decoded = None  # drop the full-size image before the next one is rendered
        emit(task_id, result)
