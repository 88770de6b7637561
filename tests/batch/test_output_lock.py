"""Two `process` runs into one output folder at once (overlapping cron jobs; issue 23 row 10), as two real processes.

The second run is refused in one line naming the folder and the first run (exit 75, nothing written, nothing
reported failed); the first run finishes every photo once; once it has ended the folder is free again.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import write_underexposed_jpeg

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _cmd(inbox, out):
    return [sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o", str(out), "--agent", "classic",
            "--group-by", "none", "--no-progress", "-j", "1"]


def test_second_run_into_the_same_output_is_refused_while_the_first_runs(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for i in range(12):
        write_underexposed_jpeg(inbox / f"IMG_{i:04d}.jpg", "canon_powershot_g1x2.jpg")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(_cmd(inbox, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".exposure-batch" / "process.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().startswith("pid")) and first.poll() is None:
        assert time.monotonic() < deadline, "the first run never took its lock"
        time.sleep(0.05)
    second = subprocess.run(_cmd(inbox, out), env=env, capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second one was tried: test too fast to tell"
    assert second.returncode == 75, second.stderr + second.stdout
    lines = [ln for ln in (second.stderr + second.stdout).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert str(out) in lines[0] and f"pid {first.pid}" in lines[0] and "another exposure-batch run" in lines[0]
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert "done 12, skipped 0, failed 0" in stdout
    assert len(list(out.glob("*.jpg"))) == 12
    # the folder is free again: a third run finds every output there (skipped, none failed)
    third = subprocess.run(_cmd(inbox, out), env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "done 0, skipped 12, failed 0" in third.stdout, third.stderr


def test_dry_run_does_not_take_the_lock(tmp_path):
    """--dry-run writes nothing, so it runs while another run holds the folder."""
    from exposure_batch.runs.lock import OutputLock

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    write_underexposed_jpeg(inbox / "a.jpg")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with OutputLock(str(out)):
        dry = subprocess.run(_cmd(inbox, out) + ["--dry-run"], env=env, capture_output=True, text=True, timeout=120)
        busy = subprocess.run(_cmd(inbox, out), env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0 and "would process 1" in dry.stdout, dry.stderr
    assert busy.returncode == 75 and f"pid {os.getpid()}" in busy.stderr
    assert not list(out.glob("*.jpg"))


def _watch_cmd(inbox, out):
    return [sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), "--agent", "classic",
            "--settle", "0.2", "--rescan", "0"]


def test_process_and_watch_never_write_one_output_folder_at_once(tmp_path):
    """A running watch daemon holds the output folder's writer lock: a `process` run into that folder is refused in
    one line naming the daemon (exit 75), and a daemon is refused while a `process` run holds the folder."""
    from exposure_batch.runs.lock import OutputLock

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    write_underexposed_jpeg(inbox / "a.jpg")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    (tmp_path / "watched").mkdir()
    daemon = subprocess.Popen(_watch_cmd(tmp_path / "watched", out), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        lock = out / ".exposure-batch" / "process.lock"
        deadline = time.monotonic() + 120
        while not (lock.exists() and "exposure-batch watch" in lock.read_text()) and daemon.poll() is None:
            assert time.monotonic() < deadline, "the daemon never took the output folder's writer lock"
            time.sleep(0.05)
        assert daemon.poll() is None, daemon.stderr.read()
        busy = subprocess.run(_cmd(inbox, out), env=env, capture_output=True, text=True, timeout=120)
    finally:
        daemon.terminate()
        daemon.wait(60)
    lines = [ln for ln in (busy.stderr + busy.stdout).splitlines() if ln.strip()]
    assert busy.returncode == 75 and len(lines) == 1, lines
    assert f"pid {daemon.pid} since " in lines[0] and "exposure-batch watch" in lines[0] and str(out) in lines[0]
    assert not (out / "a.jpg").exists()

    with OutputLock(str(out)):
        refused = subprocess.run(_watch_cmd(tmp_path / "watched", out) + ["--once"], env=env, capture_output=True,
                                 text=True, timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert "an exposure-batch run is writing to this output folder" in refused.stderr
    assert f"pid {os.getpid()} since " in refused.stderr and "exposure-batch process" in refused.stderr
