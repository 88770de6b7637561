"""A grouped run that scales: survey, plan and edit in the engine's one pool, streamed window by window.

    results, plan = run_grouped(jobs, spec, opts, GroupingOptions(), workers=2, on_result=..., on_survey=...)

The caller (the parent of `process`) never decodes a file and holds a few kB per photo:

1. Survey tasks (shoot.work: the cheap decode and EXIF of one file) go to the engine's own workers, in the order of
   the jobs (folder by folder). Each sends back a `grouping.Signed` record (capture time, folder, a 5 kB
   signature); the images harmonising needs stay in a spool folder on disk.
2. `Windows` closes planning windows deterministically: per folder, the next WINDOW files in job order once all of
   them are surveyed (or the rest of the folder). A window that is not the folder's last is cut at its last
   capture-time gap (> GroupingOptions.gap): the frames after the gap wait for the next window, so a burst is
   never cut in two unless it has more than WINDOW frames or its file names run against its capture times.
3. The window is grouped here (grouping.group_records: blocked by folder and time runs, similarity in bounded
   windows) and every group of two or more frames is harmonised by a "harmonise" task in a worker, reading the
   spooled images; a "measure" task in one worker (MEASURER) then computes the groups' consistency figures. Each
   file's plan entry waits here (a few kB) and goes with its edit task to the worker, whose PlannedSource follows
   it (shoot.plan.TaskPlan): nothing is written for the plan.
4. The window's files are then edited by the same workers (the engine's own stages), while later files are still
   being surveyed: at most LOOKAHEAD files are surveyed ahead of the edit.

A survey, harmonise or edit task that crashes its worker is retried once alone (engine.run_tasks' policy); a file
whose survey still fails, crashes or hangs is edited alone; a group whose harmonising fails is edited frame by
frame. `make_plan` / `plan_in_workers` run steps 1-3 only (the watch daemon, `--ray`, benchmarks).

Exports: run_grouped, make_plan, plan_in_workers, Windows, group_window, group_in_windows, Stats, WINDOW,
LOOKAHEAD, MEASURER.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

from threadpoolctl import threadpool_limits

from ..failures import Kind
from ..limits import DEFAULT_MAX_PIXELS
from .grouping import GroupingOptions, group_records, read_groups_file
from .plan import Plan, PlannedSpec, TaskPlan, group_entries, singleton_entry
from .work import EDIT_PLANNED

log = logging.getLogger(__name__)

#: Files per planning window and folder (the parent's memory for records and the spool's size follow from it).
WINDOW = 256
#: Files surveyed at most ahead of the edit (>= WINDOW: a window can always close).
LOOKAHEAD = 2 * WINDOW
#: Frames per harmonise task (whole groups; a bigger group is a task of its own).
HARMONISE_FRAMES = 64
#: The worker (by number) that measures the groups' consistency figures: they need colour-science, whose import
#: costs about 1.2 s of CPU and 150 MB in each process that does it, so one worker per run does (a retry after a
#: crash may run elsewhere). Any worker harmonises; its groups' figures come back as small block images.
MEASURER = 0


class Windows:
    """Planning windows over files given in job order (see the module docstring, step 2). add() each file's survey
    record (None: unreadable) by index; closed() returns the windows that became complete, as index lists."""

    def __init__(self, paths: Sequence[str], gap: float, window: int = WINDOW):
        self.gap, self.window = float(gap), max(2, int(window))
        self.records: dict[int, object] = {}
        self.folders: dict[str, list[int]] = {}
        self._folder_of: list[str] = []
        for i, p in enumerate(paths):
            folder = os.path.dirname(os.path.abspath(p))
            self._folder_of.append(folder)
            self.folders.setdefault(folder, []).append(i)
        self._pos = {f: 0 for f in self.folders}
        self._carry: dict[str, list[int]] = {f: [] for f in self.folders}
        self._touched: list[str] = []

    def add(self, index: int, record) -> None:
        self.records[index] = record
        folder = self._folder_of[index]
        if folder not in self._touched:
            self._touched.append(folder)

    def closed(self) -> list[list[tuple[int, object]]]:
        """Windows complete since the last call, each as [(index, record)] in job order; their records are dropped
        here (the caller keeps what it needs)."""
        out: list[list[int]] = []
        touched, self._touched = self._touched, []
        for folder in sorted(touched, key=lambda f: self.folders[f][0]):
            out += self._close(folder)
        return [[(i, self.records.pop(i)) for i in sorted(w)] for w in out]

    def _close(self, folder: str) -> list[list[int]]:
        out = []
        files, carry = self.folders[folder], self._carry[folder]
        while True:
            pos = self._pos[folder]
            chunk = files[pos:pos + max(1, self.window - len(carry))]
            if not chunk or any(i not in self.records for i in chunk):
                break
            self._pos[folder] = pos + len(chunk)
            members = carry + chunk
            if self._pos[folder] >= len(files):
                out.append(members)
                carry = []
                break
            members, carry = self._cut(members)
            out.append(members)
        self._carry[folder] = carry
        return out

    def _cut(self, members: list[int]) -> tuple[list[int], list[int]]:
        """(closed now, carried to the next window): the timed frames after the last capture-time gap wait."""
        timed = sorted((self.records[i].time, i) for i in members
                       if self.records[i] is not None and self.records[i].time is not None)
        for k in range(len(timed) - 1, 0, -1):
            if timed[k][0] - timed[k - 1][0] > self.gap:
                later = {i for _, i in timed[k:]}
                return [i for i in members if i not in later], [i for i in members if i in later]
        return members, []


def group_window(window: Sequence[tuple[int, object]], options: GroupingOptions) -> list[tuple[str | None, list[int]]]:
    """Group one closed window ([(index, Signed record or None)]): [(name from --groups or None, [index, ...])]
    in grouping order; unreadable files (None) are left out."""
    readable = [i for i, r in window if r is not None]
    records = dict(window)
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: more BLAS threads only spin
        grouping = group_records([records[i] for i in readable], options)
    out = []
    for name, members in zip(grouping.names, grouping.groups):
        auto = name.startswith("g") and name[1:].isdigit()  # group_records' own numbering; else a --groups name
        out.append((None if auto else name, [readable[k] for k in members]))
    return out


def group_in_windows(paths: Sequence[str], records: Sequence, options: GroupingOptions, window: int = WINDOW
                     ) -> list[list[int]]:
    """The groups a streamed run makes of `paths` (in job order) with these survey records (Signed or None), as
    index lists: the same Windows and group_window the run uses, without workers."""
    windows = Windows(paths, options.gap, window)
    out: list[list[int]] = []
    for i, r in enumerate(records):
        windows.add(i, r)
        for closed in windows.closed():
            out += [members for _, members in group_window(closed, options)]
    return out


@dataclass
class Stats:
    """What planning cost: survey / harmonise seconds in the workers (sum of task times), grouping seconds in the
    caller; photos surveyed; group summaries (one dict per group, as shoot.plan.Plan.groups)."""

    survey_s: float = 0.0
    grouping_s: float = 0.0
    harmonise_s: float = 0.0
    surveyed: int = 0
    planned: int = 0
    groups: list[dict] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.survey_s + self.grouping_s + self.harmonise_s

    @property
    def split_count(self) -> int:
        return sum(1 for g in self.groups if g.get("split_from"))

    def line(self) -> str | None:
        """The run's one line about its scenes (None when every photo is a scene of its own)."""
        shared = sum(1 for g in self.groups if len(g["files"]) > 1)
        if not shared and not self.split_count:
            return None
        return (f"groups: {self.planned} photos in {len(self.groups)} scenes ({shared} harmonised, "
                f"{self.split_count} frames split off) in {self.seconds:.1f} s (survey {self.survey_s:.1f} s, "
                f"grouping {self.grouping_s:.1f} s, harmonising {self.harmonise_s:.1f} s of worker time)")


