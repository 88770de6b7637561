"""The service's one adapter to the engine's isolated worker pool (exposure_batch.engine, as `process` and `watch`
use it).

Everything the service asks of worker processes goes through `Engine`: `await engine.call(kind, payload)` runs
`tasks.run(kind, payload)` in a spawned worker (memory cap, per-task timeout, a crashed or hung worker replaced and
only its task failed) and returns its value; a typed failure (the task's own, or the worker's crash or timeout)
is raised as failures.Failed carrying that Failure. The pool is not thread-safe, so one thread owns it; asyncio callers
hand it work through two queues: interactive requests (`/v1/edit`) go before job items, so a 2,000-photo job never
starves a single edit. A task whose worker crashed is run once more alone in a worker (the policy of
engine.run_batch), so only the task that crashes a worker twice fails. A task whose caller went away (cancelled job, closed connection) is dropped before it starts.

Exports: Engine, EngineFailure (= failures.Failed).
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading

from ..engine import WorkerInitError, WorkerPool
from ..failures import Failed, Failure, Kind
from .tasks import TASK_REF

log = logging.getLogger(__name__)


#: A task that failed: the one exception carrying a failures.Failure (kind, stage, message).
EngineFailure = Failed


def _engine_down(message: str) -> Failed:
    return Failed(Failure(Kind.ENVIRONMENT, "engine", message))


class Engine:
    """n isolated workers running tasks.run; start() once, call() from the event loop, close() at the end."""

    def __init__(self, workers: int, timeout: float | None = 600.0, memory_limit: int | None = None,
                 task_ref: str = TASK_REF):
        self.workers, self.timeout, self.memory_limit, self.task_ref = workers, timeout, memory_limit, task_ref
        self._queues = {"interactive": collections.deque(), "batch": collections.deque()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._ids = itertools.count()
        self._waiting: dict[int, tuple] = {}  # task id -> (future, loop, args) for tasks in a worker
        self._solo: collections.deque = collections.deque()  # crashed once: retried alone, as run_batch does
        self._crashed: set[int] = set()  # id() of items that crashed a worker once
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="exposure-batch-engine", daemon=True)

    def start(self, timeout: float = 300.0) -> None:
        """Start the workers and wait until they are ready. Raises EngineFailure when they cannot start."""
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise _engine_down(f"worker processes could not start: {self._error}")

    async def warm_up(self) -> None:
        """One small decode per worker (the pool hands each idle worker one task)."""
        await asyncio.gather(*(self.call("warmup", {}) for _ in range(self.workers)), return_exceptions=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def queued(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values()) + len(self._waiting)

    async def call(self, kind: str, payload: dict, priority: str = "interactive"):
        """Run tasks.run(kind, payload) in a worker; returns its value. Raises EngineFailure."""
        if self._error is not None:
            raise _engine_down(f"worker pool stopped: {self._error}")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._queues[priority].append((future, loop, (kind, payload)))
        return await future

    # -- the pool's own thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            pool = WorkerPool(self.workers, None, timeout=self.timeout, memory_limit=self.memory_limit,
                              task_ref=self.task_ref, prefetch=0)
            pool.wait_ready()
        except Exception as err:  # noqa: BLE001
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                self._submit(pool)
                for outcome in pool.poll(0.02):
                    self._settle(pool, outcome)
        except WorkerInitError as err:
            self._error = err
            log.error("worker pool stopped: %s", err)
        finally:
            self._fail_all(self._error or RuntimeError("service stopping"))
            pool.close()

    def _submit(self, pool: WorkerPool) -> None:
        while self._solo and pool.can_take(solo=True):
            task_id = next(self._ids)
            self._waiting[task_id] = item = self._solo.popleft()
            pool.submit(task_id, item[2], solo=True)
        while not self._solo and pool.can_take():
            with self._lock:
                item = None
                for q in self._queues.values():
                    while q and item is None:
                        candidate = q.popleft()
                        if not candidate[0].cancelled():
                            item = candidate
                    if item is not None:
                        break
            if item is None:
                return
            task_id = next(self._ids)
            self._waiting[task_id] = item
            pool.submit(task_id, item[2])

    def _settle(self, pool: WorkerPool, outcome) -> None:
        item = self._waiting.pop(outcome.task_id, None)
        if item is None:
            return
        future, loop, args = item
        if outcome.abandoned:  # its worker was replaced for another task's fault: run it again
            with self._lock:
                self._queues["interactive"].appendleft(item)
            return
        crash = outcome.result is None and outcome.failure is not None and outcome.failure.kind is Kind.CRASH
        if crash and id(item) not in self._crashed:  # maybe another task's crash: once more, alone in a worker
            self._crashed.add(id(item))
            self._solo.append(item)
            return
        self._crashed.discard(id(item))
        if outcome.failure is not None:
            failure = Failed(outcome.failure)
            loop.call_soon_threadsafe(_resolve, future, None, failure)
        else:
            loop.call_soon_threadsafe(_resolve, future, outcome.result, None)

    def _fail_all(self, err: BaseException) -> None:
        failure = _engine_down(f"worker pool stopped: {err}")
        with self._lock:
            items = [i for q in self._queues.values() for i in q] + list(self._waiting.values()) + list(self._solo)
            for q in self._queues.values():
                q.clear()
            self._waiting.clear()
            self._solo.clear()
        for future, loop, _ in items:
            try:
                loop.call_soon_threadsafe(_resolve, future, None, failure)
            except RuntimeError:  # loop already closed
                pass


def _resolve(future: asyncio.Future, value, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
