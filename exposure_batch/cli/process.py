"""`exposure-batch process INPUT... -o OUTDIR`: edit a batch of photos."""
from __future__ import annotations

import os
import sys
import time

import click

from ..color import SPACE_NAMES
from ..engine import run_batch
from ..errors import ExposureBatchError
from ..io import formats
from ..limits import DEFAULT_MAX_PIXELS
from ..names import shown
from ..pipeline.inputs import find_inputs
from ..pipeline.options import OutputOptions
from ..pipeline.outputs import (EXISTS_REASON, PlanError, check_folders, check_targets, exclude_own, plan_outputs,
                                unsupported_format)
from ..pipeline.result import Result
from ..render import prepare_kernels
from ..sources import SourceSpec
from .options import check_inputs_exist, check_output_options, format_help, memory_cap, output_format, space_help


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders (their structure is kept).")
@click.option("-f", "--format", "fmt", type=click.Choice(formats.OUTPUT_CHOICES, case_sensitive=False), default="jpeg",
              show_default=True, callback=output_format, help=format_help())
@click.option("-q", "--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
@click.option("--jpeg-optimize", is_flag=True,
              help="Optimised JPEG Huffman tables: about 4% smaller files, about 3x the encoding time.")
@click.option("--space", type=click.Choice(tuple(SPACE_NAMES)), default="srgb", show_default=True, help=space_help())
@click.option("--linear", is_flag=True, help="Write linear values (TIFF/PNG) instead of the space's transfer curve.")
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False),
              help="Apply this saved recipe (JSON) to every photo instead of an agent.")
@click.option("--agent", type=click.Choice(["classic", "learned"]), default="learned", show_default=True,
              help="Who decides the edit when no --recipe is given: learned = the shipped Exposure model "
                   "(models/auto, or --model), classic = image statistics.")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False), help="Model folder for --agent learned.")
@click.option("--profile", "profile_path", type=click.Path(exists=True, file_okay=False),
              help="A studio profile made by `exposure-batch learn`: its agent's correction, then the studio's look "
                   "(recipes name the profile). Not with --recipe.")
@click.option("--variations", type=click.IntRange(1, 64), metavar="N",
              help="With --agent learned: N alternative edits per photo (the paper's dropout sampling, seeded by the "
                   "photo: same photo, same N edits), written as NAME_v1 .. NAME_vN. Runs in this process.")
@click.option("--save-recipe", is_flag=True, help="Write NAME.recipe.json beside each output.")
@click.option("--skip-existing", is_flag=True, help="Skip outputs that already exist without the hint (the default "
              "skips them too and says how to redo them).")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes; each pipelines decode, agent and render/encode of successive files.")
@click.option("--timeout", type=click.FloatRange(0), default=600.0, show_default=True,
              help="Seconds one file may take before its worker is killed (0: no limit).")
@click.option("--memory-limit", default="auto", show_default=True,
              help="Address-space cap per worker, e.g. 4G (auto: 80 percent of RAM / jobs; 0: none).")
@click.option("--ray", "ray_address", metavar="ADDRESS|auto|local",
              help="Run on a Ray cluster (pip install 'exposure-batch[ray]'): 'auto' = the running cluster, "
                   "'local' = a private one on this machine, or HOST:PORT / ray://HOST:10001.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run: files recorded as done in OUTDIR/.exposure-batch/manifest.jsonl "
                   "are skipped, files that were in flight are redone.")
@click.option("--dry-run", is_flag=True, help="List what would be done (process / skip / fail per file); write nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Also write a static HTML report (before/after, steps, failures) to this folder.")
@click.option("--sidecar", "sidecars", default="none", show_default=True, metavar="darktable|adobe|cube|all|none",
              help="Editor files describing each edit of the source (comma list allowed): darktable IMG.EXT.xmp, "
                   "Adobe IMG.xmp for raw (embedded with --sidecar-beside-source for JPEG/TIFF/DNG), baked .cube.")
@click.option("--darktable-mode", type=click.Choice(["parametric", "lut"]), default="parametric", show_default=True,
              help="darktable sidecar: editable modules, or one lut3d entry reading the baked .cube.")
