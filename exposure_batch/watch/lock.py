"""One watch daemon per output folder and per journal: an exclusive, non-blocking lock (flock) on a lock file.

The lock is held by an open file descriptor, so it goes away with the process however it ends (kill -9 included):
no stale lock to clean up after a crash. The file records the holder's pid and start time for the message the
second daemon prints.

A lock file inside the output folder vanishes when someone deletes that folder; a second daemon would then create
a new one and start beside the first. So the output folder is also locked outside itself, by a lock file in the
user's runtime folder ($XDG_RUNTIME_DIR, else the temp folder) named after the folder's real path, and the holder
can check that its lock files are still the ones it locked (`DaemonLock.lost`) and take them again (`retake`).
The daemon also holds the output folder's writer lock (lockfile.output_lock_path), the one a `process` run takes, so
a run and a daemon never write one output folder at once.

Exports: AlreadyRunning, DaemonLock, lock_paths, outside_lock_path.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from ..lockfile import OUTPUT_LOCK_NAME, output_lock_path, try_lock
from ..names import shown

LOCK_NAME = "watch.lock"


class AlreadyRunning(RuntimeError):
    """Another daemon holds the lock (one line naming the lock file and the holder)."""


def lock_paths(outdir: str, journal_path: str) -> list[str]:
    """The lock files guarding an output folder and a journal: one outside the output folder (it survives the
    folder's deletion), one inside it, the folder's writer lock that `process` runs take, and the journal's (the
    same as the one inside when the journal lives in the output folder); the journal's comes last."""
    paths = [outside_lock_path(outdir), os.path.join(os.path.abspath(outdir), ".exposure-batch", LOCK_NAME),
             output_lock_path(outdir), os.path.abspath(journal_path) + ".lock"]
    return list(dict.fromkeys(paths))


def outside_lock_path(outdir: str) -> str:
    """RUNTIME/exposure-batch/watch-<16 hex of the output folder's real path>.lock"""
    base = os.environ.get("XDG_RUNTIME_DIR") or ""
    if not (base and os.path.isdir(base) and os.access(base, os.W_OK)):
        base = tempfile.gettempdir()
    key = hashlib.sha256(os.fsencode(os.path.realpath(outdir))).hexdigest()[:16]
    return os.path.join(base, f"exposure-batch-{os.getuid()}", f"watch-{key}.lock")


class DaemonLock:
    """Hold every lock in `paths` (acquire) until release; AlreadyRunning when another process holds one."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        self._held: dict[str, tuple[int, tuple[int, int]]] = {}  # path -> (fd, (st_dev, st_ino) of the file locked)

    def acquire(self) -> "DaemonLock":
        """Take every lock not held yet. A lock file that cannot even be created (a read-only or full output
        folder: the daemon then defers its work until the folder is writable) is skipped unless it is the last one,
        the journal's."""
        try:
            for i, path in enumerate(self.paths):
                if path in self._held:
                    continue
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    fd, holder = try_lock(path, "exposure-batch watch")
                except OSError:
                    if i == len(self.paths) - 1:
                        raise
                    continue
                if fd is None and os.path.basename(path) == OUTPUT_LOCK_NAME:
                    raise AlreadyRunning(f"an exposure-batch run is writing to this output folder ({holder}; lock "
                                         f"{shown(path)}); wait for it to finish or use another output folder")
                if fd is None:
                    raise AlreadyRunning(f"another exposure-batch watch is already running on this output / journal "
                                         f"({holder}; lock {shown(path)}); stop it first or use another output "
                                         "folder and journal")
                st = os.fstat(fd)
                self._held[path] = (fd, (st.st_dev, st.st_ino))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for fd, _ in self._held.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._held = {}

    def lost(self) -> list[str]:
        """The lock files held that are no longer at their path (deleted, or replaced by another file)."""
        gone = []
        for path, (_, ident) in self._held.items():
            try:
                st = os.stat(path)
            except OSError:
                gone.append(path)
                continue
            if (st.st_dev, st.st_ino) != ident:
                gone.append(path)
        return gone

    def retake(self) -> "DaemonLock":
        """Lock fresh files at the paths `lost` names (the other locks stay held all along); AlreadyRunning when
        another process took one meanwhile (then every lock is released)."""
        for path in self.lost():
            fd, _ = self._held.pop(path)
            with contextlib.suppress(OSError):
                os.close(fd)
        return self.acquire()

    def __enter__(self) -> "DaemonLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

