"""Moving originals out of the inbox (to the quarantine or processed folder) without replacing anything there.

Exports: free_name, move.
"""
from __future__ import annotations

import logging
import os
import shutil

from ..names import shown

log = logging.getLogger("exposure_batch.watch")


def free_name(path: str) -> str:
    """path, or 'name (2).ext', 'name (3).ext', ... if it exists."""
    if not os.path.lexists(path) and not os.path.lexists(path + ".error.txt"):
        return path
    base, ext = os.path.splitext(path)
    n = 2
    while os.path.lexists(f"{base} ({n}){ext}"):
        n += 1
    return f"{base} ({n}){ext}"


def move(src: str, dest: str) -> bool:
    try:
        shutil.move(src, dest)
        return True
    except OSError as err:
        log.warning("cannot move %s to %s: %s", shown(src), shown(dest), shown(err))
        return False
