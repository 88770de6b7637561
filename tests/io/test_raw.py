"""rawpy / LibRaw on DNGs built from real photo data: values, colour matrix, orientation, half size, sample DNG."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.io import decode, read_info
from exposure_batch.io.dng import CAMERAS
from tests.helpers import blocks_mean, make_dng, sample_path


def _exposure_normalised(got: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k = np.median(got[mask].sum(-1) / ref[mask].sum(-1))
    return got / k


def test_dng_from_photo_matches_source(tmp_path, photo_lin):
    res = make_dng(tmp_path / "photo.dng", photo_lin, space="prophoto")
    d = decode(res.path)
    assert d.rgb_lin.dtype == np.float32 and d.rgb_lin.shape == photo_lin.shape
    assert d.info.format == "raw:DNG" and d.info.source_space == "camera" and d.info.bit_depth == 14
    got, ref = blocks_mean(d.rgb_lin), blocks_mean(photo_lin)
    mask = ref.max(-1) < 0.8  # leave out clipped highlights
    err = np.abs(_exposure_normalised(got, ref, mask)[mask] - ref[mask])
    assert np.percentile(err, 95) < 0.01, err.max()
    assert err.mean() < 0.004


def _patch_chart(colours_lin: np.ndarray, patch: int = 24) -> np.ndarray:
    n = len(colours_lin)
    rows = int(np.ceil(n / 6))
    chart = np.full((rows * patch, 6 * patch, 3), 0.18, dtype=np.float32)
    for i, c in enumerate(colours_lin):
        r, q = divmod(i, 6)
        chart[r * patch:(r + 1) * patch, q * patch:(q + 1) * patch] = c
    return chart


def _patch_means(img: np.ndarray, n: int, patch: int = 24) -> np.ndarray:
    out = []
    for i in range(n):
        r, q = divmod(i, 6)
        out.append(img[r * patch + 6:(r + 1) * patch - 6, q * patch + 6:(q + 1) * patch - 6].mean((0, 1)))
    return np.array(out)


@pytest.mark.parametrize("camera", sorted(CAMERAS))
def test_colour_matrix_is_really_applied(tmp_path, photo_lin, camera):
    # Flat patches of colours taken from the real photo (plus saturated primaries): no demosaic error at centres.
    rng = np.random.default_rng(1)
    picks = photo_lin.reshape(-1, 3)[rng.choice(photo_lin.shape[0] * photo_lin.shape[1], 18, replace=False)]
    prim = color.convert_linear(np.array([[0.6, 0.1, 0.1], [0.1, 0.5, 0.1], [0.1, 0.1, 0.6],
                                          [0.5, 0.5, 0.1], [0.1, 0.4, 0.5], [0.5, 0.1, 0.5]], np.float32),
                                Space.SRGB, Space.PROPHOTO)
    colours = np.concatenate([picks, prim]).astype(np.float32)
    res = make_dng(tmp_path / "chart.dng", _patch_chart(colours), space="prophoto", camera=camera)
    got = _patch_means(decode(res.path).rgb_lin, len(colours))
    k = np.median(got.sum(-1) / colours.sum(-1))
    err = np.abs(got / k - colours)
    assert err.max() < 0.01, err.max()
    # Control: camera RGB (white balanced) taken as ProPhoto, i.e. no matrix, is far off; so the test can tell.
    xyz_to_cam = res.xyz_to_cam
    from exposure_batch.io.dng import _rgb_to_xyz_d65  # noqa: PLC0415

    cam = colours @ (xyz_to_cam @ _rgb_to_xyz_d65(Space.PROPHOTO)).T / res.as_shot_neutral
    k2 = np.median(cam.sum(-1) / colours.sum(-1))
    assert np.abs(cam / k2 - colours).max() > 0.05


@pytest.mark.parametrize("orientation,rot", [(3, 2), (6, -1), (8, 1)])
def test_orientation_applied_by_libraw(tmp_path, photo_lin, orientation, rot):
    upright = decode(make_dng(tmp_path / "o1.dng", photo_lin, space="prophoto").path)
    d = decode(make_dng(tmp_path / f"o{orientation}.dng", photo_lin, space="prophoto", orientation=orientation).path)
    expected = np.rot90(upright.rgb_lin, rot)
    assert d.rgb_lin.shape == expected.shape
    assert (d.info.width, d.info.height) == (expected.shape[1], expected.shape[0])
    assert np.abs(d.rgb_lin - expected).max() < 1e-6
    info = read_info(d.info.path)
    assert (info.width, info.height) == (d.info.width, d.info.height)
    assert info.exif["orientation"] == orientation


def test_half_size_preview(tmp_path, photo_lin):
    path = make_dng(tmp_path / "h.dng", photo_lin, space="prophoto").path
    full, half = decode(path), decode(path, half_size=True)
    assert half.rgb_lin.shape == (photo_lin.shape[0] // 2, photo_lin.shape[1] // 2, 3)
    assert (half.info.width, half.info.height) == (full.info.width, full.info.height)
    # LibRaw's half size takes each RGGB quad as one pixel (no demosaic): same picture, edges differ slightly.
    err = np.abs(blocks_mean(half.rgb_lin, 8) - blocks_mean(full.rgb_lin, 16))
    assert err.mean() < 0.006 and np.percentile(err, 99) < 0.05
    np.testing.assert_allclose(half.rgb_lin.mean((0, 1)), full.rgb_lin.mean((0, 1)), rtol=0.05)


def test_ljpeg_dng_decodes_identically(tmp_path, photo_lin):
    a = decode(make_dng(tmp_path / "a.dng", photo_lin, noise=True, space="prophoto").path).rgb_lin
    b = decode(make_dng(tmp_path / "b.dng", photo_lin, noise=True, space="prophoto", compression="ljpeg").path).rgb_lin
    assert np.array_equal(a, b)


def test_noise_is_seeded_and_realistic(tmp_path, photo_lin):
    a = make_dng(tmp_path / "a.dng", photo_lin, noise=True, seed=3)
    b = make_dng(tmp_path / "b.dng", photo_lin, noise=True, seed=3)
    assert open(a.path, "rb").read() == open(b.path, "rb").read()
    clean = decode(make_dng(tmp_path / "c.dng", photo_lin).path).rgb_lin
    noisy = decode(a.path).rgb_lin
    diff = noisy - clean
    assert 0.001 < diff.std() < 0.05


def test_sample_dng():
    path = sample_path("flower.dng")
    d = decode(path)
    assert d.rgb_lin.shape == (1024, 1536, 3) and d.rgb_lin.dtype == np.float32
    assert 0.0 <= d.rgb_lin.min() and d.rgb_lin.max() <= 1.0
    assert 0.05 < float(d.rgb_lin.mean()) < 0.8
    info = read_info(path)
    assert info == d.info
    assert info.format == "raw:DNG" and (info.width, info.height) == (1536, 1024) and info.bit_depth == 14
    assert info.exif["camera_make"] == "Canon" and info.exif["camera_model"] == "Canon EOS 5D Mark II"
    assert info.exif["iso"] == 200 and info.exif["exposure_time"] == "1/250"


def test_raw_pixels_are_libraws_codes_and_values_are_code_over_65535():
    """A RAW is kept as LibRaw's 16-bit linear codes (half the memory of float32); rgb_lin is float32(code) times
    float32(1 / 65535), made once on first use."""
    import rawpy

    from exposure_batch.io.raw import decode_raw_codes

    path = sample_path("flower.dng")
    d = decode(path)
    assert d.pixels.dtype == np.uint16 and d.pixels.shape == (1024, 1536, 3)
    with rawpy.imread(str(path)) as raw:
        direct = raw.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, use_camera_wb=True,
                                 output_color=rawpy.ColorSpace.ProPhoto, user_flip=None)
    np.testing.assert_array_equal(d.pixels, direct)
    np.testing.assert_array_equal(decode_raw_codes(str(path))[0], direct)
    assert d.rgb_lin is d.rgb_lin  # computed once
    np.testing.assert_array_equal(d.rgb_lin, direct.astype(np.float32) * np.float32(1 / 65535))
