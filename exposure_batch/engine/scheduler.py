"""Scheduling onto the worker pool: lanes of waiting tasks and the one retry policy.

    policy = RetryPolicy()                          # process / serve: a crash is retried once, alone in a worker
    policy = RetryPolicy(retries=2, retry_kinds=RETRYABLE, defer_waiting=True, env_retry=60)
                                                    # watch: crash/timeout twice; the disk (or the setup) may come
                                                    # back: ENVIRONMENT / SETUP deferred 60 s, doubling to 16x
    sched = Scheduler(pool, policy, lanes=("interactive", "batch"))
    sched.add(key, args, lane="batch")              # from any thread
    while ...:
        sched.pump()                                # solo retries first, then the lanes in order
        for key, outcome in sched.poll(0.2): ...    # final outcomes only: retries and abandoned tasks stay inside

A failed attempt is decided by its failure's kind (failures.Kind), never by its message: `RetryPolicy.decide`
says RETRY (again, alone in a worker, so a second crash is its own and not a worker-mate's), DEFER (Kind.waits:
ENVIRONMENT, SETUP; not the photo's fault, try later, `backoff` seconds) or FAIL. A task a dead worker had not started (abandoned)
is not an attempt: it goes back to the front of the first lane.

`run_batch` (engine.batch) and the service's asyncio adapter (service.engine) schedule with `Scheduler`; the watch
daemon, whose queue is its journal, asks the same `RetryPolicy` what to do with each failure.

Exports: RetryPolicy, Scheduler, RETRY, DEFER, FAIL, RETRYABLE.
"""
from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable

from ..failures import Failure, Kind
from .pool import Outcome, WorkerPool

RETRY, DEFER, FAIL = "retry", "defer", "fail"
#: Kinds worth another attempt in a fresh worker (Kind.retryable: a crash, a timeout).
RETRYABLE = frozenset(k for k in Kind if k.retryable)


@dataclass(frozen=True)
class RetryPolicy:
    """What to do with a failed attempt.

    retries: further attempts after a failure of a kind in `retry_kinds`, each alone in a worker;
    retry_kinds: the kinds retried (default: CRASH only, the worker-mate may have caused it);
    defer_waiting: failures of a kind that waits (Kind.waits: ENVIRONMENT such as a full disk or an unwritable
        output, SETUP such as a model that cannot load) are deferred, not failed;
    env_retry: seconds before a deferred task is tried again in this run, doubling per failure of the same task up
        to `max_backoff` times (0: not in this run; the watch daemon's journal keeps it for the next start).
    """

    retries: int = 1
    retry_kinds: frozenset = frozenset({Kind.CRASH})
    defer_waiting: bool = False
    env_retry: float = 0.0
    max_backoff: int = 16

    def decide(self, failure: Failure, attempts: int) -> str:
        """RETRY, DEFER or FAIL for a task whose attempt number `attempts` (from 1) failed with `failure`."""
        if failure.kind.waits and self.defer_waiting:
            return DEFER
        if failure.kind in self.retry_kinds and attempts <= self.retries:
            return RETRY
        return FAIL

    def backoff(self, deferrals: int) -> float | None:
        """Seconds before the `deferrals`-th deferral (from 1) is tried again, or None (not in this run)."""
        if not self.env_retry:
            return None
        return self.env_retry * min(2 ** max(0, deferrals - 1), self.max_backoff)


class Scheduler:
    """Tasks waiting in named lanes (the first lane goes first), handed to `pool` as it has room, settled by
    `policy`. `add` may be called from any thread; pump/poll from the one thread that owns the pool.

    skip(key) -> True drops a waiting task before it starts (its caller went away)."""

    def __init__(self, pool: WorkerPool, policy: RetryPolicy = RetryPolicy(), lanes: Iterable[str] = ("batch",),
                 skip: Callable[[Hashable], bool] | None = None):
        self.pool, self.policy, self.skip = pool, policy, skip
        self._lanes = {name: collections.deque() for name in lanes}
        self._solo: collections.deque = collections.deque()
        self._running: dict[Hashable, tuple[Hashable, Any]] = {}  # key (the pool's task id) -> (key, args)
        self._attempts: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def add(self, key: Hashable, args: tuple, lane: str | None = None, front: bool = False) -> None:
        """Queue a task (key: the caller's handle, unique while the task lives, and the pool's task id, so the
        pool's on_start sees it; args: the pool task's arguments)."""
        q = self._lanes[lane] if lane is not None else next(iter(self._lanes.values()))
        with self._lock:
            (q.appendleft if front else q.append)((key, args))

    def waiting(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._lanes.values()) + len(self._solo)

    def running(self) -> int:
        return len(self._running)

    def pump(self) -> None:
        """Submit what the pool has room for: solo retries first; while one waits for an idle worker, no new task
        starts (the others drain)."""
        while self._solo and self.pool.can_take(solo=True):
            self._submit(self._solo.popleft(), solo=True)
        while not self._solo and self.pool.can_take():
            item = self._next()
            if item is None:
                return
            self._submit(item, solo=False)

    def _next(self):
        with self._lock:
            for q in self._lanes.values():
                while q:
                    item = q.popleft()
                    if self.skip is None or not self.skip(item[0]):
                        return item
        return None

    def _submit(self, item, solo: bool) -> None:
        self._running[item[0]] = item
        self.pool.submit(item[0], item[1], solo=solo)

    def poll(self, timeout: float = 0.2) -> list[tuple[Hashable, Outcome]]:
        """Final outcomes (key, Outcome) of tasks that ended: done, or failed for good by the policy (DEFER counts
        as final here: the caller decides when to add the task again)."""
        done = []
        for outcome in self.pool.poll(timeout):
            item = self._running.pop(outcome.task_id, None)
            if item is None:
                continue
            key = item[0]
            if outcome.abandoned:  # its worker was replaced for another task's fault: not an attempt
                self.add(key, item[1], front=True)
                continue
            if outcome.result is None and outcome.failure is not None:
                attempts = self._attempts[key] = self._attempts.get(key, 0) + 1
                if self.policy.decide(outcome.failure, attempts) == RETRY:
                    self._solo.append(item)
                    continue
            self._attempts.pop(key, None)
            done.append((key, outcome))
        return done

    def drain(self) -> list[tuple[Hashable, Any]]:
        """Remove and return every task not finished (waiting, retrying, running): the pool is going away."""
        with self._lock:
            items = [i for q in self._lanes.values() for i in q] + list(self._solo) + list(self._running.values())
            for q in self._lanes.values():
                q.clear()
            self._solo.clear()
            self._running.clear()
        self._attempts.clear()
        return items
