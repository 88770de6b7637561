"""The watch daemon with real watchdog observers, real files and real worker processes (daemon in a thread)."""
from __future__ import annotations

import os
import time

from PIL import Image

from exposure_batch.pipeline.inputs import is_ignored
from exposure_batch.watch.daemon import Daemon

from .conftest import config, daemon_thread, journal_rows, make_photo, photo_bytes, wait_until


def _done(out, n):
    return lambda: len([r for r in journal_rows(out) if r.state == "done"]) >= n


def test_slow_chunked_write_is_processed_once_after_the_last_write(dirs, tmp_path):
    inbox, out = dirs
    data = photo_bytes(tmp_path, 400, 300, seed=1)
    chunks = [data[i:i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    with daemon_thread(config(inbox, out, settle=1.2)) as d:
        target = inbox / "slow.jpg"
        with open(target, "wb") as fh:
            for chunk in chunks:  # ~3 s of writing, a pause shorter than the settle time between chunks
                fh.write(chunk)
                fh.flush()
                time.sleep(0.3)
        last_write = time.time()
        wait_until(_done(out, 1), 60, what="slow.jpg done")
        wait_until(d.idle, 30, what="a quiet daemon")  # then nothing else may follow
    rows = journal_rows(out)
    assert [(r.rel, r.state, r.size, r.attempts) for r in rows] == [("slow.jpg", "done", len(data), 1)]
    assert rows[0].created >= last_write - 0.05  # promoted only after the last chunk
    with Image.open(out / "slow.jpg") as im:
        assert im.size == (400, 300)


def test_temp_names_are_ignored_and_write_then_rename_is_processed(dirs, tmp_path):
    inbox, out = dirs
    (inbox / "@eaDir").mkdir()
    with daemon_thread(config(inbox, out)) as d:
        (inbox / "IMG_1.jpg.part").write_bytes(photo_bytes(tmp_path, seed=2))
        (inbox / "._IMG_2.jpg").write_bytes(photo_bytes(tmp_path, seed=3))
        make_photo(inbox / "@eaDir" / "thumb.jpg", seed=4)
        (inbox / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        # the four files' events delivered and looked at (each write gives created + modified + closed)
        wait_until(lambda: d.events_received >= 4 and d.idle(), 30, what="the temp names seen and ignored")
        assert journal_rows(out) == []
        os.rename(inbox / "IMG_1.jpg.part", inbox / "IMG_1.jpg")
        wait_until(_done(out, 1), 60, what="renamed file done")
        wait_until(d.idle, 30, what="a quiet daemon")  # then nothing else may follow
    assert [(r.rel, r.state) for r in journal_rows(out)] == [("IMG_1.jpg", "done")]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["IMG_1.jpg", "IMG_1.recipe.json"]


def test_files_already_there_are_picked_up_and_a_rerun_does_nothing(dirs):
    inbox, out = dirs
    sub = inbox / "shoot"
    sub.mkdir()
    for i in range(3):
        make_photo(sub / f"a{i}.png", seed=i)
    (inbox / "notes.txt").write_text("not a photo")
    stats = Daemon(config(inbox, out, once=True)).run()
    assert stats["done"] == 3
    assert sorted(p.name for p in (out / "shoot").iterdir()) == [
        "a0.jpg", "a0.recipe.json", "a1.jpg", "a1.recipe.json", "a2.jpg", "a2.recipe.json"]
    stats = Daemon(config(inbox, out, once=True)).run()
    assert sum(stats.values()) == 0
    assert len(journal_rows(out)) == 3 and (inbox / "notes.txt").exists()


def test_polling_observer_sees_new_files(dirs):
    inbox, out = dirs
    with daemon_thread(config(inbox, out, polling=True, poll_interval=0.2)):
        make_photo(inbox / "late.jpg", seed=5)
        wait_until(_done(out, 1), 60, what="late.jpg done")
    assert (out / "late.jpg").exists()


def test_rescan_finds_files_the_observer_missed(dirs):
    inbox, out = dirs
    cfg = config(inbox, out, rescan=0.5)
    with daemon_thread(cfg) as d:
        d._stop_observer()  # as if the event queue overflowed / the share sends no events
        make_photo(inbox / "missed.jpg", seed=6)
        wait_until(_done(out, 1), 60, what="rescan")


def test_a_redropped_identical_file_is_not_processed_twice(dirs, tmp_path):
    inbox, out = dirs
    data = photo_bytes(tmp_path, seed=7)
    with daemon_thread(config(inbox, out, move_processed=True)):
        (inbox / "a.jpg").write_bytes(data)
        wait_until(lambda: (out / "processed" / "a.jpg").exists(), 60, what="a.jpg moved to processed/")
        (inbox / "a.jpg").write_bytes(data)  # same content, new mtime
        (inbox / "copy of a.jpg").write_bytes(data)
        (inbox / "bad.jpg").write_text("not a photo")
        wait_until(lambda: len(journal_rows(out)) == 4 and not any(inbox.iterdir()), 60, what="duplicates")
        (inbox / "bad again.jpg").write_text("not a photo")  # identical to a quarantined file: not retried
        wait_until(lambda: len(journal_rows(out)) == 5 and not any(inbox.iterdir()), 60, what="bad twin")
    states = {(r.rel, r.state) for r in journal_rows(out)}
    assert states == {("a.jpg", "done"), ("a.jpg", "duplicate"), ("copy of a.jpg", "duplicate"),
                      ("bad.jpg", "quarantined"), ("bad again.jpg", "quarantined")}
    assert "identical to quarantined bad.jpg" in (out / "quarantine" / "bad again.jpg.error.txt").read_text()
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["a.jpg", "a.recipe.json"]


def test_changed_input_gets_a_new_version_and_name_clashes_keep_extensions(dirs, tmp_path):
    inbox, out = dirs
    with daemon_thread(config(inbox, out)):
        make_photo(inbox / "IMG.png", seed=8)
        wait_until(_done(out, 1), 60)
        make_photo(inbox / "IMG.jpg", seed=9)  # same stem, other input: must not clobber IMG.jpg
        wait_until(_done(out, 2), 60)
        make_photo(inbox / "IMG.png", 64, 40, seed=10)  # new version of the first input replaces its output
        wait_until(_done(out, 3), 60)
    outs = sorted(p.name for p in out.iterdir() if p.suffix == ".jpg")
    assert outs == ["IMG.jpg", "IMG.jpg.jpg"]
    with Image.open(out / "IMG.jpg") as im:
        assert im.size == (64, 40)


def test_is_ignored():
    for name in ("a.jpg.part", "x.tmp", "._a.jpg", ".DS_Store", "@eaDir/a.jpg", "sub/.hidden/a.jpg", "a.crdownload"):
        assert is_ignored(name), name
    for name in ("a.jpg", "sub/IMG_0001.CR2", "shoot 2024/a.dng"):
        assert not is_ignored(name), name


def test_stability_settle_time_and_old_mtimes(tmp_path):
    from exposure_batch.watch.discovery import Stability

    old, fresh = tmp_path / "old.jpg", tmp_path / "fresh.jpg"
    old.write_bytes(b"x" * 10)
    fresh.write_bytes(b"y" * 10)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    for trust in (True, False):
        st = Stability(settle=100.0, trust_mtime=trust)
        for p in (old, fresh):
            st.note(str(p), os.stat(p), now=0.0)
        assert st.ready(0.0) == []  # never on first sight
        ready = [p for p, _ in st.ready(0.5)]
        assert ready == ([str(old)] if trust else [])  # an hour-old mtime: complete (local clock only)
        with open(fresh, "ab") as fh:  # a write resets the settle clock
            fh.write(b"more")
        assert str(fresh) not in [p for p, _ in st.ready(99.0)]
        assert str(fresh) in [p for p, _ in st.ready(99.0 + 100.0)]
