"""JPEG / PNG / TIFF decoding: round trips at every bit depth, ICC-managed spaces, orientation, gray/alpha."""
from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.io import decode, icc, read_info, write_image
from tests.helpers import blocks_mean, encode_png16, make_jpeg, sample_path


def _srgb_to_working(srgb: np.ndarray) -> np.ndarray:
    return color.convert_linear(color.srgb_decode(srgb), Space.SRGB, color.WORKING_SPACE)


# ---------------------------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("ext,fmt,tol", [(".jpg", "jpeg", None), (".png", "png", 2e-4), (".tif", "tiff", 2e-4)])
def test_round_trip_through_our_writer(tmp_path, photo_lin, ext, fmt, tol):
    path = write_image(photo_lin, tmp_path / f"out{ext}")
    d = decode(path)
    assert d.info.format == fmt and d.rgb_lin.shape == photo_lin.shape and d.rgb_lin.dtype == np.float32
    assert d.info.source_space == "sRGB" and d.info.icc_description == "sRGB"
    # photo_lin came from sRGB pixels, so it is inside the sRGB gamut: only quantisation / JPEG loss remains
    if tol is None:
        err = np.abs(blocks_mean(d.rgb_lin, 4) - blocks_mean(photo_lin, 4))
        assert err.mean() < 0.003 and err.max() < 0.03
        assert d.info.bit_depth == 8
    else:
        assert np.abs(d.rgb_lin - photo_lin).max() < tol
        assert d.info.bit_depth == 16


def test_8bit_png_and_tiff_without_icc_are_srgb(tmp_path, photo_srgb8):
    Image.fromarray(photo_srgb8).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", photo_srgb8, photometric="rgb")
    expected = _srgb_to_working(photo_srgb8 / np.float32(255))
    for name in ("a.png", "a.tif"):
        d = decode(tmp_path / name)
        assert d.info.bit_depth == 8 and d.info.source_space == "sRGB" and d.info.icc_description is None
        assert np.abs(d.rgb_lin - expected).max() < 1e-6


def test_16bit_precision_is_kept(tmp_path):
    # A smooth 16-bit ramp: 8-bit decoding would lose the in-between levels.
    ramp = np.linspace(0, 65535, 4096, dtype=np.float64).round().astype(np.uint16)
    rgb16 = np.stack([ramp, ramp[::-1], np.full_like(ramp, 30000)], -1).reshape(64, 64, 3)
    (tmp_path / "r.png").write_bytes(encode_png16(rgb16))
    tifffile.imwrite(tmp_path / "r.tif", rgb16, photometric="rgb", compression="zlib")
    expected = _srgb_to_working(rgb16 / np.float32(65535))
    for name in ("r.png", "r.tif"):
        d = decode(tmp_path / name)
        assert d.info.bit_depth == 16
        assert np.abs(d.rgb_lin - expected).max() < 1e-6
        assert len(np.unique(d.rgb_lin[..., 1])) > 4000


def test_float_tiff_is_taken_as_linear(tmp_path, photo_lin):
    hdr_srgb_lin = color.convert_linear(photo_lin, Space.PROPHOTO, Space.SRGB).clip(0) * 3.0  # values above 1
    tifffile.imwrite(tmp_path / "f.tif", hdr_srgb_lin.astype(np.float32), photometric="rgb")
    d = decode(tmp_path / "f.tif")
    assert d.info.bit_depth == 32 and d.info.source_space == "sRGB (linear)"
    np.testing.assert_allclose(d.rgb_lin, color.convert_linear(hdr_srgb_lin, Space.SRGB, Space.PROPHOTO),
                               atol=1e-5)
    assert d.rgb_lin.max() > 1.5
    # with a (linear) ProPhoto profile the values are taken as they are
    tifffile.imwrite(tmp_path / "p.tif", (photo_lin * 2).astype(np.float32), photometric="rgb",
                     iccprofile=icc.profile_bytes(Space.PROPHOTO, linear=True))
    d = decode(tmp_path / "p.tif")
    assert d.info.source_space == "ProPhoto RGB (linear)"
    np.testing.assert_allclose(d.rgb_lin, photo_lin * 2, atol=1e-6)


