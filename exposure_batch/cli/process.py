"""`exposure-batch process INPUT... -o OUTDIR`: edit a batch of photos (the run itself: runs.batch)."""
from __future__ import annotations

import os
import sys
import time

import click

from ..errors import ExposureBatchError
from ..names import shown
from ..pipeline.outputs import PlanError, unsupported_format
from ..pipeline.result import Result, Skip
from ..runs.batch import (BatchRun, RunOptions, RunUsageError, describe_variations, embedded_sources, plan_dry_run,
                          plan_jobs, run_variations)
from .options import (check_inputs_exist, check_output_options, grouping_options, look_grouping, memory_cap,
                      output_options_from, run_options, source_spec_from, warn_profile)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders (their structure is kept).")
@click.option("--variations", type=click.IntRange(1, 64), metavar="N",
              help="With --agent learned: N alternative edits per photo (the paper's dropout sampling, seeded by the "
                   "photo: same photo, same N edits), written as NAME_v1 .. NAME_vN. Runs in this process.")
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
@run_options
def process(inputs, recursive, no_progress, report_dir=None, ray_address=None, resume=False, dry_run=False,
            variations=None, **kwargs) -> None:
    """Edit INPUTS (files and/or folders of RAW, JPEG, PNG, TIFF) and write the results to OUTDIR.

    Outputs that exist already are skipped (--overwrite redoes them). Every file runs in a worker process with a
    per-file --timeout and a --memory-limit: a file that crashes or hangs its worker fails alone.

    Exit status: 0 when every file was done or skipped, 1 when any file failed, 2 for usage errors, 75 when
    another run is writing to OUTDIR (one run per output folder; try again later).
    """
    check_inputs_exist(inputs)
    check_output_options(kwargs["fmt"], kwargs["space"], kwargs["linear"], kwargs["overwrite"], kwargs["skip_existing"])
    opts = output_options_from(kwargs)
    spec = source_spec_from(kwargs)
    with _errors_to_exit():
        jobs = plan_jobs(inputs, opts, recursive=recursive, report_dir=report_dir)
    warn_profile(spec)
    if spec.recipe_path:  # a bad look fails here, in one line, before any worker starts
        from ..recipe import load_recipe  # noqa: PLC0415

        with _errors_to_exit():
            load_recipe(spec.recipe_path)
    if not dry_run:
        hold_output_folder(opts.outdir)
    if variations:
        if ray_address or resume or dry_run or report_dir:
            raise click.UsageError("--variations runs in this process: not with --ray, --resume, --dry-run or "
                                   "--report")
        _variations(jobs, spec, opts, variations)
        return
    if dry_run:
        _print_dry_run(plan_dry_run(jobs, opts, resume))
        return
    workers = kwargs["jobs"]
    group_by = look_grouping(kwargs["group_by"], spec.recipe_path, kwargs["groups_file"])
    run = RunOptions(workers=workers, timeout=kwargs["timeout"] or None,
                     memory_limit=memory_cap(kwargs["memory_limit"], workers, spec), ray_address=ray_address,
                     resume=resume, grouping=grouping_options(group_by, kwargs["group_gap"], kwargs["groups_file"]))
    notify = lambda msg: click.echo(shown(msg), err=True)  # noqa: E731
    with _errors_to_exit():
        try:
            batch = BatchRun(jobs, spec, opts, run, notify)
        except OSError as err:
            raise click.ClickException(f"cannot write to the output folder {shown(opts.outdir)} "
                                       f"({err.strerror or err})") from None
    try:
        report = _open_report(report_dir, inputs)
        if report is not None:  # results then carry the input's thumbnail: the report needs no second decode
            from ..report.html import THUMB_SIDE  # noqa: PLC0415

            batch.with_thumbnails(THUMB_SIDE)
        start = time.perf_counter()  # the plan (after every usage check) is part of the run's wall time
        with _errors_to_exit():
            batch.plan()
            try:
                results = _run_with_progress(batch, not no_progress, report)
            except (ExposureBatchError, PlanError, click.ClickException):
                raise
            except Exception as err:  # noqa: BLE001  (a model that cannot load while planning, ...)
                raise click.ClickException(str(err)) from None
    finally:
        batch.close()
    _print_summary(results, time.perf_counter() - start, listed=True, hint=not opts.skip_existing)
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
    """One run per output folder (runs.lock.OutputLock), held until the command ends; refused in one line when another
    run holds it. A folder that cannot even hold the lock file is left to fail later with its own line."""
    from ..runs.lock import OutputBusy, OutputLock  # noqa: PLC0415

    try:
        lock = OutputLock(outdir).acquire()
    except OutputBusy as err:
        raise OutputFolderBusy(str(err)) from None
    except OSError:
        return
    click.get_current_context().call_on_close(lock.release)


class _errors_to_exit:
    """Context: PlanError and RunUsageError (how the run was asked for) -> click.UsageError (exit 2); any other
    ExposureBatchError (a recipe file, model or profile that cannot load, ...) -> click.ClickException (exit 1, one
    line)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if isinstance(err, (PlanError, RunUsageError)):
            raise click.UsageError(str(err)) from None
        if isinstance(err, ExposureBatchError):
            raise click.ClickException(shown(err)) from None
        return False


def _variations(jobs, spec, opts, n: int) -> None:
    """--variations N: each photo decoded once and rendered N times (NAME_v1 .. NAME_vN), one line per photo."""
    start = time.perf_counter()
    with _errors_to_exit():
        try:
            results = run_variations(jobs, spec, opts, n,
                                     on_photo=lambda path, batch: click.echo(describe_variations(path, batch, n)))
        except ExposureBatchError:
            raise
        except Exception as err:  # noqa: BLE001  (a model that cannot load)
            raise click.ClickException(str(err)) from None
    _print_summary(results, time.perf_counter() - start, hint=not opts.skip_existing)
    _print_sidecar_notes(results, opts.sidecars)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


def _print_dry_run(rows) -> None:
    """--dry-run: one line per file (process / skip / fail and why), then the counts; nothing is written."""
    for action, path, out_path, reason in rows:
        click.echo(f"{action:8s}{shown(path)} -> {shown(out_path)}" + (f"  ({shown(reason)})" if reason else ""))
    counts = {a: sum(1 for r in rows if r[0] == a) for a in ("process", "skip", "fail")}
    click.echo(f"dry run: would process {counts['process']}, skip {counts['skip']}, fail {counts['fail']}")


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


def _run_with_progress(batch: BatchRun, show: bool, report=None) -> list[Result]:
    """Run the batch (engine, or Ray) behind a progress bar; each failure is printed once, as it happens."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=not show, transient=True) as bar:
        task = bar.add_task("editing", total=len(batch.todo))

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
            bar.advance(task)

        survey = bar.add_task("surveying", total=len(batch.todo), visible=batch.grouping is not None)
        return batch.execute(on_result, on_survey=lambda done, total: bar.update(survey, completed=done))


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
    existed = sum(r.status == "skipped" and r.skip is Skip.EXISTS for r in results)
    if existed and hint:
        click.echo(f"  {existed} output(s) existed already and were skipped; --overwrite redoes them")
