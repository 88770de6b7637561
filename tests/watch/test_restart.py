"""Crash safety of the real daemon process: SIGKILL at several points + restart, and SIGTERM during work."""
from __future__ import annotations

import glob
import json
import os
import signal
import sqlite3

import pytest
import tifffile

from exposure_batch.watch.journal import Journal

from .conftest import alive, children_of, journal_rows, kill_hard, make_photo, start_daemon_process, wait_until

pytestmark = pytest.mark.slow

N_FILES = 5
ARGS = ("--settle", "0.2", "--format", "tiff", "--save-recipe", "--rescan", "0")


def _inbox(inbox):
    for i in range(N_FILES):
        make_photo(inbox / f"IMG_{i:02d}.jpg", 480, 360, seed=i)


def _states(out):
    return [r.state for r in journal_rows(out)]


def _check_complete(inbox, out):
    """Every input: exactly one complete TIFF + recipe; nothing partial, nothing duplicated; journal all done."""
    names = sorted(f"IMG_{i:02d}" for i in range(N_FILES))
    files = sorted(os.listdir(out))
    assert files == sorted([".exposure-batch"] + [f"{n}.tif" for n in names] + [f"{n}.recipe.json" for n in names])
    for n in names:
        assert tifffile.imread(out / f"{n}.tif").shape == (360, 480, 3)
        assert json.loads((out / f"{n}.recipe.json").read_text())["source"]["name"] == f"{n}.jpg"
    rows = journal_rows(out)
    assert sorted(r.rel for r in rows) == [f"{n}.jpg" for n in names]  # one row per input
    assert {r.state for r in rows} == {"done"}
    j = Journal(str(out / ".exposure-batch" / "journal.sqlite"))
    try:
        assert j.integrity_ok()
    finally:
        j.close()


def _kill_when(proc, out, cond, what):
    """SIGKILL the daemon once cond() holds; fail if the daemon exited first (the kill point was missed)."""
    try:
        wait_until(lambda: cond() or proc.poll() is not None, 120, every=0.005, what=what)
        assert proc.poll() is None and cond(), f"daemon exited before the kill point '{what}'"
    finally:
        workers = children_of(proc.pid)
        kill_hard(proc)
    return workers


def test_sigkill_at_several_points_then_restart_gives_exactly_one_complete_output_set(dirs):
    inbox, out = dirs
    _inbox(inbox)
    points = [  # (what, condition, hold writes: each output's atomic write blocks before its rename)
        ("starting", lambda: os.path.exists(out / ".exposure-batch" / "journal.sqlite"), False),
        ("processing", lambda: "processing" in _states(out), True),
        ("mid-write", lambda: glob.glob(str(out / ".IMG_*.tmp")), True),
        ("after 2 done", lambda: _states(out).count("done") >= 2, False),
    ]
    killed = []
    for what, cond, hold in points:
        proc = start_daemon_process(inbox, out, *ARGS, hold_writes=hold)
        workers = _kill_when(proc, out, cond, what)
        # the workers die with the daemon (PR_SET_PDEATHSIG): no orphan keeps writing
        wait_until(lambda: not any(alive(p) for p in workers), 10, what="workers gone")
        killed.append((what, _states(out).count("done"), len(glob.glob(str(out / ".IMG_*.tmp")))))
    assert killed[2][2] >= 1 and killed[2][1] == 0, killed  # really killed mid-write, before any file was done
    proc = start_daemon_process(inbox, out, *ARGS, "--once")
    assert proc.wait(180) == 0
    _check_complete(inbox, out)  # (the restart also removed the temp files left mid-write)
    print("kill points (point, files done when killed, temp files left):", killed)


def test_sigterm_during_work_leaves_a_consistent_journal(dirs):
    inbox, out = dirs
    _inbox(inbox)
    # grace 0: in-flight work is abandoned cleanly (back to queued, not counted as a failure)
    proc = start_daemon_process(inbox, out, *ARGS, "--grace", "0")
    wait_until(lambda: "processing" in _states(out) or proc.poll() is not None, 120, every=0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    rows = journal_rows(out)
    assert rows and {r.state for r in rows} <= {"done", "queued"}
    assert all(r.failures == 0 for r in rows) and all(r.attempts == 1 for r in rows if r.state == "done")
    assert all(r.reason in ("", "abandoned at shutdown") for r in rows if r.state == "queued")
    for r in rows:  # a queued file has no output image; a done one has its complete set
        assert os.path.exists(out / (r.rel[:-4] + ".tif")) == (r.state == "done")
    assert not glob.glob(str(out / ".*.tmp"))
    # default grace: the file in flight finishes and is journalled done
    proc = start_daemon_process(inbox, out, *ARGS)
    n_done = len([r for r in rows if r.state == "done"])
    wait_until(lambda: "processing" in _states(out) or proc.poll() is not None, 120, every=0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    rows = journal_rows(out)
    assert "processing" not in {r.state for r in rows}
    assert len([r for r in rows if r.state == "done"]) > n_done
    db = sqlite3.connect(out / ".exposure-batch" / "journal.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    proc = start_daemon_process(inbox, out, *ARGS, "--once")
    assert proc.wait(180) == 0
    _check_complete(inbox, out)
