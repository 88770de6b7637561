"""Recipe: JSON round trip, validation with one-line errors, same pixels from memory and from JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from exposure_batch.errors import RecipeError
from exposure_batch.recipe import SCHEMA_VERSION, Recipe, Step, load_recipe
from exposure_batch.render import render

STEPS = [
    ("white_balance", {"red": 1.08, "green": 0.98, "blue": 0.93}),
    ("exposure", {"ev": 0.62}),
    ("tone_curve", {"slopes": [1.6, 1.3, 1.1, 1.0, 0.9, 0.8, 0.8, 0.7]}),
    ("contrast", {"amount": 0.3}),
    ("saturation", {"amount": 0.4}),
    ("gamma", {"gamma": 0.9}),
    ("black_and_white", {"amount": 0.2}),
    ("color_curves", {"red": [1.05] * 8, "green": [1.0] * 8, "blue": [0.95, 1.0] * 4}),
]


def make_recipe():
    source = {"name": "IMG 1 & <2>.dng", "sha256": "ab" * 32, "file_size": 123, "exif": {"camera_model": "X"}}
    return Recipe.from_steps(STEPS, model_id="test", model_version="7", source=source)


def test_json_round_trip_is_lossless(tmp_path):
    recipe = make_recipe()
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe
    path = recipe.save(tmp_path / "look.recipe.json")
    loaded = load_recipe(path)
    assert loaded.to_dict() == recipe.to_dict()
    data = json.loads(open(path).read())
    assert data["schema_version"] == SCHEMA_VERSION and data["working_space"] == "linear ProPhoto RGB"
    assert data["model"] == {"id": "test", "version": "7"} and data["steps"][1] == {
        "filter": "exposure", "version": 1, "params": {"ev": 0.62}}


def test_same_pixels_from_memory_and_from_json(tmp_path):
    img = np.random.default_rng(0).uniform(0, 1.2, (37, 53, 3)).astype(np.float32)
    recipe = make_recipe()
    loaded = load_recipe(recipe.save(tmp_path / "r.json"))
    assert np.array_equal(render(recipe, img), render(loaded, img))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["steps"][1]["params"].update(ev=9.0), r"step 1: exposure\.ev = 9 is outside its range \[-3\.5, 3\.5\]"),
        (lambda d: d["steps"][0].update(filter="vignette"), r"step 0: unknown filter 'vignette'"),
        (lambda d: d["steps"][2]["params"].update(slopes=[1, 2]), r"step 2: tone_curve\.slopes: expected a list of 8"),
        (lambda d: d.update(schema_version=99), r"newer than supported"),
        (lambda d: d.update(steps="x"), r"'steps' must be a list"),
        (lambda d: d["steps"][1].update(version=5), r"newer than this exposure-batch"),
        (lambda d: d.update(working_space="linear sRGB"), r"working space 'linear sRGB' is not supported"),
    ],
)
def test_validation_errors_are_one_line(tmp_path, mutate, message):
    data = make_recipe().to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_not_json_and_missing_file(tmp_path):
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(RecipeError, match="not valid JSON"):
        load_recipe(tmp_path / "x.json")
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "missing.json")


def test_step_from_vector_and_descriptions():
    step = Step.from_vector("white_balance", [1.1, 1.0, 0.9])
    assert step.params == {"red": pytest.approx(1.1), "green": 1.0, "blue": pytest.approx(0.9)}
    assert make_recipe().describe()[1] == "Exposure +0.62 EV"


def test_v1_fixture_loads_forever():
    recipe = load_recipe("tests/data/recipes/v1/look.recipe.json")
    assert [s.filter for s in recipe.steps][:2] == ["white_balance", "exposure"]
