"""The watch-folder daemon: observer -> stability check -> journal -> isolated worker pool.

Filesystem events are only hints: the watchdog handler (on watchdog's thread) records paths; the main loop
re-stats every candidate and promotes it once its size and mtime have been unchanged for `settle` seconds, it still
exists and opens, and its name is not a temp name. A promoted file is written to the journal (SQLite, WAL) and run
through the shared per-file pipeline in the engine's worker pool (spawned workers, a timeout, a memory cap).
What happens to a failed file depends on its failure's kind (errors.Kind): INPUT and LIMIT are quarantined at once;
CRASH and TIMEOUT are retried alone in a fresh worker (--retries), then quarantined; CONFLICT (an output in the way)
and USAGE fail the file without retry or quarantine (the original stays); ENVIRONMENT (disk full, read-only output)
and SETUP (a model or profile that cannot load) leave the original in place and the row queued, to be retried after
`env_retry` seconds (doubling up to 16x while it keeps failing) and at the next start.
Files already in the inbox at start, rows left unfinished by a crash, and files missed by the observer (periodic
rescan) are all picked up the same way. Everything but the watchdog callback runs on one thread.

Slow writers: a file that is complete by its settle time but still open for writing by another process (an
FTP/SMB server filling it through one handle, a stalled copy) is waited for until it is closed (writers.py, up to
`open_wait` seconds); a quarantined file that changes within `requarantine_watch` seconds (its writer was not
visible, e.g. on a share) is moved back and examined again.
Own state: the journal and the locks are checked every turn; deleted or replaced under the running daemon (the
output folder removed), they are recreated at once, loudly, the journal from the daemon's open copy
(state.py). A damaged journal stops the start with one line (journal.JournalDamaged); `rebuild_journal`, or a
journal without history in an output folder that holds outputs (emptied to 0 bytes, deleted), is rebuilt from the
outputs on disk.

Exports: Daemon (WatchConfig: watch.config; Hints, Stability: watch.discovery; is_ignored: pipeline.inputs).
"""
from __future__ import annotations

import collections
import json
import logging
import os
import stat
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from ..engine import Outcome, WorkerInitError, WorkerPool
from ..engine.scheduler import DEFER, RETRY, RETRYABLE, RetryPolicy
from ..failures import Failure, Kind
from ..names import shown
from ..pipeline.inputs import is_ignored
from ..pipeline.options import OutputOptions
from ..pipeline.outputs import check_watch_folders, plan_outputs, recipe_path_for
from ..pipeline.result import Result
from .config import WatchConfig
from .discovery import Hints, Stability
from .journal import Journal, Row
from .lock import AlreadyRunning, DaemonLock, lock_paths
from .quarantine import free_name, move
from .state import adopt_outputs, file_identity
from .writers import error_file_name

log = logging.getLogger("exposure_batch.watch")


