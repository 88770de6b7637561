"""Typed failures: classify() by exception type and errno, never by message; one wording for dead workers."""
from __future__ import annotations

import errno
import signal

from exposure_batch.errors import DecodeError, OutputError, RecipeError
from exposure_batch.failures import Kind, classify, describe_death


def _caused(err: BaseException, cause: BaseException) -> BaseException:
    err.__cause__ = cause
    return err


def test_classify_by_type_and_errno():
    assert classify(DecodeError("a.dng", "truncated\nfile"), "decode").kind is Kind.INPUT
    assert classify(DecodeError("a.dng", "truncated\nfile"), "decode").message == "truncated file"
    disk_full = _caused(OutputError("out/a.jpg: cannot write (No space left on device)"),
                        OSError(errno.ENOSPC, "No space left on device"))
    failure = classify(disk_full, "render")
    assert (failure.kind, failure.stage, failure.retryable) == (Kind.ENVIRONMENT, "render", False)
    assert classify(OSError(errno.EROFS, "Read-only file system"), "render").kind is Kind.ENVIRONMENT
    assert classify(MemoryError(), "decode").kind is Kind.LIMIT and classify(MemoryError(), "decode").retryable
    bug = classify(ValueError("input (ENOSPC) looks odd"), "agent")  # words in a message decide nothing
    assert bug.kind is Kind.CRASH and bug.message == "internal error: ValueError: input (ENOSPC) looks odd"
    assert classify(RecipeError("bad step"), "agent").kind is Kind.INPUT


def test_describe_death_is_the_one_wording():
    assert describe_death(-signal.SIGSEGV) == "worker crashed (SIGSEGV)"
    assert describe_death(-signal.SIGKILL) == "worker crashed (SIGKILL: out of memory?)"
    assert describe_death(3) == "worker exited unexpectedly (exit status 3)"
