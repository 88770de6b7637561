"""Sources that used to decode silently wrong or be ignored (issue 23 rows 5-8), written by the real encoders.

* 1-bit MinIsWhite TIFF (fax, document scanners; tifffile): ink is black, paper white (was a negative);
* 2-bit and 4-bit greyscale TIFF (tifffile): codes scaled by their own bit depth (were nearly black);
* a DNG whose WhiteLevel is below its BlackLevel (tag rewritten in place with tifffile): one-line INPUT error
  (was an all-black "done");
* HEIC (pillow-heif's libheif/x265), AVIF and WebP and GIF (Pillow's libavif/libwebp/GIF writers): decoded;
  JPEG XL (imagecodecs' libjxl encoder): "skipped: unsupported format (JPEG XL)", listed by a folder scan, counted
  in `process`'s summary and report (were skipped without a word).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exposure_batch import color
from exposure_batch.errors import InputError, UnsupportedFormat
from exposure_batch.io import decode
from exposure_batch.pipeline.inputs import find_inputs

REPO = Path(__file__).resolve().parents[2]


def _srgb8(rgb_lin: np.ndarray) -> np.ndarray:
    """Decoded linear ProPhoto -> sRGB-encoded 0..255 floats (the values an 8-bit sRGB writer stored)."""
    return color.srgb_encode(np.clip(color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB), 0, 1)) * 255


def test_one_bit_min_is_white_tiff_keeps_its_polarity(tmp_path):
    import tifffile

    ink = np.zeros((16, 32), bool)
    ink[:, :8] = True  # 1 = black in MinIsWhite: the left quarter is ink
    tifffile.imwrite(tmp_path / "fax.tif", ink, photometric="miniswhite")
    assert tifffile.TiffFile(tmp_path / "fax.tif").pages[0].bitspersample == 1
    out = _srgb8(decode(tmp_path / "fax.tif").rgb_lin)
    assert out[:, :8].max() < 1 and out[:, 8:].min() > 254


@pytest.mark.parametrize("bits", [2, 4])
def test_low_bit_depth_grey_tiff_is_scaled_by_its_bit_depth(tmp_path, bits):
    import tifffile

    top = 2 ** bits - 1
    codes = np.tile(np.arange(top + 1, dtype=np.uint8), (8, 4))
    tifffile.imwrite(tmp_path / "g.tif", codes, photometric="minisblack", bitspersample=bits)
    assert tifffile.TiffFile(tmp_path / "g.tif").pages[0].bitspersample == bits
    out = _srgb8(decode(tmp_path / "g.tif").rgb_lin)[..., 1]
    np.testing.assert_allclose(out, codes * (255 / top), atol=0.5)  # code c is the sRGB level c / (2^bits - 1)


def test_four_bit_min_is_white_tiff(tmp_path):
    import tifffile

    codes = np.tile(np.arange(16, dtype=np.uint8), (4, 2))
    tifffile.imwrite(tmp_path / "g.tif", codes, photometric="miniswhite", bitspersample=4)
    out = _srgb8(decode(tmp_path / "g.tif").rgb_lin)[..., 0]
    np.testing.assert_allclose(out, (15 - codes) * 17, atol=0.5)


def test_palette_tiff_colours_are_the_colour_maps(tmp_path):
    import tifffile

    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, 1] = 65535
    cmap[0, 2] = 65535  # pure red
    tifffile.imwrite(tmp_path / "p.tif", np.tile(np.arange(3, dtype=np.uint8), (4, 2)), photometric="palette",
                     colormap=cmap)
    out = _srgb8(decode(tmp_path / "p.tif").rgb_lin)
    np.testing.assert_allclose(out[0, :3], [[0, 0, 0], [255, 255, 255], [255, 0, 0]], atol=0.5)


def test_dng_with_white_level_below_black_level_is_an_input_error(tmp_path):
    import tifffile

    from tests.helpers import make_dng

    path = tmp_path / "IMG_0001.dng"
    dng = make_dng(path, np.full((32, 48, 3), 0.3, np.float32))
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags[50717].overwrite(dng.black // 2)  # WhiteLevel below BlackLevel
    with pytest.raises(InputError) as err:
        decode(path)
    text = str(err.value)
    assert text.startswith(str(path)) and "white level" in text and "\n" not in text
    assert err.value.kind.value == "input"


def _patches() -> np.ndarray:
    """Flat colour patches (sRGB 8-bit), 16 px each: lossy codecs keep flat areas within a few levels."""
    colours = np.array([[200, 40, 40], [40, 160, 60], [50, 70, 210], [128, 128, 128], [240, 230, 200],
                        [20, 20, 20]], np.uint8)
    return np.repeat(np.repeat(colours[None], 16, axis=0), 16, axis=1)  # (16, 96, 3)


def _write(fmt: str, path: Path, img: np.ndarray) -> None:
    from PIL import Image

    im = Image.fromarray(img)
    if fmt == "heic":
        import pillow_heif

        pillow_heif.from_pillow(im).save(path, quality=95)
    elif fmt == "avif":
        im.save(path, "AVIF", quality=95)
    elif fmt == "webp":
        im.save(path, "WEBP", lossless=True)
    elif fmt == "gif":
        im.save(path, "GIF")


@pytest.mark.parametrize("fmt,tolerance", [("heic", 8), ("avif", 8), ("webp", 0.5), ("gif", 0.5)])
def test_phone_and_web_formats_decode_to_their_colours(tmp_path, fmt, tolerance):
    img = _patches()
    path = tmp_path / f"IMG_0001.{fmt}"
    _write(fmt, path, img)
    decoded = decode(path)
    assert decoded.info.format == {"heic": "heif"}.get(fmt, fmt)
    assert (decoded.info.width, decoded.info.height) == (96, 16)
    out = _srgb8(decoded.rgb_lin)
    centres = out[8, 8::16]  # the middle of each patch
    np.testing.assert_allclose(centres, img[8, 8::16].astype(np.float32), atol=tolerance)


def _write_jxl(path: Path, img: np.ndarray) -> None:
    import imagecodecs

    path.write_bytes(imagecodecs.jpegxl_encode(img, level=90))


def test_jpeg_xl_is_an_unsupported_format_not_a_silence(tmp_path):
    _write_jxl(tmp_path / "IMG_0002.jxl", _patches())
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [rel for _, rel in find_inputs([str(tmp_path)])] == ["IMG_0002.jxl"]  # listed by a folder scan
    with pytest.raises(UnsupportedFormat) as err:
        decode(tmp_path / "IMG_0002.jxl")
    assert err.value.reason == "unsupported format (JPEG XL)"


@pytest.mark.slow
def test_process_edits_the_new_formats_and_counts_the_unsupported_one(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    img = _patches()
    for fmt in ("heic", "avif", "webp", "gif"):
        _write(fmt, inbox / f"p_{fmt}.{fmt}", img)
    _write_jxl(inbox / "p_jxl.jxl", img)
    out, report = tmp_path / "out", tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o", str(out), "--agent",
                          "classic", "--group-by", "none", "--no-progress", "--report", str(report)],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    assert "done 4, skipped 1, failed 0" in run.stdout
    assert f"skipped: {inbox / 'p_jxl.jxl'}: unsupported format (JPEG XL)" in run.stdout
    assert sorted(p.name for p in out.glob("*.jpg")) == ["p_avif.jpg", "p_gif.jpg", "p_heic.jpg", "p_webp.jpg"]
    photos = json.loads((report / "report.json").read_text())["photos"]
    skipped = [p for p in photos if p["status"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["reason"] == "unsupported format (JPEG XL)"
