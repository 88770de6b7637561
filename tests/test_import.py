"""Rendering, recipes and `--help` must not import TensorFlow (it costs seconds), nor processing colour-science."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "code",
    [
        "import exposure_batch.render, exposure_batch.recipe, exposure_batch.pipeline, exposure_batch.sources, "
        "exposure_batch.agent.classic",
        "from exposure_batch.cli import main; import sys; sys.argv=['x','--help']\ntry:\n main()\nexcept SystemExit: pass",
        "from exposure_batch.cli import main; import sys; sys.argv=['x','process','--help']\ntry:\n main()\nexcept SystemExit: pass",
        # the learned agent infers in NumPy: TensorFlow is for training only
        "import numpy as np\nfrom exposure_batch.sources import make_source\n"
        "r = make_source('learned').decide([np.full((64, 64, 3), 0.1, np.float32)])\nassert len(r[0].steps) <= 5",
    ],
)
def test_no_tensorflow_import(code):
    check = code + "\nimport sys\nassert 'tensorflow' not in sys.modules, 'tensorflow was imported'\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_processing_a_photo_does_not_import_colour_science(tmp_path):
    """Worker processes read the stored colour matrices: importing colour-science costs ~1.2 s per process."""
    samples = Path(__file__).resolve().parents[1] / "samples"
    code = f"""
import sys
from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.pipeline.stages import process_one
from exposure_batch.sources import make_source
r = process_one(r'{samples}/flower.dng', r'{tmp_path}/f.jpg', make_source('classic'),
                OutputOptions(r'{tmp_path}', sidecars='darktable'))
assert r.status == 'done', r.reason
r = process_one(r'{samples}/coffee_p3_16bit.png', r'{tmp_path}/c.tif', make_source('learned'),
                OutputOptions(r'{tmp_path}', fmt='tiff', space='prophoto'))
assert r.status == 'done', r.reason
assert 'colour' not in sys.modules, 'colour-science was imported'
assert 'tensorflow' not in sys.modules, 'tensorflow was imported'
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
