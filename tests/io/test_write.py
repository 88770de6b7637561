"""Writers: formats, spaces, clipping, JPEG chroma subsampling, atomic writes, overwrite protection."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from exposure_batch.errors import OutputError
from exposure_batch.io import atomic_write, decode, write_image
from exposure_batch.io.write import encode_to_int
from tests.helpers import require_tool
from exposure_batch.color import Space


def _leftovers(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


def test_atomic_write_success_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as fh:
        fh.write(b"new")
        assert target.read_bytes() == b"old"  # not visible until the block ends
    assert target.read_bytes() == b"new" and _leftovers(tmp_path) == []
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~mask


def test_atomic_write_error_leaves_target_untouched_and_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"partial")
            raise RuntimeError("encoder crashed")
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(fresh) as fh:
            fh.write(b"x" * 1000)
            raise KeyboardInterrupt
    assert not fresh.exists() and _leftovers(tmp_path) == []


def test_atomic_write_text_mode_and_no_overwrite(tmp_path):
    target = tmp_path / "s.xmp"
    with atomic_write(target, "w") as fh:
        fh.write("héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    with pytest.raises(OutputError, match="already exists"):
        with atomic_write(target, "w", overwrite=False) as fh:
            fh.write("x")
    assert target.read_text(encoding="utf-8") == "héllo\n"


def test_atomic_write_no_overwrite_race(tmp_path):
    """A file that appears while we write is never clobbered when overwrite=False."""
    target = tmp_path / "race.bin"
    with pytest.raises(OutputError, match="already exists"):
        with atomic_write(target, overwrite=False) as fh:
            fh.write(b"ours")
            target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs" and _leftovers(tmp_path) == []


_DISK_FULL_SCRIPT = """
import os, resource, signal, sys
import numpy as np
from exposure_batch.errors import OutputError
from exposure_batch.io import write_image
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))  # any write past 20 kB fails with EFBIG
img = np.random.default_rng(0).random((400, 400, 3), dtype=np.float32)
folder = sys.argv[1]
for ext in ('.jpg', '.tif', '.png'):
    try:
        write_image(img, os.path.join(folder, 'out' + ext))
    except OutputError as exc:
        assert '\\n' not in str(exc), exc
        print('OutputError', ext, exc)
    else:
        print('WROTE', ext)
