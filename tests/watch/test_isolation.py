"""Worker isolation (real spawned processes that segfault, hang or run out of memory) and quarantine of bad inputs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from exposure_batch.cli import main
from exposure_batch.engine import WorkerPool, parse_size
from exposure_batch.failures import Kind
from exposure_batch.watch import Daemon

from .conftest import REPO, config, journal_rows, make_photo, photo_bytes


def _run_all(pool, tasks, timeout=60):
    """Submit (id, args) tasks as workers free up; return {id: Outcome}."""
    import time

    pending, got = list(tasks), {}
    end = time.monotonic() + timeout
    while len(got) < len(tasks) and time.monotonic() < end:
        while pending and pool.submit(*pending[0]):
            pending.pop(0)
        for o in pool.poll(0.1):
            got[o.task_id] = o
    return got


def test_a_crashing_or_hanging_worker_fails_only_its_task():
    pool = WorkerPool(1, None, timeout=1.5, memory_limit=None, task_ref="tests.watch.tasks:segfault")
    try:
        pool.wait_ready()
        got = _run_all(pool, [("a", (1,))])
        failure = got["a"].failure
        assert failure.kind is Kind.CRASH and failure.message == "worker crashed (SIGSEGV)" and got["a"].result is None
    finally:
        pool.close()
    pool = WorkerPool(2, None, timeout=1.5, task_ref="tests.watch.tasks:hang")
    try:
        pool.wait_ready()
        got = _run_all(pool, [("h1", (1,)), ("h2", (2,))])
        assert {o.failure.kind for o in got.values()} == {Kind.TIMEOUT}
        assert all(o.failure.message == "timed out after 1.5 s (worker killed)" for o in got.values())
    finally:
        pool.close()


def test_memory_cap_turns_a_runaway_allocation_into_a_failed_file():
    pool = WorkerPool(1, None, timeout=30, memory_limit=parse_size("1.5G"), task_ref="tests.watch.tasks:hog")
    try:
        pool.wait_ready()
        got = _run_all(pool, [("big", (4 << 30,)), ("small", (10 << 20,))])
        assert got["big"].failure.kind is Kind.LIMIT and got["big"].result.reason == "out of memory while processing"
        assert got["small"].failure is None and got["small"].result.status == "done"  # same worker survives
    finally:
        pool.close()


def test_parse_size():
    assert parse_size("4G") == 4 << 30 and parse_size("512M") == 512 << 20 and parse_size("2GiB") == 2 << 30
    assert parse_size("0") is None and parse_size(None) is None and parse_size("1024") == 1024


def test_a_file_that_crashes_its_worker_is_quarantined_after_bounded_retries(dirs):
    inbox, out = dirs
    make_photo(inbox / "good.jpg", seed=1)
    make_photo(inbox / "bad_segv.jpg", seed=2)
    make_photo(inbox / "zgood.jpg", seed=3)
    cfg = config(inbox, out, once=True, retries=1, task_ref="tests.watch.tasks:crash_on_name")
    stats = Daemon(cfg).run()
    assert stats["done"] == 2 and stats["quarantined"] == 1
    rows = {r.rel: r for r in journal_rows(out)}
    assert rows["bad_segv.jpg"].attempts == 2
    text = (out / "quarantine" / "bad_segv.jpg.error.txt").read_text()
    assert "worker crashed (SIGSEGV)" in text and "after 2 attempts" in text
    assert (out / "quarantine" / "bad_segv.jpg").exists() and not (inbox / "bad_segv.jpg").exists()


def test_bad_inputs_are_quarantined_with_reasons_while_good_files_continue(dirs, tmp_path):
    inbox, out = dirs
    good = photo_bytes(tmp_path, 120, 80, seed=4)
    (inbox / "a_good.jpg").write_bytes(good)
    (inbox / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (inbox / "zero.png").write_bytes(b"")
    (inbox / "letter.jpg").write_text("Dear studio, this is not a photo.\n")  # wrong extension
    (inbox / "noise.cr2").write_bytes(os.urandom(20000))  # random bytes with a RAW extension
    (inbox / "noise.tif").write_bytes(b"\x00\x01" + os.urandom(5000))
    make_photo(inbox / "z_good.png", seed=5)
    (inbox / "readme.txt").write_text("ignored: not a photo type")
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), "--once",
                           "--settle", "0.2", "--log-json", "--report", str(tmp_path / "report")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    events = [json.loads(line.split(" ", 2)[2]) for line in proc.stderr.splitlines() if " {" in line]
    outcome = {e["file"]: e for e in events if "file" in e and e["event"] in ("done", "quarantined", "ignored")}
    assert {f for f, e in outcome.items() if e["event"] == "done"} == {"a_good.jpg", "z_good.png"}
    assert outcome["readme.txt"]["event"] == "ignored" and (inbox / "readme.txt").exists()
    expect = {"truncated.jpg": "truncated", "zero.png": "empty", "letter.jpg": "text file",
              "noise.cr2": "RAW", "noise.tif": "not"}
    q = out / "quarantine"
    for name, word in expect.items():
        assert outcome[name]["event"] == "quarantined"
        assert "seconds" in outcome["a_good.jpg"]
        text = (q / f"{name}.error.txt").read_text()
        assert f"file: {name}" in text and word in text.split("reason:", 1)[1].splitlines()[0], text
        assert (q / name).exists() and not (inbox / name).exists()
    assert (out / "a_good.jpg").exists() and (out / "z_good.jpg").exists()
    report = json.loads((tmp_path / "report" / "report.json").read_text())["photos"]
    assert sorted(p["status"] for p in report) == ["done"] * 2 + ["failed"] * 5
    assert (tmp_path / "report" / "index.html").exists()
    res = CliRunner().invoke(main, ["status", str(out)])
    assert res.exit_code == 0, res.output
    assert "done 2" in res.output and "quarantined 5" in res.output and "zero.png: empty file (0 bytes)" in res.output


def test_an_environment_failure_is_deferred_to_the_next_start_never_quarantined(dirs):
    """The output folder cannot be created (a file is in the way): an ENVIRONMENT failure. The original stays in the
    inbox, the row stays queued without counting a failure, and the next start (folder fixed) does it."""
    inbox, out = dirs
    (inbox / "shoot").mkdir()
    make_photo(inbox / "shoot" / "a.jpg", seed=1)
    make_photo(inbox / "b.jpg", seed=2)
    out.mkdir()
    (out / "shoot").write_text("a file where the output folder should be")
    stats = Daemon(config(inbox, out, once=True)).run()
    assert stats["deferred"] == 1 and stats["done"] == 1 and not stats["quarantined"], stats
    rows = {r.rel: r for r in journal_rows(out)}
    assert rows["shoot/a.jpg"].state == "queued" and rows["shoot/a.jpg"].failures == 0
    assert "cannot create its folder" in rows["shoot/a.jpg"].reason
    assert (inbox / "shoot" / "a.jpg").exists() and not (out / "quarantine").exists()
    (out / "shoot").unlink()
    stats = Daemon(config(inbox, out, once=True)).run()
    assert stats["done"] == 1 and (out / "shoot" / "a.jpg").exists()
    assert {r.rel: r.state for r in journal_rows(out)} == {"shoot/a.jpg": "done", "b.jpg": "done"}


def test_a_photo_format_we_do_not_read_is_journalled_and_reported_as_skipped(dirs, tmp_path):
    """A JPEG XL (recognised, not decoded) is not silently ignored: journal, event and report say 'skipped:
    unsupported format (JPEG XL)', like `process`; it stays in the inbox. A non-photo file is only logged."""
    inbox, out = dirs
    make_photo(inbox / "a.jpg", seed=1)
    (inbox / "scan.jxl").write_bytes(b"\xff\x0a\xfa\x7f" + os.urandom(3000))  # a JPEG XL codestream's signature
    (inbox / "notes.txt").write_text("not a photo")
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), "--once",
                           "--settle", "0", "--agent", "classic", "--log-json", "--report", str(tmp_path / "report")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line.split(" ", 2)[2]) for line in proc.stderr.splitlines() if " {" in line]
    outcome = {e["file"]: e for e in events if "file" in e and e["event"] in ("done", "skipped", "ignored")}
    assert outcome["a.jpg"]["event"] == "done" and outcome["notes.txt"]["event"] == "ignored"
    assert outcome["scan.jxl"]["event"] == "skipped" and outcome["scan.jxl"]["reason"] == \
        "unsupported format (JPEG XL)"
    assert {r.rel: r.state for r in journal_rows(out)} == {"a.jpg": "done", "scan.jxl": "skipped"}
    report = {p["name"]: p for p in json.loads((tmp_path / "report" / "report.json").read_text())["photos"]}
    assert report["scan.jxl"]["status"] == "skipped" and "JPEG XL" in report["scan.jxl"]["reason"]
    assert (inbox / "scan.jxl").exists() and not list(out.glob("scan*"))
