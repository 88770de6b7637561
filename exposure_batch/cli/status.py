"""`exposure-batch status [OUTDIR]`: what the watch daemon's journal says (counts by state, last failures)."""
from __future__ import annotations

import json
from datetime import datetime

import click

from ..config import load_config
from ..names import shown


@click.command()
@click.argument("outdir", required=False, type=click.Path(file_okay=False))
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False),
              help="Journal file [default: OUTDIR/.exposure-batch/journal.sqlite].")
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="The watch config file (its output / journal keys locate the journal).")
@click.option("-n", "--failures", "n_failures", type=click.IntRange(0), default=10, show_default=True,
              help="How many of the latest failures to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(outdir, journal_path, config, n_failures, as_json) -> None:
    """Print the watch journal's counts per state and the latest failures (failed or quarantined, with reasons)."""
    from ..watch.journal import Journal, JournalDamaged, default_journal_path  # noqa: PLC0415

    if config and not (outdir or journal_path):
        values = {k.replace("-", "_"): v for k, v in load_config(config, "watch").items()}
        journal_path = values.get("journal") or values.get("journal_path")
        outdir = values.get("output") or values.get("outdir")
    if not journal_path:
        if not outdir:
            raise click.UsageError("give OUTDIR, --journal or --config")
        journal_path = default_journal_path(outdir)
    try:
        journal = Journal(journal_path, readonly=True)
    except (FileNotFoundError, JournalDamaged) as err:
        raise click.ClickException(str(err)) from None
    try:
        counts = journal.counts()
        failures = journal.last_failures(n_failures)
    finally:
        journal.close()
    if as_json:
        click.echo(json.dumps({"journal": journal_path, "counts": counts, "total": sum(counts.values()),
                               "failures": [{"file": shown(r.rel), "state": r.state, "reason": shown(r.reason),
                                             "attempts": r.attempts, "time": r.updated} for r in failures]}, indent=2))
        return
    click.echo(f"journal: {journal_path}")
    click.echo("  " + ", ".join(f"{state} {n}" for state, n in counts.items()) + f"  (total {sum(counts.values())})")
    if failures:
        click.echo("latest failures:")
    for r in failures:
        when = datetime.fromtimestamp(r.updated).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"  {when} {r.state:<11} {shown(r.rel)}: {shown(r.reason)}")
