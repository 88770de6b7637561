"""The step strip: per-step images, layout, captions' curve plots, atomic save."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from exposure_batch.render import render
from exposure_batch.report import plots
from exposure_batch.report.strip import GAP, MARGIN, render_strip, save_image, step_images


def test_step_images_end_in_the_full_render(recipe, photo_lin):
    images = step_images(recipe.steps, photo_lin)
    assert len(images) == len(recipe) + 1
    assert all(im.shape == photo_lin.shape and im.dtype == np.float32 for im in images)
    np.testing.assert_array_equal(images[0], photo_lin)
    np.testing.assert_allclose(images[-1], render(recipe, photo_lin), atol=1e-6)
    assert images[2].mean() > images[1].mean() * 1.5  # step 2 is +0.8 EV


def test_strip_layout_and_panels(recipe, photo_lin):
    panel = 200
    strip = render_strip(recipe, photo_lin, panel=panel, columns=4, title="casio · test")
    n = len(recipe) + 2  # input, 5 steps, output -> 7 panels = 2 rows of 4
    assert strip.mode == "RGB"
    assert strip.width == 2 * MARGIN + 4 * panel + 3 * GAP
    h, w = photo_lin.shape[:2]
    img_h = panel if h >= w else round(panel * h / w)
    px = np.asarray(strip).astype(int)
    cy = MARGIN + 30 + img_h // 2

    def centre(k):  # a 40x40 patch at the centre of panel k's image
        cx = MARGIN + k * (panel + GAP) + panel // 2
        return px[cy - 20: cy + 20, cx - 20: cx + 20]

    first, expo = centre(0), centre(2)
    assert expo.mean() > first.mean() + 20  # the exposure panel is brighter than the input panel
    assert n == 7 and strip.height > 2 * img_h


def test_strip_of_empty_recipe_has_input_and_output(photo_lin):
    strip = render_strip((), photo_lin, panel=160)
    assert strip.width == 2 * MARGIN + 2 * 160 + GAP


def test_save_image_atomic_and_checks_extension(tmp_path, recipe, photo_lin):
    im = render_strip(recipe, photo_lin, panel=120)
    out = save_image(im, tmp_path / "s.jpg")
    with Image.open(out) as back:
        assert back.format == "JPEG" and back.size == im.size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jpg"]  # no temp files left
    with pytest.raises(ValueError, match="unsupported image extension"):
        save_image(im, tmp_path / "s.gif")


def test_curve_panel_drawn_for_curve_steps(recipe, photo_lin):
    """Every step panel carries its grey-ramp plot: the colour-curves plot shows separate channels (red line)."""
    strip = np.asarray(render_strip(recipe, photo_lin, panel=200, columns=7)).astype(int)
    red = np.abs(strip - np.array(plots.CHANNELS[0])).sum(axis=2) < 30
    below = red[MARGIN + 30 + 200 + 6:]  # below the images (portrait: 200 px high): captions and plots
    cols = np.nonzero(below.any(axis=0))[0]
    x_wb = MARGIN + 1 * (200 + GAP)  # panel 1 = white balance (per-channel gains)
    x_cc = MARGIN + 5 * (200 + GAP)  # panel 5 = colour curves
    assert ((cols >= x_wb) & (cols < x_wb + 200)).any() and ((cols >= x_cc) & (cols < x_cc + 200)).any()
    x_ex = MARGIN + 2 * (200 + GAP)  # exposure is neutral: no red line
    assert not ((cols >= x_ex) & (cols < x_ex + 200)).any()
