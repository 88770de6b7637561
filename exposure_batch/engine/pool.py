"""One supervisor for spawned worker processes: per-file timeout, memory cap, crash attribution, replacement.

Workers are *spawned* (LibRaw + fork + OpenMP can deadlock), start with thread limits in their environment, build
their recipe source once, cap their address space (RLIMIT_AS) after that, die with their parent, then run
`stream.run_stream` on the tasks they are sent. Each worker has its own duplex pipe (a worker killed mid-send can
never block the others). The parent learns when each task starts; a worker that dies (segfault, OOM kill) or runs
a task past the timeout is killed and replaced, its started tasks get a CRASH or TIMEOUT Failure (described once,
by failures.describe_death), and the tasks it had not started come back as abandoned (not their fault).

Exports: WorkerPool, Outcome, WorkerInitError.
"""
from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable

from ..errors import SetupError
from ..failures import Failure, Kind, describe_death
from ..sources import SourceSpec
from . import limits
from .stream import DEFAULT_MAX_BATCH, DEFAULT_PREFETCH, run_stream

#: Heavy modules a worker imports before its memory cap (the cap is for per-file work).
_PRELOAD = ("exposure_batch.io", "exposure_batch.render", "exposure_batch.render.preview", "rawpy")


class WorkerInitError(SetupError):
    """A worker could not start (bad model folder, missing recipe, import error): no work can be done."""


@dataclass
class Outcome:
    """What came back for one task: its Result (failed ones carry result.failure), or a Failure of the worker
    (CRASH, TIMEOUT) with no Result, or neither: abandoned, because its worker was replaced through no fault of
    this task (run it again). seconds: from the task's start in the worker."""

    task_id: Any
    result: Any = None
    failure: Failure | None = None
    seconds: float = 0.0

    def __post_init__(self):
        if self.failure is None and self.result is not None:
            self.failure = self.result.failure

    @property
    def abandoned(self) -> bool:
        return self.result is None and self.failure is None


def _worker_main(conn, spec, task_ref, memory_limit, keep_memory, prefetch, max_batch, parent_pid) -> None:
    """Worker entry point. In: (task_id, args) or None (exit). Out: ('ready',) | ('fatal', reason) |
    ('start', task_id) | ('result', task_id, Result)."""
    limits.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when work stops
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    if keep_memory:
        limits.keep_freed_memory()
    step = "cannot load its task"
    try:
        module, _, name = (task_ref or "exposure_batch.pipeline.stages:prepare_stage").partition(":")
        task = getattr(importlib.import_module(module), name)
        for preload in _PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(preload)
        step = "cannot build the recipe source"
        source = spec.build() if spec is not None else None
        limits.cap_memory(memory_limit)
    except Exception as err:  # noqa: BLE001
        conn.send(("fatal", f"{step}: {' '.join(str(err).split()) or type(err).__name__}"))
        return
    lock = threading.Lock()  # the decode thread and this thread both send

    def send(msg: tuple) -> None:
        with lock, contextlib.suppress(OSError):
            conn.send(msg)

    def next_job():
        try:
            return conn.recv()
        except (EOFError, OSError):
            return None

    send(("ready",))
    run_stream(source, next_job, lambda t, r: send(("result", t, r)), task=task, prefetch=prefetch,
               max_batch=max_batch, on_start=lambda t: send(("start", t)))


