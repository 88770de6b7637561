"""Colour spaces, transfer curves and luminance: the only place these facts live.

Naming (used everywhere in the package): ``*_lin`` = linear light, scene-referred, float32, may exceed 1;
``*_srgb`` (or ``*_enc``) = display-encoded with the space's transfer curve, [0, 1].

The working space is **linear ProPhoto RGB** (ROMM primaries, D50 white), the space the Exposure paper's model was
trained in and Lightroom's own working space. Matrices between spaces come from colour-science (Bradford
chromatic adaptation between white points) and are cached.

Exports: Space, WORKING_SPACE, LUMA_WEIGHTS, luminance, srgb_encode, srgb_decode, encode, decode,
convert_matrix, convert_linear, SPACE_NAMES.
"""
from __future__ import annotations

import functools
import json
import os
import warnings
from enum import Enum
from typing import NewType

import numpy as np

LinearRGB = NewType("LinearRGB", np.ndarray)
EncodedRGB = NewType("EncodedRGB", np.ndarray)

#: Luminance weights used by every Exposure filter (paper, section 1): lum = 0.27 R + 0.67 G + 0.06 B.
LUMA_WEIGHTS = np.array([0.27, 0.67, 0.06], dtype=np.float32)


class Space(str, Enum):
    """RGB colour spaces we read and write. The value is colour-science's name for it."""

    SRGB = "sRGB"
    ADOBE_RGB = "Adobe RGB (1998)"
    PROPHOTO = "ProPhoto RGB"
    DISPLAY_P3 = "Display P3"
    REC2020 = "ITU-R BT.2020"


WORKING_SPACE = Space.PROPHOTO

#: Short CLI / JSON names for the spaces.
SPACE_NAMES = {
    "srgb": Space.SRGB,
    "adobergb": Space.ADOBE_RGB,
    "prophoto": Space.PROPHOTO,
    "p3": Space.DISPLAY_P3,
    "rec2020": Space.REC2020,
}


def space_from_name(name: str) -> Space:
    """Parse a short name ('srgb', 'prophoto', ...) or a colour-science name into a Space."""
    key = name.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
    if key in SPACE_NAMES:
        return SPACE_NAMES[key]
    for space in Space:
        if space.value.lower() == name.strip().lower():
            return space
    raise ValueError(f"unknown colour space {name!r}; known: {', '.join(SPACE_NAMES)}")


def luminance(rgb_lin: np.ndarray) -> np.ndarray:
    """Exposure's luminance of (..., 3) float32 RGB in the working space -> (...) float32."""
    return rgb_lin @ LUMA_WEIGHTS