class _Driver:
    """The parent's loop over one WorkerPool: survey, harmonise and (when `outs` is given) edit tasks."""

    def __init__(self, pool, paths: list[str], options: GroupingOptions, spool: str, put: Callable | None, *,
                 outs: list[str] | None = None, opts=None, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 on_result: Callable | None = None, on_survey: Callable | None = None,
                 on_start: Callable | None = None, window: int = WINDOW, lookahead: int | None = None,
                 keep_records: bool = False):
        self.pool, self.paths, self.options, self.spool, self.put = pool, paths, options, spool, put
        self.outs, self.opts, self.max_pixels = outs, opts, max_pixels
        self.on_result, self.on_survey, self.on_start = on_result, on_survey, on_start
        self.windows = Windows(paths, options.gap, window)
        self.lookahead = max(lookahead or 2 * window, window + 1)
        self.stats = Stats()
        self.surveys = deque(range(len(paths)))
        self.harmonise: deque = deque()
        self.measure: deque = deque()
        self.measuring: dict = {}  # measure task -> (members, [(name, paths, Harmonised)]) waiting for its figures
        self.edits: deque = deque()
        self.solo: deque = deque()
        self.crashed: set = set()
        self.args: dict = {}
        self.ahead = 0  # files whose survey was submitted and whose edit (or plan) was not yet
        self.results: dict[int, object] = {}
        self.spooled: set[int] = set()  # files whose survey spooled their full decode for the edit
        self.entries: dict[int, object] = {}  # plan entries waiting for their edit task (put=None: the edit's args)
        self.kept: dict[int, object] | None = {} if keep_records else None  # every record (plan_in_workers)
        self._members: dict = {}
        self.planned_done = 0
        self._harmonise_no = 0
        self._turn = 0

    # -- scheduling ------------------------------------------------------------------------------------------------
    def _next(self):
        """The next task to give out: harmonise first, then edits and surveys in turn (surveys while fewer than
        `lookahead` files wait for their edit)."""
        can_survey = bool(self.surveys) and self.ahead < self.lookahead
        if self.harmonise:
            return self.harmonise[0], self.harmonise
        self._turn ^= 1
        if self.edits and (self._turn or not can_survey):
            return ("edit", self.edits[0]), self.edits
        if can_survey:
            return ("survey", self.surveys[0]), self.surveys
        return None, None

    def _task_args(self, tid):
        kind, key = tid
        if kind == "survey":
            return ("survey", (self.paths[key], self.max_pixels, self.spool, self.outs is not None))
        if kind == "edit":
            return (EDIT_PLANNED, self.entries.get(key), self.spool if key in self.spooled else None,
                    self.paths[key], self.outs[key], self.opts)
        if kind == "measure":
            return ("measure", [h.pairs for _, _, h in self.measuring[tid][1]])
        return ("harmonise", (self.args[tid], self.spool))

    def _submit_all(self) -> None:
        """Retries alone first, then measure tasks (to the MEASURER worker only), then the rest (_next)."""
        while self.solo and self.pool.submit(self.solo[0], self._task_args(self.solo[0]), solo=True):
            self.solo.popleft()
        while not self.solo and self.measure and self.pool.submit(self.measure[0], self._task_args(self.measure[0]),
                                                                  pin=MEASURER):
            self.measure.popleft()
        while not self.solo:
            item, queue = self._next()
            if item is None:
                return
            tid = item
            if not self.pool.submit(tid, self._task_args(tid)):
                self._turn ^= 1  # the same choice next time
                return
            queue.popleft()
            if tid[0] == "survey":
                self.ahead += 1

    def run(self) -> None:
        while not self._finished():
            self._submit_all()
            for o in self.pool.poll(0.2):
                self._settle(o)

    def _finished(self) -> bool:
        if self.outs is not None:
            return len(self.results) == len(self.paths)
        return (self.stats.surveyed == len(self.paths) and not self.harmonise and not self.measure
                and self.planned_done == len(self.paths))

    # -- outcomes -------------------------------------------------------------------------------------------------
    def _settle(self, o) -> None:
        tid = o.task_id
        if o.abandoned:
            queue = {"survey": self.surveys, "edit": self.edits, "harmonise": self.harmonise,
                     "measure": self.measure}[tid[0]]
            queue.appendleft(tid if tid[0] in ("harmonise", "measure") else tid[1])
            if tid[0] == "survey":
                self.ahead -= 1
            return
        if o.result is None and o.failure is not None and o.failure.kind is Kind.CRASH and tid not in self.crashed:
            self.crashed.add(tid)
            self.solo.append(tid)
            return
        if tid[0] == "survey":
            self._surveyed(tid[1], o)
        elif tid[0] == "harmonise":
            self._harmonised(tid, o)
        elif tid[0] == "measure":
            self._measured(tid, o)
        else:
            from ..pipeline.result import Result  # noqa: PLC0415

            i = tid[1]
            self.entries.pop(i, None)
            self.results[i] = o.result or Result.failed(self.paths[i], o.failure, o.seconds)
            if self.on_result:
                self.on_result(self.results[i])

    def _value(self, o):
        from .work import ShootReply  # noqa: PLC0415

        return o.result.value if o.failure is None and isinstance(o.result, ShootReply) else None

    def _surveyed(self, i: int, o) -> None:
        record = self._value(o)
        if record is None:
            log.info("survey of %s failed (%s): it is edited alone", self.paths[i], getattr(o.failure, "kind", "?"))
        self.stats.survey_s += o.seconds
        self.stats.surveyed += 1
        if record is not None and getattr(record, "decoded", False):
            self.spooled.add(i)
        if self.kept is not None:
            self.kept[i] = record
        self.windows.add(i, record)
        if self.on_survey:
            self.on_survey(self.stats.surveyed, len(self.paths))
        for window in self.windows.closed():
            self._plan_window(window)

    def _plan_window(self, window: list[tuple[int, object]]) -> None:
        """Group a closed window here (small records only) and queue its harmonise tasks; files that need none
        (singletons, unreadable ones) go straight to their edit."""
        t0 = time.perf_counter()
        records = dict(window)
        groups = group_window(window, self.options)
        self.stats.grouping_s += time.perf_counter() - t0
        for i, r in window:
            if r is None:
                self._ready([i])
        batch: list[tuple[str, list]] = []
        for name, indices in groups:
            # named by its first frame's place in the job (not by when its window closed, which depends on which
            # survey finished first): the same run gives the same ids, locally, with -j N and with Ray
            label = name if name is not None else f"g{min(indices) + 1:03d}"
            if len(indices) == 1:
                self._unspool(indices)
                self._put(indices[0], singleton_entry(label))
                self.stats.groups.append({"id": label, "files": [self.paths[indices[0]]], "consistency": None})
                self._ready(indices)
                continue
            if batch and sum(len(m) for _, m in batch) + len(indices) > HARMONISE_FRAMES:
                self._queue_harmonise(batch, records)
                batch = []
            batch.append((label, indices))
        if batch:
            self._queue_harmonise(batch, records)

    def _queue_harmonise(self, batch: list[tuple[str, list]], records: dict) -> None:
        tid = ("harmonise", self._harmonise_no)
        self._harmonise_no += 1
        self.args[tid] = [(label, [records[i] for i in indices]) for label, indices in batch]
        self._members[tid] = [i for _, indices in batch for i in indices]
        self.harmonise.append(tid)

    def _harmonised(self, tid, o) -> None:
        """A harmonise task came back: its groups wait for their consistency figures (a measure task)."""
        members = self._members.pop(tid)
        self.args.pop(tid)
        value = self._value(o)
        self.stats.harmonise_s += o.seconds
        if value is None:
            log.warning("harmonising %d photos failed (%s): they are edited one by one", len(members),
                        getattr(o.failure, "message", "?"))
            self._unspool(members)
            self._ready(members)
            return
        measure = ("measure", tid[1])
        self.measuring[measure] = (members, value)
        self.measure.append(measure)

    def _measured(self, tid, o) -> None:
        """The figures of a harmonise task's groups came back: their plan entries are made, their files edited next
        (without a figure, consistency None, when measuring failed)."""
        members, value = self.measuring.pop(tid)
        figures = self._value(o)
        self.stats.harmonise_s += o.seconds
        if figures is None:
            log.warning("measuring the consistency of %d groups failed (%s)", len(value),
                        getattr(o.failure, "message", "?"))
        for k, (_, _, h) in enumerate(value):
            if h.recipes and figures is not None:
                h.consistency = figures[k]
            h.pairs = []
        per_group, summaries = group_entries(value)
        index_of = {os.path.abspath(self.paths[i]): i for i in members}
        for (_, paths, _), got in zip(value, per_group):
            for pos, entry in got:
                self._put(index_of[os.path.abspath(paths[pos])], entry)
        self.stats.groups += summaries
        self._ready(members)

    def _unspool(self, indices: list[int]) -> None:
        """Remove the spooled survey images of files that will not be harmonised."""
        from .work import spool_file  # noqa: PLC0415

        for i in indices:
            with contextlib.suppress(OSError):
                os.remove(spool_file(self.spool, self.paths[i]))

    def _put(self, i: int, entry) -> None:
        if self.put is None:
            self.entries[i] = entry
        else:
            self.put(self.paths[i], entry)
        self.stats.planned += 1

    def _ready(self, indices: list[int]) -> None:
        """Planned (or never to be planned): edit next, or (plan only) done."""
        self.planned_done += len(indices)
        if self.outs is None:
            self.ahead -= len(indices)
            return
        for i in indices:
            self.edits.append(i)
            self.ahead -= 1


