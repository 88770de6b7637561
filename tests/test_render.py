"""Full-resolution renderer: same pixels as the filters' NumPy ops, whatever the banding and threading."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch.recipe import Recipe
from exposure_batch.render import render
from tests.test_recipe import STEPS


def reference(recipe, img):
    out = img.copy()
    for step in recipe.steps:
        out = step.spec.apply(out, step.params)
    return out


@pytest.mark.parametrize("band_pixels, threads", [(1 << 16, None), (97, 1), (1000, 2)])
def test_render_equals_filter_ops(band_pixels, threads):
    img = np.random.default_rng(1).uniform(0, 1.5, (121, 203, 3)).astype(np.float32)
    recipe = Recipe.from_steps(STEPS)
    out = render(recipe, img, band_pixels=band_pixels, threads=threads)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_allclose(out, reference(recipe, img), atol=1e-6)


def test_render_in_place_and_input_untouched():
    img = np.random.default_rng(2).uniform(0, 1, (64, 80, 3)).astype(np.float32)
    keep = img.copy()
    recipe = Recipe.from_steps(STEPS[:3])
    out = render(recipe, img)
    assert np.array_equal(img, keep)
    same = render(recipe, img, out=img)
    assert same is img and np.array_equal(img, out)


def test_empty_recipe_is_identity():
    img = np.random.default_rng(3).uniform(0, 2, (10, 10, 3)).astype(np.float32)
    assert np.array_equal(render(Recipe(()), img), img)
