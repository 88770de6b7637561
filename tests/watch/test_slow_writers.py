"""Issue 23 row 9: files written slowly, the way some FTP/SMB servers and stalled copies write them.

- a file created empty and filled later through the same handle, and a copy that stalls half-way: the writer keeps
  the file open, so the daemon waits while it is open (or growing), however long the stall, and edits it once;
- where the daemon cannot see the writer (a network share: no open-file check), the half-written file is
  quarantined as broken; when it then changes (the writer's handle follows it into the quarantine), it is
  re-examined and edited.

The writers are real processes writing through one handle; the stalls are several times --settle (scaled down
from the 7 s of the report to keep the tests short), so a daemon that trusted the settle time alone would
quarantine every one of them.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.hostile.conftest import watch_log  # noqa: F401  (fixture)
from tests.watch.conftest import config, daemon_thread, journal_rows, photo_bytes, wait_until

pytestmark = pytest.mark.slow

SETTLE = 0.4
STALL = 2.5  # > 6 x SETTLE

WRITER = r"""
import os, sys, time
path, data_path, mode, stall, flag = sys.argv[1:6]
data = open(data_path, 'rb').read()
fh = open(path, 'wb')
if mode == 'half':
    fh.write(data[:len(data) // 2])
fh.flush()
os.fsync(fh.fileno())
print('written', flush=True)
if flag != '-':  # wait for the test's go (the daemon has quarantined the half file)
    while not os.path.exists(flag):
        time.sleep(0.02)
else:
    time.sleep(float(stall))
fh.write(data if mode == 'empty' else data[len(data) // 2:])
fh.close()
"""


def _writer(tmp_path, path, data: bytes, mode: str, flag: str = "-") -> subprocess.Popen:
    src = tmp_path / f"_data_{os.path.basename(path)}"
    src.write_bytes(data)
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(src), mode, str(STALL), flag],
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("lease", ["kernel lease", "/proc fallback"])
@pytest.mark.parametrize("mode", ["empty", "half"])
def test_a_file_still_open_for_writing_is_waited_out(tmp_path, mode, lease, watch_log, monkeypatch):
    if lease == "/proc fallback":  # (leases disabled, or a filesystem without them)
        from exposure_batch.watch import writers  # noqa: PLC0415

        monkeypatch.setattr(writers, "_lease_says", lambda path: None)
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    data = photo_bytes(tmp_path, 96, 64, seed=3)
    with daemon_thread(config(inbox, out, settle=SETTLE, jobs=1, rescan=1.0)):
        writer = _writer(tmp_path, inbox / "IMG_0001.jpg", data, mode)
        assert writer.stdout.readline().strip() == "written"
        assert writer.wait(60) == 0
        wait_until(lambda: [r.state for r in journal_rows(out)] == ["done"], 120, what="the photo edited")
    rows = journal_rows(out)
    assert [(r.rel, r.state, r.attempts, r.size) for r in rows] == [("IMG_0001.jpg", "done", 1, len(data))]
    assert not os.path.exists(out / "quarantine")
    assert (out / "IMG_0001.jpg").stat().st_size > 0
    waiting = [m for m in watch_log.messages if m.startswith("event=waiting")]
    assert waiting and "open for writing" in waiting[0], watch_log.messages


def test_a_quarantined_file_that_changes_is_re_examined(tmp_path, watch_log):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    data = photo_bytes(tmp_path, 96, 64, seed=4)
    go = tmp_path / "go"
    cfg = config(inbox, out, settle=SETTLE, jobs=1, rescan=1.0, open_wait=0)  # a share: the writer is not seen
    with daemon_thread(cfg):
        writer = _writer(tmp_path, inbox / "IMG_0002.jpg", data, "half", flag=str(go))
        assert writer.stdout.readline().strip() == "written"
        wait_until(lambda: [r.state for r in journal_rows(out)] == ["quarantined"]
                   and (out / "quarantine" / "IMG_0002.jpg.error.txt").exists(), 120,
                   what="the half file quarantined with its reason")
        go.touch()  # the stalled writer goes on, through its handle, into the quarantined file
        assert writer.wait(60) == 0
        wait_until(lambda: "done" in [r.state for r in journal_rows(out)], 120, what="the re-examined photo")
    rows = journal_rows(out)
    assert [(r.state, r.size) for r in rows] == [("skipped", len(data) // 2), ("done", len(data))]
    assert "changed after it was quarantined" in rows[0].reason
    assert sorted(os.listdir(out / "quarantine")) == []  # neither the file nor its error.txt stays there
    assert (out / "IMG_0002.jpg").stat().st_size > 0
    assert any(m.startswith("event=re-examined") for m in watch_log.messages), watch_log.messages


@pytest.mark.parametrize("lease", ["kernel lease", "/proc fallback"])
def test_open_for_writing_sees_a_writer_process(tmp_path, monkeypatch, lease):
    """Both ways of telling: the kernel's read lease, and /proc where no lease can be taken (leases disabled, a
    filesystem without them, a file this user does not own)."""
    from exposure_batch.watch import writers  # noqa: PLC0415

    if lease == "/proc fallback":
        monkeypatch.setattr(writers, "_lease_says", lambda path: None)
        monkeypatch.setattr(writers, "_PROC_MAX_AGE", 0.0)
    path = tmp_path / "f.jpg"
    go = tmp_path / "go"
    writer = _writer(tmp_path, path, b"x" * 1000, "half", flag=str(go))
    assert writer.stdout.readline().strip() == "written"
    assert writers.open_for_writing(str(path)) is True
    reader = open(path, "rb")  # a reader is not a writer
    try:
        go.touch()
        assert writer.wait(60) == 0
        assert writers.open_for_writing(str(path)) is False
    finally:
        reader.close()
