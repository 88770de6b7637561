"""The default edit (issue 12): no steps that do nothing, greys not tinted by white balance, useful variations, and
the shipped model's behaviour on well-edited photos and saturated colours (bounds from the measured figures)."""
from __future__ import annotations

import fnmatch
import importlib.util
import os
import re

import numpy as np
import pytest

from exposure_batch import color
from exposure_batch.agent.data import display_np
from exposure_batch.agent.evaluate import (HUE_PATCHES, ciede2000, evaluate_hue, exposure_error_ev,
                                           luminance_key)
from exposure_batch.agent.policy import NEUTRAL_TOLERANCE, guard_white_balance, load_policy
from exposure_batch.io import decode
from exposure_batch.render.preview import make_preview, thumbnail
from exposure_batch.recipe import Recipe, Step, drop_noop_steps
from exposure_batch.render import render

from ..helpers import SAMPLES_DIR

REPO = SAMPLES_DIR.parent

PHOTOS = sorted(n for n in os.listdir(SAMPLES_DIR) if not n.endswith(".md"))


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def samples():
    """name -> (full-frame linear image at 256 px, 64x64 preview)."""
    out = {}
    for name in PHOTOS:
        img = decode(SAMPLES_DIR / name).rgb_lin
        out[name] = (thumbnail(img, 256), make_preview(img))
    return out


def test_noop_steps_are_dropped_and_real_ones_kept():
    grey_ramp = np.linspace(0.0, 1.0, 300, dtype=np.float32)[:, None].repeat(3, axis=1)
    steps = [Step("exposure", {"ev": 0.0004}), Step("saturation", {"amount": 0.0}), Step("gamma", {"gamma": 1.0}),
             Step("exposure", {"ev": 0.1}), Step("white_balance", {"red": 1.0, "green": 1.0, "blue": 1.0}),
             Step("contrast", {"amount": 0.2})]
    kept = drop_noop_steps(steps, grey_ramp)
    assert [s.filter for s in kept] == ["exposure", "contrast"] and kept[0].params["ev"] == 0.1
    # 0.002 EV moves a display code by at most 255 * (2^0.002 - 1) * slope < 0.25 near white: dropped
    assert drop_noop_steps([Step("exposure", {"ev": 0.002})]) == ()
    assert len(drop_noop_steps([Step("exposure", {"ev": 0.01})])) == 1  # about 1 code near white: kept


def test_white_balance_guard_keeps_neutral_scenes_neutral():
    rng = np.random.default_rng(0)
    lum = rng.uniform(0.05, 0.6, (32, 32, 1)).astype(np.float32)
    neutral = np.repeat(lum, 3, axis=2)
    warm = Step("white_balance", {"red": 1.2, "green": 0.98, "blue": 0.7})
    guarded = guard_white_balance(warm, neutral)
    gains = np.array([guarded.params[c] for c in ("red", "green", "blue")])
    log_move = np.log(gains) - np.log(gains).mean()
    assert np.linalg.norm(log_move) == pytest.approx(NEUTRAL_TOLERANCE, abs=2e-3)  # scaled back to the tolerance
    assert float(gains @ color.LUMA_WEIGHTS) == pytest.approx(1.0, abs=1e-4)
    # a frame of one colour is no evidence of a cast: the white balance may hardly move it
    flat_blue = np.broadcast_to(np.array([0.14, 0.03, 0.86], np.float32), (32, 32, 3))
    neutralise = Step("white_balance", {"red": 1.6, "green": 1.2, "blue": 0.5})
    gains = np.array([guard_white_balance(neutralise, flat_blue).params[c] for c in ("red", "green", "blue")])
    assert np.linalg.norm(np.log(gains) - np.log(gains).mean()) == pytest.approx(NEUTRAL_TOLERANCE, abs=2e-3)
    # a cast image: a white balance that removes the cast is kept as it is
    scene = neutral * np.exp(rng.normal(0.0, 0.25, (32, 32, 3))).astype(np.float32)  # colours of a real scene
    cast = scene * np.array([1.3, 1.0, 0.75], np.float32)
    fix = Step("white_balance", {"red": 0.8, "green": 1.03, "blue": 1.3})
    assert guard_white_balance(fix, cast) == fix