def test_float_tiff_nan_inf_negative_are_sanitised(tmp_path):
    a = np.full((8, 8, 3), 0.5, np.float32)
    a[0, 0] = np.nan
    a[1, 1] = np.inf
    a[2, 2] = -1
    tifffile.imwrite(tmp_path / "bad.tif", a, photometric="rgb")
    rgb = decode(tmp_path / "bad.tif").rgb_lin
    assert np.all(np.isfinite(rgb)) and rgb.min() >= 0


# ---------------------------------------------------------------------------------------------------- ICC spaces

SPACES = ["srgb", "adobergb", "prophoto", "p3", "rec2020"]


@pytest.mark.parametrize("linear", [False, True])
def test_same_pixels_in_every_space_decode_alike(tmp_path, photo_lin, linear):
    results = {}
    for sp in SPACES:
        for ext in (".tif", ".png"):
            d = decode(write_image(photo_lin, tmp_path / f"{sp}{ext}", space=sp, linear=linear))
            expected_name = color.space_from_name(sp).value + (" (linear)" if linear else "")
            assert d.info.source_space == expected_name
            results[sp + ext] = d.rgb_lin
    for key, rgb in results.items():
        # 16-bit linear sRGB-in-ProPhoto shadows are the coarsest case: 1/65535 steps, well under 1e-3
        assert np.abs(rgb - photo_lin).max() < 5e-4, key


def test_same_pixels_as_8bit_jpeg_in_srgb_p3_adobe(tmp_path, photo_lin):
    ref = blocks_mean(photo_lin, 4)
    for sp in ("srgb", "p3", "adobergb"):
        d = decode(write_image(photo_lin, tmp_path / f"{sp}.jpg", space=sp, quality=98))
        assert d.info.source_space == color.space_from_name(sp).value
        err = np.abs(blocks_mean(d.rgb_lin, 4) - ref)
        assert err.mean() < 0.004, sp


def test_pillow_littlecms_srgb_profile_is_recognised(tmp_path, photo_srgb8):
    prof = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(photo_srgb8).save(tmp_path / "lcms.png", icc_profile=prof)
    d = decode(tmp_path / "lcms.png")
    assert d.info.source_space == "sRGB"
    assert np.abs(d.rgb_lin - _srgb_to_working(photo_srgb8 / np.float32(255))).max() < 1e-6


def test_converted_by_littlecms_decodes_to_same_colour(tmp_path, photo_srgb8):
    """Pixels converted sRGB -> Adobe RGB / ProPhoto / P3 by littleCMS (not by us) decode like the sRGB original."""
    src = Image.fromarray(photo_srgb8)
    expected = _srgb_to_working(photo_srgb8 / np.float32(255))
    for sp in ("adobergb", "prophoto", "p3"):
        dst = ImageCms.ImageCmsProfile(io.BytesIO(icc.profile_bytes(sp)))
        conv = ImageCms.profileToProfile(src, ImageCms.createProfile("sRGB"), dst, renderingIntent=1)
        conv.save(tmp_path / f"{sp}.png", icc_profile=icc.profile_bytes(sp))
        d = decode(tmp_path / f"{sp}.png")
        # 8-bit re-quantisation in the wider space: about one code value
        assert np.abs(blocks_mean(d.rgb_lin, 2) - blocks_mean(expected, 2)).mean() < 0.002, sp


