"""Resumable run manifest: an append-only JSON-lines log in OUTDIR/.exposure-batch/manifest.jsonl.

Each run appends a `run` line (the output options and recipe source, so a resume with different settings is
refused), a `start` line when a file's decode begins and an `end` line (status, reason, outputs) when it finishes.
Lines are written with one `write` call in append mode and flushed; a torn last line (power cut) is ignored when
loading. `plan_resume` turns the log plus the job list into: files finished earlier (skipped), files to do, and
stale outputs of files that were in flight when the run stopped (removed, then redone). It scales to 100,000s of
files (two short lines per file; loading keeps only the last record per input).

Exports: MANIFEST_NAME, Manifest, ManifestState, ResumePlan, manifest_path, run_options, plan_resume, dry_run_plan.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

from ..io.write import stale_temp_files
from ..pipeline.options import OutputOptions
from ..pipeline.outputs import existing_outputs_block, recipe_path_for
from ..pipeline.result import Result, Skip

MANIFEST_NAME = "manifest.jsonl"
SCHEMA = "exposure-batch/manifest"
#: Options that change what an output contains: a resume must use the same ones.
_OUTPUT_KEYS = ("fmt", "quality", "space", "linear", "save_recipe")


def manifest_path(outdir: str) -> str:
    """OUTDIR/.exposure-batch/manifest.jsonl (a hidden folder: never picked up as an input)."""
    return os.path.join(os.path.abspath(outdir), ".exposure-batch", MANIFEST_NAME)


def run_options(opts: OutputOptions, spec) -> dict:
    """What a run's outputs depend on: output options plus the recipe source (agent name, recipe file, model)."""
    d = {k: v for k, v in asdict(opts).items() if k in _OUTPUT_KEYS}
    d["agent"] = None if spec.recipe_path else spec.agent
    d["recipe"] = os.path.abspath(spec.recipe_path) if spec.recipe_path else None
    d["model"] = os.path.abspath(spec.model_path) if spec.model_path else None
    if getattr(spec, "profile_path", None):
        d["profile"] = os.path.abspath(spec.profile_path)
    return d


def _input_stamp(path: str) -> dict:
    """Size and mtime of an input, so a file changed since it was done is done again."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class ManifestState:
    """A loaded manifest: the latest run's options and the last record per input path (absolute)."""

    options: dict | None = None
    last: dict[str, dict] = field(default_factory=dict)


class Manifest:
    """Append-only writer (thread-safe) and loader of a run manifest."""

    def __init__(self, path: str):
        self.path = path
        self._fh = None
        self._lock = threading.Lock()
        self._since_sync = 0.0

    @classmethod
    def for_outdir(cls, outdir: str) -> "Manifest":
        return cls(manifest_path(outdir))

    def load(self) -> ManifestState:
        """Read every complete line; unreadable lines (a torn tail) are skipped."""
        state = ManifestState()
        try:
            fh = open(self.path, encoding="utf-8")
        except FileNotFoundError:
            return state
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(rec, dict):
                    continue
                if rec.get("kind") == "run":
                    state.options = rec.get("options")
                elif rec.get("kind") in ("start", "end") and isinstance(rec.get("path"), str):
                    state.last[rec["path"]] = rec
        return state

    def open_run(self, options: dict, n_files: int) -> None:
        """Start appending: one `run` line with the options."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._append({"kind": "run", "schema": SCHEMA, "version": 1, "time": time.time(), "options": options,
                      "files": n_files}, sync=True)

    def start(self, path: str, out_path: str) -> None:
        """A file's decode began (its output may appear from now on)."""
        self._append({"kind": "start", "path": os.path.abspath(path), "out": os.path.abspath(out_path)})

    def end(self, result: Result, out_path: str) -> None:
        """A file finished: done, skipped or failed."""
        rec = {"kind": "end", "path": os.path.abspath(result.path), "out": os.path.abspath(out_path),
               "status": result.status, "reason": result.reason, "outputs": list(result.outputs),
               **_input_stamp(result.path)}
        self._append(rec)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
                self._fh = None

    def _append(self, rec: dict, sync: bool = False) -> None:
        # ASCII JSON: a name with non-UTF-8 bytes (surrogate-escaped) round-trips as \udcff escapes
        line = json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n"
        with self._lock:
            if self._fh is None:
                return
            self._fh.write(line)
            self._fh.flush()
            now = time.monotonic()
            if sync or now - self._since_sync > 2.0:  # fsync at most every 2 s: cheap for 100,000 files
                os.fsync(self._fh.fileno())
                self._since_sync = now

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ResumePlan:
    """todo: jobs still to run; finished: Results for files done in an earlier run; stale: outputs to remove
    (written by a run that stopped before recording the file as done)."""

    todo: list[tuple[str, str]]
    finished: list[Result]
    stale: list[str]


def options_mismatch(state: ManifestState, options: dict) -> str | None:
    """One line naming the settings that differ from the manifest's last run, or None."""
    if state.options is None:
        return None
    diff = [f"{k}: {state.options.get(k)!r} -> {options.get(k)!r}" for k in sorted(set(options) | set(state.options))
            if state.options.get(k) != options.get(k)]
    return "; ".join(diff) or None


def plan_resume(state: ManifestState, jobs: Sequence[tuple[str, str]]) -> ResumePlan:
    """Split jobs by what the manifest says: done (unchanged input, output still there) -> finished; in flight
    when the run stopped -> stale outputs removed and redone; failed or never seen -> redone."""
    todo, finished, stale = [], [], []
    for path, out_path in jobs:
        rec = state.last.get(os.path.abspath(path))
        if rec and rec.get("kind") == "end" and rec.get("status") in ("done", "skipped") and _unchanged(rec, path) \
                and os.path.abspath(out_path) == rec.get("out") and os.path.exists(out_path):
            finished.append(Result(path, "skipped", "done in an earlier run", [out_path], skip=Skip.EARLIER))
            continue
        if rec and rec.get("kind") == "start" and rec.get("out") == os.path.abspath(out_path):
            targets = (out_path, recipe_path_for(out_path))
            stale.extend(p for p in targets if os.path.exists(p))
            stale.extend(tmp for p in targets for tmp in stale_temp_files(p))  # killed mid-write
        todo.append((path, out_path))
    return ResumePlan(todo, finished, stale)


def _unchanged(rec: dict, path: str) -> bool:
    stamp = _input_stamp(path)
    return bool(stamp) and stamp.get("size") == rec.get("size") and stamp.get("mtime_ns") == rec.get("mtime_ns")


def dry_run_plan(jobs: Sequence[tuple[str, str]], opts: OutputOptions, state: ManifestState | None = None
                 ) -> list[tuple[str, str, str, str]]:
    """What a run would do, without decoding or writing: (action, input, output, reason) per job, action one of
    'process', 'skip', 'fail'."""
    rows = []
    plan = plan_resume(state, jobs) if state is not None else ResumePlan(list(jobs), [], [])
    done = {r.path for r in plan.finished}
    stale = set(plan.stale)
    for path, out_path in jobs:
        if path in done:
            rows.append(("skip", path, out_path, "done in an earlier run"))
            continue
        if out_path in stale:
            rows.append(("process", path, out_path, "redo: the earlier run stopped while writing it"))
            continue
        blocked = existing_outputs_block(out_path, opts)
        if blocked is None:
            rows.append(("process", path, out_path, ""))
        else:
            rows.append(("skip" if blocked.status == "skipped" else "fail", path, out_path, blocked.reason))
    return rows
