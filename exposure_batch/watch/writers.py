"""Is another process still writing a file? (The watch daemon's check beside its settle timer.)

Some FTP/SMB servers create a file empty and fill it seconds later through the same handle, and a copy can stall
half-way: the size and mtime then stand still for longer than any settle time although the file is incomplete.
On Linux the kernel knows: a read lease (fcntl F_SETLEASE F_RDLCK) is refused with EAGAIN while any process has
the file open for writing. Taking the lease needs the file's owner or CAP_LEASE and a local filesystem; where it
cannot be taken the answer is "unknown" and the daemon relies on its settle timer and on re-examining quarantined
files that change (watch.Daemon).

Exports: open_for_writing, error_file_name.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os

_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)  # Linux: F_LINUX_SPECIFIC_BASE + 0


def open_for_writing(path: str) -> bool | None:
    """True when some process holds `path` open for writing, False when none does, None when this cannot be told
    (not Linux, no right to take a lease on the file, a filesystem without leases)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
    except OSError as err:
        return True if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK) else None
    else:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


#: bytes an atomic write adds to a file's name for its temp file ('.' + name + '.' + 8 random + '.tmp')
TEMP_NAME_EXTRA = 14


def error_file_name(name: str, folder: str, suffix: str = ".error.txt") -> str:
    """NAME + suffix, or, when that (or its atomic-write temp name) would pass the filesystem's name limit, a
    shortened NAME cut on a character boundary + '~' + 8 hex digits of NAME's SHA-1 + suffix (unique per name)."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    raw = os.fsencode(name)
    if len(raw) + len(suffix) + TEMP_NAME_EXTRA <= limit:
        return name + suffix
    tag = "~" + hashlib.sha1(raw).hexdigest()[:8]
    keep = max(1, limit - TEMP_NAME_EXTRA - len(suffix) - len(tag))
    cut = raw[:keep]
    try:  # a UTF-8 name is cut between characters; other bytes are kept as they are
        raw.decode("utf-8")
        cut = cut.decode("utf-8", "ignore").encode("utf-8")
    except UnicodeDecodeError:
        pass
    return os.fsdecode(cut) + tag + suffix
