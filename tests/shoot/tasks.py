"""Hostile shoot tasks for the workers (module:function references imported by spawned processes)."""
from __future__ import annotations

import os
import signal
import time

from exposure_batch.shoot.work import shoot_task


def hostile(source, op, payload):
    """shoot.work.shoot_task, except that the survey of a file named '*segv*' kills its worker and that of a file
    named '*hang*' never returns (as a hostile file can do to a decoder)."""
    if op == "survey":
        name = os.path.basename(payload[0])
        if "segv" in name:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "hang" in name:
            time.sleep(3600)
    return shoot_task(source, op, payload)
