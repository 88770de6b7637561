"""Advisory lock files that name their holder: one non-blocking flock per file, with a "pid N since TIME" note
inside for the refusal message of whoever comes second (runs.lock for `process`, watch.lock for the daemon)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time


def try_lock(path: str) -> tuple[int | None, str]:
    """Open (creating) and flock PATH without waiting -> (fd, "") when taken, the holder's note written in it;
    (None, "pid N since ...") when another process holds it. OSError when the file cannot be opened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        return None, holder
    with contextlib.suppress(OSError):  # (the holder's note is for the message only)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
    return fd, ""


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"
