"""Recipes used by the sidecar tests: one per filter (moderately strong settings) plus a mixed look."""
from __future__ import annotations

from exposure_batch.recipe import Recipe, load_recipe
from tests.helpers import REPO

PER_FILTER = {
    "exposure": [("exposure", {"ev": 0.7})],
    "gamma": [("gamma", {"gamma": 0.7})],
    "white_balance": [("white_balance", {"red": 1.2, "green": 0.95, "blue": 0.8})],
    "saturation": [("saturation", {"amount": 0.6})],
    "tone_curve": [("tone_curve", {"slopes": [1.6, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6]})],
    "contrast": [("contrast", {"amount": 0.5})],
    "black_and_white": [("black_and_white", {"amount": 0.7})],
    "color_curves": [("color_curves", {"red": [1.1] * 4 + [0.9] * 4, "green": [1.0] * 8, "blue": [0.9] * 4 + [1.1] * 4})],
    "matte": [("matte", {"black": 0.08, "white": 0.92})],
}


def param(name: str, *rest):
    """pytest.param for a PER_FILTER case name, with a readable id."""
    import pytest

    return pytest.param(name, *rest, id="-".join(str(v) for v in (name, *rest)))


def recipe(name: str) -> Recipe:
    """'look' = tests/data/recipes/v1/look.recipe.json (all eight filters), else a PER_FILTER recipe."""
    if name == "look":
        return load_recipe(REPO / "tests" / "data" / "recipes" / "v1" / "look.recipe.json")
    return Recipe.from_steps(PER_FILTER[name])


#: Sample photos rendered as sRGB test inputs (the DNG included, through our raw decode).
SAMPLES = ("astronaut_orientation6.jpg", "canon_powershot_g1x2.jpg", "casio_qv_r51.jpg", "chelsea_adobergb_16bit.tif",
           "coffee_p3_16bit.png", "flower.dng", "nikon_d300_rec2020_linear_16bit.png")


def classic_recipe(sample: str) -> Recipe:
    """What `process --agent classic` decides for a sample photo."""
    from exposure_batch.pipeline.stages import decide_stage, decode_stage
    from exposure_batch.sources import make_source
    from tests.helpers import sample_path

    source = make_source("classic")
    decoded = decode_stage(str(sample_path(sample)))
    return decide_stage(source, [decoded])[0]


def sample_small_srgb(sample: str, width: int = 192) -> "np.ndarray":
    """A sample photo as sRGB-encoded float32 (H, W, 3), resized to `width` pixels (aspect kept)."""
    import numpy as np

    from tests.helpers import sample_srgb8

    full = sample_srgb8(sample)
    h, w = full.shape[:2]
    small = sample_srgb8(sample, size=(width, max(8, round(h * width / w))))
    return small.astype(np.float32) / np.float32(255.0)