def test_unknown_matrix_profile_uses_its_own_primaries(tmp_path):
    """'Wide Gamut RGB' (700/525/450 nm, D50, gamma 2.2) is none of our spaces: its own matrix and curve apply."""
    import colour  # noqa: PLC0415

    prim = [(0.7347, 0.2653), (0.1152, 0.8264), (0.1566, 0.0177)]
    white = (0.3457, 0.3585)
    prof = icc.custom_profile_bytes("Wide Gamut RGB", prim, white, gamma=2.2)
    rng = np.random.default_rng(0)
    enc16 = rng.integers(0, 65536, (32, 32, 3)).astype(np.uint16)
    (tmp_path / "wg.png").write_bytes(encode_png16(enc16, prof))
    d = decode(tmp_path / "wg.png")
    assert d.info.source_space == "Wide Gamut RGB" and d.info.icc_description == "Wide Gamut RGB"
    wide = colour.RGB_Colourspace("wide", np.array(prim), np.array(white), use_derived_matrix_RGB_to_XYZ=True,
                                  use_derived_matrix_XYZ_to_RGB=True)
    m = colour.matrix_RGB_to_RGB(wide, colour.RGB_COLOURSPACES["ProPhoto RGB"], chromatic_adaptation_transform=None)
    expected = np.clip(np.power(enc16 / 65535.0, 2.2) @ np.asarray(m).T, 0, None)
    assert np.abs(d.rgb_lin - expected).max() < 2e-3


def test_third_party_icc_darktable_linear_rec2020():
    info = read_info(sample_path("nikon_d300_rec2020_linear_16bit.png"))
    assert info.source_space == "ITU-R BT.2020 (linear)" and info.icc_description == "Linear Rec2020 RGB"
    assert info.bit_depth == 16


def test_cmyk_jpeg_without_profile_decodes(tmp_path, photo_srgb8):
    Image.fromarray(photo_srgb8).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    d = decode(tmp_path / "cmyk.jpg")
    assert d.rgb_lin.shape == photo_srgb8.shape
    expected = _srgb_to_working(photo_srgb8 / np.float32(255))
    assert np.abs(blocks_mean(d.rgb_lin, 4) - blocks_mean(expected, 4)).mean() < 0.02


# ---------------------------------------------------------------------------------------------------- layout

def test_grayscale_inputs(tmp_path, photo_srgb8):
    gray8 = np.asarray(Image.fromarray(photo_srgb8).convert("L"))
    Image.fromarray(gray8).save(tmp_path / "g.png")
    Image.fromarray(gray8).save(tmp_path / "g.jpg", quality=100)
    tifffile.imwrite(tmp_path / "g.tif", gray8)
    gray16 = gray8.astype(np.uint16) * 257
    (tmp_path / "g16.png").write_bytes(encode_png16(gray16))
    expected = color.srgb_decode(gray8 / np.float32(255))
    for name in ("g.png", "g.jpg", "g.tif", "g16.png"):
        rgb = decode(tmp_path / name).rgb_lin
        assert rgb.shape == gray8.shape + (3,)
        assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
        tol = 0.01 if name.endswith(".jpg") else 1e-5
        assert np.abs(rgb[..., 0] - expected).mean() < tol, name


