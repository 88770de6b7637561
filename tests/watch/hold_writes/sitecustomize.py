"""Test hook for tests/watch/test_restart.py, loaded only when this folder is on PYTHONPATH (Python imports
`sitecustomize` at start-up, in the daemon and in its spawned workers alike).

With EXPOSURE_BATCH_TEST_HOLD_WRITES=1, an fsync of an atomic write's temp file ('.IMG_*.tmp') blocks, so the test
kills the daemon mid-write every time instead of hoping to catch a write of a few milliseconds.
"""
import os

if os.environ.get("EXPOSURE_BATCH_TEST_HOLD_WRITES"):
    import time

    _fsync = os.fsync

    def _held_fsync(fd):
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        if name.startswith(".IMG_") and name.endswith(".tmp"):
            time.sleep(600)  # until the test kills the daemon (the worker dies with it)
        return _fsync(fd)

    os.fsync = _held_fsync