@click.option("--max-pixels", type=click.IntRange(0), default=DEFAULT_MAX_PIXELS, show_default=True, metavar="N",
              help="Refuse photos whose header declares more than N pixels (width x height), before decoding "
                   "them; 0 = no limit.")
@click.option("--sidecar-beside-source", is_flag=True,
              help="Write sidecars beside the source files (a catalogue of originals) instead of beside the outputs. "
                   "With --sidecar adobe this MODIFIES JPEG/TIFF/PNG/DNG sources: Lightroom reads no sidecar for "
                   "them, so the settings are embedded into the source file (its bytes change, its other metadata "
                   "is kept); the run says how many sources it changed.")
@click.option("--group-by", type=click.Choice(["auto", "time", "similarity", "folder", "none"]), default="auto",
              show_default=True,
              help="Group photos into scenes and give each scene one consistent edit (exposure and white balance "
                   "harmonised, tone/colour steps shared; frames that do not belong are split off): auto = capture "
                   "time, then visual similarity; none = every photo edited alone. With --recipe the look is applied "
                   "exactly (none) unless --group-by or --groups is given.")
@click.option("--group-gap", type=click.FloatRange(0), default=30.0, show_default=True, metavar="SECONDS",
              help="A gap of more than this between two capture times starts a new scene.")
@click.option("--groups", "groups_file", type=click.Path(exists=True, dir_okay=False),
              help="Scene groups given by hand: JSON {\"group\": [\"file\", ...]} or CSV lines 'file,group' "
                   "(files it does not name are grouped by --group-by).")
def process(inputs, outdir, recursive, fmt, quality, jpeg_optimize, space, linear, recipe_path, agent, model_path,
            save_recipe, skip_existing, overwrite, jobs, no_progress, report_dir=None, ray_address=None, resume=False,
            dry_run=False, sidecars="none", darktable_mode="parametric", sidecar_beside_source=False,
            variations=None, timeout=600.0, memory_limit="auto", profile_path=None,
            max_pixels=DEFAULT_MAX_PIXELS, group_by="auto", group_gap=30.0, groups_file=None) -> None:
    """Edit INPUTS (files and/or folders of RAW, JPEG, PNG, TIFF) and write the results to OUTDIR.

    Outputs that exist already are skipped (--overwrite redoes them). Every file runs in a worker process with a
    per-file --timeout and a --memory-limit: a file that crashes or hangs its worker fails alone.

    Exit status: 0 when every file was done or skipped, 1 when any file failed, 2 for usage errors, 75 when
    another run is writing to OUTDIR (one run per output folder; try again later).
    """
    check_inputs_exist(inputs)
    check_output_options(fmt, space, linear, overwrite, skip_existing)
    try:
        check_folders(inputs, outdir, report_dir)
    except PlanError as err:
        raise click.UsageError(str(err)) from None
    pairs = exclude_own(find_inputs(inputs, recursive=recursive), [outdir, report_dir], inputs)
    if not pairs:
        raise click.UsageError("no input photos found")
    opts = OutputOptions(os.path.abspath(outdir), fmt, quality, space, linear, save_recipe, overwrite, skip_existing,
                         sidecars=_sidecar_options(sidecars, darktable_mode, sidecar_beside_source),
                         jpeg_optimize=jpeg_optimize, max_pixels=max_pixels or None)
    out_map = plan_outputs(pairs, opts)
    spec = SourceSpec(agent, recipe_path, model_path, profile_path)
    check_profile_options(profile_path, recipe_path, model_path)
    job_list = [(p, out_map[p]) for p, _ in pairs]
    try:
        check_targets(job_list, lambda path, out: _artefacts(path, out, opts))
    except PlanError as err:
        raise click.UsageError(str(err)) from None
    if recipe_path:  # a bad look fails here, in one line, before any worker starts
        from ..recipe import load_recipe  # noqa: PLC0415

        try:
            load_recipe(recipe_path)
        except ExposureBatchError as err:
            raise click.ClickException(shown(err)) from None
    if not dry_run:
        hold_output_folder(opts.outdir)
    if variations:
        _run_variations(job_list, spec, opts, variations, ray_address, resume, dry_run, report_dir)
        return
    if dry_run:
        _dry_run(job_list, opts, spec, resume)
        return
    limits = {"timeout": timeout or None, "memory_limit": memory_cap(memory_limit, jobs, spec)}
    manifest, job_list, earlier = _open_manifest(job_list, opts, spec, resume)
    report = _open_report(report_dir, inputs)
    if report is not None:  # results then carry the input's thumbnail: the report needs no second decode
        import dataclasses  # noqa: PLC0415

        from ..report.html import THUMB_SIDE  # noqa: PLC0415

        opts = dataclasses.replace(opts, thumbnail=THUMB_SIDE)
    start = time.perf_counter()  # the plan (after every usage check) is part of the run's wall time
    group_by = look_grouping(group_by, recipe_path, groups_file)
    grouping = grouping_options(group_by, group_gap, groups_file)
    if grouping.enabled and groups_file:
        try:  # a bad --groups file fails here, in one line, before any worker starts
            from ..shoot.grouping import read_groups_file  # noqa: PLC0415

            read_groups_file(groups_file)
        except ValueError as err:
            manifest.close()
            raise click.UsageError(str(err)) from None
    if job_list and not ray_address:
        _prepare_kernels(job_list, opts)
    try:
        results = earlier + _run_with_progress(job_list, spec, opts, jobs, limits, not no_progress, report,
                                               ray_address, manifest, grouping if grouping.enabled else None)
    except ExposureBatchError as err:
        raise click.ClickException(str(err)) from None
    except click.ClickException:
        raise
    except Exception as err:  # noqa: BLE001  (a model that cannot load while planning, ...)
        raise click.ClickException(str(err)) from None
    finally:
        manifest.close()
    _print_summary(results, time.perf_counter() - start, listed=True, hint=not skip_existing)
    _print_sidecar_notes(results, opts.sidecars)
    if report is not None:
        index = report.try_flush()
        click.echo(f"report: {shown(index)}" if index else f"report: not written ({shown(report.last_error)})",
                   err=index is None)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


