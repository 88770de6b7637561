"""Isolated worker processes for the watch daemon: one file at a time per process, a per-file timeout, a memory cap.

Each worker is a *spawn*ed process (LibRaw + fork + OpenMP can deadlock) that builds its recipe source once, caps
its own address space with RLIMIT_AS (so a runaway decode gets MemoryError instead of the OOM killer picking a
victim), asks the kernel to kill it when the daemon dies (PR_SET_PDEATHSIG), then loops: receive a task, run it,
send the Result back. The parent watches every worker's pipe and process sentinel: a worker that dies (segfault in
LibRaw, OOM kill) or runs past the timeout is killed and replaced, and only its file gets the failure.

Exports: WorkerPool, Outcome, run_task, parse_size.
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from .batch import SourceSpec, child_thread_limits, take_batch
from .pipeline import OutputOptions, Result, process_one

log = logging.getLogger(__name__)

DEFAULT_TASK = "exposure_batch.worker:run_task"
_PRELOAD = ("exposure_batch.io", "exposure_batch.render", "exposure_batch.preview", "rawpy")


@dataclass
class Outcome:
    """What came back for one task: kind 'result' (a pipeline Result), 'crash' or 'timeout' (reason set), or
    'abandoned' (its worker was replaced before or while it ran, through no fault of this task: run it again)."""

    task_id: Any
    kind: str
    result: Result | None = None
    reason: str = ""
    seconds: float = 0.0


def run_task(source, path: str, out_path: str, opts: OutputOptions) -> Result:
    """The default task: the shared per-file pipeline."""
    return process_one(path, out_path, source, opts)


def parse_size(text: str | int | None) -> int | None:
    """'4G' / '512M' / '1024' (bytes) -> bytes; None, 0, 'none', 'off' -> None (no cap)."""
    if text is None:
        return None
    if isinstance(text, int):
        return text or None
    s = str(text).strip().lower()
    if s in ("", "0", "none", "off", "unlimited"):
        return None
    import re  # noqa: PLC0415

    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?", s)
    if not m:
        raise ValueError(f"bad memory size {text!r} (use e.g. 4G, 512M)")
    number, mult = m.group(1), {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    value = int(float(number) * mult)
    if value <= 0:
        raise ValueError(f"bad memory size {text!r}")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Child side
# ---------------------------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the parent dies, so no orphan keeps writing after the daemon is killed."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _cap_memory(limit: int | None) -> None:
    if not limit:
        return
    import resource  # noqa: PLC0415

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _child_main(conn, spec: SourceSpec | None, memory_limit: int | None, task_ref: str, parent_pid: int) -> None:
    """Worker entry point. Messages in: (task_id, args) or None (exit). Out: ('ready',) | ('fatal', reason) |
    ('stage', task_id) when a task starts | (task_id, Result)."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides when work stops
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != parent_pid:  # parent died before prctl took effect
        os._exit(1)
    try:
        fn = _resolve(task_ref)
        for name in _PRELOAD:  # import the heavy modules before the memory cap
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        source = spec.build() if spec is not None else None
        _cap_memory(memory_limit)  # after imports and model load: the cap is for per-file work
    except Exception as err:  # noqa: BLE001
        conn.send(("fatal", f"{type(err).__name__}: {err}"))
        return
    lock = threading.Lock()

    def send(msg) -> None:
        with lock:
            conn.send(msg)

    send(("ready",))
    try:
        if task_ref == DEFAULT_TASK:
            _pipelined_loop(conn, send, source)
        else:
            _simple_loop(conn, send, fn, source)
    except (EOFError, BrokenPipeError, OSError):
        return


def _simple_loop(conn, send, fn, source) -> None:
    """One task at a time: fn(source, *args)."""
    while True:
        msg = conn.recv()
        if msg is None:
            return
        task_id, args = msg
        send(("stage", task_id))
        try:
            result = fn(source, *args)
        except MemoryError:
            result = Result(str(args[0]) if args else "", "failed", "out of memory while processing")
        except Exception as err:  # noqa: BLE001  (a task function should not raise; report instead of dying)
            result = Result(str(args[0]) if args else "", "failed", f"internal error: {type(err).__name__}: {err}")
        send((task_id, result))