def _spool_dir(parent: str | None) -> str:
    if parent:
        os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix="shoot-", dir=parent)


def run_grouped(jobs: Sequence[tuple[str, str]], spec, opts, options: GroupingOptions, workers: int = 1, *,
                on_result: Callable | None = None, on_start: Callable[[str], None] | None = None,
                on_survey: Callable[[int, int], None] | None = None, timeout: float | None = None,
                memory_limit: int | None = None, task_ref: str | None = None, window: int = WINDOW,
                spool_parent: str | None = None) -> tuple[list, Stats]:
    """Edit (input_path, output_path) jobs with grouping on, streamed by window (module docstring): returns the
    Results in job order and the planning Stats. on_survey(done, total) after each survey; on_result(Result) and
    on_start(input_path) as engine.run_batch. spool_parent: where the run's spool folder is made (removed at the
    end; default: the system's temp folder). A bad --groups file raises ValueError before any worker starts."""
    from ..engine import WorkerPool  # noqa: PLC0415
    from .work import SHOOT_TASK  # noqa: PLC0415

    if options.groups_file:
        read_groups_file(options.groups_file)
    jobs = [(str(p), str(o)) for p, o in jobs]
    if not jobs:
        return [], Stats()
    spool = _spool_dir(spool_parent)
    paths = [p for p, _ in jobs]
    pool = None
    try:
        pool = WorkerPool(min(workers, len(jobs)), PlannedSpec.wrapping(spec, TaskPlan()), timeout=timeout,
                          memory_limit=memory_limit, task_ref=task_ref or SHOOT_TASK, keep_memory=True,
                          on_start=(lambda t: on_start(paths[t[1]]) if t[0] == "edit" else None) if on_start else None)
        driver = _Driver(pool, paths, options, spool, None, outs=[o for _, o in jobs], opts=opts,
                         max_pixels=getattr(opts, "max_pixels", DEFAULT_MAX_PIXELS), on_result=on_result,
                         on_survey=on_survey, window=window)
        driver.run()
    finally:
        if pool is not None:
            pool.close()
        shutil.rmtree(spool, ignore_errors=True)
    return [driver.results[i] for i in range(len(jobs))], driver.stats


