"""Planning a shoot in the engine's spawned workers: untrusted files are decoded there, never in the caller.

    plan = make_plan(paths, SourceSpec("learned"), GroupingOptions(), jobs=2)   # a shoot.plan.Plan

The caller (`process`'s parent, the `watch` daemon) hands the pool one `survey` task per file and gets back a
compact Survey (capture time, camera, folder, EXIF, the 64 px preview and a <= 256 px linear ProPhoto thumbnail that
stands in for the survey image): a few hundred kB per file. A file whose survey crashes its worker, runs past the
timeout or fails gets no survey (a crash is retried once alone first, engine.run_tasks' policy): it is edited alone, and
the engine's own render step reports its failure. Grouping and harmonising (the agent, renders of the small
images) then run as one `plan` task in a worker too, so the caller never loads the agent or the render kernels;
if that task fails, every file is edited alone.

Exports: make_plan, plan_in_workers, shoot_task, compact_survey, ShootReply, SHOOT_TASK.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

from ..limits import DEFAULT_MAX_PIXELS
from ..sources import SourceSpec
from .grouping import GroupingOptions, read_groups_file
from .plan import Plan

log = logging.getLogger(__name__)

#: The pool's task function (tests point plan_in_workers at a hostile wrapper of it).
SHOOT_TASK = "exposure_batch.shoot.work:shoot_task"
#: Files per survey worker: a worker costs ~1 CPU s to start (imports, the agent, loading the compiled kernels), a
#: survey ~0.05-0.1 CPU s per 12 MP DNG; 16 DNGs: 1 worker 2.4 s wall / 2.4 CPU s, 2 workers 2.0 s / 3.0 CPU s.
SURVEYS_PER_WORKER = 8
#: Long side (px) of the image a compact survey keeps (harmonise aligns at 192 px, signatures use 16 x 16).
KEPT_SIDE = 256


@dataclass
class ShootReply:
    """What a shoot task sends back: value (a Survey, None, or (entries, groups)); failure is always None (the
    engine's Outcome reads it: a failed task comes back as a pipeline.Result instead)."""

    value: Any = None
    pid: int = 0
    failure: Any = None


def compact_survey(survey):
    """The Survey with its preview computed from the full survey image and the image itself cut to a <= KEPT_SIDE
    thumbnail (float32 linear ProPhoto), which also serves as the thumbnail."""
    if survey is None:
        return None
    from ..render.preview import thumbnail  # noqa: PLC0415

    preview = survey.preview  # from the full survey image (what the agent would see)
    survey.image = thumbnail(survey.image, KEPT_SIDE)
    survey.__dict__["preview"] = preview
    survey.__dict__["thumbnail"] = survey.image
    return survey


def shoot_task(source, op: str, payload):
    """Worker task. op 'survey': payload (path, max_pixels) -> compact Survey or None; op 'plan': payload
    (surveys, GroupingOptions) -> plan.plan_entries(surveys, source, options)."""
    if op == "survey":
        from .survey import survey_file  # noqa: PLC0415

        path, max_pixels = payload
        return ShootReply(compact_survey(survey_file(path, max_pixels)), os.getpid())
    if op == "plan":
        from .plan import plan_entries  # noqa: PLC0415  (looked up at call time: tests replace it)

        surveys, options = payload
        return ShootReply(plan_entries(surveys, source, options), os.getpid())
    raise ValueError(f"unknown shoot task {op!r}")


def plan_in_workers(paths: Sequence[str], spec, options, jobs: int = 1, max_pixels: int | None = None, *,
                    timeout: float | None = 120.0, memory_limit: int | None = None, task_ref: str | None = None
                    ) -> tuple[list, list[tuple[int, Any]], list[dict]]:
    """Survey `paths` in up to `jobs` spawned workers (one per SURVEYS_PER_WORKER files), then group and harmonise
    in one of them with the source `spec` builds. Returns (surveys: one compact Survey or None per path,
    [(index into paths, PlanEntry)], group summaries). timeout: seconds per survey (the plan task gets 10x);
    memory_limit: per worker."""
    from ..engine import WorkerPool, run_tasks  # noqa: PLC0415

    paths = [str(p) for p in paths]
    if not paths:
        return [], [], []
    n = max(1, min(jobs, len(paths) // SURVEYS_PER_WORKER))
    pool = WorkerPool(n, spec, timeout=timeout, memory_limit=memory_limit,
                      task_ref=task_ref or SHOOT_TASK, keep_memory=True)
    try:
        surveys: list = [None] * len(paths)
        for k, o in enumerate(run_tasks(pool, [("survey", (p, max_pixels)) for p in paths])):
            if o.failure is None and isinstance(o.result, ShootReply):
                surveys[k] = o.result.value
            else:
                log.info("survey of %s failed (%s): it is edited alone", paths[k], getattr(o.failure, "kind", "?"))
        readable = [k for k, s in enumerate(surveys) if s is not None]
        if not readable:
            return surveys, [], []
        pool.timeout = None if timeout is None else 10 * timeout
        result = _run_one(pool, ("plan", ([surveys[k] for k in readable], options)))
    finally:
        pool.close()
    if result is None:
        log.warning("grouping failed; %d files are edited one by one", len(paths))
        return surveys, [], []
    entries, groups = result
    return surveys, [(readable[i], e) for i, e in entries], groups


def _run_one(pool, args: tuple):
    """One task through the pool (engine.run_tasks' retry policy): its value, or None when it failed."""
    from ..engine import run_tasks  # noqa: PLC0415

    o = run_tasks(pool, [args])[0]
    if o.failure is None and isinstance(o.result, ShootReply):
        return o.result.value
    log.warning("grouping task failed: %s", getattr(o.failure, "message", o.failure))
    return None


def make_plan(paths: Sequence[str], spec: SourceSpec, options: GroupingOptions = GroupingOptions(), jobs: int = 1,
              max_pixels: int | None = DEFAULT_MAX_PIXELS, *, timeout: float | None = 120.0,
              memory_limit: int | None = None, task_ref: str | None = None) -> Plan:
    """Survey `paths` in up to `jobs` spawned workers (plan_in_workers: a file that crashes or hangs its survey
    costs only itself), group them and harmonise each group with the source `spec` builds (in a worker too). Files
    the survey cannot read, or that declare more than `max_pixels` pixels, are left out (the engine reports them).
    A bad groups file raises ValueError here, before any worker starts."""
    t0 = time.perf_counter()
    if options.groups_file:
        read_groups_file(options.groups_file)
    surveys, entries, groups = plan_in_workers(list(paths), spec, options, jobs, max_pixels, timeout=timeout,
                                               memory_limit=memory_limit, task_ref=task_ref)
    plan = Plan({os.path.abspath(surveys[i].path): e for i, e in entries}, groups)
    plan.seconds = time.perf_counter() - t0
    return plan
