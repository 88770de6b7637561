"""Task functions for worker tests, imported by spawned worker processes (module:function references)."""
from __future__ import annotations

import os
import signal
import time

import numpy as np

from exposure_batch.pipeline.result import Result
from exposure_batch.pipeline.stages import process_one


def echo(source, value):
    """Returns a done Result naming the value."""
    return Result(str(value), "done", reason=f"pid {os.getpid()}")


def segfault(source, value):
    """Dies the way a crashing decoder does."""
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)


def hang(source, value):
    time.sleep(3600)


def hog(source, value):
    """Allocates and touches `value` bytes."""
    a = np.ones(int(value), dtype=np.uint8)
    return Result("hog", "done", reason=str(int(a.sum())))


def crash_on_name(source, path, out_path, opts):
    """The real per-file pipeline, except that a file whose name contains 'segv' kills its worker."""
    if "segv" in os.path.basename(path):
        os.kill(os.getpid(), signal.SIGSEGV)
    return process_one(path, out_path, source, opts)


def hostile(source, path, out_path, opts):
    """'segv' in a file's name kills its worker, 'hang' hangs it; other files are done at once (no rendering: the
    first render of a worker compiles the kernels, seconds a short timeout must not count)."""
    if "hang" in os.path.basename(path):
        time.sleep(3600)
    if "segv" in os.path.basename(path):
        os.kill(os.getpid(), signal.SIGSEGV)
    return Result(path, "done")



def output_appears(source, path, out_path, opts):
    """The real per-file stages, but another program writes this photo's output image after the existing-output
    check and before the render: the output is in the way (a conflict, not a full disk)."""
    from exposure_batch.pipeline.stages import decide_prepared, finish_stage, prepare_stage

    item = prepare_stage(source, path, out_path, opts)
    if isinstance(item, Result):
        return item
    decided = decide_prepared(source, [item])[0]
    with open(out_path, "wb") as fh:
        fh.write(b"written by another program")
    return decided if isinstance(decided, Result) else finish_stage(item, decided, opts)
