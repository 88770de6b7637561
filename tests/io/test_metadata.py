"""EXIF: reading real camera files, carrying EXIF into outputs with orientation reset to 1."""
from __future__ import annotations

import fractions

import exifread
import numpy as np
import pytest
from PIL import Image

from exposure_batch.io import decode, exif_bytes_for_output, read_exif, write_image
from exposure_batch.io.metadata import format_exposure_time
from tests.helpers import make_dng, make_jpeg, sample_path

CAMERA_EXIF = {"camera_make": "NIKON CORPORATION", "camera_model": "NIKON Z 6", "lens": "NIKKOR Z 24-70mm f/4 S",
               "iso": 800, "exposure_time": "1/250", "f_number": 4.0, "focal_length": 35.0,
               "capture_time": "2021-06-05T18:30:12"}


def test_canon_camera_jpeg():
    assert read_exif(sample_path("canon_powershot_g1x2.jpg")) == {
        "camera_make": "Canon", "camera_model": "Canon PowerShot G1 X Mark II", "iso": 100, "exposure_time": "1/50",
        "f_number": 5.6, "focal_length": 12.5, "capture_time": "2013-12-17T14:04:24", "orientation": 1}


def test_casio_camera_jpeg():
    e = read_exif(sample_path("casio_qv_r51.jpg"))
    assert e["camera_make"] == "CASIO COMPUTER CO.,LTD" and e["camera_model"] == "QV-R51"
    assert e["exposure_time"] == "1/160" and e["f_number"] == 6.2 and e["focal_length"] == 14.2
    assert e["capture_time"] == "2006-02-14T22:00:58"


def test_png_with_camera_exif_from_darktable():
    e = read_exif(sample_path("nikon_d300_rec2020_linear_16bit.png"))
    assert e["camera_model"] == "NIKON D300" and e["iso"] == 200 and e["exposure_time"] == "1/10"
    assert e["capture_time"].startswith("2017-01-17T21:27:20")


def test_no_exif_and_junk_give_empty_dict(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage!!")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("plain.jpg", "junk.jpg", "empty.jpg"):
        assert read_exif(tmp_path / name) == {}
    assert read_exif(tmp_path / "missing.jpg") == {}
    assert exif_bytes_for_output(tmp_path / "plain.jpg") is None
    assert exif_bytes_for_output(None) is None


@pytest.mark.parametrize("seconds,text", [
    (fractions.Fraction(1, 250), "1/250"), (fractions.Fraction(10, 2500), "1/250"), (0.0125, "1/80"),
    (fractions.Fraction(1, 3), "0.3"), (0.5, "0.5"), (2, "2"), (2.5, "2.5"), (30, "30"),
    (fractions.Fraction(1, 4000), "1/4000"),
])
def test_exposure_time_format(seconds, text):
    assert format_exposure_time(seconds) == text


@pytest.mark.parametrize("ext", [".jpg", ".tif", ".png"])
def test_exif_carried_to_outputs_with_orientation_1(tmp_path, photo_srgb8, photo_lin, ext):
    src = make_jpeg(tmp_path / "src.jpg", photo_srgb8, orientation=6, exif=CAMERA_EXIF)
    assert read_exif(src) == {**CAMERA_EXIF, "orientation": 6}
    d = decode(src)
    out = write_image(d.rgb_lin, tmp_path / f"out{ext}", source_path=src)
    with open(out, "rb") as fh:
        tags = exifread.process_file(fh, details=False)
    assert str(tags["Image Make"]) == "NIKON CORPORATION" and str(tags["Image Model"]) == "NIKON Z 6"
    assert int(tags["Image Orientation"].values[0]) == 1
    assert str(tags["EXIF ExposureTime"]) == "1/250" and int(tags["EXIF ISOSpeedRatings"].values[0]) == 800
    assert str(tags["EXIF DateTimeOriginal"]) == "2021:06:05 18:30:12"
    assert read_exif(out) == {**CAMERA_EXIF, "orientation": 1}
    # and the pixels are upright, so a viewer honouring orientation 1 shows them the right way round
    assert decode(out).rgb_lin.shape == (photo_srgb8.shape[1], photo_srgb8.shape[0], 3)


def test_exif_from_dng_source(tmp_path, photo_lin):
    dng = make_dng(tmp_path / "cam.dng", photo_lin, space="prophoto", orientation=8,
                   exif={"iso": 1600, "exposure_time": "1/60", "f_number": 2.8, "focal_length": 50.0,
                         "capture_time": "2020-02-02T10:00:00", "lens": "EF50mm f/1.8 STM"})
    out = write_image(decode(dng.path).rgb_lin, tmp_path / "cam.jpg", source_path=dng.path)
    e = read_exif(out)
    assert e == {"camera_make": "Canon", "camera_model": "Canon EOS 5D Mark II", "iso": 1600, "exposure_time": "1/60",
                 "f_number": 2.8, "focal_length": 50.0, "capture_time": "2020-02-02T10:00:00",
                 "lens": "EF50mm f/1.8 STM", "orientation": 1}


def test_exif_bytes_for_output_block():
    block = exif_bytes_for_output(sample_path("canon_powershot_g1x2.jpg"))
    assert block.startswith(b"Exif\x00\x00")
    e = Image.Exif()
    e.load(block)
    assert e[0x0112] == 1 and e[0x010F] == "Canon"
    assert float(e.get_ifd(0x8769)[0x829D]) == 5.6
    assert np.isclose(float(e.get_ifd(0x8769)[0x829A]), 1 / 50)
