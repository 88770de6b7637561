"""The watch-folder daemon (`exposure-batch watch`): observer -> stability check -> journal -> engine worker pool.

    watch.daemon    Daemon (the loop), WatchConfig
    watch.journal   SQLite job journal: queued / running / done / failed / quarantined, with reasons
    watch.lock      one daemon per inbox and output folder (DaemonLock, AlreadyRunning)

Exports: Daemon, WatchConfig.
"""
from .daemon import Daemon, WatchConfig

__all__ = ["Daemon", "WatchConfig"]
