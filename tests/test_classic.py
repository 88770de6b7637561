"""The classic automatic edit: it must actually correct exposure and colour casts (it is the learned agent's bar)."""
from __future__ import annotations

import numpy as np

from exposure_batch import color
from exposure_batch.recipe import drop_noop_steps
from exposure_batch.agent.classic import classic_recipe
from exposure_batch.render import render


def natural_like_image(seed=0, size=96):
    """A smooth, textured, colourful linear image with a mid-grey key (no photo needed for the unit test)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.5 + 0.4 * np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in (0.0, 2.0, 4.0)], -1)
    noise = rng.uniform(0.7, 1.3, (size, size, 1))
    return (0.25 * base * noise).astype(np.float32)


def test_fixes_underexposure():
    img = natural_like_image()
    dark = img * 2.0 ** -2.5
    recipe = classic_recipe(dark)
    ev = next(s for s in recipe.steps if s.filter == "exposure").params["ev"]
    assert ev > 1.5
    out = render(recipe, dark)
    assert abs(np.log2(color.luminance(out).mean() / color.luminance(img).mean())) < 1.0


def test_removes_colour_cast():
    img = natural_like_image(1)
    cast = img * np.array([1.4, 1.0, 0.6], np.float32)
    out = render(classic_recipe(cast), cast)
    means = out.reshape(-1, 3).mean(0)
    before = cast.reshape(-1, 3).mean(0)
    assert np.ptp(means) / means.mean() < 0.5 * np.ptp(before) / before.mean()


def test_recipe_is_valid_and_deterministic():
    img = natural_like_image(2)
    a, b = classic_recipe(img), classic_recipe(img)
    order = ["white_balance", "exposure", "tone_curve", "contrast", "saturation"]
    names = [s.filter for s in a.steps]
    assert a == b and names == [n for n in order if n in names] and {"white_balance", "exposure"} <= set(names)
    assert drop_noop_steps(a.steps, img) == a.steps  # no step that does nothing is written
