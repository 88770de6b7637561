"""Fixture builders shared by all tests: DNGs from real photos, oriented JPEGs, sample paths.

    from tests.helpers import make_dng, sample_path, sample_srgb8, make_jpeg

Everything here writes real files with the project's own writers (or Pillow); no mocks.
"""
from __future__ import annotations

import importlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from exposure_batch import color

REPO = Path(__file__).resolve().parents[1]
SAMPLES_DIR = REPO / "samples"


def sample_path(name: str) -> Path:
    """Path of a shipped sample photo (see samples/LICENSES.md), e.g. sample_path('flower.dng')."""
    p = SAMPLES_DIR / name
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing: run `python tools/make_samples.py`")
    return p


def sample_srgb8(name: str = "coffee_p3_16bit.png", size: tuple[int, int] | None = None) -> np.ndarray:
    """A real photo as (H, W, 3) uint8 sRGB-encoded pixels (decoded with our decoder, converted to sRGB).

    size: optional (width, height) to resize to (Lanczos, in sRGB) for small fast fixtures.
    """
    from exposure_batch.io import decode  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    rgb_lin = decode(sample_path(name)).rgb_lin
    srgb = color.srgb_encode(color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB))
    img8 = (srgb * 255 + 0.5).astype(np.uint8)
    if size is not None:
        img8 = np.asarray(Image.fromarray(img8).resize(size, Image.LANCZOS))
    return img8


def write_underexposed_jpeg(path, name: str = "casio_qv_r51.jpg", ev: float = -1.5,
                            max_size: tuple[int, int] | None = None, gains_rgb=(1.0, 1.0, 1.0)) -> Path:
    """A shipped sample JPEG made `ev` stops darker in linear light (an underexposed capture, which the default edit
    visibly corrects: the samples themselves are finished photos it barely touches), its EXIF kept, optionally
    shrunk to fit `max_size` and given a colour cast (`gains_rgb` on linear sRGB, e.g. (1.25, 1, 0.75) for warm
    light). Written with Pillow (quality 92); returns the path."""
    from PIL import Image  # noqa: PLC0415

    with Image.open(sample_path(name)) as im:
        exif = im.getexif()
        if max_size:
            im.thumbnail(max_size)
        lin = color.decode(np.asarray(im.convert("RGB"), np.float32) / 255.0, color.Space.SRGB) * np.float32(2.0**ev)
        lin = lin * np.asarray(gains_rgb, np.float32)
        out = Image.fromarray(np.round(color.encode(lin, color.Space.SRGB) * 255.0).astype(np.uint8))
    out.save(path, quality=92, exif=exif)
    return Path(path)


def make_dng(path, rgb_lin: np.ndarray, *, space="srgb", orientation: int = 1, noise: bool = False, seed: int = 0,
             camera: str | None = None, exif: dict | None = None, compression: str = "none", peak: float = 0.85):
    """Write a realistic RGGB DNG that LibRaw decodes like a camera file (see exposure_batch.io.dng.write_dng).

    Args:
        path: destination (.dng).
        rgb_lin: (H, W, 3) float, LINEAR RGB in `space` ('srgb' default, 'prophoto', ...), the unrotated sensor
            image; H and W are cropped to even numbers.
        orientation: TIFF orientation tag (LibRaw applies it on decode).
        noise: shot + read noise (off by default so tests can compare values tightly).
        camera: key of exposure_batch.io.dng.CAMERAS (default Canon EOS 5D Mark II).
        exif: extra EXIF (iso, exposure_time, f_number, focal_length, capture_time, lens).
        compression: 'none' or 'ljpeg'.

    Returns: DngResult (path, width, height, xyz_to_cam, as_shot_neutral, gain, black, white).
    """
    from exposure_batch.io.dng import DEFAULT_CAMERA, write_dng  # noqa: PLC0415

    return write_dng(os.fspath(path), rgb_lin, space=space, orientation=orientation, noise=noise, seed=seed,
                     camera=camera or DEFAULT_CAMERA, exif=exif, compression=compression, peak=peak)


def make_jpeg(path, rgb_srgb8: np.ndarray, *, orientation: int | None = None, exif: dict | None = None,
              quality: int = 95, icc: bytes | None = None) -> Path:
    """Write (H, W, 3) uint8 sRGB pixels as a JPEG with Pillow, optionally with an EXIF orientation tag, camera
    EXIF (our dict keys) and an ICC profile. The pixels are stored as given (not rotated)."""
    from PIL import Image  # noqa: PLC0415

    from exposure_batch.io import metadata  # noqa: PLC0415

    kwargs: dict = {"quality": quality, "subsampling": 0}
    e = Image.Exif()
    if exif:
        block = metadata.build_exif(exif)
        if block:
            e.load(block)
    if orientation is not None:
        e[0x0112] = int(orientation)
    if len(e):
        kwargs["exif"] = e.tobytes()
    if icc:
        kwargs["icc_profile"] = icc
    Image.fromarray(rgb_srgb8, "RGB").save(os.fspath(path), "JPEG", **kwargs)
    return Path(path)


def encode_png16(rgb16: np.ndarray, icc: bytes | None = None) -> bytes:
    """(H, W, 3) uint16 -> PNG bytes with an optional iCCP chunk (our writer's chunk code)."""
    from exposure_batch.io.write import _png_bytes  # noqa: PLC0415

    if icc is None:
        import imagecodecs  # noqa: PLC0415

        return imagecodecs.png_encode(rgb16)
    return _png_bytes(rgb16, icc, "test", None)


def random_square_crop(img: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A square crop of img, its side a uniform fraction in [low, high) of the short side, at a random place
    (draws from rng: the fraction, then top, then left)."""
    h, w = img.shape[:2]
    s = int(min(h, w) * rng.uniform(low, high))
    top, left = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
    return np.ascontiguousarray(img[top : top + s, left : left + s])


def blocks_mean(a: np.ndarray, k: int = 8) -> np.ndarray:
    """(H, W, C) -> (H//k, W//k, C) float64 block means (removes demosaicing / JPEG detail for comparisons)."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3), dtype=np.float64)


def jpeg_bytes(rgb_srgb8: np.ndarray, **kwargs) -> bytes:
    from PIL import Image  # noqa: PLC0415

    buf = io.BytesIO()
    Image.fromarray(rgb_srgb8, "RGB").save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def in_ci() -> bool:
    """True when running in CI (CI=true, as .ci/run sets): missing tools and modules fail tests there."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """Path of program `name` on PATH; when it is missing the calling test is skipped, or failed under CI=true."""
    path = shutil.which(name)
    if path:
        return path
    if in_ci():
        pytest.fail(f"{name} is not installed, and CI=true requires it (.ci/run installs it with apt-get)")
    pytest.skip(f"{name} not installed")


def require_module(name: str):
    """Import module `name`; when it is missing the calling test (module) is skipped, or failed under CI=true."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        if in_ci():
            pytest.fail(f"{name} cannot be imported ({err}); CI installs it with pip install -e '.[test]'",
                        pytrace=False)
        pytest.skip(f"{name} not installed", allow_module_level=True)
