"""Finding complete files: filesystem events are only hints (`Hints`, filled on watchdog's thread); `Stability`
promotes a candidate once its size and mtime have stayed unchanged for `settle` seconds, it still is a regular
file, opens, and no other process holds it open for writing (up to `open_wait` seconds). Names `pipeline.inputs.
is_ignored` refuses never get here.

Exports: Hints, Stability, openable.
"""
from __future__ import annotations

import os
import stat
import threading
import time
from typing import Callable

from .writers import open_for_writing


class Hints:
    """Thread-safe set of paths named by filesystem events (watchdog calls `dispatch` on its own thread)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._files: set[str] = set()
        self._dirs: set[str] = set()
        self.received = 0  # events taken so far (a count for observers of the daemon; no paths kept)

    def dispatch(self, event) -> None:
        if event.event_type not in ("created", "modified", "moved", "closed"):
            return
        path = os.fsdecode(event.dest_path if event.event_type == "moved" else event.src_path)
        with self._lock:
            (self._dirs if event.is_directory else self._files).add(path)
            self.received += 1

    def __len__(self) -> int:
        """Paths named by events and not yet drained."""
        with self._lock:
            return len(self._files) + len(self._dirs)

    def drain(self) -> tuple[set[str], set[str]]:
        with self._lock:
            files, dirs = self._files, self._dirs
            self._files, self._dirs = set(), set()
        return files, dirs


class Stability:
    """Candidates waiting to be complete: path -> (size, mtime_ns, time the pair was first seen).

    A file is complete when its (size, mtime) pair has been seen unchanged for `settle` seconds. With
    trust_mtime (local filesystems, where mtime comes from this machine's clock) a file whose mtime is already
    `settle` seconds old and that is unchanged at the next check is complete too: every write moves mtime to now,
    so files that were there before the daemon started need not wait out the settle time again.
    """

    def __init__(self, settle: float, trust_mtime: bool = False, wall: Callable[[], float] = time.time,
                 open_wait: float = 0.0):
        self.settle = settle
        self.trust_mtime = trust_mtime
        self.wall = wall
        self.open_wait = open_wait
        self._seen: dict[str, tuple[int, int, float]] = {}
        self._open_since: dict[str, float] = {}  # path -> when it was first found settled but open for writing
        self.waiting: list[str] = []  # paths newly found open for writing (the daemon says so once)
        self.gave_up: list[str] = []  # paths still open after open_wait seconds, taken as they are

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, path: str) -> bool:
        return path in self._seen

    def note(self, path: str, st: os.stat_result, now: float) -> None:
        prev = self._seen.get(path)
        if prev is None or (prev[0], prev[1]) != (st.st_size, st.st_mtime_ns):
            self._seen[path] = (st.st_size, st.st_mtime_ns, now)

    def ready(self, now: float) -> list[tuple[str, os.stat_result]]:
        """Paths unchanged for `settle` seconds, still regular files, and openable; they leave the candidate set."""
        done = []
        for path, (size, mtime_ns, since) in list(self._seen.items()):
            try:
                st = os.stat(path)
            except OSError:
                del self._seen[path]  # vanished (renamed away, deleted)
                continue
            if not stat.S_ISREG(st.st_mode):
                del self._seen[path]
            elif (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
                self._seen[path] = (st.st_size, st.st_mtime_ns, now)
            elif (now - since >= self.settle or self._old(mtime_ns, now, since)) and openable(path):
                if self._being_written(path, now):
                    self._seen[path] = (size, mtime_ns, now)  # once closed, it must stay unchanged a settle time
                    continue
                del self._seen[path]
                done.append((path, st))
        return done

    def _being_written(self, path: str, now: float) -> bool:
        """Another process still holds the file open for writing (and open_wait has not run out)."""
        if self.open_wait <= 0:
            return False
        if open_for_writing(path) is not True:
            self._open_since.pop(path, None)
            return False
        first = self._open_since.setdefault(path, now)
        if first == now:
            self.waiting.append(path)
        if now - first > self.open_wait:
            del self._open_since[path]
            self.gave_up.append(path)
            return False
        return True

    def _old(self, mtime_ns: int, now: float, since: float) -> bool:
        return self.trust_mtime and now > since and self.wall() - mtime_ns / 1e9 >= self.settle


def openable(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False
