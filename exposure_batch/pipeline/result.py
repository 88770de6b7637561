"""The outcome of one input file: done, skipped or failed (with a typed Failure), and the catch boundary that turns
any exception into a failed Result.

Exports: Result, Skip, failed_result.
"""
from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..failures import Failure, classify, is_internal_error
from ..recipe import Recipe

log = logging.getLogger(__name__)


class Skip(str, Enum):
    """Why a file was skipped, typed (decisions read this, never the reason's text)."""

    EXISTS = "exists"  # its output is already there (--overwrite redoes it)
    EARLIER = "earlier"  # done in an earlier run (--resume manifest)
    UNSUPPORTED = "unsupported"  # a photo format this install does not decode (JPEG XL, ...)


@dataclass
class Result:
    """Outcome for one input file."""

    path: str
    status: str  # done | skipped | failed
    reason: str = ""  # one line (for failures: failure.message)
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recipe: Recipe | None = None
    #: (h, w, 3) float32 linear ProPhoto thumbnail of the input (before the edit), when opts.thumbnail > 0.
    thumb_lin: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: what went wrong, typed (set with status 'failed'; see exposure_batch.failures).
    failure: Failure | None = None
    #: why it was skipped, typed (set with status 'skipped' where the skip has a kind).
    skip: Skip | None = None

    @classmethod
    def failed(cls, path: str, failure: Failure, seconds: float = 0.0) -> "Result":
        return cls(path, "failed", failure.message, seconds=seconds, failure=failure)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def failed_result(path: str, err: BaseException, start: float, stage: str = "decode") -> Result:
    """The catch boundary: any exception -> a failed Result with a typed Failure (failures.classify)."""
    failure = classify(err, stage)
    if is_internal_error(err):
        log.debug("unexpected error on %s\n%s", path, "".join(traceback.format_exception(err)))
    return Result.failed(path, failure, time.perf_counter() - start)