def srgb_encode(rgb_lin: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer: linear [0, 1] -> sRGB-encoded [0, 1]. Values are clipped to [0, 1] first.

    Args: rgb_lin: any shape, float, linear light. Returns float32 of the same shape, encoded.
    """
    x = np.clip(np.asarray(rgb_lin, dtype=np.float32), 0.0, 1.0)
    low = x * np.float32(12.92)
    high = np.float32(1.055) * np.power(x, np.float32(1 / 2.4)) - np.float32(0.055)
    return np.where(x <= np.float32(0.0031308), low, high).astype(np.float32, copy=False)


def srgb_decode(rgb_srgb: np.ndarray) -> np.ndarray:
    """Inverse IEC 61966-2-1 transfer: sRGB-encoded [0, 1] -> linear [0, 1], float32."""
    v = np.asarray(rgb_srgb, dtype=np.float32)
    low = v / np.float32(12.92)
    high = np.power((np.maximum(v, 0) + np.float32(0.055)) / np.float32(1.055), np.float32(2.4))
    return np.where(v <= np.float32(0.04045), low, high).astype(np.float32, copy=False)


def _gamma_encode(x: np.ndarray, gamma: float) -> np.ndarray:
    return np.power(np.clip(x, 0.0, 1.0), np.float32(1.0 / gamma)).astype(np.float32, copy=False)


def _gamma_decode(v: np.ndarray, gamma: float) -> np.ndarray:
    return np.power(np.clip(v, 0.0, 1.0), np.float32(gamma)).astype(np.float32, copy=False)


def _prophoto_encode(x: np.ndarray) -> np.ndarray:
    """ROMM RGB transfer (ISO 22028-2): linear -> encoded, with the linear toe below 1/512."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x < np.float32(1 / 512), x * np.float32(16), np.power(x, np.float32(1 / 1.8))).astype(np.float32)


def _prophoto_decode(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v < np.float32(16 / 512), v / np.float32(16), np.power(v, np.float32(1.8))).astype(np.float32)


def _rec2020_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    a, b = np.float32(1.09929682680944), np.float32(0.018053968510807)
    return np.where(x < b, x * np.float32(4.5), a * np.power(x, np.float32(0.45)) - (a - 1)).astype(np.float32)


def _rec2020_decode(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    a, b = np.float32(1.09929682680944), np.float32(0.018053968510807)
    return np.where(v < b * 4.5, v / np.float32(4.5), np.power((v + (a - 1)) / a, np.float32(1 / 0.45))).astype(np.float32)


_ENCODERS = {
    Space.SRGB: srgb_encode,
    Space.DISPLAY_P3: srgb_encode,  # Display P3 uses the sRGB transfer curve
    Space.ADOBE_RGB: lambda x: _gamma_encode(x, 563 / 256),
    Space.PROPHOTO: _prophoto_encode,
    Space.REC2020: _rec2020_encode,
}
_DECODERS = {
    Space.SRGB: srgb_decode,
    Space.DISPLAY_P3: srgb_decode,
    Space.ADOBE_RGB: lambda v: _gamma_decode(v, 563 / 256),
    Space.PROPHOTO: _prophoto_decode,
    Space.REC2020: _rec2020_decode,
}


def encode(rgb_lin: np.ndarray, space: Space) -> np.ndarray:
    """Apply `space`'s transfer curve: linear [0, 1] -> encoded [0, 1] (clipped), float32."""
    return _ENCODERS[Space(space)](rgb_lin)


def decode(rgb_enc: np.ndarray, space: Space) -> np.ndarray:
    """Remove `space`'s transfer curve: encoded [0, 1] -> linear [0, 1], float32."""
    return _DECODERS[Space(space)](rgb_enc)


@functools.lru_cache(maxsize=None)
def _colour():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour  # noqa: PLC0415  (slow import: only when a matrix is first needed)
    return colour


def _derived(space: Space):
    """colour-science colourspace whose RGB<->XYZ matrices are derived from its primaries and white (not the
    published, rounded ones), so that white maps exactly to white between spaces."""
    cs = _colour().RGB_COLOURSPACES[Space(space).value].copy()
    cs.use_derived_matrix_RGB_to_XYZ = True
    cs.use_derived_matrix_XYZ_to_RGB = True
    return cs


#: Matrices derived with colour-science, stored so that worker processes need not import it (about 1.2 s each,
#: since it imports matplotlib when installed). Written by tools/make_colour_constants.py; tests/test_color.py
#: recomputes every entry with colour-science and requires equality. Missing entries are computed on demand.
CONSTANTS_FILE = os.path.join(os.path.dirname(__file__), "data", "colour_constants.json")


@functools.lru_cache(maxsize=1)
def stored_constants() -> dict:
    """{name: nested list of float64} from CONSTANTS_FILE ({} when the file is absent or unreadable)."""
    try:
        with open(CONSTANTS_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def stored_or_derived(name: str, derive) -> np.ndarray:
    """The stored float64 array `name`, else derive() computed now (with colour-science)."""
    table = stored_constants()
    if name in table:
        return np.asarray(table[name], dtype=np.float64)
    return np.asarray(derive(), dtype=np.float64)


def derive_convert_matrix(src: Space, dst: Space) -> np.ndarray:
    """convert_matrix computed with colour-science (float64), bypassing the stored table."""
    return np.asarray(_colour().matrix_RGB_to_RGB(_derived(src), _derived(dst), chromatic_adaptation_transform="Bradford"),
                      dtype=np.float64)


def constant_derivations() -> dict:
    """{stored name: function computing it with colour-science}: every entry of CONSTANTS_FILE."""
    from .io import icc  # noqa: PLC0415  (icc imports this module)

    out = {f"convert_matrix:{a.name}:{b.name}": functools.partial(derive_convert_matrix, a, b)
           for a in Space for b in Space if a != b}
    for s in Space:
        out[f"bradford_to_d50:{s.name}"] = functools.partial(icc.derive_bradford_to_d50, s)
        out[f"colorants_d50:{s.name}"] = functools.partial(icc.derive_colorants_d50, s)
    return out


@functools.lru_cache(maxsize=None)
def convert_matrix(src: Space, dst: Space) -> np.ndarray:
    """3x3 float32 matrix M with rgb_dst_lin = rgb_src_lin @ M.T (Bradford adaptation; white maps to white)."""
    src, dst = Space(src), Space(dst)
    if src == dst:
        return np.eye(3, dtype=np.float32)
    m = stored_or_derived(f"convert_matrix:{src.name}:{dst.name}", lambda: derive_convert_matrix(src, dst))
    out = np.asarray(m, dtype=np.float32)
    out.setflags(write=False)
    return out


def convert_linear(rgb_lin: np.ndarray, src: Space, dst: Space) -> np.ndarray:
    """Convert linear (..., 3) RGB between spaces; returns float32 (may go negative / above 1 out of gamut)."""
    if Space(src) == Space(dst):
        return np.asarray(rgb_lin, dtype=np.float32)
    return np.asarray(rgb_lin, dtype=np.float32) @ convert_matrix(src, dst).T