print(sorted(os.listdir(folder)))
"""


def test_write_failure_midway_leaves_no_partial_file(tmp_path):
    """A real write failure half-way (file size limit, like a full disk): OutputError, no output, no temp."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from tests.helpers import REPO  # noqa: PLC0415

    proc = subprocess.run([sys.executable, "-c", _DISK_FULL_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          check=False, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [ln.split()[0] for ln in lines[:3]] == ["OutputError"] * 3, proc.stdout
    assert lines[-1] == "[]" and os.listdir(tmp_path) == []


def test_existing_output_is_refused_then_overwritten(tmp_path, photo_lin):
    path = write_image(photo_lin, tmp_path / "o.jpg")
    before = open(path, "rb").read()
    with pytest.raises(OutputError, match="already exists"):
        write_image(photo_lin * 0.5, path)
    assert open(path, "rb").read() == before
    write_image(photo_lin * 0.5, path, overwrite=True)
    assert open(path, "rb").read() != before and _leftovers(tmp_path) == []


@pytest.mark.parametrize("kwargs,match", [
    ({"fmt": "gif"}, "unknown output format"),
    ({"space": "cmyk"}, "unknown colour space"),
    ({"linear": True}, "JPEG is 8-bit"),
    ({"space": "prophoto"}, "needs more than 8 bits"),
    ({"quality": 0}, "quality"),
])
def test_bad_requests_are_output_errors(tmp_path, kwargs, match):
    with pytest.raises(OutputError, match=match):
        write_image(np.zeros((4, 4, 3), np.float32), tmp_path / "x.jpg", **kwargs)


def test_extension_decides_format_and_unknown_extension_fails(tmp_path):
    img = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(OutputError, match="extension"):
        write_image(img, tmp_path / "x.webp")
    assert decode(write_image(img, tmp_path / "x.bin", fmt="png")).info.format == "png"
    assert decode(write_image(img, tmp_path / "y.TIFF")).info.format == "tiff"
    with pytest.raises(OutputError, match="does not exist"):
        write_image(img, tmp_path / "no" / "dir.jpg")
    with pytest.raises(ValueError):
        write_image(np.zeros((4, 4), np.float32), tmp_path / "bad.png")


def test_jpeg_chroma_subsampling_follows_quality(tmp_path, photo_lin):
    with Image.open(write_image(photo_lin, tmp_path / "hi.jpg", quality=95)) as im:
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4
    with Image.open(write_image(photo_lin, tmp_path / "lo.jpg", quality=80)) as im:
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0


def test_clipping_and_16bit_encoding():
    rgb_lin = np.array([[[-1.0, 0.0, 2.0], [np.nan, 1.0, 0.5]]], np.float32)
    out = encode_to_int(rgb_lin, Space.PROPHOTO, linear=True, bits=16)
    assert out.dtype == np.uint16
    assert out.tolist() == [[[0, 0, 65535], [0, 65535, 32768]]]
    srgb = encode_to_int(np.full((1, 1, 3), 0.18, np.float32), Space.SRGB, linear=False, bits=8)
    assert srgb[0, 0, 0] == round(0.461356129500442 * 255)  # 18 % grey -> sRGB 118 (neutral stays neutral)
    assert len(set(srgb[0, 0].tolist())) == 1


def test_tiff_is_16bit_deflate_with_icc(tmp_path, photo_lin):
    import tifffile  # noqa: PLC0415

    path = write_image(photo_lin, tmp_path / "t.tif", space="prophoto")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == photo_lin.shape
        assert page.compression == 8 and 34675 in page.tags and page.tags[274].value == 1


def test_tall_image_is_written_in_bands(tmp_path):
    """More rows than one band (256): every band must land in the right place."""
    ramp = np.linspace(0, 1, 1000, dtype=np.float32)[:, None, None] * np.ones((1, 3, 3), np.float32)
    rgb = decode(write_image(ramp, tmp_path / "tall.png", space="prophoto", linear=True)).rgb_lin
    assert np.abs(rgb - ramp).max() < 1e-4


def test_jpeg_optimize_gives_the_same_pixels_in_a_smaller_file(tmp_path, photo_lin):
    from exposure_batch.io.write import write_encoded

    encoded = encode_to_int(photo_lin, Space.SRGB, linear=False, bits=8)
    plain = write_encoded(encoded, tmp_path / "plain.jpg", quality=95)
    small = write_encoded(encoded, tmp_path / "small.jpg", quality=95, optimize=True)
    assert os.path.getsize(small) < os.path.getsize(plain)
    with Image.open(plain) as a, Image.open(small) as b:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # Huffman tables only: lossless difference


def test_jpeg_carries_exif_and_an_icc_profile_split_over_app2_segments(tmp_path):
    """The JPEG is encoded straight from the array (imagecodecs) and our APP segments are spliced in after JFIF:
    Pillow and exiftool read the EXIF and the whole ICC profile back, also one that needs three APP2 segments."""
    import subprocess

    from exposure_batch.io.write import _jpeg_bytes

    rng = np.random.default_rng(4)
    encoded = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    big_icc = rng.integers(0, 256, 140_000, dtype=np.uint8).tobytes()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS Test"
    path = tmp_path / "meta.jpg"
    path.write_bytes(_jpeg_bytes(encoded, 95, False, big_icc, exif.tobytes()))
    with Image.open(path) as im:
        assert im.info["icc_profile"] == big_icc
        assert im.getexif()[0x010F] == "Canon" and im.getexif()[0x0110] == "EOS Test"
        assert JpegImagePlugin.get_sampling(im) == 0 and im.info["jfif"]
        assert np.abs(np.asarray(im).astype(int) - encoded).mean() < 8
    exiftool = require_tool("exiftool")  # an independent reader of the EXIF we wrote (fails when CI=true)
    out = subprocess.run([exiftool, "-s", "-s", "-s", "-Make", "-Model", str(path)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == ["Canon", "EOS Test"]
