"""The watch daemon's own state, rebuilt from what is on disk when its journal is lost.

A journal that was damaged (watch --rebuild-journal), emptied to 0 bytes or deleted says nothing about the photos
already edited; the output folder still does. Every input whose planned output is there is recorded as done
(attempts 0: recognised, not edited), unless the recipe saved beside the output names another version of the
input (its SHA-256 differs): then the output is recorded as that earlier version's, so the daemon edits the new
version and may replace it. Originals moved to the processed folder count as done where their outputs are there;
originals in the quarantine folder are recorded as quarantined, so identical copies dropped again are not retried.

Exports: adopt_outputs, file_identity.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
from typing import Callable

from .journal import Journal

ADOPTED = "recognised from its output on disk (journal rebuilt)"


def file_identity(path: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file at `path`, None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def adopt_outputs(journal: Journal, cfg, plan_out: Callable[[str, str], str], own_dir: Callable[[str], bool],
                  ignored: Callable[[str], bool]) -> tuple[int, int]:
    """Record in `journal` what the output, processed and quarantine folders of watch config `cfg` show was done
    (see the module docstring). plan_out(path, rel) -> output path; own_dir(path) -> True inside the daemon's
    own folders; ignored(relative path) -> True for temp and system names. Returns (photos recognised as done,
    originals recorded as quarantined)."""
    from ..io.decode import file_sha256  # noqa: PLC0415
    from ..pipeline.outputs import recipe_path_for  # noqa: PLC0415

    def sha(path):
        return file_sha256(path) if cfg.hash_files else None

    done = 0
    for path, st in _photos(cfg.inbox, cfg.recursive, own_dir, ignored):
        rel = os.path.relpath(path, cfg.inbox)
        out = plan_out(path, rel)
        if not os.path.exists(out):
            continue
        digest = sha(path)
        recorded = _recipe_sha(recipe_path_for(out))
        if recorded and digest and recorded != digest:  # the output is an earlier version's: the new one is edited
            _add(journal, path, rel, -1, -1, recorded, out, "done", "an earlier version (journal rebuilt)")
            continue
        done += _add(journal, path, rel, st.st_size, st.st_mtime_ns, digest, out, "done", ADOPTED)
    if cfg.move_processed and os.path.isdir(cfg.processed_dir):
        for path, st in _photos(cfg.processed_dir, True, lambda p: False, ignored):
            rel = os.path.relpath(path, cfg.processed_dir)
            original = os.path.join(cfg.inbox, rel)
            out = plan_out(original, rel)
            if os.path.exists(out):
                done += _add(journal, original, rel, st.st_size, st.st_mtime_ns, sha(path), out, "done", ADOPTED)
    quarantined = 0
    if os.path.isdir(cfg.quarantine_dir):
        for path, st in _photos(cfg.quarantine_dir, True, lambda p: False, ignored):
            rel = os.path.relpath(path, cfg.quarantine_dir)
            quarantined += _add(journal, os.path.join(cfg.inbox, rel), rel, st.st_size, st.st_mtime_ns, sha(path),
                                None, "quarantined", "quarantined before the journal was rebuilt")
    return done, quarantined


def _add(journal: Journal, *row) -> int:
    try:
        journal.add(*row)
        return 1
    except sqlite3.IntegrityError:  # the same input version twice (e.g. in the inbox and the processed folder)
        return 0


def _photos(folder: str, recursive: bool, own_dir: Callable[[str], bool], is_ignored: Callable[[str], bool]):
    """(path, stat) of every photo file the daemon would consider below `folder`."""
    from ..io import is_supported  # noqa: PLC0415

    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if recursive and not is_ignored(os.path.join(d, "x"))
                         and not own_dir(os.path.join(root, d)))
        for name in sorted(files):
            path = os.path.join(root, name)
            if is_ignored(os.path.relpath(path, folder)) or not is_supported(path):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield path, st


def _recipe_sha(path: str) -> str | None:
    """The source SHA-256 a saved recipe names, or None (no recipe, unreadable, no hash)."""
    try:
        with open(path, encoding="utf-8") as fh:
            source = json.load(fh).get("source") or {}
    except (OSError, ValueError, AttributeError):
        return None
    value = source.get("sha256") if isinstance(source, dict) else None
    return value if isinstance(value, str) else None
