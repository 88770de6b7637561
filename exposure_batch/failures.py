"""Typed failures: what went wrong with one file, classified where it happened (never by parsing messages).

The kinds (errors.Kind: input, limit, conflict, usage, setup, environment, crash, timeout) and what each means for
a scheduler are documented in `exposure_batch.errors`; every error class carries its kind. A `Failure` is the one
record of a failed file for process, watch, serve and Ray: `to_dict()` is what journals and the service return,
`Failed` is the exception that carries one (the service raises it and serialises the same Failure).

Exports: Kind, Failure, Failed, classify, is_internal_error, describe_death.
"""
from __future__ import annotations

import errno
import signal
from dataclasses import dataclass

from .errors import ExposureBatchError, InputError, Kind

#: errno values that mean "the machine refused", not "the input is bad".
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO})


@dataclass(frozen=True)
class Failure:
    """kind: see errors.Kind; stage: 'decode' | 'agent' | 'render' | 'worker' | ...; message: one line for people."""

    kind: Kind
    stage: str
    message: str

    @property
    def retryable(self) -> bool:
        """Worth another attempt in a fresh worker (CRASH, TIMEOUT): Kind.retryable."""
        return self.kind.retryable

    def to_dict(self) -> dict:
        """{'kind': 'conflict', 'stage': 'render', 'message': '...'}: JSON for journals and the service."""
        return {"kind": self.kind.value, "stage": self.stage, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict) -> "Failure":
        """Inverse of to_dict."""
        return cls(Kind(data["kind"]), str(data.get("stage", "")), str(data.get("message", "")))


class Failed(Exception):
    """An exception carrying a Failure (the service's engine and edits raise it; the HTTP layer serialises
    `failure`). `kind` and `reason` mirror the failure's kind and message."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure

    @property
    def kind(self) -> Kind:
        return self.failure.kind

    @property
    def reason(self) -> str:
        return self.failure.message


def classify(err: BaseException, stage: str) -> Failure:
    """The Failure for an exception caught at a stage's catch boundary: the error class's kind, ENVIRONMENT for an
    OSError with an environment errno, LIMIT for MemoryError (over the worker's memory cap), CRASH for the rest."""
    if isinstance(err, Failed):
        return err.failure
    if isinstance(err, MemoryError):
        return Failure(Kind.LIMIT, stage, "out of memory while processing")
    if isinstance(err, InputError):
        return Failure(err.kind, stage, err.reason)
    if isinstance(err, ExposureBatchError):
        if type(err).kind is Kind.CRASH and _os_error(err) is not None:
            return Failure(Kind.ENVIRONMENT, stage, _one_line(err))
        return Failure(err.kind, stage, _one_line(err))
    if _os_error(err) is not None:
        return Failure(Kind.ENVIRONMENT, stage, _one_line(err))
    return Failure(Kind.CRASH, stage, f"internal error: {type(err).__name__}: {_one_line(err)}")


def is_internal_error(err: BaseException) -> bool:
    """True when no error class, errno or memory cap explains `err`: classify calls it an internal error (a bug)."""
    return not isinstance(err, (Failed, MemoryError, ExposureBatchError)) and _os_error(err) is None


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