def plan_in_workers(paths: Sequence[str], spec, options, jobs: int = 1, max_pixels: int | None = None, *,
                    timeout: float | None = 120.0, memory_limit: int | None = None, task_ref: str | None = None,
                    window: int = WINDOW, on_survey: Callable | None = None
                    ) -> tuple[list, list[tuple[int, object]], list[dict]]:
    """Survey, group and harmonise `paths` in up to `jobs` spawned workers without editing them. Returns (one
    grouping.Signed record or None per path, [(index into paths, PlanEntry)], group summaries); entries held in
    memory (the caller decides where they go)."""
    from ..engine import WorkerPool  # noqa: PLC0415
    from .work import SHOOT_TASK  # noqa: PLC0415

    paths = [str(p) for p in paths]
    if not paths:
        return [], [], []
    index_of = {os.path.abspath(p): i for i, p in enumerate(paths)}
    entries: list[tuple[int, object]] = []
    spool = _spool_dir(None)
    pool = None
    try:
        pool = WorkerPool(max(1, min(jobs, len(paths))), spec, timeout=timeout, memory_limit=memory_limit,
                          task_ref=task_ref or SHOOT_TASK)  # short-lived (watch: per release): memory given back
        driver = _Driver(pool, paths, options, spool, lambda p, e: entries.append((index_of[os.path.abspath(p)], e)),
                         max_pixels=max_pixels, on_survey=on_survey, window=window, keep_records=True)
        driver.run()
    finally:
        if pool is not None:
            pool.close()
        shutil.rmtree(spool, ignore_errors=True)
    return [driver.kept.get(i) for i in range(len(paths))], sorted(entries, key=lambda e: e[0]), \
        driver.stats.groups


def make_plan(paths: Sequence[str], spec, options: GroupingOptions = GroupingOptions(), jobs: int = 1,
              max_pixels: int | None = DEFAULT_MAX_PIXELS, *, timeout: float | None = 120.0,
              memory_limit: int | None = None, task_ref: str | None = None, window: int = WINDOW,
              on_survey: Callable | None = None) -> Plan:
    """The whole plan of `paths` in memory (shoot.plan.Plan), planned window by window as run_grouped plans them:
    the same groups and recipes. A bad groups file raises ValueError here, before any worker starts."""
    t0 = time.perf_counter()
    if options.groups_file:
        read_groups_file(options.groups_file)
    paths = list(paths)
    _, entries, groups = plan_in_workers(paths, spec, options, jobs, max_pixels, timeout=timeout,
                                         memory_limit=memory_limit, task_ref=task_ref, window=window,
                                         on_survey=on_survey)
    plan = Plan({os.path.abspath(paths[i]): e for i, e in entries}, groups)
    plan.seconds = time.perf_counter() - t0
    return plan
