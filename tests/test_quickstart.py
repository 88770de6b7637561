"""The README's Quick start (`exposure-batch process samples/ -o out/ --save-recipe --overwrite`) gives outputs with
sane content: one JPEG and one recipe per sample, the photo's size and orientation, an edit that is neither black,
white nor the untouched input, and a JPEG that is the saved recipe applied to the decoded source (so the recipe
really describes the output). The expectation applies each step's exact NumPy op (FilterSpec.apply) one after the
other and encodes with color.py, not the fused renderer the CLI uses; one underexposed capture added to the samples
makes sure an edit large enough to see is among them."""
from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from exposure_batch import color
from exposure_batch.cli import main
from exposure_batch.io import SUPPORTED_EXTENSIONS, decode
from exposure_batch.recipe import load_recipe
from tests.helpers import SAMPLES_DIR, write_underexposed_jpeg


def reference_srgb8(recipe, rgb_lin: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 sRGB codes 0-255 of `recipe` on linear ProPhoto `rgb_lin`: each step's exact NumPy op in
    turn (filters' own reference implementation), then linear sRGB, clipped, sRGB transfer curve (color.py)."""
    x = np.asarray(rgb_lin, np.float32)
    for step in recipe.steps:
        x = step.spec.apply(x, step.params)
    lin_srgb = np.clip(color.convert_linear(x, color.WORKING_SPACE, color.Space.SRGB), 0.0, 1.0)
    return np.floor(color.srgb_encode(lin_srgb) * 255.0 + 0.5).astype(np.float32)


@pytest.mark.slow
def test_quick_start_outputs_have_sane_content(tmp_path):
    samples = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS)
    assert len(samples) == 7
    inbox = tmp_path / "samples"
    inbox.mkdir()
    for p in samples:
        shutil.copy(p, inbox / p.name)
    dark = write_underexposed_jpeg(inbox / "underexposed.jpg", ev=-1.5)  # the default edit visibly brightens it
    sources = sorted(inbox.iterdir())
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["process", str(inbox), "-o", str(out), "--save-recipe", "--overwrite",
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "done 8" in res.output and "failed 0" in res.output
    for src in sources:
        recipe = load_recipe(out / f"{src.stem}.recipe.json")
        assert recipe.model_id == "auto" and len(recipe.steps) <= 5  # the shipped learned agent
        assert recipe.source["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()

        decoded = decode(src)
        with Image.open(out / f"{src.stem}.jpg") as im:
            assert (im.format, im.mode) == ("JPEG", "RGB")
            got = np.asarray(im).astype(np.float32)
        h, w = decoded.rgb_lin.shape[:2]
        assert got.shape == (h, w, 3), src.name  # full size, orientation applied

        expected = reference_srgb8(recipe, decoded.rgb_lin)
        assert np.abs(got - expected).mean() < 2.5, src.name  # the JPEG is the recipe's render (JPEG error only)

        untouched = 255 * color.srgb_encode(np.clip(color.convert_linear(decoded.rgb_lin, color.WORKING_SPACE,
                                                                         color.Space.SRGB), 0.0, 1.0))
        if src == dark:  # a visible edit: a renderer that dropped the steps would give `untouched` and fail above
            assert np.abs(expected - untouched).mean() > 14.0, np.abs(expected - untouched).mean()  # measured 29
            continue
        # The samples are finished photos: the default edit leaves them close (issue 12's do no harm; measured
        # mean code change at most 16.9, flower.dng) and the flat blue frame exactly as it was (no steps).
        assert np.abs(got - untouched).mean() < 25.0, src.name
        assert bool(recipe.steps) == (src.name != "canon_powershot_g1x2.jpg"), src.name
        assert 0.08 * 255 < got.mean() < 0.9 * 255, src.name  # neither black nor white
        detail, detail_in = got.std(axis=(0, 1)).mean(), untouched.std(axis=(0, 1)).mean()  # spatial, per channel
        assert detail >= 0.5 * detail_in - 1.0, src.name  # the photo's detail kept (not flattened)
