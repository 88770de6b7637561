"""Advisory lock files that name their holder: one non-blocking flock per file, with a "pid N since TIME, WHO" note
inside for the refusal message of whoever comes second (runs.lock for `process`, watch.lock for the daemon).

Every writer of an output folder (a `process` run or a watch daemon) holds OUTDIR/.exposure-batch/process.lock
(`output_lock_path`) while it runs, so a run and a daemon never write one folder at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time

OUTPUT_LOCK_NAME = "process.lock"


def output_lock_path(outdir: str) -> str:
    """OUTDIR/.exposure-batch/process.lock: the lock every writer of the output folder holds."""
    return os.path.join(os.path.abspath(outdir), ".exposure-batch", OUTPUT_LOCK_NAME)


def try_lock(path: str, who: str) -> tuple[int | None, str]:
    """Open (creating) and flock PATH without waiting -> (fd, "") when taken, the holder's note written in it
    (WHO: "exposure-batch process", "exposure-batch watch"); (None, "pid N since ..., WHO") when another process
    holds it. OSError when the file cannot be opened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        return None, holder
    with contextlib.suppress(OSError):  # (the holder's note is for the message only)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}, {who}\n".encode())
    return fd, ""


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"
