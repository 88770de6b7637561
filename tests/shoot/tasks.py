"""Hostile shoot tasks for the workers (module:function references imported by spawned processes)."""
from __future__ import annotations

import os
import signal
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
