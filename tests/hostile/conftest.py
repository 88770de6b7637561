"""Shared helpers for the hostile-input tests: run the CLI in this process, list what a folder holds."""
from __future__ import annotations

import logging
import os

import pytest
from click.testing import CliRunner

from exposure_batch.cli import main


def cli(*args) -> tuple[int, str]:
    """Run `exposure-batch ARGS` in this process; (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, [os.fspath(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def files_under(folder) -> list[str]:
    """Every file below `folder` (relative names, sorted), hidden bookkeeping folders excluded."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".exposure-batch"]
        out += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(out)


@pytest.fixture
def process():
    """process(inputs..., -o out, extra args): the CLI with the classic agent and no progress bar."""
    def run(*args):
        return cli("process", "--agent", "classic", "--no-progress", *args)
    return run


class LogLines(logging.Handler):
    """Messages of one logger, whatever handlers and propagation the CLI set up earlier in this process."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def watch_log():
    """The watch daemon's log lines (INFO and up) while the test runs."""
    lines = LogLines()
    logger = logging.getLogger("exposure_batch.watch")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
