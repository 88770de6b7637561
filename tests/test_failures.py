"""Typed failures: classify() by exception type and errno, never by message; one wording for dead workers."""
from __future__ import annotations

import errno
import signal

import pytest

from exposure_batch import errors
from exposure_batch.errors import DecodeError, LimitError, OutputError, OutputUnwritable, RecipeError
from exposure_batch.failures import Failed, Failure, Kind, classify, describe_death


def _caused(err: BaseException, cause: BaseException) -> BaseException:
    err.__cause__ = cause
    return err


def test_classify_by_type_and_errno():
    assert classify(DecodeError("a.dng", "truncated\nfile"), "decode").kind is Kind.INPUT
    assert classify(DecodeError("a.dng", "truncated\nfile"), "decode").message == "truncated file"
    disk_full = _caused(OutputUnwritable("out/a.jpg: cannot write (No space left on device)"),
                        OSError(errno.ENOSPC, "No space left on device"))
    failure = classify(disk_full, "render")
    assert (failure.kind, failure.stage, failure.retryable) == (Kind.ENVIRONMENT, "render", False)
    assert classify(OSError(errno.EROFS, "Read-only file system"), "render").kind is Kind.ENVIRONMENT
    assert classify(MemoryError(), "decode").kind is Kind.LIMIT and not classify(MemoryError(), "decode").retryable
    bug = classify(ValueError("input (ENOSPC) looks odd"), "agent")  # words in a message decide nothing
    assert bug.kind is Kind.CRASH and bug.message == "internal error: ValueError: input (ENOSPC) looks odd"
    assert classify(RecipeError("bad step"), "agent").kind is Kind.USAGE


#: Every error class and the kind it must carry (whose fault it is), written out independently of errors.py.
EXPECTED_KINDS = {
    "InputError": Kind.INPUT, "DecodeError": Kind.INPUT, "UnsupportedFile": Kind.INPUT, "UnsupportedFormat": Kind.INPUT,
    "LimitError": Kind.LIMIT,
    "RecipeError": Kind.USAGE, "FilterParamError": Kind.USAGE, "OutputExists": Kind.CONFLICT,
    "OutputUnwritable": Kind.ENVIRONMENT, "OutputUsage": Kind.USAGE, "SourceMetadataTooLarge": Kind.INPUT,
    "SetupError": Kind.SETUP, "ModelError": Kind.SETUP, "ProfileError": Kind.SETUP,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_each_error_class_carries_its_kind(name):
    cls = getattr(errors, name)
    err = cls("a.jpg", "why") if issubclass(cls, errors.InputError) else cls("a.jpg: why")
    assert cls.kind is EXPECTED_KINDS[name]
    assert classify(err, "render").kind is EXPECTED_KINDS[name]


def test_every_error_class_is_in_the_table():
    """A new error class must say its kind here too (the table above is the independent expectation)."""
    classes = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.ExposureBatchError)}
    assert classes - {"ExposureBatchError", "OutputError"} == set(EXPECTED_KINDS)


def test_kinds_decide_retry_and_blame():
    """One meaning per kind: only crashes and timeouts are retried; only input and limit blame the photo; setup
    and environment wait; a conflict (output exists) is neither retried, blamed, nor waited on."""
    assert {k for k in Kind if k.retryable} == {Kind.CRASH, Kind.TIMEOUT}
    assert {k for k in Kind if k.blames_input} == {Kind.INPUT, Kind.LIMIT}
    assert {k for k in Kind if k.waits} == {Kind.ENVIRONMENT, Kind.SETUP}
    exists = classify(errors.OutputExists("out/a.jpg: already exists"), "render")
    assert (exists.kind, exists.retryable, exists.kind.blames_input, exists.kind.waits) == (
        Kind.CONFLICT, False, False, False)
    over = classify(LimitError("a.jpg", "image is 30000x30000 (900 MP), over the 250 MP limit"), "decode")
    assert (over.kind, over.retryable, over.message) == (Kind.LIMIT, False, "image is 30000x30000 (900 MP), over "
                                                                            "the 250 MP limit")


def test_bare_error_with_an_environment_cause_is_environment_else_crash():
    assert classify(errors.ExposureBatchError("oops"), "render").kind is Kind.CRASH
    full = _caused(errors.ExposureBatchError("cannot write"), OSError(errno.ENOSPC, "No space left on device"))
    assert classify(full, "render").kind is Kind.ENVIRONMENT
    assert classify(OutputError("x"), "render").kind is Kind.ENVIRONMENT


def test_failure_round_trips_and_failed_carries_it():
    failure = Failure(Kind.CONFLICT, "render", "out/a.jpg: already exists")
    assert failure.to_dict() == {"kind": "conflict", "stage": "render", "message": "out/a.jpg: already exists"}
    assert Failure.from_dict(failure.to_dict()) == failure
    err = Failed(failure)
    assert (err.kind, err.reason, str(err)) == (Kind.CONFLICT, "out/a.jpg: already exists", "out/a.jpg: already exists")
    assert classify(err, "other") is failure


def test_describe_death_is_the_one_wording():
    assert describe_death(-signal.SIGSEGV) == "worker crashed (SIGSEGV)"
    assert describe_death(-signal.SIGKILL) == "worker crashed (SIGKILL: out of memory?)"
    assert describe_death(3) == "worker exited unexpectedly (exit status 3)"
