"""Issue 14 rows 3, 8, 9 (watch side), 11: the watch daemon never edits its own outputs, runs once per output /
journal, keeps a RAW beside its XMP when only a sidecar fails, retries environment failures (after a restart and
while running, once the folder is writable again) but not input errors, and no exception ends it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from exposure_batch.pipeline.outputs import PlanError
from exposure_batch.watch import Daemon
from tests.hostile import corpus
from tests.hostile.conftest import cli, files_under
from tests.hostile.test_limits import read_only
from tests.watch.conftest import REPO, config, daemon_thread, journal_rows, kill_hard, wait_until

pytestmark = pytest.mark.slow


# --- row 3: watch DIR -o DIR ------------------------------------------------------------------------------------------
def test_watch_into_its_own_inbox_is_refused(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    corpus.jpeg(inbox / "x.jpg")
    code, out = cli("watch", inbox, "-o", inbox, "--once", "--agent", "classic")
    assert code == 2
    assert (f"Error: the output folder {inbox} is the inbox {inbox}: the daemon would edit its own outputs again and "
            f"again; use another folder (e.g. {inbox / 'edited'}, which the daemon never scans)") in out
    assert sorted(os.listdir(inbox)) == ["x.jpg"]
    with pytest.raises(PlanError, match="is the inbox"):
        Daemon(config(inbox, tmp_path / "out", report_dir=str(inbox), once=True)).run()


def test_outputs_inside_the_inbox_are_never_edited_again(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    corpus.jpeg(inbox / "x.jpg")
    for _ in range(2):
        stats = Daemon(config(inbox, inbox / "edited", once=True, settle=0, jobs=1)).run()
    assert [r.rel for r in journal_rows(inbox / "edited")] == ["x.jpg"]
    assert files_under(inbox) == ["edited/x.jpg", "edited/x.recipe.json", "x.jpg"]
    assert stats["done"] == 0


# --- row 8: two daemons on one output / journal ----------------------------------------------------------------------
def _start(inbox, out, *args) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), "--agent", "classic",
           "--settle", "0.2", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO, text=True)


def test_second_daemon_on_the_same_output_is_refused(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    first = _start(inbox, out)
    try:
        wait_until(lambda: os.path.exists(out / ".exposure-batch" / "watch.lock"), 120, what="first daemon's lock")
        code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic")
        assert code == 1
        assert "Error: another exposure-batch watch is already running on this output / journal (pid " \
               f"{first.pid} since " in text
        corpus.jpeg(inbox / "a.jpg")  # the first one is unharmed and keeps working
        wait_until(lambda: [r.state for r in journal_rows(out)] == ["done"], 120, what="first daemon's work")
        assert first.poll() is None
    finally:
        kill_hard(first)
    code, text = cli("watch", inbox, "-o", out, "--once", "--agent", "classic")  # a kill -9 leaves no stale lock
    assert code == 0, text


# --- row 9, watch side: an unreadable XMP beside a RAW never sends the RAW to quarantine ----------------------------
def test_raw_with_unreadable_xmp_is_done_not_quarantined(tmp_path):
    from exposure_batch.sidecars.writer import SidecarOptions  # noqa: PLC0415
    from tests.helpers import sample_path  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(sample_path("flower.dng"), inbox / "IMG.NEF")
    (inbox / "IMG.xmp").write_bytes(b"\x00\x01 not xml")
    cfg = config(inbox, out, once=True, settle=0, jobs=1)
    cfg.opts = cfg.opts.__class__(**{**cfg.opts.__dict__, "sidecars": SidecarOptions(("adobe",), beside_source=True)})
    stats = Daemon(cfg).run()
    assert stats["done"] == 1 and not stats["quarantined"]
    assert sorted(os.listdir(inbox)) == ["IMG.NEF", "IMG.exposure-batch.xmp", "IMG.xmp"]


# --- row 11: environment failures are retried, input errors are not --------------------------------------------------
def test_environment_failures_retried_when_the_folder_is_writable_again(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    corpus.jpeg(inbox / "good.jpg")
    (inbox / "junk.jpg").write_bytes(b"junk")
    journal = tmp_path / "journal.sqlite"
    with read_only(out):  # every output write fails (like a full disk); the journal lives elsewhere
        stats = Daemon(config(inbox, out, once=True, settle=0, jobs=1, journal_path=str(journal))).run()
    assert stats["deferred"] == 1 and stats["quarantined"] == 1
    rows = {r.rel: r for r in journal_rows_at(journal)}
    assert rows["good.jpg"].state == "queued" and "cannot" in rows["good.jpg"].reason
    assert rows["junk.jpg"].state == "quarantined"
    assert (inbox / "good.jpg").exists()  # the original stays in the inbox
    stats = Daemon(config(inbox, out, once=True, settle=0, jobs=1, journal_path=str(journal))).run()  # a restart
    assert stats["done"] == 1 and not stats.get("quarantined")  # the input error is not retried
    assert files_under(out) == ["good.jpg", "good.recipe.json"]


def test_environment_failures_retried_while_running(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    journal = tmp_path / "journal.sqlite"
    cfg = config(inbox, out, settle=0.2, jobs=1, journal_path=str(journal), env_retry=1.0)
    with read_only(out):
        with daemon_thread(cfg):
            corpus.jpeg(inbox / "good.jpg")
            wait_until(lambda: any(r.reason for r in journal_rows_at(journal)), 120, what="a deferred failure")
            subprocess.run(["chattr", "-i", str(out)], check=False)
            os.chmod(out, 0o755)
            wait_until(lambda: [r.state for r in journal_rows_at(journal)] == ["done"], 120,
                       what="the retry once the folder is writable")


def journal_rows_at(path):
    from exposure_batch.watch.journal import Journal  # noqa: PLC0415

    if not os.path.exists(path):
        return []
    j = Journal(str(path), readonly=True)
    try:
        return j.rows()
    finally:
        j.close()


# --- no uncaught exception ends the daemon -------------------------------------------------------------------------
def test_an_unexpected_error_in_the_loop_is_logged_and_the_daemon_goes_on(tmp_path, monkeypatch, watch_log):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    corpus.jpeg(inbox / "a.jpg", seed=1)
    corpus.jpeg(inbox / "b.jpg", seed=2)
    calls = {"n": 0}
    real = Daemon._promote

    def flaky(self, path, st):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated bug")
        return real(self, path, st)

    monkeypatch.setattr(Daemon, "_promote", flaky)
    cfg = config(inbox, out, settle=0.2, jobs=1, rescan=1.0)
    with daemon_thread(cfg):
        wait_until(lambda: sorted(r.state for r in journal_rows(out)) == ["done", "done"], 120,
                   what="both files done after the error")
    line = next(m for m in watch_log.messages if m.startswith("event=error"))
    assert line.startswith('event=error reason="RuntimeError: simulated bug" note="the daemon goes on" retry_in=0.5')


# --- issue 23 row 13: a 250-byte file name is quarantined with its reason ----------------------------------------------
def test_a_250_byte_name_is_quarantined_with_its_error_txt(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    name = "é" * 100 + "x" * 46 + ".jpg"  # 250 bytes in UTF-8 (the limit is 255): NAME.error.txt cannot be made
    assert len(name.encode()) == 250
    corpus.jpeg(inbox / name)
    stats = Daemon(config(inbox, out, once=True, settle=0, jobs=1)).run()
    assert stats["quarantined"] == 1
    quarantine = out / "quarantine"
    assert name in os.listdir(quarantine)  # the original, moved under its own name
    errors = [n for n in os.listdir(quarantine) if n.endswith(".error.txt")]
    assert len(errors) == 1, os.listdir(quarantine)
    short = errors[0]
    assert len(short.encode()) + len("." + ".12345678.tmp") <= 255  # its atomic write's temp name fits too
    assert short.startswith("é" * 50)  # a shortened name, cut on a character boundary
    text = (quarantine / short).read_text(encoding="utf-8")
    assert f"file: {name}\n" in text and "file name too long" in text
    assert f"original: moved here as {name}" in text or "original: moved here" in text
    row = journal_rows(out)[0]
    assert row.state == "quarantined" and row.rel == name
