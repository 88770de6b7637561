"""One watch daemon per output folder and per journal: an exclusive, non-blocking lock (flock) on a lock file.

The lock is held by an open file descriptor, so it goes away with the process however it ends (kill -9 included):
no stale lock to clean up after a crash. The file records the holder's pid and start time for the message the
second daemon prints.

Exports: AlreadyRunning, DaemonLock, lock_paths.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time

from ..names import shown

LOCK_NAME = "watch.lock"


class AlreadyRunning(RuntimeError):
    """Another daemon holds the lock (one line naming the lock file and the holder)."""


def lock_paths(outdir: str, journal_path: str) -> list[str]:
    """The lock files guarding an output folder and a journal (one when the journal lives in the output folder);
    the journal's comes last."""
    paths = [os.path.join(os.path.abspath(outdir), ".exposure-batch", LOCK_NAME),
             os.path.abspath(journal_path) + ".lock"]
    return list(dict.fromkeys(paths))


class DaemonLock:
    """Hold every lock in `paths` (acquire) until release; AlreadyRunning when another process holds one."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        self._fds: list[int] = []

    def acquire(self) -> "DaemonLock":
        """Take every lock. A lock file that cannot even be created (a read-only or full output folder: the daemon
        then defers its work until the folder is writable) is skipped unless it is the last one, the journal's."""
        try:
            for i, path in enumerate(self.paths):
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError:
                    if i == len(self.paths) - 1:
                        raise
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise AlreadyRunning(f"another exposure-batch watch is already running on this output / journal "
                                         f"({holder}; lock {shown(path)}); stop it first or use another output "
                                         "folder and journal") from None
                self._fds.append(fd)
                with contextlib.suppress(OSError):  # (the holder's note is for the message only)
                    os.ftruncate(fd, 0)
                    os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    def __enter__(self) -> "DaemonLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"