class OutputFolderBusy(click.ClickException):
    """Another run holds the output folder (exit status 75, sysexits' 'try again later')."""

    exit_code = 75


def hold_output_folder(outdir: str) -> None:
    """One run per output folder (runlock.OutputLock), held until the command ends; refused in one line when another
    run holds it. A folder that cannot even hold the lock file is left to fail later with its own line."""
    from ..runlock import OutputBusy, OutputLock  # noqa: PLC0415

    try:
        lock = OutputLock(outdir).acquire()
    except OutputBusy as err:
        raise OutputFolderBusy(str(err)) from None
    except OSError:
        return
    click.get_current_context().call_on_close(lock.release)


def _artefacts(path: str, out_path: str, opts: OutputOptions) -> list[str]:
    """Every file a job writes: the image, its recipe, its sidecars (pipeline.outputs.check_targets)."""
    from ..pipeline.outputs import recipe_path_for  # noqa: PLC0415

    paths = [out_path] + ([recipe_path_for(out_path)] if opts.save_recipe else [])
    if opts.sidecars != "none":
        from ..sidecars.writer import planned_paths  # noqa: PLC0415

        paths += planned_paths(out_path, path, opts.sidecars)
    return paths


def _run_variations(job_list, spec, opts, n, ray_address, resume, dry_run, report_dir) -> None:
    """--variations N: each photo decoded once and rendered N times (NAME_v1 .. NAME_vN), one line per photo."""
    if spec.agent != "learned" or spec.recipe_path or spec.profile_path:
        raise click.UsageError("--variations needs --agent learned (and no --recipe or --profile): only the learned agent "
                               "samples")
    if ray_address or resume or dry_run or report_dir:
        raise click.UsageError("--variations runs in this process: not with --ray, --resume, --dry-run or --report")
    if getattr(opts.sidecars, "beside_source", False):
        raise click.UsageError("--variations writes one sidecar per variation, beside its output: not with "
                               "--sidecar-beside-source (all N would share the source's sidecar)")
    from ..pipeline.stages import process_variations  # noqa: PLC0415

    try:
        source = spec.build()
    except Exception as err:  # noqa: BLE001
        raise click.ClickException(str(err)) from None
    results, start = [], time.perf_counter()
    for path, out_path in job_list:
        batch = process_variations(path, out_path, source, n, opts)
        done = sum(r.status == "done" for r in batch)
        click.echo(f"{shown(os.path.basename(path))}: {done}/{n} variations" +
                   "".join(f"; {r.status}: {shown(r.reason)}" for r in batch if r.status != "done"))
        results += batch
    _print_summary(results, time.perf_counter() - start, hint=not opts.skip_existing)
    _print_sidecar_notes(results, opts.sidecars)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