def test_rgba_and_palette_inputs(tmp_path, photo_srgb8):
    rgba = np.dstack([photo_srgb8, np.full(photo_srgb8.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples=[2])
    expected = _srgb_to_working(photo_srgb8 / np.float32(255))
    for name in ("a.png", "a.tif"):
        assert np.abs(decode(tmp_path / name).rgb_lin - expected).max() < 1e-6, name
    pal = Image.fromarray(photo_srgb8).quantize(64)
    pal.save(tmp_path / "p.png")
    np.testing.assert_allclose(decode(tmp_path / "p.png").rgb_lin,
                               _srgb_to_working(np.asarray(pal.convert("RGB")) / np.float32(255)), atol=1e-6)


def _oriented_jpeg(tmp_path, photo_srgb8, orientation):
    return make_jpeg(tmp_path / f"o{orientation}.jpg", photo_srgb8, orientation=orientation, quality=100)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_like_pillow(tmp_path, photo_srgb8, orientation):
    path = _oriented_jpeg(tmp_path, photo_srgb8, orientation)
    with Image.open(path) as im:
        upright8 = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    d = decode(path)
    assert d.rgb_lin.shape == upright8.shape
    assert (d.info.width, d.info.height) == (upright8.shape[1], upright8.shape[0])
    assert d.info.exif.get("orientation") == orientation
    assert np.abs(d.rgb_lin - _srgb_to_working(upright8 / np.float32(255))).max() < 1e-6


def test_tiff_orientation_tag(tmp_path, photo_srgb8):
    tifffile.imwrite(tmp_path / "o.tif", photo_srgb8, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    d = decode(tmp_path / "o.tif")
    expected = _srgb_to_working(np.rot90(photo_srgb8, -1) / np.float32(255))
    assert d.rgb_lin.shape == expected.shape and np.abs(d.rgb_lin - expected).max() < 1e-6


def test_sample_astronaut_is_upright():
    d = decode(sample_path("astronaut_orientation6.jpg"))
    assert d.info.exif["orientation"] == 6
    with Image.open(sample_path("astronaut_orientation6.jpg")) as im:
        upright = np.asarray(ImageOps.exif_transpose(im))
    assert np.abs(blocks_mean(d.rgb_lin, 8) - blocks_mean(_srgb_to_working(upright / np.float32(255)), 8)).max() < 1e-3


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif"])
def test_half_size(tmp_path, photo_lin, ext):
    path = write_image(photo_lin, tmp_path / f"h{ext}")
    full, half = decode(path), decode(path, half_size=True)
    assert half.rgb_lin.shape == (100, 150, 3)
    assert (half.info.width, half.info.height) == (300, 200)
    assert np.abs(blocks_mean(half.rgb_lin, 4) - blocks_mean(full.rgb_lin, 8)).mean() < 0.005


def test_read_info_matches_decode_for_every_sample():
    import glob  # noqa: PLC0415
    import json  # noqa: PLC0415

    paths = [p for p in sorted(glob.glob(str(sample_path("flower.dng").parent / "*"))) if not p.endswith(".md")]
    assert len(paths) >= 6
    for p in paths:
        info = read_info(p)
        assert info == decode(p, half_size=True).info, p
        json.dumps(info.to_dict())
        assert len(info.sha256) == 64 and info.file_size > 0


def _dcf_adobe_exif() -> bytes:
    """EXIF as an Adobe-RGB-mode camera writes it: IFD0 -> Exif IFD {ColorSpace 0xFFFF, Interop} -> 'R03'."""
    import struct  # noqa: PLC0415

    exif_off = 8 + 2 + 12 + 4
    inter_off = exif_off + 2 + 2 * 12 + 4
    ifd0 = struct.pack("<HHHII", 1, 0x8769, 4, 1, exif_off) + struct.pack("<I", 0)
    exif = (struct.pack("<H", 2) + struct.pack("<HHIHH", 0xA001, 3, 1, 0xFFFF, 0)
            + struct.pack("<HHII", 0xA005, 4, 1, inter_off) + struct.pack("<I", 0))
    inter = struct.pack("<HHHI4s", 1, 0x0001, 2, 4, b"R03\0") + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + exif + inter


def test_dcf_adobe_rgb_camera_jpeg_without_icc(tmp_path, photo_lin):
    """Cameras in Adobe RGB mode write no ICC, only EXIF ColorSpace=0xFFFF + Interop 'R03' (DCF)."""
    with Image.open(write_image(photo_lin, tmp_path / "adobe.jpg", space="adobergb", quality=98)) as im:
        pixels = np.asarray(im)
    Image.fromarray(pixels).save(tmp_path / "_DSC0001.JPG", quality=98, subsampling=0, exif=_dcf_adobe_exif())
    d = decode(tmp_path / "_DSC0001.JPG")
    assert d.info.source_space == "Adobe RGB (1998)" and d.info.icc_description is None
    assert np.abs(blocks_mean(d.rgb_lin, 4) - blocks_mean(photo_lin, 4)).mean() < 0.004
    Image.fromarray(pixels).save(tmp_path / "plain.jpg", quality=98)  # same pixels, no marker: taken as sRGB
    assert decode(tmp_path / "plain.jpg").info.source_space == "sRGB"
