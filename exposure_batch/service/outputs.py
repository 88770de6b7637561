"""Where the service's renders go: the output planning of `process`, and never a write over a file the service
did not write.

* `plan` runs process's planning on a request's photos (pipeline.plan_outputs: two photos sharing a stem keep
  their extensions, `a/IMG.jpg` + `b/IMG.jpg` go to OUT/a/, OUT/b/; pipeline.outputs.check_targets: an output that is an
  input, or written by two photos, refuses the request naming both).
* `Claims.claim` picks the file a render writes, just before it runs. A planned file that exists is replaced only
  when the service wrote it itself, from the same source, and nobody changed it since (the ledger
  OUTDIR/.exposure-batch/service-outputs.jsonl records every file the service writes: name, source, size,
  mtime_ns). Otherwise the next free name is taken: NAME.EXT.jpg (the source's extension kept, as `process` names
  two sources sharing a stem), then OUT/<source folder>/NAME.jpg; when every one is taken the render is refused
  with one line naming the source and the file in the way. Renders in flight hold their name, so two requests
  never write the same file.

Exports: plan, Claims, Claim, OutputConflict, LEDGER_NAME.
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass

from ..names import shown
from ..pipeline.outputs import PlanError, check_targets

LEDGER_NAME = "service-outputs.jsonl"


class OutputConflict(Exception):
    """Every name a render could take is a file the service did not write (one line naming both)."""


def plan(items: list[tuple[str, str]], fmt: str, output_dir: str) -> dict[str, str]:
    """(resolved source path, original name) pairs -> planned output image per source path (process's planning).

    Raises PlanError (one line naming both files) when an output would be an input or two photos would share one."""
    from ..pipeline.options import OutputOptions  # noqa: PLC0415
    from ..pipeline.outputs import plan_outputs  # noqa: PLC0415

    planned = plan_outputs(items, OutputOptions(outdir=output_dir, fmt=fmt))
    check_targets([(p, planned[p]) for p, _ in items], lambda _path, out: [out])
    return planned


def ledger_path(output_dir: str) -> str:
    return os.path.join(output_dir, ".exposure-batch", LEDGER_NAME)


def _key(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(folder), name)


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class _Ledger:
    """The records of one output folder's ledger, read incrementally: only the lines appended since the last read
    are parsed (the whole file again when it shrank or was replaced). Last record per file wins; a torn last line
    is read again once it is complete."""

    def __init__(self, output_dir: str):
        self.path = ledger_path(output_dir)
        self.records: dict[str, dict] = {}
        self._offset, self._inode = 0, None

    def refresh(self) -> dict[str, dict]:
        try:
            st = os.stat(self.path)
        except OSError:
            self.records, self._offset, self._inode = {}, 0, None
            return self.records
        if st.st_ino != self._inode or st.st_size < self._offset:
            self.records, self._offset, self._inode = {}, 0, st.st_ino
        if st.st_size > self._offset:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(st.st_size - self._offset)
            complete = data[:data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("file"), str):
                    self.records[rec["file"]] = rec
        return self.records


def _append_ledger(output_dir: str, recs: list[dict]) -> None:
    """One write per record, append mode: concurrent services never interleave a line."""
    path = ledger_path(output_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for rec in recs:
            os.write(fd, (json.dumps(rec, ensure_ascii=True) + "\n").encode("ascii"))
    finally:
        os.close(fd)


def _candidates(source: str, planned: str) -> list[str]:
    """The planned name, then NAME.EXT.jpg, then OUT/<the source's folder>/NAME.jpg."""
    stem, ext = os.path.splitext(planned)
    src_ext = os.path.splitext(source)[1]
    names = [planned]
    if src_ext and not stem.endswith(src_ext):
        names.append(stem + src_ext + ext)
    folder = os.path.basename(os.path.dirname(os.path.realpath(source))) or "root"
    names.append(os.path.join(os.path.dirname(planned), folder, os.path.basename(planned)))
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Claim:
    """The file a render writes: `path`; `overwrite`: it exists and the service wrote it from this source;
    `note`: one line when the planned name was taken by another file (or '')."""

    path: str
    overwrite: bool
    note: str = ""


class Claims:
    """Names held by renders in flight, and the ledger of files the service wrote (one per service)."""

    def __init__(self):
        self._held: dict[str, str] = {}  # output key -> source key
        self._ledgers: dict[str, _Ledger] = {}  # output folder -> its ledger, read incrementally
        self._lock = asyncio.Lock()

    async def claim(self, source: str, planned: str, output_dir: str) -> Claim:
        """Pick the file this render writes and hold it until `release`. Raises OutputConflict."""
        src = os.path.realpath(source)
        async with self._lock:
            candidates = _candidates(source, planned)
            ledger = None
            for target in candidates:
                key = _key(target)
                holder = self._held.get(key)
                if holder is not None and holder != src:
                    continue
                if key == src:
                    continue
                exists = os.path.lexists(target)
                if exists:
                    if ledger is None:  # (read only when a name is taken: new renders never parse it)
                        ledger = self._ledger(output_dir).refresh()
                    if not self._ours(ledger.get(key), src, target):
                        continue
                self._held[key] = src
                note = "" if target == planned else (
                    f"{shown(os.path.basename(planned))} is taken by a file the service did not write: "
                    f"rendered to {shown(target)}")
                return Claim(target, exists, note)
        raise OutputConflict(f"{shown(source)}: its render would write over {shown(planned)}, a file the service "
                             f"did not write (and {', '.join(shown(os.path.basename(c)) for c in candidates[1:])} "
                             "are taken too); choose another output_dir")

    def _ledger(self, output_dir: str) -> _Ledger:
        key = os.path.realpath(output_dir)
        if key not in self._ledgers:
            self._ledgers[key] = _Ledger(output_dir)
        return self._ledgers[key]

    @staticmethod
    def _ours(rec: dict | None, src: str, target: str) -> bool:
        if not rec or rec.get("source") != src or os.path.islink(target):
            return False
        return _stamp(target) == (rec.get("size"), rec.get("mtime_ns"))

    def release(self, claim: Claim, source: str, output_dir: str, written: list[str]) -> None:
        """Record the files written (ledger) and free the name."""
        src = os.path.realpath(source)
        try:
            recs = []
            for path in written:
                stamp = _stamp(path)
                if stamp is not None:
                    recs.append({"file": _key(path), "source": src, "size": stamp[0], "mtime_ns": stamp[1]})
            if recs:
                _append_ledger(output_dir, recs)
        finally:
            self._held.pop(_key(claim.path), None)


__all__ = ["Claim", "Claims", "LEDGER_NAME", "OutputConflict", "PlanError", "plan"]
