"""`exposure-batch watch INBOX -o OUTDIR`: the watch-folder daemon (see exposure_batch.watch)."""
from __future__ import annotations

import logging
import signal
import sys

import click

from ..config import config_option
from ..engine.warmup import prepare_kernels
from ..io.formats import bits_for
from .options import (check_output_options, grouping_options, look_grouping, memory_cap, output_options_from,
                      run_options, source_spec_from, warn_profile)


@click.command()
@click.argument("inbox", type=click.Path(exists=True, file_okay=False), required=False)
@config_option()
@click.option("--polling", is_flag=True, help="Poll the folder (NFS/SMB shares) instead of using inotify events.")
@click.option("--poll-interval", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds between polls with --polling.")
@click.option("--once", is_flag=True, help="Process what is in the inbox now, then exit (for cron).")
@click.option("--settle", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds a file's size and mtime must stay unchanged before it is processed.")
@click.option("--rescan", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds between full rescans that catch missed events (0: never).")
@click.option("--recursive/--no-recursive", default=True, show_default=True, help="Watch sub-folders too.")
@click.option("--move-processed", is_flag=True, help="Move each processed original to the processed folder.")
@click.option("--processed-dir", type=click.Path(file_okay=False), help="Where --move-processed puts originals "
              "[default: OUTDIR/processed].")
@click.option("--quarantine-dir", type=click.Path(file_okay=False), help="Where failing originals go, with "
              "NAME.error.txt [default: OUTDIR/quarantine].")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False),
              help="SQLite journal [default: OUTDIR/.exposure-batch/journal.sqlite]; keep it on a local disk.")
@click.option("--hash/--no-hash", "hash_files", default=True, show_default=True,
              help="Identify inputs by content too, so a re-dropped identical file is not processed twice.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Extra attempts after a worker crash, timeout or memory limit before quarantine.")
@click.option("--env-retry", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds before a file that failed because of the machine (disk full, read-only or unwritable "
                   "output) is tried again, doubling while it keeps failing (0: only at the next start).")
@click.option("--grace", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds in-flight files may finish after SIGTERM/SIGINT before they are abandoned.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Keep a static HTML report (before/after, steps, failures) of every file in this folder.")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line instead of key=value lines.")
@click.option("--open-wait", type=click.FloatRange(0), default=600.0, show_default=True,
              help="Seconds a file that looks complete may still be waited for while another process holds it open "
                   "for writing (an FTP/SMB server filling it, a stalled copy; Linux, local disks). 0: do not check.")
@click.option("--rebuild-journal", is_flag=True,
              help="Set the journal aside (kept as JOURNAL.damaged-TIME) and rebuild it from the outputs on disk: "
                   "photos whose outputs are there count as done. For a journal `watch` reports as damaged.")
@click.option("--group-wait", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds a complete file may be held so that the frames of a scene arriving together are "
                   "edited as one group (they are released once no new file came for --settle seconds).")
@run_options
def watch(inbox, config, polling, poll_interval, once, settle, rescan, recursive, move_processed, processed_dir,
          quarantine_dir, journal_path, hash_files, retries, grace, report_dir, log_json, env_retry=60.0,
          group_wait=30.0, open_wait=600.0, rebuild_journal=False,
          **kwargs) -> None:
    """Watch INBOX and edit every photo that lands there into OUTDIR (-o), exactly once.

    A file is processed once it is complete (size and mtime unchanged for --settle seconds); temp names (*.part,
    *.tmp, ._*, .DS_Store, @eaDir) are ignored. Every input is recorded in a journal, so a restart after any crash
    resumes without redoing or losing work. Files that cannot be edited go to the quarantine folder with
    NAME.error.txt. Options can come from a TOML file (--config); the command line wins over it.

    Exit status with --once: 0 when nothing failed, 1 when any file failed, was quarantined or deferred.
    """
    from ..engine import WorkerInitError  # noqa: PLC0415
    from ..watch import Daemon, WatchConfig  # noqa: PLC0415

    if not inbox:
        raise click.UsageError("missing INBOX (give it on the command line or as 'inbox' in the config file)")
    check_output_options(kwargs["fmt"], kwargs["space"], kwargs["linear"], kwargs["overwrite"], kwargs["skip_existing"])
    spec = source_spec_from(kwargs)
    warn_profile(spec)
    opts = output_options_from(kwargs)
    jobs = kwargs.get("jobs") or 1
    cfg = WatchConfig(
        inbox=inbox, opts=opts, spec=spec,
        jobs=jobs, settle=settle, rescan=rescan, polling=polling, poll_interval=poll_interval, once=once,
        recursive=recursive, hash_files=hash_files, move_processed=move_processed, processed_dir=processed_dir,
        quarantine_dir=quarantine_dir, journal_path=journal_path, timeout=kwargs["timeout"] or None,
        memory_limit=memory_cap(kwargs["memory_limit"], jobs, spec),
        retries=retries, grace=grace, log_json=log_json, report_dir=report_dir, env_retry=env_retry,
        grouping=grouping_options(look_grouping(kwargs.get("group_by", "auto"), kwargs["recipe_path"],
                                                kwargs.get("groups_file")),
                                  kwargs.get("group_gap", 30.0), kwargs.get("groups_file")),
        group_wait=group_wait, open_wait=open_wait, rebuild_journal=rebuild_journal,
    )
    _setup_logging()
    sidecars = opts.sidecars
    if "adobe" in getattr(sidecars, "kinds", ()) and not sidecars.beside_source:  # said once, not per photo
        from ..sidecars.writer import SKIPPED_ADOBE_NOTE  # noqa: PLC0415

        click.echo(f"note: {SKIPPED_ADOBE_NOTE}", err=True)
    # first run on this machine: compile the render kernels now, with a notice, not silently on the first photo
    prepare_kernels(raw_sources=True, bits=(bits_for(opts.fmt),), notify=lambda msg: click.echo(msg, err=True))
    daemon = Daemon(cfg)
    _install_signals(daemon)

    from ..pipeline.outputs import PlanError  # noqa: PLC0415
    from ..watch.journal import JournalDamaged  # noqa: PLC0415
    from ..watch.lock import AlreadyRunning  # noqa: PLC0415

    try:
        stats = daemon.run()
    except PlanError as err:
        raise click.UsageError(str(err)) from None
    except (WorkerInitError, AlreadyRunning, JournalDamaged) as err:
        raise click.ClickException(str(err)) from None
    if once and (stats.get("failed") or stats.get("quarantined") or stats.get("deferred")):
        sys.exit(1)


def _setup_logging() -> None:
    logger = logging.getLogger("exposure_batch.watch")
    if not any(getattr(h, "_exposure_watch", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        handler._exposure_watch = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _install_signals(daemon) -> None:
    """SIGTERM / SIGINT: finish in-flight files (up to --grace), then exit; a second signal abandons them now."""
    def handler(signum, frame):  # noqa: ARG001
        daemon.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
