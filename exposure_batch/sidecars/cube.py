"""Bake a recipe into a 3D LUT: `.cube` (Resolve/Iridas) and a 16-bit Hald CLUT image (RawTherapee, darktable).

Every Exposure filter is pointwise, so a recipe is a 3D colour function. The LUT's input and output are
**sRGB-encoded values in [0, 1]** (DOMAIN_MIN 0 0 0, DOMAIN_MAX 1 1 1, the .cube default): node (r, g, b) holds
encode_srgb(clip(sRGB_lin <- render(recipe, ProPhoto_lin <- decode_srgb(r, g, b)))), i.e. exactly what
`exposure-batch process` does to an sRGB source written as sRGB output. Nodes are ordered red fastest (.cube and
Hald order). Other sources or output spaces: the LUT is still the sRGB -> sRGB version of the look.

Exports: bake, write_cube, write_hald, apply_lut, DEFAULT_SIZE, HALD_LEVEL.
"""
from __future__ import annotations

import functools
import io
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


@functools.lru_cache(maxsize=4)
def _working_nodes(size: int) -> np.ndarray:
    """The grid's nodes decoded from sRGB into linear working RGB, (size^3, 1, 3) float32, read-only: the same for
    every recipe, so a shoot of distinct recipes converts them once."""
    nodes = _to_working(grid(size))
    nodes.setflags(write=False)
    return nodes


def _to_working(rgb_srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded (..., 3) -> linear working RGB (M, 1, 3) float32, contiguous."""
    lin = color.convert_linear(color.srgb_decode(rgb_srgb.reshape(-1, 1, 3)), Space.SRGB, color.WORKING_SPACE)
    return np.ascontiguousarray(lin, dtype=np.float32)


def _from_working(rgb_lin: np.ndarray, shape) -> np.ndarray:
    """Linear working RGB -> sRGB-encoded float32 in [0, 1], reshaped to `shape`."""
    return color.srgb_encode(color.convert_linear(rgb_lin, color.WORKING_SPACE, Space.SRGB)).reshape(shape)


def transform_srgb(recipe, rgb_srgb: np.ndarray) -> np.ndarray:
    """Apply a recipe to sRGB-encoded values (..., 3) in [0, 1] -> sRGB-encoded (..., 3) float32 in [0, 1]."""
    return _from_working(render(recipe, _to_working(rgb_srgb)), rgb_srgb.shape)


def bake(recipe, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Recipe -> (size, size, size, 3) float32 table indexed [r, g, b], sRGB-encoded in and out (what
    transform_srgb(recipe, grid(size)) gives, with the recipe-independent part computed once per size)."""
    if not 2 <= int(size) <= 256:
        raise ValueError(f"LUT size must be 2..256, got {size}")
    size = int(size)
    return _from_working(render(recipe, _working_nodes(size)), (size, size, size, 3))


def _title(text: str) -> str:
    """A .cube TITLE must be one line without double quotes."""
    return " ".join(re.sub(r"[\"\r\n\t]+", " ", text).split())[:120] or "exposure-batch look"


def write_cube(table: np.ndarray, path: str | os.PathLike, title: str = "exposure-batch look") -> str:
    """Write a (N, N, N, 3) [r, g, b]-indexed table as a .cube file, atomically (the file colour-science's
    `write_LUT` writes: TITLE, LUT_3D_SIZE, red-fastest rows of 6 decimals, read back by `read_cube`).

    The rows are formatted with NumPy in one pass: colour-science formats them one by one in Python, about 3.4 s for
    a 65^3 LUT on this machine (5x a whole edit), this about 0.03 s."""
    path = os.fspath(path)
    table = np.asarray(table)
    if table.ndim != 4 or table.shape[3] != 3 or not table.shape[0] == table.shape[1] == table.shape[2]:
        raise ValueError(f"a .cube table must be (N, N, N, 3), got {table.shape}")
    header = f'TITLE "{_title(title)}"\nLUT_3D_SIZE {table.shape[0]}\n'.encode("utf-8")
    rows = np.transpose(table, (2, 1, 0, 3)).reshape(-1, 3)  # node (r, g, b) in red-fastest order
    with atomic_write(path, "wb") as fh:
        fh.write(header)
        fh.write(cube_rows(rows))
    return path


#: Characters per value written by `cube_rows` for values in [0, 1]: 'd.dddddd' and a space or newline.
_CELL = 9


def cube_rows(rows: np.ndarray) -> bytes:
    """(M, 3) values -> b'0.012920 0.012920 0.012920\\n' * M, each value with 6 decimals ('%.6f').

    Values in [0, 1] (what `bake` makes) are written as fixed-width digits computed with integer arithmetic; a
    table holding anything else (HDR values, NaN) falls back to NumPy's '%.6f' formatting."""
    rows = np.asarray(rows, dtype=np.float64)
    if not (np.all(rows >= 0.0) and np.all(rows <= 1.0)):
        buf = io.BytesIO()
        np.savetxt(buf, rows, fmt="%.6f", delimiter=" ")
        return buf.getvalue()
    rest = np.rint(rows.reshape(-1) * 1e6).astype(np.int32)  # 0 .. 1_000_000
    digit = np.empty_like(rest)
    planes = np.empty((_CELL, rest.size), dtype=np.uint8)  # character k of every value, then one transpose
    for k, unit in enumerate((1_000_000, 0, 100_000, 10_000, 1000, 100, 10, 1)):
        if not unit:
            planes[k] = ord(".")
            continue
        np.floor_divide(rest, unit, out=digit)
        rest -= digit * unit
        planes[k] = digit
        planes[k] += ord("0")
    planes[8] = ord(" ")
    planes[8, 2::3] = ord("\n")
    return planes.T.tobytes()


def read_cube(path: str | os.PathLike) -> np.ndarray:
    """.cube file -> (N, N, N, 3) float32 table indexed [r, g, b] (colour-science reader)."""
    return np.asarray(color._colour().read_LUT(os.fspath(path)).table, dtype=np.float32)  # noqa: SLF001


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
    colour = color._colour()  # noqa: SLF001  (imported with its optional-dependency warnings silenced)
    from colour.algebra import table_interpolation_tetrahedral, table_interpolation_trilinear  # noqa: PLC0415

    interp = table_interpolation_tetrahedral if method == "tetrahedral" else table_interpolation_trilinear
    lut = colour.LUT3D(table=np.asarray(table, dtype=np.float64))
    return np.asarray(lut.apply(np.asarray(rgb_srgb, dtype=np.float64), interpolator=interp), dtype=np.float32)
