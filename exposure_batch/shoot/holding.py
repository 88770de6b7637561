"""Grouping for the watch daemon: complete files are held briefly so that the frames of a scene that arrive
together are planned together.

A file promoted by the daemon (complete, journalled) is held here instead of being queued. The held files are
planned (survey, group, harmonise: shoot.plan, in spawned workers: shoot.work) and released to the queue when no
new file has arrived for `window` seconds (the daemon's settle window: a card being copied keeps delivering
files), or when the oldest has waited `wait` seconds (`--group-wait`: nothing is held back longer). Plan entries
go to a PlanStore folder that the workers' PlannedSource reads, keyed by the file's path and checked against its
SHA-256.

Exports: GroupHolder.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _Held:
    row_id: int
    path: str
    sha256: str | None
    since: float


@dataclass
class GroupHolder:
    """spec: batch.SourceSpec of the daemon; grouping: shoot.grouping.GroupingOptions; store_dir: PlanStore folder;
    window / wait: seconds (see the module docstring)."""

    spec: object
    grouping: object
    store_dir: str
    window: float = 5.0
    wait: float = 30.0
    max_pixels: int | None = None  # the survey refuses bigger files (as the engine does); None: no limit
    jobs: int = 1  # survey workers (spawned per release, shoot.work)
    timeout: float | None = 120.0  # seconds per survey
    memory_limit: int | None = None  # per survey worker
    task_ref: str | None = None  # the workers' task (tests); None: shoot.work.engine_task
    held: list[_Held] = field(default_factory=list)
    last_arrival: float = 0.0

    @property
    def pending(self) -> int:
        return len(self.held)

    def worker_spec(self):
        """The spec the workers build their source from: the daemon's, following the plan store."""
        from .plan import PlanStore, PlannedSpec  # noqa: PLC0415

        return PlannedSpec.wrapping(self.spec, PlanStore(self.store_dir))

    def hold(self, row_id: int, path: str, sha256: str | None, now: float) -> None:
        self.held.append(_Held(row_id, path, sha256, now))
        self.last_arrival = now

    def due(self, now: float, quiet: bool = False) -> bool:
        """True when the held files should be planned now (`quiet`: nothing else is on its way, e.g. --once)."""
        if not self.held:
            return False
        return quiet or now - self.last_arrival >= self.window or now - self.held[0].since >= self.wait

    def release(self, now: float, quiet: bool = False) -> tuple[list[int], list[dict]]:
        """When due: plan the held files, write their plan entries, and return (row ids in group order, group
        summaries); else ([], [])."""
        if not self.due(now, quiet):
            return [], []
        batch, self.held = self.held, []
        try:
            return self._plan(batch)
        except Exception as err:  # noqa: BLE001  (planning never stops the daemon: the files go on alone)
            log.warning("grouping failed (%s); %d files are edited one by one", err, len(batch))
            return [h.row_id for h in batch], []

    def _plan(self, batch: list[_Held]) -> tuple[list[int], list[dict]]:
        """Survey, group and harmonise in spawned workers (shoot.work): the daemon decodes nothing itself."""
        from .plan import PlanStore  # noqa: PLC0415
        from .stream import plan_in_workers  # noqa: PLC0415

        t0 = time.perf_counter()
        surveys, entries, groups = plan_in_workers([h.path for h in batch], self.spec, self.grouping, self.jobs,
                                                   self.max_pixels, timeout=self.timeout,
                                                   memory_limit=self.memory_limit, task_ref=self.task_ref)
        store = PlanStore(self.store_dir)
        order = []
        for i, entry in entries:
            held = batch[i]
            entry.sha256 = held.sha256
            store.put(held.path, entry)
            order.append(held.row_id)
        planned = {i for i, _ in entries}
        order += [h.row_id for k, h in enumerate(batch) if k not in planned]
        for g in groups:
            g["seconds"] = round(time.perf_counter() - t0, 3)
        return order, groups
