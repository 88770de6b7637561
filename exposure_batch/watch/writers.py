"""Is another process still writing a file? (The watch daemon's check beside its settle timer.)

Some FTP/SMB servers create a file empty and fill it seconds later through the same handle, and a copy can stall
half-way: the size and mtime then stand still for longer than any settle time although the file is incomplete.
On Linux the kernel knows: a read lease (fcntl F_SETLEASE F_RDLCK) is refused with EAGAIN while any process has
the file open for writing. Taking the lease needs the file's owner or CAP_LEASE, leases enabled and a filesystem that
has them; where it cannot be taken, the open files listed under /proc (/proc/PID/fd and fdinfo: the processes this
user may see) answer instead, read at most every half second; where neither can tell, the daemon relies on its
settle timer and on re-examining quarantined files that change (watch.daemon).

Exports: open_for_writing, error_file_name.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import time

_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)  # Linux: F_LINUX_SPECIFIC_BASE + 0


def open_for_writing(path: str) -> bool | None:
    """True when some process holds `path` open for writing, False when none does, None when this cannot be told
    (no lease can be taken and no /proc to read)."""
    held = _lease_says(path)
    return held if held is not None else _proc_says(path)


def _lease_says(path: str) -> bool | None:
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


_PROC_MAX_AGE = 0.5  # seconds a /proc scan is reused (one scan answers for every file checked meanwhile)
_proc_cache: tuple[float, frozenset] | None = None


def _proc_says(path: str) -> bool | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    written = _written_files()
    return None if written is None else (st.st_dev, st.st_ino) in written


def _written_files() -> frozenset | None:
    """(st_dev, st_ino) of every file some visible process has open for writing (O_WRONLY or O_RDWR), from
    /proc/PID/fd + /proc/PID/fdinfo; None without /proc."""
    global _proc_cache
    now = time.monotonic()
    if _proc_cache is not None and now - _proc_cache[0] < _PROC_MAX_AGE:
        return _proc_cache[1]
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    found = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
                if not (st.st_mode & 0o170000) == 0o100000:  # regular files only
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as fh:
                    flags = next((int(line.split()[1], 8) for line in fh if line.startswith("flags:")), 0)
            except (OSError, ValueError):
                continue
            if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                found.add((st.st_dev, st.st_ino))
    _proc_cache = (now, frozenset(found))
    return _proc_cache[1]


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
