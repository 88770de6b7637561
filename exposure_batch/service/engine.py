"""The service's one adapter to the engine's isolated worker pool (exposure_batch.engine, as `process` and `watch`
use it).

Everything the service asks of worker processes goes through `Engine`: `await engine.call(kind, payload)` runs
`tasks.run(kind, payload)` in a spawned worker (memory cap, per-task timeout, a crashed or hung worker replaced and
only its task failed) and returns its value; a typed failure (the task's own, or the worker's crash or timeout)
is raised as failures.Failed carrying that Failure. The pool is not thread-safe, so one thread owns it; asyncio callers
hand it work through two queues: interactive requests (`/v1/edit`) go before job items, so a 2,000-photo job never
starves a single edit (engine.scheduler.Scheduler's lanes). A task whose worker crashed is run once more alone in a
worker (engine.scheduler.RetryPolicy, as for `process`), so only the task that crashes a worker twice fails. A task whose caller went away (cancelled job, closed connection) is dropped before it starts.

Exports: Engine, EngineFailure (= failures.Failed).
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading

from ..engine import WorkerInitError, WorkerPool
from ..engine.scheduler import RetryPolicy, Scheduler
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
        self._calls: dict[int, tuple] = {}  # call id -> (future, loop) until resolved
        self._ids = itertools.count()
        # interactive requests go before job items; a crashed task once more alone (engine.scheduler.RetryPolicy)
        self._sched = Scheduler(None, RetryPolicy(), lanes=("interactive", "batch"), skip=self._gone)
        self._stop = threading.Event()
        self._ready = threading.Event()
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
        return self._sched.waiting() + self._sched.running()

    async def call(self, kind: str, payload: dict, priority: str = "interactive"):
        """Run tasks.run(kind, payload) in a worker; returns its value. Raises EngineFailure."""
        if self._error is not None:
            raise _engine_down(f"worker pool stopped: {self._error}")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        call_id = next(self._ids)
        self._calls[call_id] = (future, loop)
        self._sched.add(call_id, (kind, payload), lane=priority)
        return await future

    def _gone(self, call_id: int) -> bool:
        """A waiting call whose caller went away (cancelled job, closed connection): dropped before it starts."""
        future, _ = self._calls.get(call_id, (None, None))
        if future is None or future.cancelled():
            self._calls.pop(call_id, None)
            return True
        return False

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
        self._sched.pool = pool
        self._ready.set()
        try:
            while not self._stop.is_set():
                self._sched.pump()
                for call_id, outcome in self._sched.poll(0.02):
                    self._settle(call_id, outcome)
        except WorkerInitError as err:
            self._error = err
            log.error("worker pool stopped: %s", err)
        finally:
            self._fail_all(self._error or RuntimeError("service stopping"))
            pool.close()

    def _settle(self, call_id: int, outcome) -> None:
        future, loop = self._calls.pop(call_id, (None, None))
        if future is None:
            return
        if outcome.failure is not None:
            loop.call_soon_threadsafe(_resolve, future, None, Failed(outcome.failure))
        else:
            loop.call_soon_threadsafe(_resolve, future, outcome.result, None)

    def _fail_all(self, err: BaseException) -> None:
        failure = _engine_down(f"worker pool stopped: {err}")
        for call_id, _ in self._sched.drain():
            future, loop = self._calls.pop(call_id, (None, None))
            if future is None:
                continue
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
