"""Filter version migrations: a recipe written for an older version of a filter still loads and renders the same.

No shipped filter has a second version yet (bumping one would also retire the shipped model, which records the
versions it was trained for), so these tests declare a hypothetical exposure v3 the way a real bump would: a new
parameter layout plus one migration per older version (v1 `ev` -> v2 `stops` -> v3 linear `gain`), put it in the
registry and load the stored v1 recipe (tests/data/recipes/v1/) through the real path (load_recipe -> Step ->
FilterSpec.migrate -> validate -> render).
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from exposure_batch import filters
from exposure_batch.errors import RecipeError
from exposure_batch.filters import exposure
from exposure_batch.filters.base import Param
from exposure_batch.recipe import Recipe, load_recipe
from exposure_batch.render import render

V1_RECIPE = "tests/data/recipes/v1/look.recipe.json"


def _v1_to_v2(params):
    return {"stops": params["ev"]}


def _v2_to_v3(params):
    return {"gain": 2.0 ** params["stops"]}


EXPOSURE_V3 = dataclasses.replace(
    exposure.SPEC,
    version=3,
    params=(Param("gain", 2.0 ** -3.5, 2.0 ** 3.5, 1.0, "x", "linear gain"),),
    prepare=lambda values: np.float32(values["gain"]),
    describe=lambda values: f"Exposure x{values['gain']:.2f}",
    fused=None,  # the compiled dispatcher holds the registry's v1 kernel: render this one through NumPy
    migrations={1: _v1_to_v2, 2: _v2_to_v3},
)


@pytest.fixture
def exposure_v3(monkeypatch):
    monkeypatch.setitem(filters._BY_NAME, "exposure", EXPOSURE_V3)  # noqa: SLF001
    return EXPOSURE_V3


def test_migrate_chains_every_version_step():
    assert EXPOSURE_V3.migrate(1, {"ev": 1.0}) == {"gain": 2.0}
    assert EXPOSURE_V3.migrate(2, {"stops": -2.0}) == {"gain": 0.25}
    assert EXPOSURE_V3.migrate(3, {"gain": 1.5}) == {"gain": 1.5}


def test_stored_v1_recipe_migrates_and_renders_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    img = rng.uniform(0.0, 1.2, (24, 32, 3)).astype(np.float32)
    text = open(V1_RECIPE, encoding="utf-8").read()
    assert json.loads(text)["steps"][1] == {"filter": "exposure", "version": 1, "params": {"ev": 0.62}}
    original = Recipe.from_json(text)  # the shipped exposure v1
    assert original.steps[1].params == {"ev": 0.62}
    expected = render(original, img)

    monkeypatch.setitem(filters._BY_NAME, "exposure", EXPOSURE_V3)  # noqa: SLF001
    migrated = load_recipe(V1_RECIPE)
    step = migrated.steps[1]
    assert (step.filter, step.version) == ("exposure", 3)
    assert step.params == {"gain": pytest.approx(2.0 ** 0.62, abs=1e-6)}  # 1.536875...
    assert migrated.to_dict()["steps"][1]["version"] == 3
    assert [s.filter for s in migrated.steps] == [s.filter for s in original.steps]
    np.testing.assert_allclose(render(migrated, img), expected, rtol=2e-5, atol=2e-6)


def test_missing_migration_is_a_one_line_recipe_error(exposure_v3, monkeypatch):
    monkeypatch.setitem(filters._BY_NAME, "exposure",  # noqa: SLF001
                        dataclasses.replace(EXPOSURE_V3, migrations={2: _v2_to_v3}))
    with pytest.raises(RecipeError, match=r"step 1: step 'exposure' version 1 cannot be migrated to 2"):
        Recipe.from_dict({"schema_version": 1, "steps": [{"filter": "white_balance", "version": 1, "params":
                          {"red": 1, "green": 1, "blue": 1}}, {"filter": "exposure", "version": 1,
                                                               "params": {"ev": 0.5}}]})


def test_newer_version_than_installed_is_refused():
    with pytest.raises(RecipeError, match="newer than this exposure-batch's"):
        Recipe.from_dict({"schema_version": 1, "steps": [{"filter": "gamma", "version": 2,
                                                          "params": {"gamma": 1.0}}]})


def test_every_shipped_filter_declares_a_migration_per_older_version():
    for spec in filters.REGISTRY:
        assert sorted(spec.migrations) == list(range(1, spec.version)), spec.name
