"""docs/ray.md's cluster with Ray token authentication, step by step, with the real `ray` CLI on this machine: a head
started with a generated token, a second node that joins with a copy of the token file, a node with a wrong token
refused, and `exposure-batch process --ray HEAD:PORT` editing photos on the two-node cluster.

Each "machine" is its own HOME (so its own ~/.ray/auth_token). Ray runs with `--block` in its own process group and
its own --temp-dir, so the test stops exactly the processes it started (never `ray stop`, which would stop every Ray
on the machine) and no other Ray session can find this cluster."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, require_module, require_tool, sample_path

require_module("ray")  # in the test extra: skipped locally without it, a failure under CI=true

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STARTED = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_env(home: Path) -> dict[str, str]:
    """The environment of one cluster machine, as docs/ray.md sets it: token mode, the token in ~/.ray/auth_token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {**env, "HOME": str(home), "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}


def start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    ray = require_tool("ray")
    cmd = [ray, "start", *args, "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats", "--block"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_started(proc: subprocess.Popen, log: Path, timeout: float = 180) -> str:
    """The node's log once Ray says it started; raises with the log if it exits or times out first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = log.read_text(errors="replace")
        if STARTED in text:
            return text
        if proc.poll() is not None:
            raise AssertionError(f"ray start exited {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"ray start did not start in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the node's own process group (its raylet, GCS, workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


@pytest.fixture()
def cluster(tmp_path):
    """Head node with a freshly generated token; yields (port, head HOME)."""
    head_home, temp_dir = tmp_path / "head", Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short socket paths
    head_home.mkdir()
    env = machine_env(head_home)
    gen = subprocess.run([require_tool("ray"), "get-auth-token", "--generate"], env=env, capture_output=True,
                         text=True, timeout=300)
    token_file = head_home / ".ray" / "auth_token"
    assert gen.returncode == 0 and token_file.is_file(), gen.stderr[-2000:]
    token_file.chmod(0o600)
    port = free_port()
    head = start_node(["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"], env,
                      tmp_path / "head.log")
    procs = [head]
    try:
        wait_started(head, tmp_path / "head.log")
        yield port, head_home, procs
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_node_joins_with_the_copied_token_and_process_runs_on_the_cluster(cluster, tmp_path):
    port, head_home, procs = cluster
    token = (head_home / ".ray" / "auth_token").read_text().strip()
    assert len(token) >= 32

    # A second machine with a copy of the token file (docs/ray.md step 2) joins the cluster.
    worker_home = tmp_path / "worker"
    (worker_home / ".ray").mkdir(parents=True)
    shutil.copy(head_home / ".ray" / "auth_token", worker_home / ".ray" / "auth_token")
    worker = start_node([f"--address=127.0.0.1:{port}"], machine_env(worker_home), tmp_path / "worker.log")
    procs.append(worker)
    wait_started(worker, tmp_path / "worker.log")
    # the joined node shows in `ray status` once the head's autoscaler view has caught up: ask until it does
    deadline = time.monotonic() + 120
    while True:
        status = subprocess.run([require_tool("ray"), "status", f"--address=127.0.0.1:{port}"],
                                env=machine_env(head_home), capture_output=True, text=True, timeout=300)
        if (status.returncode == 0 and status.stdout.count(" node_") == 2) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert status.returncode == 0 and status.stdout.count(" node_") == 2, status.stdout[-2000:] + status.stderr[-2000:]

    # A machine with another token is refused when it tries to join.
    intruder_home = tmp_path / "intruder"
    (intruder_home / ".ray").mkdir(parents=True)
    (intruder_home / ".ray" / "auth_token").write_text("0" * len(token))
    intruder = start_node([f"--address=127.0.0.1:{port}"], machine_env(intruder_home), tmp_path / "intruder.log")
    procs.append(intruder)
    assert intruder.wait(300) != 0
    assert "AuthenticationError" in (tmp_path / "intruder.log").read_text(errors="replace")

    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in ("casio_qv_r51.jpg", "coffee_p3_16bit.png"):
        shutil.copy(sample_path(name), inbox / name)
    # A driver on a machine with neither the token nor RAY_AUTH_MODE (Ray itself then only says it failed to
    # connect) is refused in one line that says what is missing.
    stranger_home = tmp_path / "stranger"
    stranger_home.mkdir()
    stranger_env = {k: v for k, v in machine_env(stranger_home).items() if k != "RAY_AUTH_MODE"}
    refused = subprocess.run([sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o",
                              str(tmp_path / "refused"), "--ray", f"127.0.0.1:{port}", "--agent", "classic",
                              "--group-by", "none", "--no-progress"],
                             env=stranger_env, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and not list((tmp_path / "refused").glob("*.jpg")), refused.stdout[-2000:]
    assert "this machine has no Ray token" in refused.stderr and "docs/ray.md" in refused.stderr, refused.stderr[-3000:]

    # docs/ray.md step 3: the batch runs on the cluster from a machine with the token.
    run = subprocess.run([sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o", str(tmp_path / "out"),
                          "--ray", f"127.0.0.1:{port}", "--agent", "classic", "--group-by", "none", "--no-progress"],
                         env=machine_env(head_home), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "done 2, skipped 0, failed 0" in run.stdout, run.stdout[-2000:] + run.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jpg")) == ["casio_qv_r51.jpg", "coffee_p3_16bit.jpg"]
