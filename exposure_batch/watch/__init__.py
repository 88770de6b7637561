"""The watch-folder daemon (`exposure-batch watch`): observer -> stability check -> journal -> engine worker pool.

    watch.config      WatchConfig: the daemon's settings, typed
    watch.discovery   Hints (filesystem events), Stability (when a file is complete)
    watch.daemon      Daemon: the loop (journal -> engine worker pool -> outputs; engine.scheduler.RetryPolicy)
    watch.quarantine  moving originals aside without replacing anything
    watch.journal     SQLite job journal: queued / running / done / failed / quarantined, with reasons
    watch.lock        one daemon per inbox and output folder (DaemonLock, AlreadyRunning)
    watch.state       the daemon's own state (journal, folders) checked each turn and rebuilt
    watch.writers     files still open for writing; NAME.error.txt names

Exports: Daemon, WatchConfig.
"""
from .config import WatchConfig
from .daemon import Daemon

__all__ = ["Daemon", "WatchConfig"]
