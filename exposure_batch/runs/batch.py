"""A batch run (`exposure-batch process`), without the command line: plan, dry run, run.

    jobs = plan_jobs(inputs, opts, recursive=True)               # (input, output) pairs; PlanError / RunUsageError
    rows = plan_dry_run(jobs, opts, resume=False)                      # (action, input, output, reason), nothing written
    run = BatchRun(jobs, spec, opts, RunOptions(workers=2))       # manifest, shoot plan, kernels, engine or Ray
    results = run.execute(on_result=print)

The command line (cli/process.py) parses flags into the typed options (OutputOptions, SourceSpec, RunOptions),
calls these and prints; errors come back typed: PlanError (outputs would replace an input or collide) and
RunUsageError are the user's to fix (exit 2), any other ExposureBatchError stops the run (exit 1).

Exports: RunOptions, BatchRun, RunUsageError, plan_jobs, artefacts, plan_dry_run, open_manifest, plan_shoot,
profile_warning, prepare_kernels_for, skip_existing_first, run_variations, describe_variations, embedded_sources.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Callable, Sequence

from ..errors import ExposureBatchError, Kind
from ..names import shown
from ..pipeline.inputs import find_inputs
from ..pipeline.options import OutputOptions
from ..pipeline.outputs import (check_folders, check_targets, exclude_own, existing_outputs_block, plan_outputs,
                                recipe_path_for)
from ..pipeline.result import Result
from ..sources import SourceSpec
from .manifest import Manifest, dry_run_plan, options_mismatch, plan_resume, run_options


class RunUsageError(ExposureBatchError):
    """The run cannot start as asked (no inputs, --resume with other settings, a bad --groups file): one line."""

    kind = Kind.USAGE


@dataclass(frozen=True)
class RunOptions:
    """How a batch runs, besides what it writes (OutputOptions) and who decides (SourceSpec).

    workers: worker processes; timeout: seconds per file (None: no limit); memory_limit: bytes of address space
    per worker (None: no cap); ray_address: run on Ray instead of the local engine; resume: continue the run
    recorded in OUTDIR's manifest; grouping: shoot.grouping.GroupingOptions (None or disabled: every photo alone).
    """

    workers: int = 1
    timeout: float | None = 600.0
    memory_limit: int | None = None
    ray_address: str | None = None
    resume: bool = False
    grouping: object = None

    @property
    def limits(self) -> dict:
        return {"timeout": self.timeout, "memory_limit": self.memory_limit}


def plan_jobs(inputs: Sequence[str], opts: OutputOptions, recursive: bool = False,
              report_dir: str | None = None) -> list[tuple[str, str]]:
    """Input files and folders -> (input path, output image path) pairs, checked before any work: no output folder
    inside an input, no output replacing an input or written twice (PlanError naming both), at least one photo
    (RunUsageError)."""
    check_folders(inputs, opts.outdir, report_dir)
    pairs = exclude_own(find_inputs(inputs, recursive=recursive), [opts.outdir, report_dir], inputs)
    if not pairs:
        raise RunUsageError("no input photos found")
    out_map = plan_outputs(pairs, opts)
    jobs = [(p, out_map[p]) for p, _ in pairs]
    check_targets(jobs, lambda path, out: artefacts(path, out, opts))
    return jobs


def artefacts(path: str, out_path: str, opts: OutputOptions) -> list[str]:
    """Every file a job writes: the image, its recipe, its sidecars (pipeline.outputs.check_targets)."""
    paths = [out_path] + ([recipe_path_for(out_path)] if opts.save_recipe else [])
    if opts.sidecars != "none":
        from ..sidecars.writer import planned_paths  # noqa: PLC0415

        paths += planned_paths(out_path, path, opts.sidecars)
    return paths


def profile_warning(spec: SourceSpec) -> str | None:
    """One line when the agent a profile run would load is not the one the profile was learned on (checked once,
    here, before any worker starts; the workers do not repeat it), else None. Raises ProfileError for a profile
    that cannot be read, RunUsageError for --profile with --recipe."""
    if not spec.profile_path:
        return None
    if spec.recipe_path:
        raise RunUsageError("--profile and --recipe exclude each other")
    from ..look.profile import agent_mismatch, current_agent_identity, load_profile  # noqa: PLC0415

    profile = load_profile(spec.profile_path)
    return agent_mismatch(profile, current_agent_identity(profile, spec.model_path))


def plan_dry_run(jobs: Sequence[tuple[str, str]], opts: OutputOptions, resume: bool = False) -> list[tuple]:
    """What a run would do, per file: (action 'process' | 'skip' | 'fail', input, output, reason); writes nothing."""
    state = Manifest.for_outdir(opts.outdir).load() if resume else None
    return dry_run_plan(jobs, opts, state)


def open_manifest(jobs, opts: OutputOptions, spec: SourceSpec, resume: bool,
                  notify: Callable[[str], None] = lambda msg: None):
    """Open OUTDIR/.exposure-batch/manifest.jsonl for this run; with `resume` drop the files done earlier and
    remove outputs left by files that were in flight. Returns (manifest, jobs still to do, earlier Results).
    Raises RunUsageError (resume with other settings), OSError (the output folder is not writable)."""
    manifest = Manifest.for_outdir(opts.outdir)
    options = run_options(opts, spec)
    earlier: list[Result] = []
    if resume:
        state = manifest.load()
        if state.options is None:
            notify("resume: no manifest in the output folder yet; starting from the beginning")
        elif (diff := options_mismatch(state, options)) is not None:
            raise RunUsageError(f"--resume with different settings than the interrupted run ({diff}); "
                                "use the same options or another output folder")
        plan = plan_resume(state, jobs)
        for stale in plan.stale:
            os.remove(stale)
        jobs, earlier = plan.todo, plan.finished
        notify(f"resume: {len(earlier)} done earlier, {len(jobs)} to do")
    manifest.open_run(options, len(jobs))
    return manifest, jobs, earlier


def plan_shoot(paths, spec: SourceSpec, grouping, jobs: int, max_pixels: int | None = None,
               timeout: float | None = None, memory_limit: int | None = None,
               notify: Callable[[str], None] = lambda msg: None):
    """Survey, group and harmonise `paths` before the engine runs (in `jobs` spawned workers: shoot.stream; a
    survey may take min(timeout, 120) s); returns the PlannedSpec the engine's workers build their source from.
    notify gets one line saying what was found when any scene has more than one photo. Raises RunUsageError for
    a bad --groups file."""
    from ..shoot.plan import PlannedSpec  # noqa: PLC0415
    from ..shoot.stream import make_plan  # noqa: PLC0415

    try:
        plan = make_plan(paths, spec, grouping, jobs, max_pixels, timeout=min(timeout or 120.0, 120.0),
                         memory_limit=memory_limit)
    except ValueError as err:  # a bad --groups file
        raise RunUsageError(str(err)) from None
    shared = sum(1 for g in plan.groups if len(g["files"]) > 1)
    if shared or plan.split_count:  # nothing to say when every photo is a scene of its own
        notify(f"groups: {len(plan.entries)} photos in {len(plan.groups)} scenes ({shared} harmonised, "
               f"{plan.split_count} frames split off) in {plan.seconds:.1f} s")
    return PlannedSpec.wrapping(spec, plan)


def prepare_kernels_for(jobs: Sequence[tuple[str, str]], opts: OutputOptions,
                        notify: Callable[[str], None] | None = None) -> float:
    """On a machine's first run, compile the render kernels this run needs (RAW code path only with RAW inputs; the
    output's bit depth) before the batch starts, on the idle cores (engine.warmup). Returns seconds."""
    from ..engine.warmup import prepare_kernels  # noqa: PLC0415
    from ..io import formats  # noqa: PLC0415

    raw = any(formats.is_raw(path) for path, _ in jobs)
    return prepare_kernels(raw_sources=raw, bits=(formats.bits_for(opts.fmt),), notify=notify,
                           workers=os.cpu_count() or 1)