class Daemon:
    """Run with `Daemon(config).run()`; stop from any thread with `request_stop()` (or set `stop`).

    `clock` (monotonic seconds) drives the settle and rescan timers and can be replaced in tests.
    """

    def __init__(self, config: WatchConfig, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.cfg = config
        #: the engine's one retry rule: crash / timeout retried alone (--retries), ENVIRONMENT / SETUP deferred
        self.policy = RetryPolicy(retries=config.retries, retry_kinds=RETRYABLE, defer_waiting=True,
                                  env_retry=config.env_retry)
        self.stop = stop or threading.Event()
        self.abort = threading.Event()  # second signal: abandon in-flight work now
        self.ready = threading.Event()  # set once the observer runs and the first scan is done
        self.clock = clock
        self.journal: Journal | None = None
        self.pool: WorkerPool | None = None
        self._hints = Hints()
        self._stable = Stability(config.settle, trust_mtime=not config.polling, open_wait=config.open_wait)
        self._lock: DaemonLock | None = None
        self._journal_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the journal file opened
        self._taken_over: AlreadyRunning | None = None  # another daemon took the output over while this one ran
        self._requarantine: dict[int, tuple] = {}  # row id -> (where, error file, size, mtime_ns, watch until)
        self._queue: collections.deque[int] = collections.deque()
        self._to_promote: collections.deque = collections.deque()  # (path, stat) complete, not yet journalled
        self._queued: set[int] = set()
        self._inflight: dict[int, Row] = {}
        self._unsupported_logged: set[str] = set()
        self._observer = None
        self._next_rescan: float | None = None
        self._deferred: dict[int, float] = {}  # row id -> clock() of its next attempt (ENVIRONMENT failures)
        self._env_failures: dict[int, int] = {}
        self.report = None
        self._report_dirty = False
        self.stats = collections.Counter()
        self._groups = None  # shoot.holding.GroupHolder when grouping is on
        if config.grouping is not None and config.grouping.enabled:
            from ..shoot.holding import GroupHolder  # noqa: PLC0415

            self._groups = GroupHolder(config.spec, config.grouping,
                                       os.path.join(os.path.dirname(config.journal_path), "groups"),
                                       window=max(config.settle, 0.5), wait=config.group_wait,
                                       max_pixels=config.opts.max_pixels, jobs=config.jobs,
                                       timeout=min(config.timeout or 120.0, 120.0),
                                       memory_limit=config.memory_limit)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        if self.stop.is_set():
            self.abort.set()
        self.stop.set()

    def idle(self) -> bool:
        """True when the daemon has nothing in hand: no event hint undrained, no file waiting to settle, nothing to
        journal, queue, hold for its group or finish. Safe to call from another thread (a snapshot: a filesystem
        event that the observer has not delivered yet is not seen)."""
        return not (len(self._hints) or len(self._stable) or self._to_promote or self._queue or self._inflight
                    or (self._groups is not None and self._groups.pending))

    @property
    def events_received(self) -> int:
        """Filesystem events the observer has delivered so far."""
        return self._hints.received

    def run(self) -> collections.Counter:
        """Main loop until stopped (or, with once=True, until the inbox is drained). Returns outcome counts.

        Raises pipeline.outputs.PlanError when a folder the daemon writes is the inbox, lock.AlreadyRunning when
        another daemon holds this output folder or journal. Any other exception inside the loop is logged and the
        daemon goes on (worker start-up failures excepted: nothing can be processed then)."""
        cfg = self.cfg
        check_watch_folders(cfg.inbox, {"output": cfg.opts.outdir, "report": cfg.report_dir,
                                        "processed": cfg.processed_dir, "quarantine": cfg.quarantine_dir})
        lock = self._lock = DaemonLock(lock_paths(cfg.opts.outdir, cfg.journal_path)).acquire()
        try:
            os.makedirs(cfg.opts.outdir, exist_ok=True)
            self._open_journal()  # (before the workers start: a damaged journal stops the start at once)
            spec = self._groups.worker_spec() if self._groups is not None else cfg.spec
            self.pool = WorkerPool(cfg.jobs, spec, timeout=cfg.timeout, memory_limit=cfg.memory_limit,
                                   task_ref=cfg.task_ref)  # starts now
            self._open_report()
            self._recover()
            if not cfg.once:
                self._start_observer()
            self._scan(cfg.inbox)
            self._next_rescan = self.clock() + cfg.rescan if cfg.rescan else None
            self._emit("started", inbox=cfg.inbox, outdir=cfg.opts.outdir, jobs=cfg.jobs, queued=len(self._queue))
            self.ready.set()
            errors = 0
            while not self.stop.is_set():
                try:
                    if self._step():
                        break
                    errors = 0
                except WorkerInitError:
                    raise
                except Exception as err:  # noqa: BLE001  (no bug and no environment hiccup ends the daemon)
                    errors += 1
                    self._loop_error(err, errors)
            self._shutdown()
        finally:
            self._stop_observer()
            if self.pool is not None:
                self.pool.close()
            self._flush_report()
            if self.journal is not None:
                self.journal.close()
            lock.release()
        if self._taken_over is not None:
            raise self._taken_over
        return self.stats

    def _step(self) -> bool:
        """One turn of the main loop: hints, rescan, promotion, dispatch, outcomes, report. True when a --once run
        has nothing left to do."""
        cfg = self.cfg
        now = self.clock()
        self._check_own_state()
        if self._taken_over is not None:
            return True
        self._take_hints(now)
        if self._next_rescan is not None and now >= self._next_rescan:
            self._scan(cfg.inbox)
            self._next_rescan = now + cfg.rescan
        self._retry_deferred(now)
        self._to_promote.extend(self._stable.ready(now))
        self._say_waiting()
        self._recheck_quarantined(now)
        budget = time.monotonic() + 0.2  # hashing a big drop must not starve the workers
        while self._to_promote and time.monotonic() < budget:
            self._promote(*self._to_promote.popleft())
        if self._groups is not None:
            self._release_groups(now)
        self._dispatch()
        for outcome in self.pool.poll(0 if self._to_promote else cfg.tick):
            self._on_outcome(outcome)
        if self._report_dirty and not self._inflight:
            self._flush_report()
        return cfg.once and not (self._stable or self._to_promote or self._queue or self._inflight
                                 or (self._groups is not None and self._groups.pending))

    # -- own state: journal and locks -------------------------------------------------------------------------------
    def _open_journal(self) -> None:
        """Open the journal (JournalDamaged when sqlite finds it damaged). With rebuild_journal the old file is set
        aside first; a journal without history (new, or emptied to 0 bytes) in an output folder that holds outputs
        is not a fresh start: both are rebuilt from the outputs on disk, loudly."""
        cfg = self.cfg
        kept = Journal.set_aside(cfg.journal_path) if cfg.rebuild_journal else None
        self.journal = Journal(cfg.journal_path)
        self._journal_id = file_identity(cfg.journal_path)
        if not cfg.rebuild_journal and (self.journal.total() or cfg.opts.overwrite):
            return
        done, quarantined = adopt_outputs(self.journal, cfg, self._plan_out, self._inside_own_dir, is_ignored)
        if cfg.rebuild_journal:
            reason = "--rebuild-journal" + (f"; the old journal is kept as {os.path.basename(kept)}" if kept else "")
        elif self.journal.emptied:
            reason = (f"{os.path.basename(cfg.journal_path)} was emptied (0 bytes)" +
                      (": the output folder holds outputs, so this is not a fresh start" if done else ""))
        elif done or quarantined:
            reason = "no journal history, but the output folder holds outputs: not a fresh start"
        else:
            return  # a fresh start
        self._emit("journal", action="rebuilt", reason=reason, journal=cfg.journal_path,
                   recognised=f"{done} photos done from their outputs on disk, {quarantined} quarantined")

    def _check_own_state(self) -> None:
        """Journal and lock files still the ones this daemon opened? If someone deleted them (the output folder
        removed) or replaced them, take the locks again and write the journal back from the open copy, loudly;
        when another daemon got the output meanwhile, stop (run raises AlreadyRunning)."""
        lost = self._lock.lost()
        journal_gone = file_identity(self.cfg.journal_path) != self._journal_id
        if not lost and not journal_gone:
            return
        gone = lost + ([self.cfg.journal_path] if journal_gone else [])
        self._emit("state_lost", reason="the daemon's own state was deleted or replaced while it ran: "
                   + ", ".join(gone), note="recreating it")
        try:
            self._lock.retake()
        except AlreadyRunning as err:
            self._emit("state_lost", reason=str(err), note="another daemon took this output over: stopping now")
            self._taken_over = err
            self.request_stop()
            self.request_stop()  # (abandon in-flight work: the other daemon owns the output now)
            return
        rows = None
        if journal_gone:
            rows = self.journal.recreate()
            self._journal_id = file_identity(self.cfg.journal_path)
        os.makedirs(self.cfg.opts.outdir, exist_ok=True)
        self._emit("state_recreated", journal=self.cfg.journal_path, rows=rows,
                   note="locks taken again" + ("; journal written back from the daemon's open copy" if journal_gone
                                               else ""))

    # -- slow writers ---------------------------------------------------------------------------------------------
    def _say_waiting(self) -> None:
        for path in self._stable.waiting:
            self._emit("waiting", file=self._rel(path), reason="still open for writing by another process; waiting "
                       "until it is closed", open_wait=self.cfg.open_wait)
        for path in self._stable.gave_up:
            self._emit("waited", file=self._rel(path), reason=f"still open for writing after {self.cfg.open_wait:g} "
                       "s (--open-wait); taken as it is")
        self._stable.waiting, self._stable.gave_up = [], []

    def _recheck_quarantined(self, now: float) -> None:
        """A quarantined file that changes was still being written (its writer's handle followed it into the
        quarantine): put it back where it was and examine it again."""
        for row_id, (where, error_path, size, mtime_ns, until) in list(self._requarantine.items()):
            try:
                st = os.stat(where)
            except OSError:
                del self._requarantine[row_id]
                continue
            if (st.st_size, st.st_mtime_ns) == (size, mtime_ns):
                if now > until:
                    del self._requarantine[row_id]
                continue
            del self._requarantine[row_id]
            row = self.journal.get(row_id)
            if row.state != "quarantined" or (where != row.path and (os.path.lexists(row.path)
                                                                    or not move(where, row.path))):
                continue
            try:
                os.unlink(error_path)
            except OSError:
                pass
            reason = "changed after it was quarantined (it was still being written): examined again"
            self._emit("re-examined", row, reason=reason)
            self._finish(row, "skipped", reason)
            self._consider(row.path, now)

    def _defer(self, row_id: int) -> float | None:
        """Schedule another attempt of an ENVIRONMENT failure while the daemon runs (the disk may get space back,
        the folder its permissions): after env_retry seconds, doubling per failure of the same row up to 16x.
        Returns the delay, or None (--once, env_retry 0, stopping: the row waits in the journal for the next
        start)."""
        if self.cfg.once or not self.cfg.env_retry or self.stop.is_set():
            return None
        n = self._env_failures[row_id] = self._env_failures.get(row_id, 0) + 1
        delay = self.policy.backoff(n)
        self._deferred[row_id] = self.clock() + delay
        return delay

    def _retry_deferred(self, now: float) -> None:
        """Queue the deferred rows whose time has come."""
        for row_id, due in list(self._deferred.items()):
            if now >= due:
                del self._deferred[row_id]
                self._enqueue(row_id)

    def _loop_error(self, err: BaseException, count: int) -> None:
        """Log an unexpected error of the main loop (with its traceback at debug level) and wait a little longer
        each time it repeats (0.5 s doubling to 30 s), then go on; a rescan picks up anything it interrupted."""
        log.debug("main loop error", exc_info=err)
        delay = min(30.0, 0.5 * 2 ** min(count - 1, 6))
        self._emit("error", reason=f"{type(err).__name__}: {' '.join(str(err).split())}",
                   note="the daemon goes on", retry_in=delay)
        if self.cfg.rescan:
            self._next_rescan = self.clock()  # look at the inbox again: the error may have dropped a hint
        self.stop.wait(delay)

    def _open_report(self) -> None:
        """--report: a ReportWriter (it keeps earlier entries across restarts); results then carry thumbnails."""
        if not self.cfg.report_dir:
            return
        from ..report import ReportWriter  # noqa: PLC0415
        from ..report.html import THUMB_SIDE  # noqa: PLC0415

        self.report = ReportWriter(self.cfg.report_dir, f"exposure-batch watch: {self.cfg.inbox}"[:200],
                                   autoflush_s=10.0)
        self.cfg.opts = replace(self.cfg.opts, thumbnail=THUMB_SIDE)

    def _report_add(self, row: Row, state: str, reason: str, outputs, seconds, result) -> None:
        if self.report is None or state == "queued":
            return
        if result is None:
            status = {"done": "done", "skipped": "skipped", "duplicate": "skipped"}.get(state, "failed")
            result = Result(row.path, status, reason, list(outputs), seconds or 0.0)
        try:
            self.report.add(result)
            self._report_dirty = True
        except Exception as err:  # noqa: BLE001  (a report problem never stops the daemon)
            log.warning("report: cannot add %s: %s", shown(row.rel), shown(err))

    def _flush_report(self) -> None:
        if self.report is None or not self._report_dirty:
            return
        try:
            self.report.flush()
        except Exception as err:  # noqa: BLE001
            log.warning("report: cannot write %s: %s", shown(self.cfg.report_dir), shown(err))
        self._report_dirty = False

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler  # noqa: PLC0415

        hints = self._hints

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: D102
                hints.dispatch(event)

        if self.cfg.polling:
            from watchdog.observers.polling import PollingObserver  # noqa: PLC0415

            observer = PollingObserver(timeout=self.cfg.poll_interval)
        else:
            from watchdog.observers import Observer  # noqa: PLC0415

            observer = Observer()
        observer.schedule(Handler(), self.cfg.inbox, recursive=self.cfg.recursive)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def _stop_observer(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None

    def _shutdown(self) -> None:
        """Let in-flight files finish for `grace` seconds, then abandon the rest (back to 'queued')."""
        end = self.clock() + (0 if self.abort.is_set() else self.cfg.grace)
        if self._inflight:
            self._emit("stopping", in_flight=len(self._inflight), grace=self.cfg.grace)
        while self._inflight and self.clock() < end and not self.abort.is_set():
            for outcome in self.pool.poll(min(0.2, max(0.0, end - self.clock()))):
                self._on_outcome(outcome)
        for task_id in self.pool.kill_busy():
            row = self._inflight.pop(task_id)
            self.journal.requeue(row.id, "abandoned at shutdown")
            self._emit("abandoned", row)
        self._emit("stopped", **{k: v for k, v in self.stats.items()})

    # -- discovery ----------------------------------------------------------------------------------------------
    def _own_dirs(self) -> tuple[str, ...]:
        c = self.cfg
        return tuple(d for d in (c.opts.outdir, c.processed_dir, c.quarantine_dir, os.path.dirname(c.journal_path),
                                  c.report_dir) if d)

    def _inside_own_dir(self, path: str) -> bool:
        return any(path == d or path.startswith(d + os.sep) for d in self._own_dirs()
                   if d != self.cfg.inbox and d.startswith(self.cfg.inbox + os.sep))

    def _scan(self, folder: str) -> None:
        """Walk a folder (the inbox, or a directory that was created / moved in) and consider every file."""
        now = self.clock()
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not is_ignored(os.path.join(d, "x"))
                             and not self._inside_own_dir(os.path.join(root, d)))
            if not self.cfg.recursive and root != folder:
                dirs[:] = []
                continue
            for name in sorted(files):
                self._consider(os.path.join(root, name), now)
            if not self.cfg.recursive:
                dirs[:] = []

    def _take_hints(self, now: float) -> None:
        files, dirs = self._hints.drain()
        for d in sorted(dirs):
            if os.path.isdir(d) and d.startswith(self.cfg.inbox) and not self._inside_own_dir(d):
                self._scan(d)
        for path in sorted(files):
            self._consider(path, now)

    def _consider(self, path: str, now: float) -> None:
        """A hint that `path` may be new: track it for stability unless it is ignored or already journalled."""
        from ..io import is_photo  # noqa: PLC0415

        path = os.path.abspath(path)
        if not path.startswith(self.cfg.inbox + os.sep) or is_ignored(os.path.relpath(path, self.cfg.inbox)):
            return
        if self._inside_own_dir(path):
            return
        if not is_photo(path):  # (photo formats we do not read, e.g. JPEG XL, go on: journalled as skipped)
            if path not in self._unsupported_logged and os.path.isfile(path):
                self._unsupported_logged.add(path)
                self._emit("ignored", file=self._rel(path), reason="not a photo file type")
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        if not stat.S_ISREG(st.st_mode):
            return
        known = self.journal.lookup(path, st.st_size, st.st_mtime_ns)
        if known is not None:
            if known.state in ("done", "skipped", "duplicate") and self.cfg.move_processed:
                self._move_processed(known)  # finishes a move interrupted by a crash
            return
        self._stable.note(path, st, now)

    # -- promotion: a complete file enters the journal --------------------------------------------------------------
    def _promote(self, path: str, st: os.stat_result) -> None:
        from ..io.decode import file_sha256  # noqa: PLC0415

        if self.journal.lookup(path, st.st_size, st.st_mtime_ns) is not None:
            return
        if any(r.path == path for r in self._inflight.values()):  # (its worker may be rewriting it: see
            self._stable.note(path, st, self.clock())             # _source_modified; look again afterwards)
            return
        rel = self._rel(path)
        sha = None
        if self.cfg.hash_files:
            try:
                sha = file_sha256(path)
                st2 = os.stat(path)
            except OSError:
                return
            if (st2.st_size, st2.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._stable.note(path, st2, self.clock())  # changed while hashing: not complete after all
                return
            twin = self.journal.by_hash(sha, ("done", "skipped", "queued", "processing", "quarantined"))
            if twin is not None:
                self._twin(path, rel, st, sha, twin)
                return
        out_path = self._plan_out(path, rel)
        row_id = self.journal.add(path, rel, st.st_size, st.st_mtime_ns, sha, out_path)
        if self._groups is not None:
            self._groups.hold(row_id, path, sha, self.clock())  # queued once its group is planned
        else:
            self._enqueue(row_id)

    def _release_groups(self, now: float) -> None:
        """Queue held files once their group is planned (quiet inbox for the settle window, or --group-wait)."""
        quiet = self.cfg.once and not (self._stable or self._to_promote)
        rows, groups = self._groups.release(now, quiet=quiet)
        for g in groups:
            self._emit("group", group=g["id"], files=len(g["files"]), consistency=g.get("consistency"),
                       split_from=g.get("split_from"), reason=g.get("reason"))
        for row_id in rows:
            self._enqueue(row_id)

    def _twin(self, path: str, rel: str, st, sha: str, twin: Row) -> None:
        """Identical content was seen before: never process it twice."""
        if twin.state == "quarantined":
            reason = f"identical to quarantined {twin.rel}: {twin.reason}"
            row_id = self.journal.add(path, rel, st.st_size, st.st_mtime_ns, sha, None, "quarantined", reason)
            row = self.journal.get(row_id)
            self.stats["quarantined"] += 1
            self._emit("quarantined", row, reason=reason)
            self._move_to_quarantine(row, reason)
            return
        reason = f"identical to {twin.rel} (already {'queued' if twin.state in ('queued', 'processing') else 'done'})"
        row_id = self.journal.add(path, rel, st.st_size, st.st_mtime_ns, sha, twin.out_path, "duplicate", reason)
        row = self.journal.get(row_id)
        self.stats["duplicate"] += 1
        self._emit("duplicate", row, reason=reason)
        if self.cfg.move_processed:
            self._move_processed(row)

    def _plan_out(self, path: str, rel: str) -> str:
        """Output path via plan_outputs; when another input already owns that name, keep the extension in it."""
        out = plan_outputs([(path, rel)], self.cfg.opts)[path]
        owner = self.journal.out_path_owner(out)
        if owner is None or owner.path == path:
            return out
        out = plan_outputs([(path, rel), (owner.path, owner.rel)], self.cfg.opts)[path]
        base, ext = os.path.splitext(out)
        n = 2
        while (o := self.journal.out_path_owner(out)) is not None and o.path != path:
            out, n = f"{base}-{n}{ext}", n + 1
        return out

    def _enqueue(self, row_id: int) -> None:
        if row_id not in self._queued and row_id not in self._inflight:
            self._queue.append(row_id)
            self._queued.add(row_id)

    # -- recovery -------------------------------------------------------------------------------------------------
    def _recover(self) -> None:
        """Requeue rows a previous run left queued or processing; remove their half-written temp files."""
        for row in self.journal.unfinished():
            if row.state == "processing" and row.out_path:
                self._remove_temps(row.out_path, row.path)
            self._enqueue(row.id)

    def _remove_temps(self, out_path: str, source_path: str | None = None) -> None:
        """atomic_write and io.unit leave '.<name>.<random>.tmp' only if killed mid-write (image, recipe, and the
        sidecars of the unit, wherever they go)."""
        from ..io.write import stale_temp_files  # noqa: PLC0415

        targets = [out_path, recipe_path_for(out_path)]
        sidecars = self.cfg.opts.sidecars
        if source_path and sidecars and sidecars != "none":
            from ..sidecars.writer import planned_paths  # noqa: PLC0415

            targets += planned_paths(out_path, source_path, sidecars)
        for target in targets:
            for tmp in stale_temp_files(target):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    # -- dispatch and outcomes ----------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Hand queued rows to workers with room, in order; a retry runs alone in its worker (solo)."""
        while self._queue and not self.stop.is_set():
            row = self.journal.get(self._queue[0])
            solo = row.failures > 0
            if row.state in ("queued", "processing") and not self.pool.can_take(solo):
                return
            self._queue.popleft()
            self._queued.discard(row.id)
            if row.state not in ("queued", "processing") or not self._still_same(row):
                continue
            opts = self._task_opts(row)
            if opts is None:
                continue
            self.journal.start(row.id)
            row.attempts += 1
            self._inflight[row.id] = row
            self.pool.submit(row.id, (row.path, row.out_path, opts), solo=solo)

    def _still_same(self, row: Row) -> bool:
        """The queued version is still the file on disk; otherwise close the row (a newer version gets its own)."""
        try:
            st = os.stat(row.path)
        except OSError:
            self._finish(row, "failed", "file disappeared before it was processed")
            return False
        if (st.st_size, st.st_mtime_ns) != (row.size, row.mtime_ns):
            self._finish(row, "skipped", "file changed before it was processed; the new version is queued")
            self._consider(row.path, self.clock())
            return False
        return True

    def _task_opts(self, row: Row) -> OutputOptions | None:
        """Options for this attempt: the daemon may replace outputs it wrote itself (a retry, a resumed file, a new
        version of the same input); anyone else's file is only replaced with --overwrite."""
        opts = self.cfg.opts
        if row.attempts > 0 or self.journal.wrote_before(row):
            return replace(opts, overwrite=True, skip_existing=False)
        if os.path.exists(row.out_path) and not (opts.overwrite or opts.skip_existing):
            self._finish(row, "failed", f"output {row.out_path} exists (use --overwrite or --skip-existing)")
            return None
        return opts

    def _on_outcome(self, o: Outcome) -> None:
        row = self._inflight.pop(o.task_id, None)
        if row is None:
            return
        if o.abandoned:  # its worker was replaced because of another file: not this file's attempt
            self.journal.requeue(row.id, "")
            self._queue.appendleft(row.id)
            self._queued.add(row.id)
        elif o.failure is None:
            if row.path in (o.result.outputs or ()):
                self._source_modified(row)
            self._finish(row, o.result.status, o.result.reason, o.result.outputs, o.result.seconds, result=o.result)
            if self.cfg.move_processed:
                self._move_processed(row)
        else:
            self._failed(row, o.failure, o.result.seconds if o.result else o.seconds)

    def _source_modified(self, row: Row) -> None:
        """The photo's own file was rewritten on purpose (--sidecar-beside-source embedded Adobe settings into it):
        the journal takes its new size, mtime and hash, so the daemon does not take it for a new photo."""
        from ..io.decode import file_sha256  # noqa: PLC0415

        try:
            st = os.stat(row.path)
            sha = file_sha256(row.path) if self.cfg.hash_files else None
        except OSError:
            return
        self.journal.update_identity(row.id, st.st_size, st.st_mtime_ns, sha)
        row.size, row.mtime_ns, row.sha256 = st.st_size, st.st_mtime_ns, sha or row.sha256
        self.stats["sources_modified"] += 1
        if self.stats["sources_modified"] == 1:
            self._emit("note", row, reason="--sidecar-beside-source: Adobe settings are embedded into JPEG/TIFF/PNG/"
                       "DNG originals, which changes their bytes (the count is in the stopped line)")

    def _failed(self, row: Row, failure: Failure, seconds: float) -> None:
        """Decide by the failure's kind (self.policy, errors.Kind): defer (ENVIRONMENT, SETUP), fail without blame
        (CONFLICT: an output is in the way; USAGE), retry alone (CRASH, TIMEOUT), or quarantine (INPUT, LIMIT,
        retries spent)."""
        action = self.policy.decide(failure, row.failures + 1)
        if action == DEFER:  # not the input's fault: keep the original, retry at the next start
            self.journal.requeue(row.id, failure.message)
            self.stats["deferred"] += 1
            retry_in = self._defer(row.id)
            self._emit("deferred", row, reason=failure.message, kind=failure.kind.value, retry_in=retry_in)
            return
        if not self._unchanged(row):  # it was still being written: the finished version is considered afresh
            self._finish(row, "skipped", f"file changed while processing ({failure.message}); the new version is "
                         "queued")
            self._consider(row.path, self.clock())
            return
        if not (failure.kind.blames_input or failure.retryable):  # the photo is not to blame: never retried or
            self._finish(row, "failed", failure.message, seconds=seconds)  # quarantined; the original stays put
            return
        failures = row.failures + 1
        if action == RETRY:
            self.journal.requeue(row.id, failure.message, failed=True)
            if not self.stop.is_set():  # (when stopping, the retry waits in the journal for the next run)
                self._enqueue(row.id)
                self._emit("retry", row, reason=failure.message, kind=failure.kind.value, seconds=round(seconds, 3))
            return
        reason = failure.message + (f" (after {failures} attempts)" if failures > 1 else "")
        self._finish(row, "quarantined", reason, seconds=seconds)  # journal first, then the files
        self._move_to_quarantine(row, reason)

    def _unchanged(self, row: Row) -> bool:
        try:
            st = os.stat(row.path)
        except OSError:
            return True
        return (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns)

    def _finish(self, row: Row, state: str, reason: str = "", outputs=(), seconds: float | None = None,
                result=None) -> None:
        self.journal.finish(row.id, state, reason, outputs, seconds)
        self._report_add(row, state, reason, outputs, seconds, result)
        self.stats[state] += 1
        self._emit(state, row, reason=reason, seconds=round(seconds or 0.0, 3), attempt=row.attempts,
                   outputs=[os.path.relpath(p, self.cfg.opts.outdir) for p in outputs])

    # -- moving originals -------------------------------------------------------------------------------------------
    def _move_to_quarantine(self, row: Row, reason: str) -> None:
        from ..io.write import atomic_write  # noqa: PLC0415

        dest = free_name(os.path.join(self.cfg.quarantine_dir, row.rel))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        moved = self._unchanged(row) and move(row.path, dest)
        folder, name = os.path.split(dest)
        error_path = os.path.join(folder, error_file_name(name, folder))  # (shortened when NAME is too long)
        text = (f"file: {shown(row.rel)}\nreason: {shown(reason)}\nattempts: {row.attempts}\nsize: {row.size} bytes\n"
                f"sha256: {row.sha256 or '-'}\ntime: {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
                f"original: {'moved here as ' + shown(name) if moved else 'left at ' + shown(row.path)}\n")
        try:
            with atomic_write(error_path, "w") as fh:
                fh.write(text)
        except Exception as err:  # noqa: BLE001
            log.error("cannot write %s: %s", shown(error_path), shown(err))
        where = dest if moved else row.path
        try:
            st = os.stat(where)
        except OSError:
            return
        self._requarantine[row.id] = (where, error_path, st.st_size, st.st_mtime_ns,
                                      self.clock() + self.cfg.requarantine_watch)

    def _move_processed(self, row: Row) -> None:
        if not self._unchanged(row) or not os.path.exists(row.path):
            return
        dest = free_name(os.path.join(self.cfg.processed_dir, row.rel))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        move(row.path, dest)

    # -- helpers --------------------------------------------------------------------------------------------------
    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.cfg.inbox)

    def _emit(self, event: str, row: Row | None = None, **fields) -> None:
        """One structured log line (logfmt, or JSON with log_json)."""
        rec = {"event": event}
        if row is not None:
            rec["file"] = row.rel
        rec.update({k: v for k, v in fields.items() if v not in ("", None, [])})
        rec = {k: _shown_value(v) for k, v in rec.items()}  # no control characters or raw name bytes in a log
        if self.cfg.log_json:
            log.info(json.dumps(rec, ensure_ascii=False))
        else:
            log.info(" ".join(f"{k}={_logfmt(v)}" for k, v in rec.items()))


def _shown_value(v):
    if isinstance(v, str):
        return shown(v)
    if isinstance(v, (list, tuple)):
        return [shown(x) if isinstance(x, str) else x for x in v]
    return v


def _logfmt(v) -> str:
    if isinstance(v, (list, tuple)):
        v = ",".join(map(str, v))
    s = str(v)
    return json.dumps(s, ensure_ascii=False) if (not s or any(c in s for c in ' ="\t\n')) else s
