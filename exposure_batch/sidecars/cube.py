"""Bake a recipe into a 3D LUT: `.cube` (Resolve/Iridas) and a 16-bit Hald CLUT image (RawTherapee, darktable).

Every Exposure filter is pointwise, so a recipe is a 3D colour function. The LUT's input and output are
**sRGB-encoded values in [0, 1]** (DOMAIN_MIN 0 0 0, DOMAIN_MAX 1 1 1, the .cube default): node (r, g, b) holds
encode_srgb(clip(sRGB_lin <- render(recipe, ProPhoto_lin <- decode_srgb(r, g, b)))), i.e. exactly what
`exposure-batch process` does to an sRGB source written as sRGB output. Nodes are ordered red fastest (.cube and
Hald order). Other sources or output spaces: the LUT is still the sRGB -> sRGB version of the look.

Exports: bake, write_cube, write_hald, apply_lut, DEFAULT_SIZE, HALD_LEVEL.
"""
from __future__ import annotations

import os
import re

import numpy as np

from .. import color
from ..color import Space
from ..io.write import atomic_write
from ..render import render

DEFAULT_SIZE = 65
#: Hald level 8 = a 64^3 cube stored in a 512 x 512 image.
HALD_LEVEL = 8


def grid(size: int) -> np.ndarray:
    """(size, size, size, 3) float32 node coordinates, indexed [r, g, b], values in [0, 1]."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float64)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1).astype(np.float32)


def transform_srgb(recipe, rgb_srgb: np.ndarray) -> np.ndarray:
    """Apply a recipe to sRGB-encoded values (..., 3) in [0, 1] -> sRGB-encoded (..., 3) float32 in [0, 1]."""

    shape = rgb_srgb.shape
    lin = color.convert_linear(color.srgb_decode(rgb_srgb.reshape(-1, 1, 3)), Space.SRGB, color.WORKING_SPACE)
    out = render(recipe, np.ascontiguousarray(lin, dtype=np.float32))
    return color.srgb_encode(color.convert_linear(out, color.WORKING_SPACE, Space.SRGB)).reshape(shape)


def bake(recipe, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Recipe -> (size, size, size, 3) float32 table indexed [r, g, b], sRGB-encoded in and out."""
    if not 2 <= int(size) <= 256:
        raise ValueError(f"LUT size must be 2..256, got {size}")
    return transform_srgb(recipe, grid(int(size)))


def _title(text: str) -> str:
    """A .cube TITLE must be one line without double quotes."""
    return " ".join(re.sub(r"[\"\r\n\t]+", " ", text).split())[:120] or "exposure-batch look"


def write_cube(table: np.ndarray, path: str | os.PathLike, title: str = "exposure-batch look") -> str:
    """Write a (N, N, N, 3) [r, g, b]-indexed table as a .cube file (colour-science writer), atomically."""
    import colour  # noqa: PLC0415


    path = os.fspath(path)
    lut = colour.LUT3D(table=np.asarray(table, dtype=np.float64), name=_title(title))
    with atomic_write(path, "wb") as fh:
        scratch = fh.name + ".cube"
        try:
            colour.write_LUT(lut, scratch, decimals=6)
            with open(scratch, "rb") as src:
                fh.write(src.read())
        finally:
            if os.path.exists(scratch):
                os.unlink(scratch)
    return path


def read_cube(path: str | os.PathLike) -> np.ndarray:
    """.cube file -> (N, N, N, 3) float32 table indexed [r, g, b] (colour-science reader)."""
    import colour  # noqa: PLC0415

    return np.asarray(colour.read_LUT(os.fspath(path)).table, dtype=np.float32)


def hald_image(table: np.ndarray) -> np.ndarray:
    """(L^2, L^2, L^2, 3) table -> (L^3, L^3, 3) uint16 Hald CLUT image (pixel i = r + g N + b N^2)."""
    n = table.shape[0]
    level = round(n ** 0.5)
    if level * level != n:
        raise ValueError(f"a Hald CLUT needs a cube size that is a square (got {n})")
    side = level ** 3
    pixels = np.transpose(table, (2, 1, 0, 3)).reshape(side, side, 3)
    return np.round(np.clip(pixels, 0.0, 1.0) * 65535.0).astype(np.uint16)


def write_hald(recipe, path: str | os.PathLike, level: int = HALD_LEVEL) -> str:
    """Bake and write a 16-bit Hald CLUT (.png or .tif by extension), atomically. Level 8 = 512 x 512 pixels."""

    path = os.fspath(path)
    img = hald_image(bake(recipe, level * level))
    ext = os.path.splitext(path)[1].lower()
    if ext == ".png":
        import imagecodecs  # noqa: PLC0415

        data = imagecodecs.png_encode(img)
        with atomic_write(path, "wb") as fh:
            fh.write(data)
    elif ext in (".tif", ".tiff"):
        import tifffile  # noqa: PLC0415

        with atomic_write(path, "w+b") as fh:
            tifffile.imwrite(fh, img, photometric="rgb")
    else:
        raise ValueError(f"{path}: Hald CLUT must be .png or .tif")
    return path


def read_hald(path: str | os.PathLike) -> np.ndarray:
    """Hald CLUT image -> (N, N, N, 3) float32 table indexed [r, g, b]."""
    path = os.fspath(path)
    if path.lower().endswith(".png"):
        import imagecodecs  # noqa: PLC0415

        with open(path, "rb") as fh:
            img = imagecodecs.png_decode(fh.read())
    else:
        import tifffile  # noqa: PLC0415

        img = tifffile.imread(path)
    side = img.shape[0]
    n = round(side ** (2 / 3))
    table = img.reshape(n, n, n, 3).transpose(2, 1, 0, 3)
    return (table.astype(np.float32) / np.float32(np.iinfo(img.dtype).max)).astype(np.float32)


def apply_lut(table: np.ndarray, rgb_srgb: np.ndarray, method: str = "tetrahedral") -> np.ndarray:
    """Apply a [r, g, b]-indexed table to (..., 3) sRGB-encoded values with colour-science's interpolators."""
    import colour  # noqa: PLC0415
    from colour.algebra import table_interpolation_tetrahedral, table_interpolation_trilinear  # noqa: PLC0415

    interp = table_interpolation_tetrahedral if method == "tetrahedral" else table_interpolation_trilinear
    lut = colour.LUT3D(table=np.asarray(table, dtype=np.float64))
    return np.asarray(lut.apply(np.asarray(rgb_srgb, dtype=np.float64), interpolator=interp), dtype=np.float32)