def _pipelined_loop(conn, send, source, max_batch: int = 8) -> None:
    """The shared stages as a two-thread pipeline: a decode thread runs pipeline.prepare_stage on the next task
    while this thread runs the batched agent decision (one call for every decoded image waiting) and
    finish_stage (render + atomic writes). At most two full-size images live in the worker."""
    from .pipeline import decide_prepared, finish_stage, prepare_stage  # noqa: PLC0415

    ready: queue.Queue = queue.Queue(maxsize=1)
    done = object()

    def decode_loop() -> None:
        try:
            while True:
                msg = conn.recv()
                if msg is None:
                    return
                task_id, (path, out_path, opts) = msg
                send(("stage", task_id))
                ready.put((task_id, opts, prepare_stage(source, path, out_path, opts)))
        except (EOFError, OSError):
            return
        finally:
            ready.put(done)

    threading.Thread(target=decode_loop, daemon=True, name="exposure-batch-decode").start()
    while True:
        batch = take_batch(ready, max_batch)
        items = [b for b in batch if b is not done]
        waiting = [(t, o, item) for t, o, item in items if not isinstance(item, Result)]
        for task_id, _, item in items:
            if isinstance(item, Result):
                send((task_id, item))
        decided = decide_prepared(source, [item for _, _, item in waiting])
        for (task_id, opts, item), recipe in zip(waiting, decided):
            result = recipe if isinstance(recipe, Result) else finish_stage(item, recipe, opts)
            item.decoded = None  # drop the full-size image before the next render
            send((task_id, result))
        if len(items) < len(batch):
            return


# ---------------------------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------------------------
class WorkerInitError(RuntimeError):
    """A worker could not start (bad model folder, import error): the daemon cannot work at all."""


