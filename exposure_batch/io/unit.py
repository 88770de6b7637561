"""One photo = one unit: every file a photo produces (image, recipe, sidecars, .cube, the source with embedded
settings) appears together or not at all.

Inside `with write_unit():` every `io.write.atomic_write` (and `stage_file`) writes and fsyncs its temp file as
usual but does not rename it; leaving the block renames them all (commit). If anything in the block raises, the
temp files are removed and no file is created or changed. If a rename fails during the commit (a disk error), the
renames already done are undone: new files removed, replaced files restored from hard-link backups. The unit is
per thread (a ContextVar), so the decode thread of a pipeline never joins the render thread's unit.

Exports: write_unit, current_unit, stage_file, Unit.
"""
from __future__ import annotations

import contextlib
import contextvars
import os

from ..errors import OutputExists, OutputUnwritable


def fsync_dir(folder: str) -> None:
    """fsync a folder (so renames inside it are durable); errors (e.g. a filesystem without it) are ignored."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

_CURRENT: contextvars.ContextVar["Unit | None"] = contextvars.ContextVar("exposure_batch_write_unit", default=None)


class Unit:
    """Temp files waiting to be renamed onto their targets (in staging order)."""

    def __init__(self):
        self.staged: list[tuple[str, str, bool]] = []  # (temp, target, overwrite)

    def stage(self, tmp: str, path: str, overwrite: bool) -> None:
        if any(target == path for _, target, _ in self.staged):
            raise OutputExists(f"{path}: written twice in one unit")
        self.staged.append((tmp, path, overwrite))

    def abort(self) -> None:
        """Remove every staged temp file; no target is touched."""
        for tmp, _, _ in self.staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.staged = []

    def commit(self) -> list[str]:
        """Rename every staged file onto its target; all or nothing. Returns the targets."""
        for _, path, overwrite in self.staged:
            if not overwrite and os.path.lexists(path):
                self.abort()
                raise OutputExists(f"{path}: already exists (pass overwrite to replace it)")
        done: list[tuple[str, str | None]] = []  # (target, backup of what it replaced)
        try:
            for tmp, path, _ in self.staged:
                backup = None
                if os.path.lexists(path) and not os.path.islink(path):
                    backup = tmp[:-4] + ".old.tmp"  # (a temp name: a crashed run's leftovers are cleaned)
                    os.link(path, backup)
                os.replace(tmp, path)
                done.append((path, backup))
        except OSError as exc:
            for path, backup in reversed(done):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, path)
                    else:
                        os.unlink(path)
            self.abort()
            raise OutputUnwritable(f"{path}: cannot write ({exc.strerror or exc}); nothing of this photo was written"
                              ) from exc
        for _, backup in done:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)

        for folder in {os.path.dirname(os.path.abspath(p)) for p, _ in done}:
            fsync_dir(folder)
        targets = [p for _, p, _ in self.staged]
        self.staged = []
        return targets


def current_unit() -> Unit | None:
    """The unit open in this thread (None outside `write_unit`)."""
    return _CURRENT.get()


@contextlib.contextmanager
def write_unit():
    """Group every atomic write in the block into one all-or-nothing commit (see module docstring)."""
    unit = Unit()
    token = _CURRENT.set(unit)
    try:
        yield unit
    except BaseException:
        unit.abort()
        raise
    else:
        unit.commit()
    finally:
        _CURRENT.reset(token)


def stage_file(tmp: str, path: str) -> None:
    """A finished temp file (same folder as `path`, fsynced) replaces `path`: at the unit's commit inside
    `write_unit`, now otherwise."""
    unit = current_unit()
    if unit is not None:
        unit.stage(tmp, path, True)
        return
    os.replace(tmp, path)

    fsync_dir(os.path.dirname(os.path.abspath(path)))
