"""Helpers for the watch-daemon tests: tiny real photos, a daemon in a thread, a daemon in a subprocess."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.watch import Daemon, WatchConfig
from exposure_batch.watch.journal import Journal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_photo(path, w: int = 48, h: int = 32, seed: int = 0, quality: int = 90) -> str:
    """A small real JPEG / PNG (by extension): a gradient plus noise, different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, (x + y) / (w + h)], axis=-1) * 200 + 20
    img = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    kw = {"quality": quality} if str(path).lower().endswith((".jpg", ".jpeg")) else {}
    Image.fromarray(img).save(path, **kw)
    return str(path)


def photo_bytes(tmp_path, w=48, h=32, seed=0, ext=".jpg") -> bytes:
    p = tmp_path / f"_src_{seed}_{w}x{h}{ext}"
    make_photo(p, w, h, seed)
    data = p.read_bytes()
    p.unlink()
    return data


def wait_until(cond, timeout: float = 60.0, every: float = 0.05, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def journal_rows(out_dir):
    """All journal rows (read-only connection, safe while the daemon runs)."""
    path = os.path.join(out_dir, ".exposure-batch", "journal.sqlite")
    if not os.path.exists(path):
        return []
    try:
        j = Journal(path, readonly=True)
    except FileNotFoundError:
        return []
    try:
        return j.rows()
    finally:
        j.close()


def config(inbox, out, **kw) -> WatchConfig:
    opts = OutputOptions(str(out), save_recipe=kw.pop("save_recipe", True), fmt=kw.pop("fmt", "jpeg"))
    defaults = dict(settle=0.5, rescan=0, timeout=120, tick=0.05, grace=10)
    defaults.update(kw)
    return WatchConfig(inbox=str(inbox), opts=opts, **defaults)


@contextlib.contextmanager
def daemon_thread(cfg: WatchConfig):
    """Run a Daemon in a thread (real watchdog, real spawned workers); stop it and re-raise its errors on exit."""
    d = Daemon(cfg)
    errors = []

    def target():
        try:
            d.run()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    try:
        wait_until(lambda: d.ready.is_set() or errors, 120, what="daemon start")
        if errors:
            raise errors[0]
        yield d
    finally:
        d.request_stop()
        t.join(60)
        assert not t.is_alive(), "daemon did not stop"
    if errors:
        raise errors[0]


HOLD_WRITES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hold_writes")


def start_daemon_process(inbox, out, *args, log=None, hold_writes: bool = False) -> subprocess.Popen:
    """`python -m exposure_batch watch INBOX -o OUT ...` as a real process; hold_writes: every atomic write of an
    output blocks before its rename (hold_writes/sitecustomize.py), for a kill mid-write."""
    cmd = [sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(out), *map(str, args)]
    path = [HOLD_WRITES] if hold_writes else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, REPO, os.environ.get("PYTHONPATH", "")])}
    if hold_writes:
        env["EXPOSURE_BATCH_TEST_HOLD_WRITES"] = "1"
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL, env=env, cwd=REPO)


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a live process, MB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def dirs(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    return inbox, out


def kill_hard(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)
