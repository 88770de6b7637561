"""Worker task for the service's isolation test (imported by spawned workers): the service's own task, except
that analysing a file whose name contains 'segv' kills the worker the way a crashing decoder does."""
from __future__ import annotations

import os
import signal

from exposure_batch.service import tasks


def run(source, kind, payload):
    if kind == "analyse" and "segv" in os.path.basename(payload["path"]):
        os.kill(os.getpid(), signal.SIGSEGV)
    return tasks.run(source, kind, payload)
