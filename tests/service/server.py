"""Start a real `exposure-batch serve` (uvicorn) on 127.0.0.1 and a free port, for the service and plugin tests.

    with ServeProcess(roots=[folder], token_file=path) as srv:
        httpx.get(srv.url + "/v1/health")
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """`python -m exposure_batch serve ...` as a child process; waits for /v1/health; stops it on exit.

    Args: roots, token_file (None: the default one under env XDG_CONFIG_HOME), extra CLI args, env overrides."""

    def __init__(self, roots=(), token_file=None, args=(), env=None, startup_s: float = 120.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "exposure_batch", "serve", "--port", str(self.port), "-j", "1",
                    "--log-level", "warning"]
        for r in roots:
            self.cmd += ["--root", str(r)]
        if token_file:
            self.cmd += ["--token-file", str(token_file)]
        self.cmd += [str(a) for a in args]
        self.env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                    **(env or {})}
        self.startup_s = startup_s
        self.proc: subprocess.Popen | None = None
        self.token_file = token_file

    def __enter__(self) -> "ServeProcess":
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"eb-serve-{self.port}.log", "w+")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + self.startup_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"serve did not answer within {self.startup_s} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
