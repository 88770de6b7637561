"""Fixtures for the learned-agent tests: small generated photos and tiny network settings."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

TINY_NET = {"channels": [4, 4, 8, 8], "fc": 8, "dropout": 0.5}


def synthetic_photo(rng: np.random.Generator, size=(96, 128)) -> np.ndarray:
    """(H, W, 3) uint8 sRGB: a smooth coloured gradient with a few blobs (a stand-in for a photo)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(0.2, 0.8, 3)
    img = base + 0.3 * np.stack([np.sin(3 * xx + rng.uniform(0, 6)), np.cos(2 * yy + rng.uniform(0, 6)), xx * yy], -1)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.2)
        img += (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)[..., None] * rng.uniform(-0.3, 0.3, 3)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def photo_dir(tmp_path):
    """A folder of 4 generated PNG photos."""
    rng = np.random.default_rng(0)
    d = tmp_path / "photos"
    d.mkdir()
    for i in range(4):
        Image.fromarray(synthetic_photo(rng)).save(d / f"p{i}.png")
    return d
