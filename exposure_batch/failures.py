"""Typed failures: what went wrong with one file, classified where it happened (never by parsing messages).

    INPUT        the file itself is bad (truncated, not an image, unsupported): retrying will not help
    ENVIRONMENT  the machine refused (disk full, read-only or unwritable output folder): not the input's fault
    CRASH        the worker died (segfault, OOM kill) or code raised something unexpected (a bug)
    TIMEOUT      the file ran past the per-file time limit and its worker was killed
    LIMIT        the file needed more than a limit allows (the per-worker memory cap)

Exports: Kind, Failure, classify, describe_death.
"""
from __future__ import annotations

import enum
import errno
import signal
from dataclasses import dataclass

from .errors import ExposureBatchError, InputError, OutputError

#: errno values that mean "the machine refused", not "the input is bad".
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO})


class Kind(str, enum.Enum):
    INPUT = "input"
    ENVIRONMENT = "environment"
    CRASH = "crash"
    TIMEOUT = "timeout"
    LIMIT = "limit"


@dataclass(frozen=True)
class Failure:
    """kind: see the module doc; stage: 'decode' | 'agent' | 'render' | 'worker'; message: one line for people."""

    kind: Kind
    stage: str
    message: str

    @property
    def retryable(self) -> bool:
        """Worth another attempt in a fresh worker (CRASH, TIMEOUT, LIMIT); ENVIRONMENT waits for a restart."""
        return self.kind in (Kind.CRASH, Kind.TIMEOUT, Kind.LIMIT)


def classify(err: BaseException, stage: str) -> Failure:
    """The Failure for an exception caught at a stage's catch boundary."""
    if isinstance(err, MemoryError):
        return Failure(Kind.LIMIT, stage, "out of memory while processing")
    if isinstance(err, InputError):
        return Failure(Kind.INPUT, stage, err.reason)
    if _os_error(err) is not None or isinstance(err, OutputError):
        return Failure(Kind.ENVIRONMENT, stage, _one_line(err))
    if isinstance(err, ExposureBatchError):
        return Failure(Kind.INPUT, stage, _one_line(err))
    return Failure(Kind.CRASH, stage, f"internal error: {type(err).__name__}: {_one_line(err)}")


def _os_error(err: BaseException | None) -> OSError | None:
    """The first OSError with an environment errno in err's cause chain."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in ENVIRONMENT_ERRNOS:
            return err
        err = err.__cause__
    return None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def describe_death(exitcode: int | None) -> str:
    """The one wording for a dead worker: 'worker crashed (SIGSEGV)', 'worker crashed (SIGKILL: out of memory?)',
    'worker exited unexpectedly (exit status 1)'."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker crashed ({name}{': out of memory?' if -exitcode == signal.SIGKILL else ''})"
    return f"worker exited unexpectedly (exit status {exitcode})"
