"""The watch daemon's journal: one SQLite database (WAL mode) recording every input it has seen and what became of it.

An input version is identified by (absolute path, size in bytes, mtime in ns), plus its SHA-256 when hashing is on,
so a re-dropped identical file is recognised even under a new mtime. States:

    queued -> processing -> done | skipped | failed | quarantined        (duplicate: identical content already done)
                  -> queued (retry after a CRASH / TIMEOUT / LIMIT failure, an ENVIRONMENT failure deferred to
                             the next start, or work abandoned at shutdown)

Every transition is one committed transaction (synchronous=FULL), so after any crash the journal says exactly which
inputs were finished; rows left in 'processing' were started and not finished and are run again on restart.

A journal that sqlite finds damaged (truncated, overwritten, pages destroyed: SQLITE_CORRUPT / SQLITE_NOTADB or a
failing quick_check) raises JournalDamaged, one line naming the file and what to do; `Journal.set_aside` moves
it out of the way for a rebuild from the outputs on disk (watch --rebuild-journal).

Exports: Journal, JournalDamaged, Row, STATES, default_journal_path.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass

from ..errors import SetupError
from ..names import from_db, shown, to_db

STATES = ("queued", "processing", "done", "skipped", "duplicate", "failed", "quarantined")
FINISHED = ("done", "skipped", "duplicate", "failed", "quarantined")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id        INTEGER PRIMARY KEY,
    path      TEXT    NOT NULL,            -- absolute input path
    rel       TEXT    NOT NULL,            -- path relative to the inbox
    size      INTEGER NOT NULL,            -- bytes
    mtime_ns  INTEGER NOT NULL,
    sha256    TEXT,                        -- hex, NULL when hashing is off
    state     TEXT    NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 0,  -- times this file was handed to a worker
    failures  INTEGER NOT NULL DEFAULT 0,  -- worker crashes / timeouts / internal errors (bounded retries)
    reason    TEXT    NOT NULL DEFAULT '',
    out_path  TEXT,                        -- planned output image
    outputs   TEXT    NOT NULL DEFAULT '[]',  -- JSON list of paths written
    seconds   REAL,                        -- processing time of the last attempt
    created   REAL    NOT NULL,            -- unix time
    updated   REAL    NOT NULL,
    UNIQUE (path, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS files_state ON files (state);
CREATE INDEX IF NOT EXISTS files_sha ON files (sha256);
CREATE INDEX IF NOT EXISTS files_out ON files (out_path);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');
"""


#: sqlite result codes meaning the file itself is damaged (not busy, locked or unwritable)
_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


