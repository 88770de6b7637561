"""One writer per output folder: a `process` run takes an exclusive, non-blocking lock (flock) on
OUTDIR/.exposure-batch/process.lock, which a watch daemon writing the folder holds too (lockfile.output_lock_path).

Two runs writing one folder at once (overlapping cron jobs) would edit every photo twice and report the other run's
half-written files as failures; the second run is refused instead, in one line naming the folder and the first
run. The lock is held by an open file descriptor, so it goes away with the process however it ends (kill -9
included): nothing stale to clean up. The file records the holder's pid and start time for that line.

Exports: OutputBusy, OutputLock, LOCK_NAME, BUSY_EXIT.
"""
from __future__ import annotations

import contextlib
import os

from ..lockfile import OUTPUT_LOCK_NAME, output_lock_path, try_lock
from ..names import shown

LOCK_NAME = OUTPUT_LOCK_NAME
#: Exit status of a run refused because another run holds its output folder (sysexits EX_TEMPFAIL: try later).
BUSY_EXIT = 75


class OutputBusy(RuntimeError):
    """Another run holds the output folder (one line naming it and the holder)."""


class OutputLock:
    """Hold OUTDIR/.exposure-batch/process.lock from `acquire` (or `with`) until `release` (or process exit)."""

    def __init__(self, outdir: str):
        self.outdir = os.path.abspath(outdir)
        self.path = output_lock_path(self.outdir)
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        """Take the lock. OutputBusy when another run holds it; OSError when the folder cannot hold a lock file."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd, holder = try_lock(self.path, "exposure-batch process")
        if fd is None:
            raise OutputBusy(f"{shown(self.outdir)}: another exposure-batch run is writing to this output folder "
                             f"({holder}); wait for it to finish or use another output folder")
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