def look_grouping(group_by: str, recipe_path: str | None, groups_file: str | None) -> str:
    """--group-by as it applies: with --recipe, 'none' unless --group-by (command line, environment or a config
    file) or --groups was given, so a saved look is applied exactly and not harmonised frame by frame."""
    from click.core import ParameterSource  # noqa: PLC0415

    source = click.get_current_context().get_parameter_source("group_by")
    if recipe_path and not groups_file and source in (None, ParameterSource.DEFAULT):
        return "none"
    return group_by


def grouping_options(group_by: str, gap: float, groups_file: str | None):
    """--group-by / --group-gap / --groups -> shoot.grouping.GroupingOptions."""
    from ..shoot.grouping import GroupingOptions  # noqa: PLC0415

    by = {"auto": "time+similarity"}.get(group_by or "auto", group_by)
    return GroupingOptions(by=by, gap=float(gap), groups_file=groups_file)


def plan_shoot(paths, spec, grouping, jobs: int, max_pixels: int | None = None, timeout: float | None = None,
               memory_limit: int | None = None):
    """Survey, group and harmonise `paths` before the engine runs (in `jobs` spawned workers: shoot.work; a
    survey may take min(timeout, 120) s); returns the PlannedSpec the engine's workers build their source from.
    One line on stderr says what was found when any scene has more than one photo."""
    from ..shoot.plan import PlannedSpec  # noqa: PLC0415
    from ..shoot.work import make_plan  # noqa: PLC0415

    try:
        plan = make_plan(paths, spec, grouping, jobs, max_pixels, timeout=min(timeout or 120.0, 120.0),
                         memory_limit=memory_limit)
    except ValueError as err:  # a bad --groups file
        raise click.UsageError(str(err)) from None
    shared = sum(1 for g in plan.groups if len(g["files"]) > 1)
    if shared or plan.split_count:  # nothing to say when every photo is a scene of its own
        click.echo(f"groups: {len(plan.entries)} photos in {len(plan.groups)} scenes ({shared} harmonised, "
                   f"{plan.split_count} frames split off) in {plan.seconds:.1f} s", err=True)
    return PlannedSpec.wrapping(spec, plan)


def _prepare_kernels(job_list, opts) -> None:
    """On a machine's first run, compile the render kernels this run needs (RAW code path only with RAW inputs; the
    output's bit depth) before the batch starts, in parallel on the idle cores, with a one-line notice
    (render.prepare_kernels)."""
    raw = any(formats.is_raw(path) for path, _ in job_list)
    prepare_kernels(raw_sources=raw, bits=(formats.bits_for(opts.fmt),), notify=lambda msg: click.echo(msg, err=True),
                    workers=os.cpu_count() or 1)


def check_profile_options(profile_path, recipe_path, model_path) -> None:
    """--profile excludes --recipe; say once, before any work, when the loaded agent is not the profile's."""
    if not profile_path:
        return
    if recipe_path:
        raise click.UsageError("--profile and --recipe exclude each other")
    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..look.profile import agent_mismatch, current_agent_identity, load_profile  # noqa: PLC0415

    try:
        profile = load_profile(profile_path)
        mismatch = agent_mismatch(profile, current_agent_identity(profile, model_path))
    except ExposureBatchError as err:
        raise click.ClickException(str(err)) from None
    if mismatch:
        click.echo(f"warning: {mismatch}", err=True)


