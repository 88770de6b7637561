"""Issue 21: recipes carry the capture estimate's confidence (report, explain), `evaluate --check`.

Expectations are hand-derived or the issue's targets; bounds on measured figures are 2x what was measured."""
from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from exposure_batch.agent.policy import LOW_CONFIDENCE, load_policy
from exposure_batch.cli import main
from exposure_batch.io import decode
from exposure_batch.render.preview import make_preview, thumbnail
from exposure_batch.recipe import Recipe

from ..helpers import SAMPLES_DIR


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


def test_report_lists_the_photos_most_worth_a_look():
    """Lowest confidence first, only done photos with a confidence, at most WORTH_A_LOOK; on the page too."""
    from exposure_batch.report.html import WORTH_A_LOOK, render_html, worth_a_look

    photos = [{"id": f"id{i}", "name": f"p{i:02d}.jpg", "status": "done", "seconds": 0.1, "outputs": [],
               "confidence": c} for i, c in enumerate([0.9, 0.2, 0.55, 0.05, 0.7] + [0.8] * 10)]
    photos.append({"id": "bad", "name": "bad.jpg", "status": "failed", "seconds": 0.0, "outputs": [], "confidence": 0.0})
    photos[3]["capture_note"] = "low confidence (0.05): the capture correction was applied at 66% strength"
    rows = worth_a_look(photos)
    assert [r["name"] for r in rows[:3]] == ["p03.jpg", "p01.jpg", "p02.jpg"] and len(rows) == WORTH_A_LOOK
    page = render_html("t", photos)
    assert "Worth a look" in page and page.index("p03.jpg") < page.index("p01.jpg") and "66% strength" in page


def test_explain_prints_the_confidence(tmp_path):
    from exposure_batch.cli.explain import confidence_line

    sure = Recipe((), extra={"capture": {"confidence": 0.93}})
    unsure = Recipe((), extra={"capture": {"confidence": 0.2, "gentler": 0.84, "note": "low confidence (0.20): x"}})
    assert confidence_line(sure) == "capture estimate: confidence 0.93"
    assert confidence_line(unsure).startswith("capture estimate: confidence 0.20, worth a look: low confidence")
    assert "none" in confidence_line(Recipe(()))


#: Median share of each known capture error the shipped model (20261208) takes back on the three samples no
#: training photo made (CI_SAMPLES), measured: +1 EV 0.21, -1.5 EV 0.61, warm 0.28, cool 0.135 (20261130.3: 0.07,
#: 0.58, 0.25, 0.24; on the 57 held-out photos the cool cast went 0.26 -> 0.50, here coffee's is 0.09). The
#: issue's targets (0.6 / 0.75 / 0.6 / 0.6 on the held-out split) are missed (model card); these are
#: regression bounds at half.
KNOWN_ERROR_FLOORS = {"+1 EV": 0.10, "-1.5 EV": 0.30, "warm cast": 0.14, "cool cast": 0.07}


def test_known_capture_errors_taken_back_on_unseen_samples():
    """Each sample alone under each known error (clipped at white as a capture): the median share taken back, and
    the exact inverse of a cast takes back most of it (only clipped highlights stay lost: measured 0.89 / 0.90)."""
    from exposure_batch.agent.evaluate import CI_SAMPLES, evaluate_known_errors

    originals = [(n, thumbnail(decode(SAMPLES_DIR / n).rgb_lin, 256)) for n in CI_SAMPLES]
    result = evaluate_known_errors(originals, {"learned": load_policy()})
    for error, floor in KNOWN_ERROR_FLOORS.items():
        assert result[error]["learned"]["share_median"] >= floor, (error, result[error]["learned"]["per_photo"])
    for cast in ("warm cast", "cool cast"):
        assert result[cast]["exact inverse"]["share_median"] >= 0.8