def test_shipped_model_writes_no_noop_steps(policy, samples):
    recipes = policy.decide([p for _, p in samples.values()])
    for (name, (_, preview)), recipe in zip(samples.items(), recipes):
        assert drop_noop_steps(recipe.steps, preview) == recipe.steps, name
        for step in recipe.steps:
            assert dict(step.params) != step.spec.identity(), (name, step)


def training_patterns() -> list[str]:
    """Where tools/prepare_training_data.py takes its training photos from: glob patterns inside a package."""
    spec = importlib.util.spec_from_file_location("prepare_training_data", REPO / "tools" / "prepare_training_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [pattern for pattern, _ in (*module.DEB_SOURCES.values(), *module.PIP_SOURCES.values())]


def sample_origins() -> dict[str, str]:
    """Sample file -> the path it was made from (the first `path` of samples/LICENSES.md's "made from" column)."""
    out = {}
    for line in (SAMPLES_DIR / "LICENSES.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 4:
            out[cells[1].strip().strip("`")] = re.search(r"`([^`]+)`", cells[3]).group(1)
    return out


def from_training_photo(origin: str, patterns: list[str]) -> bool:
    """Whether a package path matches a training pattern ('usr/share/**/jxl/x.png' also matches 'jxl/x.png': a tail
    after '**/' that still names a folder)."""
    tails = [p.split("**/")[-1] for p in patterns if "/" in p.split("**/")[-1]]
    return any(fnmatch.fnmatch(origin, p) for p in [*patterns, *tails])


def test_training_photo_finder_sees_the_skimage_and_libjxl_samples():
    origins, patterns = sample_origins(), training_patterns()
    assert set(origins) == set(PHOTOS)
    seen = {name for name, origin in origins.items() if from_training_photo(origin, patterns)}
    assert {"chelsea_adobergb_16bit.tif", "flower.dng"} <= seen
    assert "casio_qv_r51.jpg" not in seen and "nikon_d300_rec2020_linear_16bit.png" not in seen


def test_shipped_model_leaves_well_edited_samples_close(policy, samples):
    """The sample photos are finished photos: the default edit must barely move them. Issue 12's targets (a mean
    CIEDE2000 <= 3 and none above 8) are asserted on the samples NOT made from a training photo only (the training
    sources are read from tools/prepare_training_data.py, each sample's origin from samples/LICENSES.md); the samples
    made from training photos get a regression bound, 2x what was measured on each; the exposure is kept on all
    (mean change within 0.2 EV, measured 0.115)."""
    recipes = policy.decide([p for _, p in samples.values()])
    origins, patterns = sample_origins(), training_patterns()
    des, evs = {}, {}
    for (name, (image, _)), recipe in zip(samples.items(), recipes):
        edited = render(recipe, image)
        des[name] = ciede2000(display_np(edited), display_np(image))
        evs[name] = exposure_error_ev(edited, image)
    unseen = {n: d for n, d in des.items() if not from_training_photo(origins[n], patterns)}
    assert len(unseen) >= 3, sorted(des)
    assert np.mean(list(unseen.values())) <= MAX_MEAN_DE, unseen
    assert max(unseen.values()) <= MAX_PHOTO_DE, unseen
    for name, de in des.items():
        if name not in unseen:
            assert de <= 2 * TRAINING_SAMPLE_DE[name], (name, de)
    assert np.mean(list(evs.values())) <= MAX_MEAN_EV, evs


#: Issue 12's targets. Measured with the shipped model 20261130.3 at 256 px: mean 2.54, worst 7.38 (flower.dng;
#: coffee_p3_16bit.png 6.06: a warm photo cooled by two white-balance steps), mean EV change 0.115.
MAX_MEAN_DE = 3.0
MAX_PHOTO_DE = 8.0
MAX_MEAN_EV = 0.2
#: CIEDE2000 of the default edit on the samples made from training photos (20261130.3, 256 px): a regression check,
#: not a claim about unseen photos.
#: The unseen samples measured 0.0 (canon, no steps), 0.11 (casio), 0.56 (nikon).
TRAINING_SAMPLE_DE = {"astronaut_orientation6.jpg": 0.54, "chelsea_adobergb_16bit.tif": 3.10,
                      "coffee_p3_16bit.png": 6.06, "flower.dng": 7.42}
