"""The shipped model (models/auto): loads, gives valid recipes on the sample photos, and its evaluation numbers on
a small held-out set (made from shipped samples only) match the model card within a tolerance."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from exposure_batch.agent.evaluate import CI_SAMPLES, evaluate_sources, make_cases  # noqa: E402
from exposure_batch.agent.policy import DEFAULT_MODEL_DIR, load_policy  # noqa: E402
from exposure_batch.io import decode  # noqa: E402
from exposure_batch.recipe import Recipe  # noqa: E402
from exposure_batch.render import render  # noqa: E402
from exposure_batch.render.preview import make_preview  # noqa: E402
from exposure_batch.sources import make_source  # noqa: E402

from ..helpers import SAMPLES_DIR  # noqa: E402

TOLERANCE_DE = 0.35  # CIEDE2000 units: TF/oneDNN numeric noise across machines is far below this


def test_shipped_model_is_small_and_documented():
    files = os.listdir(DEFAULT_MODEL_DIR)
    assert {"actor.npz", "model.json"} <= set(files)
    size = sum(os.path.getsize(os.path.join(DEFAULT_MODEL_DIR, f)) for f in files)
    assert size < 30 * 2**20
    card = json.loads(open(os.path.join(DEFAULT_MODEL_DIR, "model.json"), encoding="utf-8").read())
    for key in ("filters", "preview_size", "colour_space", "training", "evaluation", "ci_evaluation"):
        assert key in card, key


def test_shipped_model_recipes_on_samples():
    policy = make_source("learned")
    assert policy.wants == "preview" and policy.model_id == "auto"
    names = sorted(n for n in os.listdir(SAMPLES_DIR) if not n.endswith(".md"))
    images = [decode(SAMPLES_DIR / n).rgb_lin for n in names]
    recipes = policy.decide([make_preview(im) for im in images])
    assert len(recipes) == len(names)
    for img, r in zip(images, recipes):
        assert len(r.steps) <= 5
        Recipe.from_json(r.to_json())
        out = render(r, img[:64, :64].copy())
        assert np.isfinite(out).all()


@pytest.mark.slow
def test_shipped_model_ci_evaluation_numbers():
    card = json.loads(open(os.path.join(DEFAULT_MODEL_DIR, "model.json"), encoding="utf-8").read())
    ref = card["ci_evaluation"]
    cases = make_cases([str(SAMPLES_DIR / n) for n in CI_SAMPLES], ref["per_photo"], ref["seed"], ref["max_side"])
    result = evaluate_sources(cases, {"no edit": None, "classic": make_source("classic"), "learned": load_policy()})
    got = {k: v["ciede2000_mean"] for k, v in result["sources"].items()}
    for name, value in ref["ciede2000_mean"].items():
        assert got[name] == pytest.approx(value, abs=TOLERANCE_DE), (name, got)
    assert got["learned"] < got["no edit"]


def test_process_variations_writes_n_distinct_reproducible_edits(tmp_path):
    import shutil

    from click.testing import CliRunner
    from PIL import Image

    from exposure_batch.cli import main
    from exposure_batch.recipe import load_recipe

    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLES_DIR / "flower.dng", inbox)
    runs = []
    for name in ("a", "b"):
        res = CliRunner().invoke(main, ["process", str(inbox), "-o", str(tmp_path / name), "--agent", "learned",
                                        "--variations", "3", "--save-recipe"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "flower.dng: 3/3 variations" in res.output
        runs.append([np.asarray(Image.open(tmp_path / name / f"flower_v{k}.jpg")) for k in (1, 2, 3)])
    for k in range(3):
        np.testing.assert_array_equal(runs[0][k], runs[1][k])  # seeded by the photo: same edits every run
    assert not np.array_equal(runs[0][0], runs[0][1]) and not np.array_equal(runs[0][1], runs[0][2])
    recipe = load_recipe(str(tmp_path / "a" / "flower_v2.recipe.json"))
    assert recipe.extra["variation"] == 1 and recipe.source["name"] == "flower.dng"
    res = CliRunner().invoke(main, ["process", str(inbox), "-o", str(tmp_path / "c"), "--variations", "2",
                                    "--agent", "classic"])
    assert res.exit_code == 2 and "--agent learned" in res.output
    res = CliRunner().invoke(main, ["process", str(inbox), "-o", str(tmp_path / "c"), "--variations", "2", "--agent",
                                    "learned", "--sidecar", "darktable", "--sidecar-beside-source"])
    assert res.exit_code == 2 and "beside-source" in res.output
    res = CliRunner().invoke(main, ["process", str(inbox), "-o", str(tmp_path / "d"), "--variations", "2", "--agent",
                                    "learned", "--sidecar", "darktable"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d" / "flower_v1.jpg").exists() and (tmp_path / "d" / "flower_v2.jpg").exists()
    # variation 2 is darktable's first duplicate of the source: flower_01.dng.xmp beside flower.dng.xmp
    assert sorted(p.name for p in (tmp_path / "d").glob("*.xmp")) == ["flower.dng.xmp", "flower_01.dng.xmp"]
    assert (tmp_path / "d" / "flower.dng.xmp").read_bytes() != (tmp_path / "d" / "flower_01.dng.xmp").read_bytes()
