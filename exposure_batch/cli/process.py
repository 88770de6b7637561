"""`exposure-batch process INPUT... -o OUTDIR`: edit a batch of photos."""
from __future__ import annotations

import os
import sys
import time

import click

from ..batch import SourceSpec, run_batch
from ..pipeline import OutputOptions, Result, find_inputs, plan_outputs


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders (their structure is kept).")
@click.option("-f", "--format", "fmt", type=click.Choice(["jpeg", "tiff", "png"]), default="jpeg", show_default=True,
              help="Output format (JPEG 8-bit sRGB; TIFF/PNG 16-bit).")
@click.option("-q", "--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
@click.option("--space", type=click.Choice(["srgb", "prophoto", "adobergb", "p3", "rec2020"]), default="srgb",
              show_default=True, help="Output colour space (JPEG is always sRGB).")
@click.option("--linear", is_flag=True, help="Write linear values (TIFF/PNG) instead of the space's transfer curve.")
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False),
              help="Apply this saved recipe (JSON) to every photo instead of an agent.")
@click.option("--agent", type=click.Choice(["classic", "learned"]), default="classic", show_default=True,
              help="Who decides the edit when no --recipe is given.")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False), help="Model folder for --agent learned.")
@click.option("--save-recipe", is_flag=True, help="Write NAME.recipe.json beside each output.")
@click.option("--skip-existing", is_flag=True, help="Leave outputs that already exist alone.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Also write a static HTML report (before/after, steps, failures) to this folder.")
def process(inputs, outdir, recursive, fmt, quality, space, linear, recipe_path, agent, model_path, save_recipe,
            skip_existing, overwrite, jobs, no_progress, report_dir=None) -> None:
    """Edit INPUTS (files and/or folders of RAW, JPEG, PNG, TIFF) and write the results to OUTDIR.

    Exit status: 0 when every file was done or skipped, 1 when any file failed, 2 for usage errors.
    """
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing and --overwrite exclude each other")
    if fmt == "jpeg" and (space != "srgb" or linear):
        raise click.UsageError("JPEG output is 8-bit sRGB; use --format tiff or png for other spaces or --linear")
    pairs = find_inputs(inputs, recursive=recursive)
    if not pairs:
        raise click.UsageError("no input photos found")
    opts = OutputOptions(os.path.abspath(outdir), fmt, quality, space, linear, save_recipe, overwrite, skip_existing)
    out_map = plan_outputs(pairs, opts)
    spec = SourceSpec(agent, recipe_path, model_path)
    try:
        source = spec.build() if jobs == 1 else None
    except Exception as err:  # noqa: BLE001
        raise click.ClickException(str(err)) from None
    report = _open_report(report_dir, inputs)
    results = _run_with_progress([(p, out_map[p]) for p, _ in pairs], spec, opts, jobs, source, not no_progress, report)
    _print_summary(results)
    if report is not None:
        click.echo(f"report: {report.flush()}")
    if any(r.status == "failed" for r in results):
        sys.exit(1)


def _open_report(report_dir, inputs):
    """ReportWriter for --report (refreshed every 10 s while the batch runs), or None."""
    if not report_dir:
        return None
    from ..report import ReportWriter  # noqa: PLC0415

    return ReportWriter(report_dir, f"exposure-batch: {' '.join(inputs)}"[:200], autoflush_s=10.0)


def _run_with_progress(jobs, spec, opts, n_workers, source, show, report=None) -> list[Result]:
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=not show, transient=True) as bar:
        task = bar.add_task("editing", total=len(jobs))

        def on_result(r: Result) -> None:
            if r.status == "failed":
                console.print(f"[red]failed[/red] {r.path}: {r.reason}", highlight=False, soft_wrap=True)
            if report is not None:
                report.add(r)
            bar.advance(task)

        return run_batch(jobs, spec, opts, n_workers, on_result, source)


def _print_summary(results: list[Result]) -> None:
    done = [r for r in results if r.status == "done"]
    skipped = [r for r in results if r.status == "skipped"]
    failed = [r for r in results if r.status == "failed"]
    per = sum(r.seconds for r in done) / len(done) if done else 0.0
    click.echo(f"done {len(done)}, skipped {len(skipped)}, failed {len(failed)}" + (f" ({per:.2f} s per photo)" if done else ""))
    for r in failed:
        click.echo(f"  failed: {r.path}: {r.reason}")
