"""Bad inputs give InputError subclasses with one-line reasons naming the file; never a raw library traceback."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from exposure_batch.errors import DecodeError, InputError, UnsupportedFile
from exposure_batch.io import SUPPORTED_EXTENSIONS, decode, is_supported, read_info, write_image
from tests.helpers import make_dng, sample_path


def _check(path, cls=InputError, *, functions=(decode, read_info)):
    for fn in functions:
        with pytest.raises(cls) as err:
            fn(path)
        msg = str(err.value)
        assert "\n" not in msg and str(path) in msg and err.value.path == str(path)
        assert len(err.value.reason) > 5
    return err.value


@pytest.fixture(scope="module")
def dng_bytes(tmp_path_factory, photo_lin):
    path = tmp_path_factory.mktemp("dng") / "ok.dng"
    make_dng(path, photo_lin, space="prophoto", noise=True)
    return path.read_bytes()


def test_zero_byte_files(tmp_path):
    for name in ("e.dng", "e.NEF", "e.jpg", "e.png", "e.tif"):
        (tmp_path / name).write_bytes(b"")
        assert "empty" in _check(tmp_path / name, UnsupportedFile).reason


@pytest.mark.parametrize("fraction", [0.001, 0.01, 0.2, 0.5, 0.9, 0.999])
def test_truncated_dng(tmp_path, dng_bytes, fraction):
    path = tmp_path / "cut.dng"
    path.write_bytes(dng_bytes[:max(1, int(len(dng_bytes) * fraction))])
    _check(path, InputError, functions=(decode,))


def test_truncated_dng_at_random_offsets_and_flipped_bytes(tmp_path, dng_bytes):
    rng = np.random.default_rng(0)
    for i, cut in enumerate(rng.integers(8, len(dng_bytes) - 1, 8)):
        path = tmp_path / f"cut{i}.dng"
        path.write_bytes(dng_bytes[:cut])
        _check(path, InputError, functions=(decode,))
    for i in range(6):  # corrupt header bytes: either decodes (LibRaw is tolerant) or a clean InputError
        data = bytearray(dng_bytes)
        for pos in rng.integers(0, 4096, 16):
            data[pos] ^= 0xFF
        path = tmp_path / f"flip{i}.dng"
        path.write_bytes(bytes(data))
        try:
            d = decode(path)
        except InputError as exc:
            assert "\n" not in str(exc)
        else:
            assert np.all(np.isfinite(d.rgb_lin))


@pytest.mark.parametrize("name", ["r.NEF", "r.dng", "r.CR2", "r.jpg", "r.png", "r.tif", "r.xyz", "noext"])
def test_random_bytes(tmp_path, name):
    (tmp_path / name).write_bytes(np.random.default_rng(1).bytes(50_000))
    _check(tmp_path / name, UnsupportedFile)


def test_jpeg_named_nef_decodes_by_content(tmp_path):
    path = tmp_path / "IMG_0001.NEF"
    shutil.copyfile(sample_path("canon_powershot_g1x2.jpg"), path)
    d = decode(path)
    assert d.info.format == "jpeg" and d.rgb_lin.shape == (80, 80, 3)
    assert read_info(path).exif["camera_model"] == "Canon PowerShot G1 X Mark II"


def test_png_named_jpg_and_tiff_named_png_decode_by_content(tmp_path, photo_lin):
    png = write_image(photo_lin, tmp_path / "a.png")
    shutil.copyfile(png, tmp_path / "a.jpg")
    assert decode(tmp_path / "a.jpg").info.format == "png"
    tif = write_image(photo_lin, tmp_path / "b.tif")
    shutil.copyfile(tif, tmp_path / "b.png")
    assert decode(tmp_path / "b.png").info.format == "tiff"


@pytest.mark.parametrize("name", ["notes.txt", "notes.jpg", "notes.NEF", "notes.dng", "notes.tif"])
def test_text_files(tmp_path, name):
    (tmp_path / name).write_text("this is not a photo\n" * 50)
    _check(tmp_path / name, UnsupportedFile)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif"])
def test_truncated_rasters(tmp_path, photo_lin, ext):
    rng = np.random.default_rng(0)
    noisy = (photo_lin + rng.random(photo_lin.shape, dtype=np.float32) * 0.1).astype(np.float32)
    data = open(write_image(noisy, tmp_path / f"ok{ext}"), "rb").read()
    for fraction in (0.05, 0.5, 0.95):
        path = tmp_path / f"cut{fraction}{ext}"
        path.write_bytes(data[:int(len(data) * fraction)])
        _check(path, DecodeError, functions=(decode,))


def test_missing_file_directory(tmp_path):
    assert "not found" in _check(tmp_path / "missing.jpg").reason
    d = tmp_path / "folder.jpg"
    d.mkdir()
    assert "directory" in _check(d).reason


def test_is_supported():
    for name in ("a.jpg", "a.JPEG", "a.png", "a.tif", "a.TIFF", "a.dng", "a.NEF", "a.cr2", "a.CR3", "a.arw",
                 "a.raf", "a.orf", "a.rw2", "a.pef", "a.gif", "a.webp", "a.HEIC", "a.avif"):
        assert is_supported(name), name
    for name in ("a.txt", "a.jxl", "a.xmp", "a", "a.jpg.part", "a.mov"):
        assert not is_supported(name), name
    assert all(e.startswith(".") and e == e.lower() for e in SUPPORTED_EXTENSIONS)


def test_dng_named_tif_goes_to_libraw(tmp_path):
    path = tmp_path / "scan.tif"
    shutil.copyfile(sample_path("flower.dng"), path)
    d = decode(path, half_size=True)
    assert d.info.format == "raw:DNG" and d.info.source_space == "camera" and d.rgb_lin.shape == (512, 768, 3)
