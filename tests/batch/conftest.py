"""Fixtures for the batch engine tests: a folder of real sample photos (every input kind) plus bad files."""
from __future__ import annotations

import shutil

import pytest

from tests.helpers import SAMPLES_DIR

#: Real photos of every kind we read (RAW/DNG, JPEG with orientation, 16-bit PNG/TIFF with ICC profiles).
GOOD = ("flower.dng", "astronaut_orientation6.jpg", "casio_qv_r51.jpg", "coffee_p3_16bit.png",
        "chelsea_adobergb_16bit.tif", "nikon_d300_rec2020_linear_16bit.png")


@pytest.fixture
def photos(tmp_path):
    """tmp/in with the good samples, a truncated DNG, a text file named .dng and an empty .jpg; returns the folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(SAMPLES_DIR / name, folder / name)
    data = (SAMPLES_DIR / "flower.dng").read_bytes()
    (folder / "truncated.dng").write_bytes(data[: len(data) // 3])
    (folder / "notes.dng").write_text("not a raw file\n")
    (folder / "empty.jpg").write_bytes(b"")
    return folder


BAD = ("truncated.dng", "notes.dng", "empty.jpg")