def _sidecar_options(sidecar, darktable_mode, beside_source):
    """--sidecar / --darktable-mode / --sidecar-beside-source -> SidecarOptions ('none' stays a plain string)."""
    if (sidecar or "none").strip().lower() == "none":
        return "none"
    from ..sidecars.writer import SidecarOptions  # noqa: PLC0415

    try:
        return SidecarOptions.parse(sidecar, darktable_mode=darktable_mode, beside_source=beside_source)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--sidecar") from None


def _print_sidecar_notes(results, sidecars) -> None:
    """Say once per distinct note which recipe steps an editor mapping only approximates."""
    if sidecars == "none":
        return
    from ..sidecars.writer import sidecar_notes  # noqa: PLC0415

    seen: list[str] = []
    for r in results:
        if r.recipe is not None and r.status == "done":
            seen += [n for n in sidecar_notes(r.recipe, sidecars, r.path) if n not in seen]
    for note in seen:
        click.echo(f"  sidecar note: {shown(note)}")
    embedded = embedded_sources(results)
    if embedded:
        click.echo(f"  sidecar note: adobe: settings embedded into {embedded} source file"
                   f"{'' if embedded == 1 else 's'} (--sidecar-beside-source: those originals were modified; "
                   "their other metadata is kept)")


def embedded_sources(results) -> int:
    """How many source files the run modified (Adobe settings embedded with --sidecar-beside-source): a done
    result whose outputs include its own source."""
    return sum(1 for r in results if r.status == "done" and r.path in (r.outputs or ()))


def _open_report(report_dir, inputs):
    """ReportWriter for --report (refreshed every 10 s while the batch runs), or None."""
    if not report_dir:
        return None
    from ..report import ReportWriter  # noqa: PLC0415

    try:
        return ReportWriter(report_dir, shown(f"exposure-batch: {' '.join(inputs)}")[:200], autoflush_s=10.0)
    except OSError as err:
        raise click.ClickException(f"cannot use the report folder {shown(report_dir)} "
                                   f"({err.strerror or err})") from None


