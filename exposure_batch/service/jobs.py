"""Jobs: many photos in one request, progress a plugin can poll, cancel.

A job runs its photos through `edits.edit_photo` at the engine's batch priority with a bounded number in flight
(so interactive edits and other jobs keep flowing). Every photo that finishes gets the next sequence number; a
poll with `after=N` returns only the photos finished since N, so a plugin polling a 2,000-photo job reads each
result once. Finished jobs are kept for `keep_s` seconds, at most `max_jobs` of them.

Exports: JobManager, Job.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from ..failures import Failed
from .edits import EditRequest, edit_photo


@dataclass
class Item:
    index: int
    request: EditRequest | None
    path: str
    status: str = "queued"  # queued | running | done | failed | cancelled
    reason: str = ""
    error_kind: str = ""  # the failure's kind value (errors.Kind)
    failure: dict | None = None  # failures.Failure.to_dict(), as /v1/edit answers it
    result: dict | None = None
    seq: int = 0

    def to_dict(self) -> dict:
        d = {"index": self.index, "path": self.path, "status": self.status, "seq": self.seq}
        if self.reason:
            d["reason"], d["error"] = self.reason, self.error_kind
        if self.failure is not None:
            d["failure"] = self.failure
        if self.result is not None:
            d["result"] = self.result
        return d


@dataclass
class Job:
    id: str
    items: list[Item]
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancelled: bool = False
    seq: int = 0
    task: asyncio.Task | None = None

    def counts(self) -> dict:
        c = {"queued": 0, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
        for it in self.items:
            c[it.status] += 1
        return c

    @property
    def state(self) -> str:
        if self.finished is None:
            return "running"
        return "cancelled" if self.cancelled else "done"

    def view(self, after: int = 0) -> dict:
        counts = self.counts()
        finished = len(self.items) - counts["queued"] - counts["running"]
        return {"id": self.id, "state": self.state, "total": len(self.items), "finished": finished,
                "progress": round(finished / len(self.items), 4) if self.items else 1.0, "counts": counts,
                "seq": self.seq,
                "items": [it.to_dict() for it in self.items if it.seq > after and it.status not in ("queued", "running")]}


class JobManager:
    def __init__(self, engine, decider, in_flight: int = 4, keep_s: float = 3600.0, max_jobs: int = 100,
                 claims=None):
        self.engine, self.decider, self.claims = engine, decider, claims
        self.in_flight, self.keep_s, self.max_jobs = in_flight, keep_s, max_jobs
        self.jobs: dict[str, Job] = {}

    def create(self, items: list[Item]) -> Job:
        self._evict()
        job = Job(uuid.uuid4().hex, items)
        self.jobs[job.id] = job
        for it in items:  # items refused up front (bad path) are finished already
            if it.status == "failed":
                job.seq += 1
                it.seq = job.seq
        job.task = asyncio.get_running_loop().create_task(self._run(job))
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def cancel(self, job: Job) -> None:
        if job.finished is None:
            job.cancelled = True
            if job.task is not None:
                job.task.cancel()

    async def _run(self, job: Job) -> None:
        gate = asyncio.Semaphore(self.in_flight)

        async def one(item: Item) -> None:
            async with gate:
                item.status = "running"
                try:
                    item.result = await edit_photo(item.request, self.engine, self.decider, priority="batch",
                                                   claims=self.claims)
                    item.status = "done"
                except Failed as err:
                    item.status, item.reason, item.error_kind = "failed", err.reason, err.kind.value
                    item.failure = err.failure.to_dict()
                except asyncio.CancelledError:
                    item.status = "cancelled"
                    raise
                except Exception as err:  # noqa: BLE001  (never lose a photo silently)
                    item.status, item.reason, item.error_kind = "failed", f"internal error: {err}", "crash"
                finally:
                    job.seq += 1
                    item.seq = job.seq

        tasks = [asyncio.ensure_future(one(it)) for it in job.items if it.status == "queued"]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for it in job.items:
                if it.status in ("queued", "running"):
                    it.status = "cancelled"
                    job.seq += 1
                    it.seq = job.seq
        finally:
            job.finished = time.time()

    def _evict(self) -> None:
        now = time.time()
        for jid, job in list(self.jobs.items()):
            if job.finished is not None and now - job.finished > self.keep_s:
                del self.jobs[jid]
        done = sorted((j for j in self.jobs.values() if j.finished is not None), key=lambda j: j.finished)
        while len(self.jobs) >= self.max_jobs and done:
            del self.jobs[done.pop(0).id]

    async def close(self) -> None:
        for job in self.jobs.values():
            self.cancel(job)
