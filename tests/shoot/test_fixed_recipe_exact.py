"""`process --recipe look.json` applies the saved look exactly (issue 23, defect): scene grouping must not add
per-frame white balance and exposure, which flattens an exposure bracket; `--group-by` given explicitly still
harmonises."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exposure_batch.recipe import load_recipe
from tests.helpers import write_underexposed_jpeg

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
LOOK = REPO / "tests" / "data" / "recipes" / "v1" / "look.recipe.json"


def _process(inbox, out, *extra):
    return subprocess.run([sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o", str(out), "--recipe",
                           str(LOOK), "--save-recipe", "--no-progress", *extra], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def bracket(tmp_path_factory):
    """Three frames of one scene 1 EV apart, one capture time (the camera's EXIF kept): a bracket."""
    inbox = tmp_path_factory.mktemp("bracket")
    for i, ev in enumerate((-2.0, -1.0, 0.0)):
        write_underexposed_jpeg(inbox / f"IMG_{i:04d}.jpg", ev=ev, max_size=(320, 240))
    return inbox


def _steps(recipe) -> list:
    return [(s.spec.name, {k: np.round(np.asarray(v, float), 6).tolist() for k, v in s.params.items()})
            for s in recipe.steps]


def test_a_fixed_recipe_is_applied_exactly_to_a_bracket(bracket, tmp_path):
    run = _process(bracket, tmp_path / "out")
    assert run.returncode == 0, run.stderr
    look = _steps(load_recipe(str(LOOK)))
    recipes = sorted((tmp_path / "out").glob("*.recipe.json"))
    assert len(recipes) == 3
    for path in recipes:
        assert _steps(load_recipe(str(path))) == look, path.name  # no per-frame white balance or exposure added
    # the bracket stays a bracket: frames 1 EV apart stay about 2x apart in linear light (the look's tone curve
    # and contrast bend it a little: measured ratios 1.87 and 1.68)
    from exposure_batch.io import decode

    means = [float(decode(tmp_path / "out" / f"IMG_{i:04d}.jpg").rgb_lin.mean()) for i in range(3)]
    assert 1.4 < means[1] / means[0] and 1.4 < means[2] / means[1], means


def test_explicit_group_by_still_harmonises(bracket, tmp_path):
    run = _process(bracket, tmp_path / "out", "--group-by", "time")
    assert run.returncode == 0, run.stderr
    look = _steps(load_recipe(str(LOOK)))
    harmonised = [p for p in (tmp_path / "out").glob("*.recipe.json") if _steps(load_recipe(str(p))) != look]
    assert harmonised, "asked for harmonising, got the look alone"
    assert json.loads(harmonised[0].read_text())["steps"]


def test_watch_applies_a_fixed_recipe_exactly_too(bracket, tmp_path):
    """`watch --recipe` shares the rule (a shoot dropped in the inbox is not harmonised against the look)."""
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(bracket, inbox)
    run = subprocess.run([sys.executable, "-m", "exposure_batch", "watch", str(inbox), "-o", str(tmp_path / "out"),
                          "--once", "--settle", "0", "--recipe", str(LOOK), "--save-recipe"], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    recipes = sorted((tmp_path / "out").rglob("*.recipe.json"))
    assert len(recipes) == 3
    look = _steps(load_recipe(str(LOOK)))
    for path in recipes:
        assert _steps(load_recipe(str(path))) == look, path.name
