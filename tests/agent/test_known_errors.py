"""Issue 21: known capture errors taken back, clean whites under a white balance, confidence, `evaluate --check`.

Expectations are hand-derived (a clipped white under the inverse gains of a warm cast; CIELAB of neutral grey) or
the issue's targets; bounds on measured figures are 2x what was measured."""
from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from exposure_batch import color
from exposure_batch.agent.data import as_captured, display_np
from exposure_batch.agent.evaluate import (KNOWN_ERRORS, _lab, apply_known_error, evaluate_known_errors,
                                           near_white_shift)
from exposure_batch.agent.policy import LOW_CONFIDENCE, load_policy
from exposure_batch.cli import main
from exposure_batch.io import decode
from exposure_batch.render.preview import make_preview, thumbnail
from exposure_batch.recipe import Recipe, Step
from exposure_batch.render import render

from ..helpers import SAMPLES_DIR

WARM = KNOWN_ERRORS["warm cast"][1]


def _white_patch_scene(level: float = 0.97) -> np.ndarray:
    """A grey-ish scene (linear ProPhoto, 96x96) with a near-clipped white patch (all channels `level`) on top."""
    rng = np.random.default_rng(3)
    scene = (0.18 * np.exp(rng.normal(0.0, 0.6, (96, 96, 1))) * np.exp(rng.normal(0.0, 0.15, (96, 96, 3))))
    scene = np.clip(scene, 0.0, 0.8).astype(np.float32)
    scene[8:40, 8:40] = level
    return scene


def test_inverse_gains_keep_a_clipped_white_neutral():
    """A white at 0.97 under the warm cast clips to (1, ~0.97, ~0.73); the exact inverse gains (0.8, 1, 1.33),
    luminance-normalised, would make it mint (a* well below 0): the render keeps it neutral instead (|a*|, |b*| < 2),
    while a mid grey under the same cast is balanced exactly as the plain gains say."""
    captured = as_captured(_white_patch_scene() * np.asarray(WARM, np.float32))
    inverse = 1.0 / np.asarray(WARM)
    inverse /= inverse @ np.asarray(color.LUMA_WEIGHTS)
    step = Step("white_balance", dict(zip(("red", "green", "blue"), map(float, inverse))))
    out = render(Recipe((step,)), captured.copy())
    lab = _lab(display_np(out[8:40, 8:40]))
    assert abs(lab[..., 1].mean()) < 2.0 and abs(lab[..., 2].mean()) < 2.0, lab[..., 1:].mean(axis=(0, 1))
    plain = _lab(display_np(captured[8:40, 8:40] * inverse.astype(np.float32)))
    assert plain[..., 1].mean() < -4.0  # what plain gains do to it (the bug this fixes)
    grey = np.full((1, 1, 3), 0.18, np.float32) * np.asarray(WARM, np.float32)
    np.testing.assert_allclose(render(Recipe((step,)), grey.copy()), grey * inverse.astype(np.float32), rtol=1e-5)


def test_near_clipped_white_patch_stays_neutral_after_the_edit():
    """The shipped edit of the scene under the warm cast: the patch's near-white pixels move by a* >= -8 and
    |b*| <= 12 against the original (the issue's bound)."""
    scene = _white_patch_scene()
    policy = load_policy()
    captured = apply_known_error(scene, "warm cast")
    recipe = policy.decide([make_preview(captured)])[0]
    shift = near_white_shift(display_np(render(recipe, captured)), display_np(scene))
    assert shift is not None
    da, db, _ = shift
    assert da >= -8.0 and abs(db) <= 12.0, (da, db, recipe)


def test_recipes_carry_the_capture_confidence():
    policy = load_policy()
    img = thumbnail(decode(SAMPLES_DIR / "coffee_p3_16bit.png").rgb_lin, 256)
    recipe = policy.decide([make_preview(img)])[0]
    capture = recipe.extra["capture"]
    assert 0.0 <= capture["confidence"] <= 1.0
    assert ("gentler" in capture) == (capture["confidence"] < LOW_CONFIDENCE)
    assert recipe.to_dict()["extra"]["capture"] == capture  # written with the recipe


def test_evaluate_check_exits_1_when_a_target_fails(tmp_path):
    """Without classic in --agents the 'below classic' target cannot hold: FAIL is printed, and only --check turns
    it into exit status 1."""
    held = tmp_path / "held"
    held.mkdir()
    os.symlink(SAMPLES_DIR / "casio_qv_r51.jpg", held / "casio.jpg")
    args = ["evaluate", "--heldout", str(held), "--agents", "none,learned", "--per-photo", "1", "--max-side", "96"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "FAIL  restoration dE >= 30% below classic" in res.output
    res = CliRunner().invoke(main, args + ["--check"])
    assert res.exit_code == 1, res.output
