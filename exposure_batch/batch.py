"""Pipelined batch engine: decode of the next files overlaps agent inference and encoding of earlier ones.

Inside one process the stages of `pipeline` run as a small pipeline:

    decode thread:  prepare_stage (existing-output check, full decode, agent input)  --bounded queue-->
    main thread:    decide_prepared on every image waiting (one batched agent call)  -> finish_stage (render, write)

LibRaw, NumPy and the encoders release the GIL, so the two threads overlap on real cores. With `n_workers > 1` the
same loop runs in that many worker processes started with the *spawn* method (rawpy/LibRaw + fork + OpenMP can
deadlock); each builds its recipe source once (one model load per worker). The parent hands each worker at most a
few jobs at a time, and inside a process a semaphore admits a file to decode only while fewer than `prefetch + 2`
files are between decode start and written output (one rendering, one decoding, `prefetch` waiting), so memory
stays bounded whatever the batch size: 2 full-size images per process with the default prefetch of 0 (the next
file decodes while the current one renders). A worker that dies (segfault in LibRaw, OOM kill) is replaced; the
files it was decoding or rendering are retried once in a fresh worker and fail with a one-line reason if they crash
a worker again; its queued files are simply handed out again.

Workers keep freed memory for reuse (`keep_freed_memory`: no page faults for the next file's buffers).

Exports: SourceSpec, run_batch, run_pipeline, keep_freed_memory, child_thread_limits, DEFAULT_PREFETCH.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable, Sequence

from .errors import ExposureBatchError, ModelError
from .pipeline import (
    OutputOptions, Prepared, Result, decide_prepared, failed_result, finish_stage, make_source, prepare_stage,
)

log = logging.getLogger(__name__)

#: Decoded images waiting for the decide/render thread, per process (the bound on full-size images in memory).
DEFAULT_PREFETCH = 0
#: Most images one agent call sees in the local engine (the Ray path batches more: images live in its object store).
DEFAULT_MAX_BATCH = 8
#: Seconds between liveness checks of worker processes.
_POLL_S = 0.2
#: A file that was being decoded or rendered in this many worker crashes fails (instead of being retried).
_MAX_CRASHES = 2

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


@dataclass(frozen=True)
class SourceSpec:
    """How to build the recipe source in any process (picklable)."""

    agent: str = "classic"
    recipe_path: str | None = None
    model_path: str | None = None
    profile_path: str | None = None  # a studio profile (exposure_batch.look): its agent, then its look

    def build(self):
        return make_source(self.agent, self.recipe_path, self.model_path, self.profile_path)


# ---------------------------------------------------------------------------------------------------------------
# The per-process pipeline
# ---------------------------------------------------------------------------------------------------------------
def run_pipeline(
    source,
    opts: OutputOptions,
    next_job: Callable[[], tuple | None],
    emit: Callable[[int, Result], None],
    *,
    prefetch: int = DEFAULT_PREFETCH,
    max_batch: int = DEFAULT_MAX_BATCH,
    on_stage: Callable[[int, str], None] | None = None,
) -> None:
    """Run decode (a thread) -> batched decide -> render/write (calling thread) until next_job() returns None.

    Args:
        source: recipe source (agent or FixedRecipe), built once for the whole stream.
        next_job: returns (index, input_path, output_path), or None when there is no more work (may block).
        emit: called with (index, Result) for every job, in completion order, from the calling thread.
        prefetch: decoded images allowed to wait for the decide/render stage; at most prefetch + 2 files are in
            flight (decoding, waiting, rendering) at any time: the bound on full-size images in memory.
        max_batch: most images per agent call.
        on_stage: called with (index, 'decode' | 'render') when a job enters a stage (crash attribution).
    """
    ready: queue.Queue = queue.Queue()
    slots = threading.Semaphore(max(0, prefetch) + 2)
    stage = on_stage or (lambda i, s: None)

    def emit_and_free(index: int, result: Result) -> None:
        slots.release()
        emit(index, result)

    decoder = threading.Thread(target=_decode_loop, args=(source, opts, next_job, ready, stage, slots), daemon=True,
                               name="exposure-batch-decode")
    decoder.start()
    finished = False
    while not finished:
        batch = take_batch(ready, max_batch)
        finished = any(b is _DONE for b in batch)
        _decide_and_finish(source, opts, [b for b in batch if b is not _DONE], emit_and_free, stage)
    decoder.join()


def _decode_loop(source, opts: OutputOptions, next_job, ready: queue.Queue, stage, slots) -> None:
    """Producer: decode jobs one by one into the queue; waits for a free slot first (backpressure)."""
    try:
        while True:
            slots.acquire()
            job = next_job()
            if job is None:
                return
            index, path, out_path = job
            stage(index, "decode")
            ready.put((index, prepare_stage(source, path, out_path, opts)))
    except BaseException:  # noqa: BLE001  (never leave the consumer waiting forever)
        log.exception("decode thread stopped")
    finally:
        ready.put(_DONE)


def _decide_and_finish(source, opts: OutputOptions, batch: list, emit, stage) -> None:
    """One batched agent call for the decoded items, then render + write each; Results pass straight through."""
    waiting = []
    for index, item in batch:
        if isinstance(item, Prepared):
            waiting.append((index, item))
        else:
            emit(index, item)
    decided = decide_prepared(source, [item for _, item in waiting])
    for (index, item), recipe in zip(waiting, decided):
        if isinstance(recipe, Result):
            emit(index, recipe)
            continue
        stage(index, "render")
        result = finish_stage(item, recipe, opts)
        item.decoded = None  # drop the full-size image before the next one is rendered
        emit(index, result)


# ---------------------------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------------------------
def _worker_main(wid: int, spec: SourceSpec, opts: OutputOptions, task_q, result_conn, prefetch: int,
                 max_batch: int, omp_threads: int | None) -> None:
    """Entry point of a spawned worker: build the source once, then run the pipeline on jobs from task_q.

    Messages go back on this worker's own pipe (`result_conn`), never on a queue shared with other workers: a
    worker killed while sending (OOM killer, segfault) would leave a shared queue's write lock taken forever and
    every other worker's results stuck behind it."""
    if omp_threads:
        os.environ["OMP_NUM_THREADS"] = str(omp_threads)  # before LibRaw's OpenMP runtime starts
        os.environ.setdefault("NUMBA_NUM_THREADS", str(omp_threads))  # the renderer's threads, before numba loads
    keep_freed_memory()
    lock = threading.Lock()  # the decode thread and the main thread both send

    def send(msg: tuple) -> None:
        with lock:
            result_conn.send(msg)

    try:
        source = spec.build()
    except Exception as err:  # noqa: BLE001
        send(("fatal", wid, " ".join(str(err).split()) or type(err).__name__))
        return
    run_pipeline(
        source, opts, task_q.get, lambda i, r: send(("result", wid, i, r)),
        prefetch=prefetch, max_batch=max_batch, on_stage=lambda i, s: send((s, wid, i)),
    )