class JournalDamaged(SetupError):
    """The journal file is damaged: one line naming it and how to recover (watch --rebuild-journal)."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = " ".join(str(reason).split())[:200]
        super().__init__(f"the watch journal {shown(path)} is damaged ({self.reason}); rebuild it from the outputs "
                         "on disk with: exposure-batch watch INBOX -o OUTDIR --rebuild-journal (same options as "
                         "before; the damaged file is kept beside it)")


def _damaged(err: sqlite3.Error) -> bool:
    return isinstance(err, sqlite3.DatabaseError) and (getattr(err, "sqlite_errorcode", 0) & 0xFF) in _DAMAGE_CODES


@dataclass
class Row:
    """One journal row (an input version)."""

    id: int
    path: str
    rel: str
    size: int
    mtime_ns: int
    sha256: str | None
    state: str
    attempts: int
    failures: int
    reason: str
    out_path: str | None
    outputs: list
    seconds: float | None
    created: float
    updated: float


def default_journal_path(outdir: str) -> str:
    """OUTDIR/.exposure-batch/journal.sqlite"""
    return os.path.join(os.path.abspath(outdir), ".exposure-batch", "journal.sqlite")


class Journal:
    """SQLite journal; use from one thread (the daemon's main loop). Readers (`status`) may open it concurrently."""

    def __init__(self, path: str, readonly: bool = False):
        self.path = os.path.abspath(path)
        #: bytes the file held before this open (None: there was no file): 0 means someone emptied it
        self.size_at_open = os.path.getsize(self.path) if os.path.exists(self.path) else None
        #: the file was there but held nothing, not even in its write-ahead log: someone emptied it
        self.emptied = self.size_at_open == 0 and not (os.path.exists(self.path + "-wal")
                                                       and os.path.getsize(self.path + "-wal") > 0)
        try:
            self._open(readonly)
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as err:
            if hasattr(self, "db"):
                self.db.close()
            if _damaged(err):
                raise JournalDamaged(self.path, str(err)) from None
            raise
        if check != "ok":
            self.db.close()
            raise JournalDamaged(self.path, f"integrity check: {check}")
        self.db.row_factory = sqlite3.Row

    def _open(self, readonly: bool) -> None:
        if readonly:
            if not os.path.exists(self.path):
                raise FileNotFoundError(f"{self.path}: no journal here")
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                initialised = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='files'").fetchone()
            except sqlite3.OperationalError as err:
                if getattr(err, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_READONLY:  # (primary result code)
                    raise
                # SQLITE_READONLY_RECOVERY: the daemon was killed mid-write and the WAL index must be rebuilt, which
                # a read-only connection may not do. A read-write connection rebuilds it (the same recovery the
                # daemon runs on restart; no data changes), and query_only keeps this reader from writing.
                self.db.close()
                self.db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=10)
                self.db.execute("PRAGMA query_only=ON")
                initialised = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='files'").fetchone()
            if not initialised:
                self.db.close()
                raise FileNotFoundError(f"{self.path}: journal not initialised yet")
        else:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)

    @staticmethod
    def set_aside(path: str) -> str | None:
        """Move a (damaged) journal and its -wal / -shm files out of the way, to PATH.damaged-YYYYmmddTHHMMSS[-wal,
        -shm]; returns the new name of the main file, or None when there was none."""
        path = os.path.abspath(path)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        kept = None
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.replace(path + suffix, f"{path}.damaged-{stamp}{suffix}")
                kept = kept or f"{path}.damaged-{stamp}"
        return kept

    def recreate(self) -> int:
        """The journal file was deleted (or replaced) under the open connection: write this connection's copy back to
        `path` (sqlite's online backup, then an atomic rename) and go on with the new file. Returns the rows kept."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".recreate.tmp"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(tmp + suffix):
                os.unlink(tmp + suffix)
        dst = sqlite3.connect(tmp)
        try:
            self.db.backup(dst)
        finally:
            dst.close()
        for suffix in ("-wal", "-shm"):  # (stale ones of a replaced file would be taken for the new file's)
            if os.path.exists(self.path + suffix):
                os.unlink(self.path + suffix)
        os.replace(tmp, self.path)
        old = self.db
        self._open(readonly=False)
        self.db.row_factory = sqlite3.Row
        old.close()
        return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    # -- reads -------------------------------------------------------------------------------------------------
    def _rows(self, sql: str, args=()) -> list[Row]:
        return [_to_row(r) for r in self.db.execute(sql, args).fetchall()]

    def get(self, row_id: int) -> Row:
        return self._rows("SELECT * FROM files WHERE id=?", (row_id,))[0]

    def lookup(self, path: str, size: int, mtime_ns: int) -> Row | None:
        rows = self._rows("SELECT * FROM files WHERE path=? AND size=? AND mtime_ns=?", (to_db(path), size, mtime_ns))
        return rows[0] if rows else None

    def by_hash(self, sha256: str, states=("done", "skipped", "quarantined")) -> Row | None:
        """Earliest finished row with this content (done/skipped first, then quarantined)."""
        marks = ",".join("?" * len(states))
        rows = self._rows(f"SELECT * FROM files WHERE sha256=? AND state IN ({marks}) "
                          "ORDER BY state IN ('done','skipped') DESC, id LIMIT 1", (sha256, *states))
        return rows[0] if rows else None

    def out_path_owner(self, out_path: str) -> Row | None:
        """Latest row that planned this output path (any state)."""
        rows = self._rows("SELECT * FROM files WHERE out_path=? ORDER BY id DESC LIMIT 1", (to_db(out_path),))
        return rows[0] if rows else None

    def total(self) -> int:
        """Number of rows (0: no history)."""
        return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def latest_for_path(self, path: str) -> Row | None:
        rows = self._rows("SELECT * FROM files WHERE path=? ORDER BY id DESC LIMIT 1", (to_db(path),))
        return rows[0] if rows else None

    def unfinished(self) -> list[Row]:
        """Rows queued or processing (in id order): the work to resume after a restart."""
        return self._rows("SELECT * FROM files WHERE state IN ('queued','processing') ORDER BY id")

    def rows(self) -> list[Row]:
        """Every row, in id order."""
        return self._rows("SELECT * FROM files ORDER BY id")

    def wrote_before(self, row: Row) -> bool:
        """Another row of the same input planned the same output and got as far as writing it (done, processing or
        failed): the daemon may replace that output itself."""
        return self.db.execute(
            "SELECT 1 FROM files WHERE out_path=? AND path=? AND id<>? AND state IN ('done','processing','failed')",
            (to_db(row.out_path), to_db(row.path), row.id)).fetchone() is not None

    def counts(self) -> dict[str, int]:
        got = dict(self.db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall())
        return {s: int(got.get(s, 0)) for s in STATES}

    def last_failures(self, n: int = 10) -> list[Row]:
        return self._rows("SELECT * FROM files WHERE state IN ('failed','quarantined') ORDER BY updated DESC, id DESC "
                          "LIMIT ?", (n,))

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- writes (each one transaction) ----------------------------------------------------------------------------
    def add(self, path: str, rel: str, size: int, mtime_ns: int, sha256: str | None, out_path: str | None,
            state: str = "queued", reason: str = "") -> int:
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO files (path, rel, size, mtime_ns, sha256, state, reason, out_path, created, updated) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (to_db(path), to_db(rel), size, mtime_ns, sha256, state, to_db(reason), to_db(out_path), now, now))
        return int(cur.lastrowid)

    def start(self, row_id: int) -> None:
        """queued -> processing, one more attempt."""
        self.db.execute("UPDATE files SET state='processing', attempts=attempts+1, updated=? WHERE id=?",
                        (time.time(), row_id))

    def finish(self, row_id: int, state: str, reason: str = "", outputs=(), seconds: float | None = None) -> None:
        assert state in STATES, state
        self.db.execute("UPDATE files SET state=?, reason=?, outputs=?, seconds=?, updated=? WHERE id=?",
                        (state, to_db(reason), json.dumps(list(outputs)), seconds, time.time(), row_id))

    def update_identity(self, row_id: int, size: int, mtime_ns: int, sha256: str | None) -> None:
        """The input was rewritten on purpose (settings embedded into it): record its new size, mtime and hash."""
        try:
            self.db.execute("UPDATE files SET size=?, mtime_ns=?, sha256=COALESCE(?, sha256), updated=? WHERE id=?",
                            (size, mtime_ns, sha256, time.time(), row_id))
        except sqlite3.IntegrityError:  # (another row already has that version)
            pass

    def requeue(self, row_id: int, reason: str = "", failed: bool = False) -> None:
        """Back to queued: a retry after a failure (failed=True counts it) or work abandoned at shutdown."""
        self.db.execute("UPDATE files SET state='queued', reason=?, failures=failures+?, updated=? WHERE id=?",
                        (to_db(reason), 1 if failed else 0, time.time(), row_id))


def _to_row(r: sqlite3.Row) -> Row:
    d = dict(r)
    for key in ("path", "rel", "out_path", "reason"):  # names with non-UTF-8 bytes are stored as BLOBs
        d[key] = from_db(d[key])
    d["outputs"] = json.loads(d["outputs"] or "[]")
    return Row(**d)
