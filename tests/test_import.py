"""Rendering, recipes and `--help` must not import TensorFlow (it costs seconds)."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "code",
    [
        "import exposure_batch.render, exposure_batch.recipe, exposure_batch.pipeline, exposure_batch.agent.classic",
        "from exposure_batch.cli import main; import sys; sys.argv=['x','--help']\ntry:\n main()\nexcept SystemExit: pass",
        "from exposure_batch.cli import main; import sys; sys.argv=['x','process','--help']\ntry:\n main()\nexcept SystemExit: pass",
    ],
)
def test_no_tensorflow_import(code):
    check = code + "\nimport sys\nassert 'tensorflow' not in sys.modules, 'tensorflow was imported'\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
