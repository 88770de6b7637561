"""Suite-wide rules. Tools and optional modules: a test that needs darktable-cli, exiftool, chromium (or
TensorFlow) is skipped when it is missing on a developer's machine, and FAILS when CI=true (.ci/run sets it), so CI
can never go green without running it.

    @pytest.mark.needs_tool("darktable-cli", "exiftool")   # checked before the test runs
    exiftool = require_tool("exiftool")                    # inside a test or fixture
    tf = require_module("tensorflow")                      # at module level instead of importorskip
"""
from __future__ import annotations

from tests.helpers import require_tool


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_tool(*names): needs these programs on PATH (fails when CI=true)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs_tool"):
        for name in mark.args:
            require_tool(name)
