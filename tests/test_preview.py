"""Agent inputs: the compiled BOX resize gives exactly Pillow's values; previews and thumbnails have the right shape."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch.render import kernels, preview
from exposure_batch.io import decode
from tests.helpers import SAMPLES_DIR as SAMPLES


@pytest.mark.parametrize("shape,size", [((333, 517), (64, 64)), ((2000, 3001), (256, 171)), ((37, 1000), (256, 5)),
                                        ((50, 40), (64, 64)), ((64, 64), (64, 64)), ((7, 9), (4, 3))])
def test_compiled_box_resize_equals_pillow(shape, size):
    if not kernels.enabled():
        pytest.skip("numba unavailable")
    rng = np.random.default_rng(sum(shape))
    img = (rng.random((*shape, 3)) ** 3 * 4).astype(np.float32)
    got = preview._resize_area(img, *size)
    assert got.shape == (size[1], size[0], 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got, preview._resize_area_pillow(img, *size))


def test_preview_of_a_real_photo_matches_pillow_and_strided_views_work():
    rgb = decode(str(SAMPLES / "flower.dng")).rgb_lin
    square = preview.center_square(rgb)  # a non-contiguous view
    np.testing.assert_array_equal(preview.make_preview(rgb), preview._resize_area_pillow(np.ascontiguousarray(square), 64, 64))
    thumb = preview.thumbnail(rgb, 256)
    assert max(thumb.shape[:2]) == 256
    np.testing.assert_allclose(thumb.reshape(-1, 3).mean(0), rgb.reshape(-1, 3).mean(0), rtol=2e-3)


def test_without_numba_pillow_is_used(monkeypatch):
    monkeypatch.setenv(kernels.ENV_DISABLE, "1")
    img = np.random.default_rng(1).random((90, 120, 3)).astype(np.float32)
    np.testing.assert_array_equal(preview._resize_area(img, 40, 30), preview._resize_area_pillow(img, 40, 30))


def test_raw_codes_give_the_same_preview_and_thumbnail_as_their_values():
    """A RAW decodes to LibRaw's uint16 codes; the preview and thumbnail made straight from them equal those made
    from the float32 values (so the agent decides the same edit either way)."""
    decoded = decode(str(SAMPLES / "flower.dng"))
    assert decoded.pixels.dtype == np.uint16
    values = decoded.rgb_lin
    assert values.dtype == np.float32 and values.shape == decoded.pixels.shape
    np.testing.assert_array_equal(preview.make_preview(decoded.pixels), preview.make_preview(values))
    np.testing.assert_array_equal(preview.thumbnail(decoded.pixels, 200), preview.thumbnail(values, 200))
    small = decoded.pixels[:50, :70]
    np.testing.assert_array_equal(preview.thumbnail(small, 256), preview.thumbnail(values[:50, :70], 256))
