"""The watch daemon's settings: everything `exposure-batch watch` parses (CLI > config file > defaults), typed.

Exports: WatchConfig.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..pipeline.options import OutputOptions
from ..sources import SourceSpec
from .journal import default_journal_path


@dataclass
class WatchConfig:
    """Everything the daemon needs (built by `exposure-batch watch` from CLI > config file > defaults)."""

    inbox: str
    opts: OutputOptions
    spec: SourceSpec = field(default_factory=SourceSpec)
    jobs: int = 1
    settle: float = 5.0  # seconds a file's size and mtime must stay unchanged
    rescan: float = 60.0  # seconds between full rescans of the inbox (0: never)
    polling: bool = False  # stat-polling observer (NFS/SMB) instead of inotify
    poll_interval: float = 1.0  # seconds, --polling only
    once: bool = False  # process what is there, then exit
    recursive: bool = True
    hash_files: bool = True  # identify inputs by content too (a re-dropped identical file is not redone)
    move_processed: bool = False
    processed_dir: str | None = None  # default OUTDIR/processed
    quarantine_dir: str | None = None  # default OUTDIR/quarantine
    journal_path: str | None = None  # default OUTDIR/.exposure-batch/journal.sqlite
    timeout: float | None = 600.0  # seconds per file before the worker is killed
    memory_limit: int | None = None  # bytes of address space per worker (RLIMIT_AS)
    retries: int = 1  # extra attempts after a CRASH, TIMEOUT or LIMIT failure
    grace: float = 30.0  # seconds in-flight work may finish after SIGTERM before it is abandoned
    tick: float = 0.1  # main-loop wake-up, seconds
    log_json: bool = False
    report_dir: str | None = None  # keep a static HTML report (report.ReportWriter) of every outcome here
    env_retry: float = 60.0  # seconds before an ENVIRONMENT failure (disk full, read-only) is tried again (0: at restart)
    task_ref: str | None = None  # 'module:function' task for the workers (tests); None: the pipeline stages
    grouping: object = None  # shoot.grouping.GroupingOptions: scenes arriving together are harmonised (None: off)
    group_wait: float = 30.0  # seconds a complete file may be held for its group, at most
    open_wait: float = 600.0  # seconds a settled file may still be waited for while open for writing (0: no check)
    requarantine_watch: float | None = None  # seconds a quarantined file that changes is taken back (None: auto)
    rebuild_journal: bool = False  # set the journal aside and rebuild it from the outputs on disk

    def __post_init__(self):
        self.inbox = os.path.abspath(self.inbox)
        out = self.opts.outdir
        self.processed_dir = os.path.abspath(self.processed_dir or os.path.join(out, "processed"))
        self.quarantine_dir = os.path.abspath(self.quarantine_dir or os.path.join(out, "quarantine"))
        self.journal_path = os.path.abspath(self.journal_path or default_journal_path(out))
        if self.report_dir:
            self.report_dir = os.path.abspath(self.report_dir)
        if self.requarantine_watch is None:
            self.requarantine_watch = max(120.0, 20 * self.settle)