class BatchRun:
    """One `process` run of planned jobs: resume bookkeeping (manifest), outputs that exist skipped first, first-run
    kernel compile, then the engine (or Ray); with grouping on, the shoot is planned and edited window by window in
    the engine's workers (shoot.stream.run_grouped; on Ray the plan is made first). `execute` returns every file's
    Result (earlier ones of a resumed run first)."""

    def __init__(self, jobs: Sequence[tuple[str, str]], spec: SourceSpec, opts: OutputOptions,
                 run: RunOptions = RunOptions(), notify: Callable[[str], None] = lambda msg: None):
        self.jobs, self.spec, self.opts, self.run, self.notify = list(jobs), spec, opts, run, notify
        self.manifest, self.todo, self.earlier = open_manifest(self.jobs, opts, spec, run.resume, notify)

    def with_thumbnails(self, side: int) -> None:
        """Done Results carry the input's linear thumbnail, `side` px (the HTML report needs no second decode)."""
        self.opts = dataclasses.replace(self.opts, thumbnail=side)

    @property
    def grouping(self):
        """The GroupingOptions when grouping is on, else None."""
        grouping = self.run.grouping
        return grouping if grouping is not None and grouping.enabled else None

    def plan(self) -> None:
        """Checks before any worker starts: a bad --groups file is a RunUsageError."""
        if self.grouping is not None and self.grouping.groups_file:
            from ..shoot.grouping import read_groups_file  # noqa: PLC0415

            try:
                read_groups_file(self.grouping.groups_file)
            except ValueError as err:
                raise RunUsageError(str(err)) from None

    def execute(self, on_result: Callable[[Result], None] | None = None,
                on_survey: Callable[[int, int], None] | None = None) -> list[Result]:
        """Run the jobs still to do; on_result gets each Result as it finishes (after the manifest has it),
        on_survey(done, total) the shoot survey's progress (grouping on, local engine)."""
        out_of = dict(self.todo)

        def settled(r: Result) -> None:
            self.manifest.end(r, out_of.get(r.path, ""))
            if on_result is not None:
                on_result(r)

        skipped, todo = skip_existing_first(self.todo, self.opts)
        for r in skipped:
            settled(r)
        if not todo:
            return self.earlier + skipped
        if self.run.ray_address:
            from ..engine.ray import run_ray  # noqa: PLC0415

            spec = self.spec
            if self.grouping is not None:
                spec = plan_shoot([p for p, _ in todo], spec, self.grouping, self.run.workers, self.opts.max_pixels,
                                  notify=self.notify, **self.run.limits)
            return self.earlier + skipped + run_ray(todo, spec, self.opts, self.run.ray_address, settled)
        prepare_kernels_for(todo, self.opts, self.notify)
        on_start = lambda path: self.manifest.start(path, out_of[path])  # noqa: E731
        if self.grouping is None:
            from ..engine import run_batch  # noqa: PLC0415

            return self.earlier + skipped + run_batch(todo, self.spec, self.opts, self.run.workers, settled,
                                                      on_start=on_start, **self.run.limits)
        from ..shoot.stream import run_grouped  # noqa: PLC0415

        results, stats = run_grouped(todo, self.spec, self.opts, self.grouping, self.run.workers, on_result=settled,
                                     on_start=on_start, on_survey=on_survey,
                                     spool_parent=os.path.join(self.opts.outdir, ".exposure-batch"), **self.run.limits)
        if stats.line():
            self.notify(stats.line())
        return self.earlier + skipped + results

    def close(self) -> None:
        self.manifest.close()