class _Worker:
    def __init__(self, ctx, spec, memory_limit, task_ref, threads: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_child_main, args=(child, spec, memory_limit, task_ref, os.getpid()),
                                daemon=True, name="exposure-batch-worker")
        with child_thread_limits(threads):  # n workers share the cores: LibRaw, OpenBLAS, numba get cores // n
            self.proc.start()
        child.close()
        self.ready = False
        self.held: dict = {}  # task_id -> monotonic start time of its stage (None: waiting in the pipe)
        self.solo = False

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class WorkerPool:
    """n spawned workers; submit(task_id, args) while can_take(); poll() returns Outcomes as they finish.

    The default task runs the pipeline stages overlapped (decode of the next file while the previous one renders),
    so each worker holds up to `depth` tasks; a `solo` task (a retry after a crash) runs in a worker holding nothing
    else, so a second crash is attributed exactly.

    Args:
        n: worker processes.
        spec: how each worker builds its recipe source (None: the task needs none).
        timeout: seconds one task may run (from its start in the worker) before the worker is killed (None: no limit).
        memory_limit: RLIMIT_AS per worker in bytes (None: no cap).
        task_ref: 'module:function' called as function(source, *args) in the worker, one task at a time; the
            default runs the shared pipeline stages, pipelined.
    """

    def __init__(self, n: int, spec: SourceSpec | None, timeout: float | None = None,
                 memory_limit: int | None = None, task_ref: str = DEFAULT_TASK):
        self.n, self.spec, self.timeout, self.memory_limit, self.task_ref = n, spec, timeout, memory_limit, task_ref
        self.depth = 2 if task_ref == DEFAULT_TASK else 1
        self._ctx = mp.get_context("spawn")
        self._workers = [self._spawn() for _ in range(n)]

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.spec, self.memory_limit, self.task_ref,
                       max(1, (os.cpu_count() or 1) // max(1, self.n)))

    # -- state --------------------------------------------------------------------------------------------------
    def _free(self, solo: bool) -> list[_Worker]:
        ok = [w for w in self._workers if w.ready and not w.solo
              and len(w.held) < (1 if solo else self.depth) and (not solo or not w.held)]
        return sorted(ok, key=lambda w: len(w.held))  # emptiest first: spread work over the workers

    def can_take(self, solo: bool = False) -> bool:
        return bool(self._free(solo))

    def idle_count(self) -> int:
        return sum(1 for w in self._workers if w.ready and not w.held)

    def in_flight(self) -> int:
        return sum(len(w.held) for w in self._workers)

    def submit(self, task_id, args: tuple, solo: bool = False) -> bool:
        """Give a task to a worker with room; False when none has."""
        free = self._free(solo)
        if not free:
            return False
        w = free[0]
        w.held[task_id] = None
        w.solo = solo
        try:
            w.conn.send((task_id, args))
        except (BrokenPipeError, OSError):
            pass  # the worker died: poll() reports it
        return True

    # -- events -------------------------------------------------------------------------------------------------
    def poll(self, timeout: float = 0.1) -> list[Outcome]:
        """Wait up to `timeout` s for results, crashes and timeouts; return them (may be empty)."""
        waitables = {}
        for w in self._workers:
            waitables[w.conn] = w
            waitables[w.proc.sentinel] = w
        deadline = self._next_deadline()
        wait_s = timeout if deadline is None else max(0.0, min(timeout, deadline - time.monotonic()))
        fired = wait(list(waitables), wait_s)
        outcomes: list[Outcome] = []
        for w in {id(waitables[f]): waitables[f] for f in fired}.values():
            if w in self._workers:
                outcomes.extend(self._service(w))
        outcomes.extend(self._enforce_timeouts())
        return outcomes

    def _next_deadline(self) -> float | None:
        if not self.timeout:
            return None
        starts = [t for w in self._workers for t in w.held.values() if t is not None]
        return min(starts) + self.timeout if starts else None

    def _service(self, w: _Worker) -> list[Outcome]:
        out: list[Outcome] = []
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready = True
                elif msg[0] == "fatal":
                    raise WorkerInitError(f"worker could not start: {msg[1]}")
                elif msg[0] == "stage":
                    if msg[1] in w.held:
                        w.held[msg[1]] = time.monotonic()
                else:
                    task_id, result = msg
                    started = w.held.pop(task_id, None)
                    seconds = time.monotonic() - started if started is not None else 0.0
                    out.append(Outcome(task_id, "result", result=result, seconds=seconds))
                    if not w.held:
                        w.solo = False
        except (EOFError, OSError):
            pass
        if not w.proc.is_alive():
            w.proc.join(1)
            if not w.ready and not w.held:
                raise WorkerInitError(f"worker died while starting ({_death_reason(w.proc.exitcode, None)})")
            reason = _death_reason(w.proc.exitcode, self.memory_limit)
            out.extend(self._release(w, {t for t, s in w.held.items() if s is not None}, "crash", reason))
            self._replace(w)
        return out

    def _release(self, w: _Worker, guilty: set, kind: str, reason: str) -> list[Outcome]:
        """Outcomes for every task a dead worker held: `kind` for the started ones in `guilty`, 'abandoned' (not
        started, or innocent) for the rest."""
        now = time.monotonic()
        out = [Outcome(t, kind if t in guilty else "abandoned", reason=reason if t in guilty else "worker replaced",
                       seconds=now - s if s is not None else 0.0) for t, s in w.held.items()]
        w.held = {}
        return out

    def _enforce_timeouts(self) -> list[Outcome]:
        out = []
        if not self.timeout:
            return out
        now = time.monotonic()
        for w in list(self._workers):
            late = {t for t, s in w.held.items() if s is not None and now - s > self.timeout}
            if late:
                out.extend(self._release(w, late, "timeout", f"timed out after {self.timeout:g} s (worker killed)"))
                self._replace(w)
        return out

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self._workers[self._workers.index(w)] = self._spawn()

    # -- shutdown -----------------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until every worker has started (raises WorkerInitError if one cannot)."""
        end = time.monotonic() + timeout
        while not all(w.ready for w in self._workers) and time.monotonic() < end:
            self.poll(0.2)

    def kill_busy(self) -> list:
        """Kill workers holding tasks (abandon them); return those task ids."""
        ids = []
        for w in list(self._workers):
            if w.held:
                ids.extend(w.held)
                w.held = {}
                w.kill()
                self._workers.remove(w)
        return ids

    def close(self) -> None:
        """Ask idle workers to exit, then kill whatever is left."""
        for w in self._workers:
            if not w.held:
                try:
                    w.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
        end = time.monotonic() + 5
        for w in self._workers:
            w.proc.join(max(0.0, end - time.monotonic()))
            w.kill()
        self._workers = []


def _death_reason(exitcode: int | None, memory_limit: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (killed: out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"worker crashed ({name}){hint}"
    return f"worker exited unexpectedly (exit status {exitcode})"