class _Worker:
    """Parent-side handle: the process, its pipe, and the tasks it holds (task_id -> start time, None: not yet)."""

    def __init__(self, ctx, args: tuple, threads: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, *args, os.getpid()), daemon=True,
                                name="exposure-batch-worker")
        with limits.child_thread_limits(threads):  # n workers share the cores: LibRaw, OpenBLAS, numba get cores // n
            self.proc.start()
        child.close()  # only the worker holds the other end: its death reads as EOF here
        self.ready = False
        self.solo = False
        self.held: dict[Any, float | None] = {}

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class WorkerPool:
    """n spawned workers; submit(task_id, args) while can_take(); poll() returns Outcomes as tasks finish.

    Args:
        n: worker processes (started now).
        spec: SourceSpec each worker builds its recipe source from (None: the task needs none).
        timeout: seconds a task may run from its start in the worker before the worker is killed (None: no limit).
        memory_limit: RLIMIT_AS per worker in bytes (None: no cap).
        task_ref: 'module:function' called as function(source, *args) in the worker (see stream.run_stream);
            default: the pipeline's stages, args = (input_path, output_path, OutputOptions).
        prefetch, max_batch: see stream.run_stream; each worker holds at most prefetch + 2 tasks.
        threads: OpenMP/OpenBLAS/numba threads per worker where the user set none (default: cores // n).
        keep_memory: workers keep freed memory for reuse (limits.keep_freed_memory; batch runs).
        on_start: called with task_id when a worker starts a task.
    A `solo` task (a retry after a crash) runs in a worker holding nothing else, so a second crash is its own.
    """

    def __init__(self, n: int, spec: SourceSpec | None, *, timeout: float | None = None,
                 memory_limit: int | None = None, task_ref: str | None = None, prefetch: int = DEFAULT_PREFETCH,
                 max_batch: int = DEFAULT_MAX_BATCH, threads: int | None = None, keep_memory: bool = False,
                 on_start: Callable[[Any], None] | None = None):
        self.timeout, self.on_start = timeout, on_start
        self.depth = max(0, prefetch) + 2
        self._args = (spec, task_ref, memory_limit, keep_memory, prefetch, max_batch)
        self._threads = threads or max(1, (os.cpu_count() or 1) // max(1, n))
        self._ctx = mp.get_context("spawn")
        self._start_deaths = 0  # workers in a row that died before they were ready
        self._workers = [self._spawn() for _ in range(n)]

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._args, self._threads)

    # -- giving out work ------------------------------------------------------------------------------------------
    def _free(self, solo: bool, pin: int | None = None) -> list[_Worker]:
        workers = self._workers if pin is None or not self._workers else [self._workers[pin % len(self._workers)]]
        ok = [w for w in workers if w.ready and not w.solo and len(w.held) < (1 if solo else self.depth)]
        return sorted(ok, key=lambda w: len(w.held))  # emptiest first: spread work over the workers

    def can_take(self, solo: bool = False, pin: int | None = None) -> bool:
        return bool(self._free(solo, pin))

    def in_flight(self) -> int:
        return sum(len(w.held) for w in self._workers)

    def submit(self, task_id, args: tuple, solo: bool = False, pin: int | None = None) -> bool:
        """Give a task to the emptiest worker with room (solo: to an idle one, alone; pin: to worker number `pin`
        only, the same slot when a worker is replaced); False when none has."""
        free = self._free(solo, pin)
        if not free:
            return False
        w = free[0]
        w.held[task_id] = None
        w.solo = solo
        with contextlib.suppress(OSError):  # a dead worker: poll() reports it
            w.conn.send((task_id, args))
        return True

    # -- events ---------------------------------------------------------------------------------------------------
    def poll(self, timeout: float = 0.1) -> list[Outcome]:
        """Wait up to `timeout` s for results, crashes and timeouts; return them (maybe none)."""
        by_handle = {h: w for w in self._workers for h in (w.conn, w.proc.sentinel)}
        starts = [t for w in self._workers for t in w.held.values() if t is not None]
        if self.timeout and starts:
            timeout = max(0.0, min(timeout, min(starts) + self.timeout - time.monotonic()))
        outcomes: list[Outcome] = []
        for w in {id(by_handle[h]): by_handle[h] for h in wait(list(by_handle), timeout)}.values():
            outcomes += self._service(w)
        return outcomes + self._enforce_timeouts()

    def _service(self, w: _Worker) -> list[Outcome]:
        out: list[Outcome] = []
        with contextlib.suppress(EOFError, OSError, ValueError, pickle.UnpicklingError):  # killed mid-message
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready, self._start_deaths = True, 0
                elif msg[0] == "fatal":
                    raise WorkerInitError(f"worker could not start: {msg[1]}")
                elif msg[0] == "start" and msg[1] in w.held:
                    w.held[msg[1]] = time.monotonic()
                    if self.on_start:
                        self.on_start(msg[1])
                elif msg[0] == "result" and msg[1] in w.held:
                    started = w.held.pop(msg[1])
                    out.append(Outcome(msg[1], msg[2], seconds=time.monotonic() - started if started else 0.0))
                    w.solo = w.solo and bool(w.held)
        if not w.proc.is_alive():
            w.proc.join(1)
            self._start_deaths += not w.ready
            if self._start_deaths >= 3:
                raise WorkerInitError(f"worker processes die at start-up ({describe_death(w.proc.exitcode)})")
            out += self._release(w, Failure(Kind.CRASH, "worker", describe_death(w.proc.exitcode)), set(w.held))
        return out

    def _enforce_timeouts(self) -> list[Outcome]:
        if not self.timeout:
            return []
        out, now = [], time.monotonic()
        for w in list(self._workers):
            late = {t for t, s in w.held.items() if s is not None and now - s > self.timeout}
            if late:
                out += self._release(w, Failure(Kind.TIMEOUT, "worker",
                                                f"timed out after {self.timeout:g} s (worker killed)"), late)
        return out

    def _release(self, w: _Worker, failure: Failure, guilty: set) -> list[Outcome]:
        """Replace worker w: `failure` for its started tasks in `guilty`, abandoned for the others."""
        now = time.monotonic()
        out = [Outcome(t, failure=failure if t in guilty and s is not None else None,
                       seconds=now - s if s is not None else 0.0) for t, s in w.held.items()]
        w.kill()
        self._workers[self._workers.index(w)] = self._spawn()
        return out

    # -- shutdown -------------------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until every worker has started (WorkerInitError if one cannot)."""
        end = time.monotonic() + timeout
        while not all(w.ready for w in self._workers) and time.monotonic() < end:
            self.poll(0.2)

    def kill_busy(self) -> list:
        """Kill the workers holding tasks (abandoning them); return those task ids."""
        busy = [w for w in self._workers if w.held]
        for w in busy:
            w.kill()
            self._workers.remove(w)
        return [t for w in busy for t in w.held]

    def close(self) -> None:
        """Ask idle workers to exit, then kill whatever is left (workers still starting at once)."""
        for w in self._workers:
            if w.ready and not w.held:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        end = time.monotonic() + 5
        for w in self._workers:
            if w.ready and not w.held:
                w.proc.join(max(0.0, end - time.monotonic()))
            w.kill()
        self._workers = []
