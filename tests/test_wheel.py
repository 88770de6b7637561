"""The built wheel works on its own: built from a copy of the source tree, installed into a fresh virtual environment
WITHOUT TensorFlow (nor the learn extra's SciPy), `exposure-batch process` edits the shipped samples from another folder (the model, the XMP
templates and the colour constants come from the installed package data, not from this checkout).

Slow (a venv and a dependency install: about a minute with a local wheel cache, more from PyPI) and run in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def _copy_source(dst: Path) -> Path:
    """The files a build reads (not the checkout itself: a build writes build/ and *.egg-info next to setup.py)."""
    src = dst / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("models", "xmp_templates"):
        shutil.copytree(REPO / name, src / name)
    shutil.copytree(REPO / "exposure_batch", src / "exposure_batch", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return src


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_wheel_installs_without_tensorflow_and_processes_samples_from_elsewhere(tmp_path):
    src = _copy_source(tmp_path)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)])
    wheels = list(dist.glob("exposure_batch-*.whl"))
    assert len(wheels) == 1
    listing = _run([sys.executable, "-m", "zipfile", "-l", str(wheels[0])]).stdout
    for shipped in ("exposure_batch/models/auto/actor.npz", "exposure_batch/models/auto/model.json",
                    "exposure_batch/xmp_templates/darktable.xmp", "exposure_batch/data/colour_constants.json"):
        assert shipped in listing

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # no system site-packages: nothing of this machine's TensorFlow leaks in
    py, cli = env_dir / "bin" / "python", env_dir / "bin" / "exposure-batch"
    _run([str(py), "-m", "pip", "install", "-q", str(wheels[0])])
    for module in ("tensorflow", "scipy"):  # the train and learn extras only
        missing = subprocess.run([str(py), "-c", f"import {module}"], capture_output=True, text=True)
        assert missing.returncode != 0 and f"No module named '{module}'" in missing.stderr
    learn = subprocess.run([str(cli), "learn", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "profile")],
                           capture_output=True, text=True, timeout=120)
    assert learn.returncode == 1 and "pip install 'exposure-batch[learn]'" in learn.stderr, learn.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([str(cli), "process", str(SAMPLES), "-o", "out", "--save-recipe", "--sidecar", "darktable", "--no-progress"],
         cwd=elsewhere)

    sources = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".png", ".tif", ".dng"))
    assert len(sources) == 7
    out = elsewhere / "out"
    for source in sources:
        jpg = out / f"{source.stem}.jpg"
        with Image.open(jpg) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and min(im.size) >= 16
            pixels = np.asarray(im, dtype=np.float32) / 255
        assert 0.08 < pixels.mean() < 0.9, (jpg.name, pixels.mean())  # an edit, not a black or white frame
        assert pixels.std() > 2 / 255, jpg.name  # not flat (the flattest sample, a 64x64 sky, has 3/255)
        recipe = json.loads((out / f"{source.stem}.recipe.json").read_text(encoding="utf-8"))
        flat = source.name == "canon_powershot_g1x2.jpg"  # one flat colour: no evidence of a capture error, no steps
        assert recipe["model"]["id"] == "auto"  # the shipped model, found as package data
        assert bool(recipe["steps"]) != flat, (source.name, recipe["steps"])
        sidecar = out / f"{source.name}.xmp"  # darktable's naming: the source file's name + .xmp
        assert sidecar.read_text(encoding="utf-8").count("darktable:operation") >= (0 if flat else 2)
