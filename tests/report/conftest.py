"""Fixtures for the report tests: small real photo files (from samples/, resized) and a hand-made recipe."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from exposure_batch.recipe import Recipe
from tests.helpers import sample_path, write_underexposed_jpeg


@pytest.fixture(scope="session")
def recipe() -> Recipe:
    """A five-step recipe touching tone, colour and the curve filters."""
    return Recipe.from_steps([
        ("white_balance", {"red": 1.1, "green": 1.0, "blue": 0.9}),
        ("exposure", {"ev": 0.8}),
        ("tone_curve", {"slopes": [0.6, 0.8, 1.0, 1.2, 1.4, 1.2, 1.0, 0.8]}),
        ("contrast", {"amount": 0.3}),
        ("color_curves", {"red": [1.05] * 4 + [0.95] * 4, "green": [1.0] * 8, "blue": [0.95] * 4 + [1.05] * 4}),
    ], model_id="test")


@pytest.fixture(scope="session")
def photo_lin() -> np.ndarray:
    """A real photo (samples/casio_qv_r51.jpg) as a 240x180 float32 linear ProPhoto image."""
    from exposure_batch.io import decode
    from exposure_batch.render.preview import thumbnail

    return thumbnail(decode(sample_path("casio_qv_r51.jpg")).rgb_lin, 240)


@pytest.fixture()
def photo_dir(tmp_path):
    """Folder with three small real JPEGs (resized samples; the astronaut 1.5 EV underexposed, so the default
    edit visibly changes it: the others are finished photos it barely touches) and one text file named .jpg."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_underexposed_jpeg(folder / "astronaut_orientation6.jpg", "astronaut_orientation6.jpg", max_size=(320, 320))
    for name in ("casio_qv_r51.jpg", "canon_powershot_g1x2.jpg"):
        with Image.open(sample_path(name)) as im:
            im.thumbnail((320, 320))
            im.save(folder / name, quality=90, exif=im.getexif())
    (folder / "broken.jpg").write_text("this is not a photo\n")
    return folder
