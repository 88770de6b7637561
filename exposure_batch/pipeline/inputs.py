"""Input discovery: files and folders -> (path, relative name) pairs, and the one policy for names that are never
inputs (hidden files, temp names of downloads and atomic writes, NAS and OS system folders), shared by `process`,
`watch` and every other command that scans a folder.

Exports: find_inputs, is_ignored, TEMP_SUFFIXES, IGNORED_DIRS.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", ".!sync")
IGNORED_DIRS = ("@eaDir", "#recycle", "#snapshot", ".Trash", "$RECYCLE.BIN", "__MACOSX")


def is_ignored(path: str) -> bool:
    """Temp and system names never taken as inputs: hidden files ('._*', '.DS_Store', atomic-write temps),
    '*.part', '*.tmp', '*.crdownload', ..., and anything inside '@eaDir', '#recycle', a hidden folder, ...
    `path` is relative to the scanned folder (the folder's own location never counts)."""
    parts = os.path.normpath(path).split(os.sep)
    name = parts[-1]
    if name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES) or name in ("Thumbs.db", "desktop.ini"):
        return True
    return any(p in IGNORED_DIRS or p.startswith(".") for p in parts[:-1])


def find_inputs(inputs: Iterable[str], recursive: bool = False) -> list[tuple[str, str]]:
    """Expand files and folders into (path, relative_name) pairs, sorted, photo extensions only for folders (the
    ones we read, and the ones skipped as "unsupported format", e.g. .jxl, so they are counted, not ignored).

    Files named explicitly are always kept (a bad one then fails with a clear reason); names `is_ignored` refuses
    (hidden, temp, system folders) inside folders are skipped.
    """
    from ..io import is_photo  # noqa: PLC0415

    found: list[tuple[str, str]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            pattern = p.rglob("*") if recursive else p.glob("*")
            for f in sorted(pattern):
                if f.is_file() and not is_ignored(str(f.relative_to(p))) and is_photo(f):
                    found.append((str(f), str(f.relative_to(p))))
        else:
            found.append((str(p), p.name))
    seen, unique = set(), []
    for path, rel in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append((path, rel))
    return unique