def skip_existing_first(jobs, opts: OutputOptions) -> tuple[list[Result], list]:
    """(skipped Results, jobs still to do): outputs that exist already (without --overwrite) are skipped before
    any worker starts or any photo is surveyed (the engine would skip them too, after planning them)."""
    skipped, todo = [], []
    for path, out_path in jobs:
        blocked = existing_outputs_block(out_path, opts)
        if blocked is None:
            todo.append((path, out_path))
        else:
            blocked.path = path
            skipped.append(blocked)
    return skipped, todo


def run_variations(jobs: Sequence[tuple[str, str]], spec: SourceSpec, opts: OutputOptions, n: int,
                   on_photo: Callable[[str, list[Result]], None] | None = None) -> list[Result]:
    """N alternative edits per photo (NAME_v1 .. NAME_vN), each photo decoded once, in this process. Raises
    RunUsageError unless the learned agent decides (only it samples); ExposureBatchError when it cannot load."""
    if spec.agent != "learned" or spec.recipe_path or spec.profile_path:
        raise RunUsageError("--variations needs --agent learned (and no --recipe or --profile): only the learned "
                            "agent samples")
    if getattr(opts.sidecars, "beside_source", False):
        raise RunUsageError("--variations writes one sidecar per variation, beside its output: not with "
                            "--sidecar-beside-source (all N would share the source's sidecar)")
    from ..pipeline.stages import process_variations  # noqa: PLC0415

    source = spec.build()
    results = []
    for path, out_path in jobs:
        batch = process_variations(path, out_path, source, n, opts)
        if on_photo is not None:
            on_photo(path, batch)
        results += batch
    return results


def embedded_sources(results) -> int:
    """How many source files the run modified (Adobe settings embedded with --sidecar-beside-source): a done
    result whose outputs include its own source."""
    return sum(1 for r in results if r.status == "done" and r.path in (r.outputs or ()))


def describe_variations(path: str, batch: list[Result], n: int) -> str:
    """'NAME: k/n variations; failed: reason' for one photo of a --variations run."""
    done = sum(r.status == "done" for r in batch)
    return (f"{shown(os.path.basename(path))}: {done}/{n} variations" +
            "".join(f"; {r.status}: {shown(r.reason)}" for r in batch if r.status != "done"))