#: glibc mallopt parameters (malloc.h) and the values a batch worker sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Let this process reuse the memory of one file's buffers for the next file (glibc only; False elsewhere).

    By default glibc serves every allocation above 32 MiB (LibRaw's buffers, the decoded and encoded images) with a
    fresh mmap and unmaps it on free, so each 12 MP file costs ~42,000 page faults and the kernel zeroing ~170 MB:
    ~0.09 CPU-s per file, 10% of the decode. With allocations up to 1 GiB kept on the heap (and not trimmed) they
    are reused instead. One arena for all threads: a thread arena's heap is at most 64 MiB, so the decode thread's
    big buffers would be mmapped whatever the threshold. Peak memory is unchanged (the same buffers are live at
    once); the process just keeps its high-water mark until it exits, which suits short-lived batch workers (not
    the watch daemon)."""
    import ctypes  # noqa: PLC0415
    import platform  # noqa: PLC0415

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) and libc.mallopt(_M_TRIM_THRESHOLD, 2 * _KEEP_BYTES)
                    and libc.mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


#: Thread-count variables a worker must see when its Python starts: OpenBLAS (NumPy's matrix products, the learned
#: agent) reads them when NumPy is imported, which happens while the worker unpickles its arguments.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def child_thread_limits(threads: int | None):
    """Set the _THREAD_VARS the user has not set to `threads` while a worker is spawned (it copies this process's
    environment), then restore them. Without this each worker's OpenBLAS starts one thread per core: the agent's
    matrix products then cost twice the CPU for no gain, and the idle threads spin into the other stages' time."""
    added = [name for name in _THREAD_VARS if threads and name not in os.environ]
    for name in added:
        os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class _Worker:
    """Parent-side handle: the process, its task queue, the jobs it holds and the ones in an active stage."""

    def __init__(self, ctx, wid: int, args: tuple):
        self.wid = wid
        self.task_q = ctx.Queue()
        self.results, sender = ctx.Pipe(duplex=False)  # this worker's own result channel
        self.held: set[int] = set()
        self.active: set[int] = set()
        self.heard_from = False
        self.process = ctx.Process(target=_worker_main, args=(wid, *args[:2], self.task_q, sender, *args[2:]),
                                   daemon=True, name=f"exposure-batch-{wid}")
        with child_thread_limits(args[-1]):
            self.process.start()
        sender.close()  # only the worker writes: its death then reads as EOF here

    def receive(self) -> list[tuple]:
        """Every complete message waiting on this worker's pipe (none once it is closed or broken)."""
        out = []
        try:
            while self.results.poll(0):
                out.append(self.results.recv())
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            pass  # a worker killed mid-message: what it sent completely was kept
        return out

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.is_alive():
            try:
                self.task_q.put(None)
            except (OSError, ValueError):
                pass
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.task_q.close()
        self.task_q.cancel_join_thread()
        self.results.close()


class _ProcessEngine:
    """Hands jobs to spawned workers (a few at a time each), collects Results, replaces crashed workers."""

    def __init__(self, jobs, spec, opts, n_workers, prefetch, max_batch, on_result, on_start, omp_threads):
        self.jobs = jobs
        self.ctx = mp.get_context("spawn")
        self.args = (spec, opts, prefetch, max_batch, omp_threads)
        # Held per worker: the prefetch + 2 in flight, no more. A path queued beyond them would save the decode thread
        # a millisecond round trip, but at the end of a run it leaves one worker with a file more to do while the
        # others are idle.
        self.capacity = prefetch + 2
        self.n_workers = n_workers
        self.on_result, self.on_start = on_result, on_start
        self.pending: deque[int] = deque(range(len(jobs)))
        self.crashes: dict[int, int] = {}
        self.results: dict[int, Result] = {}
        self.workers: dict[int, _Worker] = {}
        self.next_wid = 0
        self.silent_deaths = 0

    def run(self) -> dict[int, Result]:
        try:
            for _ in range(min(self.n_workers, len(self.jobs))):
                self._spawn()
            while len(self.results) < len(self.jobs):
                self._dispatch()
                by_pipe = {w.results: w for w in self.workers.values()}
                for pipe in wait(list(by_pipe), timeout=_POLL_S):
                    for msg in by_pipe[pipe].receive():
                        self._handle(msg)
                self._reap()
        finally:
            for w in self.workers.values():
                w.stop()
        return self.results

    def _spawn(self) -> None:
        self.workers[self.next_wid] = _Worker(self.ctx, self.next_wid, self.args)
        self.next_wid += 1

    def _dispatch(self) -> None:
        for w in self.workers.values():
            while self.pending and len(w.held) < self.capacity:
                index = self.pending.popleft()
                w.held.add(index)
                w.task_q.put((index, *self.jobs[index]))

    def _handle(self, msg: tuple) -> None:
        kind, wid = msg[0], msg[1]
        w = self.workers.get(wid)
        if kind == "fatal":
            raise ModelError(f"worker could not build the recipe source: {msg[2]}")
        index = msg[2]
        if w is None:  # a worker already replaced: its finished results still count (the retry is then ignored)
            if kind == "result":
                self._finish(index, msg[3])
            return
        w.heard_from = True
        if kind == "decode":
            w.active.add(index)
            if self.on_start:
                self.on_start(self.jobs[index][0])
        elif kind == "render":
            w.active.add(index)
        elif kind == "result":
            w.held.discard(index)
            w.active.discard(index)
            self._finish(index, msg[3])

    def _finish(self, index: int, result: Result) -> None:
        if index in self.results:
            return
        self.results[index] = result
        if self.on_result:
            self.on_result(result)

    def _reap(self) -> None:
        """Replace dead workers: retry their files (those in an active stage at most _MAX_CRASHES times)."""
        for wid, w in list(self.workers.items()):
            if w.process.is_alive():
                continue
            for msg in w.receive():  # what it finished before dying still counts
                self._handle(msg)
            code = w.process.exitcode
            del self.workers[wid]
            w.stop(0)
            self.silent_deaths = 0 if w.heard_from else self.silent_deaths + 1
            if self.silent_deaths >= 3:
                raise ExposureBatchError(f"worker processes die at start-up ({_describe_exit(code)}); see stderr")
            # An active file decoded fine but is still rendering is as suspect as the one being decoded.
            retry = []
            for index in sorted(w.held):
                if index in self.results:
                    continue
                if index in w.active:
                    self.crashes[index] = self.crashes.get(index, 0) + 1
                    if self.crashes[index] >= _MAX_CRASHES:
                        path = self.jobs[index][0]
                        reason = f"worker process crashed while processing this file ({_describe_exit(code)})"
                        self._finish(index, Result(path, "failed", reason))
                        continue
                retry.append(index)
            self.pending.extendleft(reversed(retry))
            log.warning("worker %d died (%s); %d file(s) handed out again", wid, _describe_exit(code), len(retry))
            if self.pending:
                self._spawn()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        import signal  # noqa: PLC0415

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# ---------------------------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------------------------
def run_batch(
    jobs: Sequence[tuple[str, str]],
    spec: SourceSpec,
    opts: OutputOptions,
    n_workers: int = 1,
    on_result: Callable[[Result], None] | None = None,
    source=None,
    *,
    on_start: Callable[[str], None] | None = None,
    prefetch: int = DEFAULT_PREFETCH,
    max_batch: int = DEFAULT_MAX_BATCH,
    omp_threads: int | None = None,
) -> list[Result]:
    """Process (input_path, output_path) pairs through the pipelined stages; return Results in input order.

    Args:
        jobs: (input_path, output_path) pairs.
        spec: how workers build the recipe source (used when `source` is None or n_workers > 1).
        n_workers: 1 = pipeline threads in this process; N > 1 = N spawned worker processes.
        on_result: called (in this process) with each Result as it finishes.
        source: an already-built recipe source for the in-process engine.
        on_start: called with the input path when its decode starts (resumable manifests).
        prefetch: decoded full-size images allowed to wait per process (memory bound, see module doc).
        max_batch: most images per agent call.
        omp_threads: threads per worker process: OMP_NUM_THREADS (LibRaw's demosaic) and, where the user has not set
            them, OpenBLAS/MKL/numba's counts (child_thread_limits); None = cores // n_workers (at least 1) unless
            OMP_NUM_THREADS is set: N workers with a full team each would oversubscribe the cores (measured on 2
            cores, 2 workers: 7% fewer CPU seconds per file with 1 thread each).
    Raises:
        ModelError when a worker cannot build the recipe source.
    """
    jobs = [(str(p), str(o)) for p, o in jobs]
    if not jobs:
        return []
    if n_workers <= 1 or len(jobs) == 1:
        results = _run_in_process(jobs, spec, opts, on_result, source, on_start, prefetch, max_batch)
    else:
        if omp_threads is None and not os.environ.get("OMP_NUM_THREADS"):
            omp_threads = max(1, (os.cpu_count() or 1) // n_workers)
        engine = _ProcessEngine(jobs, spec, opts, n_workers, prefetch, max_batch, on_result, on_start, omp_threads)
        results = engine.run()
    return [results[i] for i in range(len(jobs))]


def _run_in_process(jobs, spec, opts, on_result, source, on_start, prefetch, max_batch) -> dict[int, Result]:
    source = source or spec.build()
    todo = iter(enumerate(jobs))
    lock = threading.Lock()
    results: dict[int, Result] = {}

    def next_job():
        with lock:
            item = next(todo, None)
        return None if item is None else (item[0], *item[1])

    def stage(index: int, name: str) -> None:
        if name == "decode" and on_start:
            on_start(jobs[index][0])

    def emit(index: int, result: Result) -> None:
        results[index] = result
        if on_result:
            on_result(result)

    run_pipeline(source, opts, next_job, emit, prefetch=prefetch, max_batch=max_batch, on_stage=stage)
    for index, (path, _) in enumerate(jobs):  # the decode thread died: never lose a job silently
        if index not in results:
            emit(index, failed_result(path, RuntimeError("pipeline stopped before this file"),
                                         time.perf_counter()))
    return results
