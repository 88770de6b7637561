"""Hostile shoot tasks for the workers (module:function references imported by spawned processes)."""
from __future__ import annotations

import os
import signal
import sys
import time

from exposure_batch.shoot.work import engine_task


def hostile(source, *args):
    """shoot.work.engine_task, except that the survey of a file named '*segv*' kills its worker and that of a file
    named '*hang*' never returns (as a hostile file can do to a decoder); their edits run as usual."""
    if args and args[0] == "survey":
        name = os.path.basename(args[1][0])
        if "segv" in name:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "hang" in name:
            time.sleep(3600)
    return engine_task(source, *args)


#: Synthetic shoots for the scheduler tests: frame k of the file list belongs to burst k // BURST, frames 2 s apart,
#: bursts an hour apart; each burst's frames share one signature (seeded by the burst).
BURST = 10


def synthetic_record(path: str):
    """The grouping.Signed record a survey of the synthetic file `path` (.../IMG_<k>.jpg, no file needed) gives."""
    import numpy as np

    from exposure_batch.shoot.grouping import Signed

    k = int(os.path.splitext(os.path.basename(path))[0].split("_")[1])
    burst = k // BURST
    sig = np.random.default_rng(burst).normal(0.0, 0.5, (5, 16, 16)).astype(np.float32)
    return Signed(path, 1.0e9 + 3600.0 * burst + 2.0 * (k % BURST), os.path.dirname(path), sig)


def synthetic(source, *args):
    """engine_task for files that need not exist: surveys give synthetic_record, harmonise tasks give each group
    unharmonised (plain entries), measure tasks run as usual (nothing to measure), edits give a done Result
    (nothing is decoded or written)."""
    from exposure_batch.pipeline.result import Result
    from exposure_batch.shoot.harmonise import Harmonised
    from exposure_batch.shoot.work import ShootReply

    if args[0] == "survey":
        return ShootReply(synthetic_record(args[1][0]), os.getpid())
    if args[0] == "measure":
        return engine_task(source, *args)
    if args[0] == "harmonise":
        named, _ = args[1]
        return ShootReply([(name, [r.path for r in records], Harmonised(list(range(len(records)))))
                           for name, records in named], os.getpid())
    return Result(args[-3], "done")  # (..., input_path, output_path, OutputOptions)


def colour_spy(source, *args):
    """shoot.work.engine_task that notes, after every task, whether colour-science is imported in this worker (a
    line "task-kind True|False" in $EXPOSURE_BATCH_TEST_SPY/<pid>)."""
    out = engine_task(source, *args)
    with open(os.path.join(os.environ["EXPOSURE_BATCH_TEST_SPY"], str(os.getpid())), "a") as fh:
        fh.write(f"{args[0] if args and isinstance(args[0], str) else 'edit'} {'colour' in sys.modules}\n")
    return out
