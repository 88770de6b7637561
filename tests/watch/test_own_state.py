"""Issue 23 rows 2, 3, 4: the watch daemon survives damage to its own state (journal and lock).

Row 2: the output folder (journal and lock inside) deleted while the daemon runs: it notices, recreates both
loudly (the journal from its still-open copy), a second daemon is refused, nothing is edited twice.
Row 3: a journal truncated, overwritten with garbage, or with pages overwritten: `watch` and `status` stop with
one line naming the file and what to do; `watch --rebuild-journal` recovers from the outputs on disk.
Row 4: a journal emptied to 0 bytes: detected, and the photos whose outputs are there are recognised as done.
Real sqlite files damaged the way each row says, real daemon processes where two daemons meet.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.hostile.conftest import cli, files_under, watch_log  # noqa: F401  (fixture)
from tests.watch.conftest import REPO, journal_rows, kill_hard, make_photo, wait_until

pytestmark = pytest.mark.slow

PHOTOS = ("a.jpg", "b.jpg", "c.jpg")


def _journal(out) -> str:
    return os.path.join(out, ".exposure-batch", "journal.sqlite")


def _edited_once(tmp_path):
    """An inbox of three photos edited by one `watch --once` run; returns (inbox, out, outputs' mtimes)."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for i, name in enumerate(PHOTOS):
        make_photo(inbox / name, seed=i)
    code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic", "--settle", "0", "--save-recipe")
    assert code == 0, text
    assert sorted(r.state for r in journal_rows(out)) == ["done"] * 3
    return inbox, out, _mtimes(out)


def _mtimes(out) -> dict:
    return {name: os.stat(os.path.join(out, name)).st_mtime_ns for name in files_under(out)}


def _damage(path: str, how: str) -> None:
    """Damage a closed sqlite file the way row 3 says."""
    size = os.path.getsize(path)
    assert size >= 3 * 4096, size  # header page + the tables' pages
    if how == "truncated":  # a copy or a disk that stopped half-way
        os.truncate(path, size // 2 + 100)
    elif how == "garbage":  # another program wrote over it
        with open(path, "wb") as fh:
            fh.write(os.urandom(size))
    elif how == "pages":  # header intact, the table pages overwritten
        with open(path, "r+b") as fh:
            fh.seek(4096)
            fh.write(b"\x5a" * (size - 4096))


def _sqlite_says_damaged(path: str) -> bool:
    """sqlite itself finds the file damaged: an error on open / query, or a failing quick_check."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return True


# --- row 3 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "garbage", "pages"])
def test_damaged_journal_is_one_line_from_watch_and_status_and_rebuilt_from_the_outputs(tmp_path, how):
    inbox, out, before = _edited_once(tmp_path)
    journal = _journal(out)
    _damage(journal, how)
    assert _sqlite_says_damaged(journal)
    expected = (f"Error: the watch journal {journal} is damaged")
    for args in (("status", out), ("watch", inbox, "-o", out, "--once", "--agent", "classic")):
        code, text = cli(*args)
        assert code == 1, text
        lines = text.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), text
        assert "--rebuild-journal" in lines[0] and "Traceback" not in text
    # a real process says the same, without a traceback on stderr
    proc = subprocess.run([sys.executable, "-m", "exposure_batch", "status", str(out)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip().startswith(expected) and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

    code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic", "--settle", "0", "--save-recipe",
                     "--rebuild-journal")
    assert code == 0, text
    rows = journal_rows(out)
    assert sorted((r.rel, r.state) for r in rows) == [(n, "done") for n in PHOTOS]
    assert all(r.attempts == 0 for r in rows)  # recognised from the outputs, not edited again
    assert _mtimes(out) == before  # no output rewritten
    kept = [n for n in os.listdir(os.path.dirname(journal))
            if n.startswith("journal.sqlite.damaged-") and not n.endswith(("-wal", "-shm"))]
    assert len(kept) == 1  # the damaged file is kept aside, not deleted
    code, text = cli("status", out)
    assert code == 0 and "done 3" in text


# --- row 4 -------------------------------------------------------------------------------------------------------------
def test_emptied_journal_is_detected_and_existing_outputs_count_as_done(tmp_path, watch_log):
    inbox, out, before = _edited_once(tmp_path)
    journal = _journal(out)
    # (a clean stop leaves no WAL content: the file alone holds the history, and emptying it loses all of it)
    assert not os.path.exists(journal + "-wal") or os.path.getsize(journal + "-wal") == 0
    with open(journal, "wb"):
        pass  # emptied: 0 bytes
    make_photo(inbox / "d.jpg", seed=9)  # a new photo is still edited
    code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic", "--settle", "0", "--save-recipe")
    assert code == 0, text
    rows = {r.rel: r for r in journal_rows(out)}
    assert {k: r.state for k, r in rows.items()} == {"a.jpg": "done", "b.jpg": "done", "c.jpg": "done",
                                                      "d.jpg": "done"}
    assert [rows[n].attempts for n in PHOTOS] == [0, 0, 0] and rows["d.jpg"].attempts == 1
    assert {k: v for k, v in _mtimes(out).items() if k in before} == before
    line = next(m for m in watch_log.messages if m.startswith("event=journal"))
    assert "0 bytes" in line and "3 photos" in line and "recognised" in line, line


def test_fresh_start_in_an_empty_output_folder_is_not_a_rebuild(tmp_path, watch_log):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    make_photo(inbox / "a.jpg")
    code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic", "--settle", "0")
    assert code == 0, text
    assert [(r.state, r.attempts) for r in journal_rows(out)] == [("done", 1)]
    assert not [m for m in watch_log.messages if m.startswith("event=journal")]


# --- row 2 -------------------------------------------------------------------------------------------------------------
def _start(inbox, out, log, *args) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), "--agent", "classic",
           "--settle", "0.2", "--rescan", "0", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO)


def _log(path) -> str:
    return open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""


@pytest.mark.parametrize("second_starts", ["after the first noticed", "at once"])
def test_output_folder_deleted_while_watching(tmp_path, second_starts):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for i, name in enumerate(PHOTOS):
        make_photo(inbox / name, seed=i)
    log_a = tmp_path / "a.log"
    with open(log_a, "wb") as fh:
        first = _start(inbox, out, fh)
    try:
        wait_until(lambda: sorted(r.state for r in journal_rows(out)) == ["done"] * 3 or first.poll() is not None,
                   180, what="the first daemon's three photos")
        assert first.poll() is None, _log(log_a)
        shutil.rmtree(out)  # journal, lock and outputs gone
        if second_starts == "after the first noticed":
            wait_until(lambda: "event=state_lost" in _log(log_a) and "event=state_recreated" in _log(log_a)
                       or first.poll() is not None, 60, what="the first daemon noticing")
        second = subprocess.run([sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out),
                                 "--once", "--agent", "classic", "--settle", "0"], capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": REPO}, cwd=REPO, timeout=180)
        assert second.returncode == 1, second.stderr
        assert "another exposure-batch watch is already running on this output" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        wait_until(lambda: "event=state_recreated" in _log(log_a) or first.poll() is not None, 60,
                   what="the first daemon recreating its state")
        text = _log(log_a)
        assert first.poll() is None, text
        lost = next(ln for ln in text.splitlines() if "event=state_lost" in ln)
        assert ".exposure-batch" in lost and "deleted" in lost
        # the journal came back with its history: the three photos stay done, the first daemon goes on
        make_photo(inbox / "d.jpg", seed=7)
        wait_until(lambda: sorted((r.rel, r.state) for r in journal_rows(out)) ==
                   [(n, "done") for n in (*PHOTOS, "d.jpg")] or first.poll() is not None, 180,
                   what="the new photo edited by the first daemon")
        rows = journal_rows(out)
        assert all(r.attempts == 1 for r in rows), [(r.rel, r.attempts) for r in rows]  # exactly once
        assert files_under(out) == ["d.jpg"]  # nobody re-edited a, b, c
    finally:
        kill_hard(first)
