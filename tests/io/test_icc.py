"""Our generated ICC profiles, checked with littleCMS (Pillow ImageCms) and colour-science."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.io import icc, write_image

ALL = [(sp, lin) for sp in Space for lin in (False, True)]


def _lcms(profile: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(profile))


@pytest.mark.parametrize("space,linear", ALL)
def test_profile_is_valid_and_described(space, linear):
    data = icc.profile_bytes(space, linear)
    prof = _lcms(data)
    assert ImageCms.getProfileDescription(prof).strip() == icc.profile_description(space, linear)
    assert int.from_bytes(data[:4], "big") == len(data) and data[36:40] == b"acsp"
    # profile ID is the MD5 of the profile with flags, intent and ID zeroed
    body = bytearray(data)
    body[44:48] = body[64:68] = bytes(4)
    body[84:100] = bytes(16)
    assert hashlib.md5(bytes(body)).digest() == data[84:100]
    parsed = icc.parse_profile(data)
    np.testing.assert_allclose(parsed.matrix.sum(axis=1), icc.D50_PCS, atol=1e-4)  # R+G+B = PCS white
    assert icc.identify(parsed) == (space, linear)


@pytest.mark.parametrize("space,linear", ALL)
def test_littlecms_converts_known_colours_like_colour_science(space, linear):
    """sRGB -> our profile with littleCMS (16-bit via a float pipeline is not exposed: 8-bit, <= 1 code off)."""
    rng = np.random.default_rng(0)
    src8 = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    t = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), _lcms(icc.profile_bytes(space, linear)), "RGB", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    got = np.asarray(ImageCms.applyTransform(Image.fromarray(src8), t)).astype(np.float64) / 255
    import colour  # noqa: PLC0415

    ref_lin = colour.RGB_to_RGB(colour.cctf_decoding(src8 / 255.0, function="sRGB"), colour.RGB_COLOURSPACES["sRGB"],
                                colour.RGB_COLOURSPACES[space.value], chromatic_adaptation_transform="Bradford")
    ref_lin = np.clip(ref_lin, 0, 1)
    ref = ref_lin if linear else color.encode(ref_lin.astype(np.float32), space)
    assert np.abs(got - ref).max() <= 1.5 / 255


def test_output_file_icc_round_trips_through_littlecms(tmp_path):
    """Files we wrote (P3 JPEG, Adobe RGB 16-bit PNG, ProPhoto 16-bit TIFF, linear Rec. 2020 TIFF), converted to
    sRGB by littleCMS from their *embedded* profile, give back the sRGB colours we started from."""
    import imagecodecs  # noqa: PLC0415
    import tifffile  # noqa: PLC0415

    rng = np.random.default_rng(2)
    srgb8 = rng.integers(20, 235, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)  # flat 8x8 JPEG blocks
    rgb_lin = color.convert_linear(color.srgb_decode(srgb8 / np.float32(255)), Space.SRGB, Space.PROPHOTO)
    cases = (("p3.jpg", "p3", False), ("adobe.png", "adobergb", False), ("pp.tif", "prophoto", False),
             ("rec.tif", "rec2020", True))
    for name, space, linear in cases:
        path = write_image(rgb_lin, tmp_path / name, space=space, linear=linear, quality=100)
        if name.endswith(".jpg"):
            with Image.open(path) as im:
                embedded = im.info["icc_profile"]
                pixels8 = np.asarray(im)
        elif name.endswith(".png"):
            with Image.open(path) as im:
                embedded = im.info["icc_profile"]
            pixels8 = (imagecodecs.png_decode(open(path, "rb").read()) / 257.0).round().astype(np.uint8)
        else:
            with tifffile.TiffFile(path) as tif:
                embedded = bytes(tif.pages[0].tags[34675].value)
                pixels16 = tif.pages[0].asarray()
            pixels8 = (pixels16 / 257.0).round().astype(np.uint8)
        assert ImageCms.getProfileDescription(_lcms(embedded)).strip() == icc.profile_description(space, linear)
        if linear:  # 8-bit linear loses the shadows; compare the mid-tones only
            pixels8 = (pixels16 / 257.0).round().astype(np.uint8)
        conv = ImageCms.profileToProfile(Image.fromarray(pixels8), _lcms(embedded), ImageCms.createProfile("sRGB"),
                                         renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        diff = np.abs(np.asarray(conv).astype(int) - srgb8.astype(int))
        if linear:
            diff = diff[srgb8.min(-1) > 100]
        # Pillow's littleCMS works in 8 bits: the file's pixels are re-quantised to 8 bits in a wide space first
        # (ProPhoto 8-bit steps are up to ~5 sRGB codes), so allow a few codes at most and < 1 code on average.
        assert diff.max() <= 6 and diff.mean() < 1.0, (name, diff.max(), diff.mean())


def test_linear_prophoto_tiff_carries_linear_prophoto_icc(tmp_path):
    import tifffile  # noqa: PLC0415

    path = write_image(np.full((4, 4, 3), 0.25, np.float32), tmp_path / "l.tif", space="prophoto", linear=True)
    data = tifffile.TiffFile(path).pages[0].tags[34675].value
    assert icc.identify(icc.parse_profile(bytes(data))) == (Space.PROPHOTO, True)
    assert bytes(data) == icc.profile_bytes(Space.PROPHOTO, linear=True)


def test_parse_rejects_garbage_and_names_are_guessed():
    with pytest.raises(ValueError):
        icc.parse_profile(b"not a profile" * 20)
    assert icc.guess_space_from_description("Adobe RGB (1998)") == Space.ADOBE_RGB
    assert icc.guess_space_from_description("ProPhoto RGB") == Space.PROPHOTO
    assert icc.guess_space_from_description("sRGB IEC61966-2.1") == Space.SRGB
    assert icc.guess_space_from_description("Display P3") == Space.DISPLAY_P3
    assert icc.guess_space_from_description("Some printer") is None


def test_v2_curv_profiles_are_read():
    """A v2-style profile with 'curv' gamma and table curves (as Adobe's and older tools write) is identified."""
    base = bytearray(icc.profile_bytes(Space.ADOBE_RGB))
    parsed = icc.parse_profile(bytes(base))
    # swap the para curves for a curv gamma (563/256 = 2.19921875 exactly representable in u8Fixed8)
    curv = b"curv" + bytes(4) + (1).to_bytes(4, "big") + int(563).to_bytes(2, "big")
    table = (np.power(np.linspace(0, 1, 1024), 2.4) * 65535).round().astype(">u2").tobytes()
    for c in (curv, b"curv" + bytes(4) + (1024).to_bytes(4, "big") + table):
        curve = icc._read_curve(c)  # noqa: SLF001
        vals = curve(np.array([0.0, 0.5, 1.0], np.float32))
        assert vals[0] == 0 and abs(vals[2] - 1) < 1e-6 and 0.1 < vals[1] < 0.3
    assert parsed.is_matrix_shaper