def _run_with_progress(jobs, spec, opts, n_workers, limits, show, report=None, ray_address=None,
                       manifest=None, grouping=None) -> list[Result]:
    """Run the batch (engine, or Ray) behind a progress bar; each failure is printed once, as it happens.

    Outputs that exist already are skipped first (no survey, no worker for them). With `grouping`
    (shoot.grouping.GroupingOptions) the run is planned and edited window by window in the engine's workers
    (shoot.stream.run_grouped, a second bar counts the survey); with Ray the plan is made first (shoot.stream
    .make_plan, windows planned independently) and the cluster edits with it."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=not show, transient=True) as bar:
        task = bar.add_task("editing", total=len(jobs))

        def on_result(r: Result) -> None:
            if r.status == "failed":
                console.print(f"  failed: {shown(r.path)}: {shown(r.reason)}", highlight=False, soft_wrap=True,
                              markup=False)
            if report is not None:
                try:
                    report.add(r)
                except Exception as err:  # noqa: BLE001  (the report never stops a batch)
                    console.print(f"report: cannot add {shown(r.path)}: {shown(err)}", highlight=False,
                                  soft_wrap=True, markup=False)
            if manifest is not None:
                manifest.end(r, out_of.get(r.path, ""))
            bar.advance(task)

        out_of = dict(jobs)
        skipped, jobs = _skip_existing_first(jobs, opts)
        for r in skipped:
            on_result(r)
        if not jobs:
            return skipped
        if ray_address:
            from ..engine.ray import run_ray  # noqa: PLC0415

            if grouping is not None:
                spec = plan_shoot([p for p, _ in jobs], spec, grouping, n_workers, opts.max_pixels, **limits)
            return skipped + run_ray(jobs, spec, opts, ray_address, on_result)
        on_start = (lambda path: manifest.start(path, out_of[path])) if manifest is not None else None
        if grouping is None:
            return skipped + run_batch(jobs, spec, opts, n_workers, on_result, on_start=on_start, **limits)
        from ..shoot.stream import run_grouped  # noqa: PLC0415

        survey = bar.add_task("surveying", total=len(jobs))
        results, stats = run_grouped(jobs, spec, opts, grouping, n_workers, on_result=on_result, on_start=on_start,
                                     on_survey=lambda done, total: bar.update(survey, completed=done),
                                     spool_parent=os.path.join(opts.outdir, ".exposure-batch"), **limits)
    if stats.line():
        click.echo(stats.line(), err=True)
    return skipped + results


def _skip_existing_first(jobs, opts) -> tuple[list[Result], list]:
    """(skipped Results, jobs still to do): outputs that exist already (without --overwrite) are skipped before
    any worker starts or any photo is surveyed (the engine would skip them too, after planning them)."""
    from ..pipeline.outputs import existing_outputs_block  # noqa: PLC0415

    skipped, todo = [], []
    for path, out_path in jobs:
        blocked = existing_outputs_block(out_path, opts)
        if blocked is None:
            todo.append((path, out_path))
        else:
            blocked.path = path
            skipped.append(blocked)
    return skipped, todo


def _print_summary(results: list[Result], seconds: float, listed: bool = False, hint: bool = True) -> None:
    """Counts, wall time and photos per second; failures (unless `listed` already as they happened); with `hint`,
    how to redo outputs that were skipped because they existed."""
    count = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    rate = f", {count['done'] / seconds:.2f} photos/s" if count["done"] and seconds > 0 else ""
    click.echo(f"done {count['done']}, skipped {count['skipped']}, failed {count['failed']} "
               f"in {seconds:.1f} s{rate}")
    for r in results if not listed else ():
        if r.status == "failed":
            click.echo(f"  failed: {shown(r.path)}: {shown(r.reason)}")
    unsupported = [r for r in results if unsupported_format(r)]
    for r in unsupported[:20]:
        click.echo(f"  skipped: {shown(r.path)}: {shown(r.reason)}")
    if len(unsupported) > 20:
        click.echo(f"  skipped: {len(unsupported) - 20} more file(s) in unsupported formats")
    existed = sum(r.status == "skipped" and r.reason == EXISTS_REASON for r in results)
    if existed and hint:
        click.echo(f"  {existed} output(s) existed already and were skipped; --overwrite redoes them")


def _dry_run(jobs, opts, spec, resume: bool) -> None:
    """--dry-run: one line per file (process / skip / fail and why), then the counts; nothing is written."""
    from ..runs.manifest import Manifest, dry_run_plan  # noqa: PLC0415

    state = Manifest.for_outdir(opts.outdir).load() if resume else None
    rows = dry_run_plan(jobs, opts, state)
    for action, path, out_path, reason in rows:
        click.echo(f"{action:8s}{shown(path)} -> {shown(out_path)}" + (f"  ({shown(reason)})" if reason else ""))
    counts = {a: sum(1 for r in rows if r[0] == a) for a in ("process", "skip", "fail")}
    click.echo(f"dry run: would process {counts['process']}, skip {counts['skip']}, fail {counts['fail']}")


def _open_manifest(jobs, opts, spec, resume: bool):
    """Open OUTDIR/.exposure-batch/manifest.jsonl for this run; with --resume drop the files done earlier and
    remove outputs left by files that were in flight. Returns (manifest, jobs still to do, earlier Results)."""
    from ..runs.manifest import Manifest, options_mismatch, plan_resume, run_options  # noqa: PLC0415

    manifest = Manifest.for_outdir(opts.outdir)
    options = run_options(opts, spec)
    earlier: list[Result] = []
    if resume:
        state = manifest.load()
        if state.options is None:
            click.echo("resume: no manifest in the output folder yet; starting from the beginning", err=True)
        elif (diff := options_mismatch(state, options)) is not None:
            raise click.UsageError(f"--resume with different settings than the interrupted run ({diff}); "
                                   "use the same options or another output folder")
        plan = plan_resume(state, jobs)
        for stale in plan.stale:
            os.remove(stale)
        jobs, earlier = plan.todo, plan.finished
        click.echo(f"resume: {len(earlier)} done earlier, {len(jobs)} to do", err=True)
    try:
        manifest.open_run(options, len(jobs))
    except OSError as err:
        raise click.ClickException(f"cannot write to the output folder {shown(opts.outdir)} "
                                   f"({err.strerror or err})") from None
    return manifest, jobs, earlier
