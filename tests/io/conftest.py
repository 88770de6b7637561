"""Fixtures for the I/O tests: real photos from samples/ (small crops keep the tests fast)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from exposure_batch import color
from tests.helpers import sample_srgb8

warnings.filterwarnings("ignore", message=".*Matplotlib.*")


@pytest.fixture(scope="session")
def photo_srgb8() -> np.ndarray:
    """(200, 300, 3) uint8 sRGB: the coffee sample photo, downsized."""
    return sample_srgb8("coffee_p3_16bit.png", size=(300, 200))


@pytest.fixture(scope="session")
def photo_lin(photo_srgb8) -> np.ndarray:
    """The same photo as (200, 300, 3) float32 linear ProPhoto RGB."""
    return color.convert_linear(color.srgb_decode(photo_srgb8 / np.float32(255)), color.Space.SRGB,
                                color.WORKING_SPACE)
