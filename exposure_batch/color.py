"""Colour spaces, transfer curves and luminance: the only place these facts live.

Naming (used everywhere in the package): ``*_lin`` = linear light, scene-referred, float32, may exceed 1;
``*_srgb`` (or ``*_enc``) = display-encoded with the space's transfer curve, [0, 1].

The working space is **linear ProPhoto RGB** (ROMM primaries, D50 white), the space the Exposure paper's model was
trained in and Lightroom's own working space. Matrices between spaces come from colour-science (Bradford
chromatic adaptation between white points) and are cached.

Exports: Space, WORKING_SPACE, LUMA_WEIGHTS, luminance, srgb_encode, srgb_decode, encode, decode,
convert_matrix, convert_linear, SPACE_NAMES, LIBRAW_PROPHOTO_FROM_SRGB.
"""
from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from typing import NewType

import numpy as np

LinearRGB = NewType("LinearRGB", np.ndarray)
EncodedRGB = NewType("EncodedRGB", np.ndarray)

#: Luminance weights used by every Exposure filter (paper, section 1): lum = 0.27 R + 0.67 G + 0.06 B.
LUMA_WEIGHTS = np.array([0.27, 0.67, 0.06], dtype=np.float32)
#: Middle grey (linear luminance): the classic agent's exposure target, the pivot of the training degradation's tone
#: flattening (agent.data.degrade) and of the capture estimate's gamma correction that undoes it.
MIDDLE_GREY = 0.18
#: dcraw/LibRaw's linear sRGB (D65) -> ProPhoto (D50) matrix (`prophoto_rgb` in LibRaw), which LibRaw applies after
#: the camera matrix when it develops to ProPhoto: the shoot survey (shoot.survey) develops sensor samples with it.
LIBRAW_PROPHOTO_FROM_SRGB = np.array([[0.529317, 0.330092, 0.140588],
                                      [0.098368, 0.873465, 0.028169],
                                      [0.016879, 0.117663, 0.865457]], np.float64)
LUMA_WEIGHTS.setflags(write=False)

#: The ICC profile connection space illuminant (D50) as stored in ICC headers, X Y Z.
D50_PCS = (0.9642, 1.0, 0.8249)
#: IEC 61966-2-1 linear sRGB -> XYZ (D65) and the D65 white, XYZ (the CIELAB reference of the training loss).
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]], np.float32)
D65_XYZ = np.array([0.95047, 1.0, 1.08883], np.float32)
#: The D65 white's CIE 1931 xy chromaticity (IEC 61966-2-1), for comparing colour-science whitepoints.
D65_XY = (0.3127, 0.3290)
#: Relative luminance Y of linear sRGB / Rec. 709 primaries (ITU-R BT.709): the displayed brightness, as opposed to
#: the Exposure filters' LUMA_WEIGHTS on linear ProPhoto.
REC709_LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)
REC709_LUMINANCE.setflags(write=False)


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


@dataclass(frozen=True)
class TransferCurve:
    """A transfer curve as a linear toe plus a scaled power (linear -> encoded), with the exact float32 maths of
    `encode`/`decode`; the fused kernels (render.kernels.transfer_params) and ICC 'para' tags (io.icc) read it too.

    encode: y = x * toe_slope if x < toe_end (x <= toe_end when `inclusive`) else scale * x^(1 / gamma) - offset
    decode: x = y / toe_slope if y < decode_toe_end (<= when `inclusive`) else ((y + offset) / scale)^gamma
    """

    gamma: float  # decoding exponent (encoded -> linear)
    toe_end: float = 0.0  # linear value where the toe ends
    toe_slope: float = 1.0
    scale: float = 1.0
    offset: float = 0.0
    inclusive: bool = False
    decode_toe_end: float = 0.0  # encoded value where the toe ends (the standard's own rounding of toe_end * slope)

    @property
    def exponent(self) -> float:
        """Encoding exponent, 1 / gamma."""
        return 1.0 / self.gamma


_REC2020_A = np.float32(1.09929682680944)
#: Every space's transfer curve: IEC 61966-2-1 (sRGB; Display P3 uses it too), Adobe RGB (1998) pure gamma 563/256,
#: ISO 22028-2 ROMM (ProPhoto, linear toe below 1/512), ITU-R BT.2020 (the OETF, as colour-science uses it).
TRANSFER_CURVES = {
    Space.SRGB: TransferCurve(2.4, 0.0031308, 12.92, 1.055, 0.055, True, 0.04045),
    Space.DISPLAY_P3: TransferCurve(2.4, 0.0031308, 12.92, 1.055, 0.055, True, 0.04045),
    Space.ADOBE_RGB: TransferCurve(563 / 256),
    Space.PROPHOTO: TransferCurve(1.8, 1 / 512, 16.0, decode_toe_end=16 / 512),
    Space.REC2020: TransferCurve(1 / 0.45, 0.018053968510807, 4.5, float(_REC2020_A), float(_REC2020_A - np.float32(1)),
                                 decode_toe_end=float(np.float32(0.018053968510807) * np.float32(4.5))),
}


def _toe(x: np.ndarray, end: float, inclusive: bool) -> np.ndarray:
    return x <= np.float32(end) if inclusive else x < np.float32(end)


def encode(rgb_lin: np.ndarray, space: Space) -> np.ndarray:
    """Apply `space`'s transfer curve: linear [0, 1] -> encoded [0, 1] (clipped first), float32, any shape."""
    c = TRANSFER_CURVES[Space(space)]
    x = np.clip(np.asarray(rgb_lin, dtype=np.float32), np.float32(0.0), np.float32(1.0))
    high = np.power(x, np.float32(c.exponent))
    if c.scale != 1.0 or c.offset != 0.0:
        high = np.float32(c.scale) * high - np.float32(c.offset)
    return np.where(_toe(x, c.toe_end, c.inclusive), x * np.float32(c.toe_slope), high).astype(np.float32, copy=False)


def decode(rgb_enc: np.ndarray, space: Space) -> np.ndarray:
    """Remove `space`'s transfer curve: encoded [0, 1] -> linear [0, 1] (clipped first), float32, any shape."""
    c = TRANSFER_CURVES[Space(space)]
    v = np.clip(np.asarray(rgb_enc, dtype=np.float32), np.float32(0.0), np.float32(1.0))
    base = v if c.offset == 0.0 and c.scale == 1.0 else (v + np.float32(c.offset)) / np.float32(c.scale)
    high = np.power(base, np.float32(c.gamma))
    low = v / np.float32(c.toe_slope)
    return np.where(_toe(v, c.decode_toe_end, c.inclusive), low, high).astype(np.float32, copy=False)


def srgb_encode(rgb_lin: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer: linear [0, 1] -> sRGB-encoded [0, 1], float32 (values clipped to [0, 1] first)."""
    return encode(rgb_lin, Space.SRGB)


def srgb_decode(rgb_srgb: np.ndarray) -> np.ndarray:
    """Inverse IEC 61966-2-1 transfer: sRGB-encoded [0, 1] -> linear [0, 1], float32."""
    return decode(rgb_srgb, Space.SRGB)


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


#: Matrices derived with colour-science, stored as package data so that worker processes need not import it (about
#: 1.2 s each, since it imports matplotlib when installed). Written by tools/make_colour_constants.py;
#: tests/test_color.py recomputes every entry with colour-science and requires equality. Missing entries are computed
#: on demand.
CONSTANTS_RESOURCE = "data/colour_constants.json"


def constants_resource():
    """The stored constants as an importlib.resources Traversable (inside the installed package)."""
    return resources.files(__package__).joinpath(CONSTANTS_RESOURCE)


@functools.lru_cache(maxsize=1)
def stored_constants() -> dict:
    """{name: nested list of float64} from the package's colour constants ({} when absent or unreadable)."""
    try:
        return json.loads(constants_resource().read_text(encoding="utf-8"))
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
    """{stored name: function computing it with colour-science}: every entry of the stored constants."""
    out = {f"convert_matrix:{a.name}:{b.name}": functools.partial(derive_convert_matrix, a, b)
           for a in Space for b in Space if a != b}
    for s in Space:
        out[f"bradford_to_d50:{s.name}"] = functools.partial(derive_bradford_to_d50, s)
        out[f"colorants_d50:{s.name}"] = functools.partial(derive_colorants_d50, s)
    return out


@functools.lru_cache(maxsize=None)
def bradford_to_d50(space: Space) -> np.ndarray:
    """3x3 Bradford chromatic adaptation matrix from `space`'s white to the ICC D50 PCS white (float64)."""
    space = Space(space)
    return stored_or_derived(f"bradford_to_d50:{space.name}", lambda: derive_bradford_to_d50(space))


def derive_bradford_to_d50(space: Space) -> np.ndarray:
    """bradford_to_d50 computed with colour-science (bypassing the stored table)."""
    colour = _colour()
    white_xyz = colour.xy_to_XYZ(colour.RGB_COLOURSPACES[Space(space).value].whitepoint)
    return np.asarray(colour.adaptation.matrix_chromatic_adaptation_VonKries(
        white_xyz, np.array(D50_PCS), transform="Bradford"), dtype=np.float64)


@functools.lru_cache(maxsize=None)
def colorants_d50(space: Space) -> np.ndarray:
    """3x3 float64 matrix whose columns are the D50-adapted XYZ of R, G, B (the ICC rXYZ/gXYZ/bXYZ tags)."""
    space = Space(space)
    out = stored_or_derived(f"colorants_d50:{space.name}", lambda: derive_colorants_d50(space)).copy()
    out.setflags(write=False)
    return out


def derive_colorants_d50(space: Space) -> np.ndarray:
    """colorants_d50 computed with colour-science (bypassing the stored table)."""
    cs = _colour().RGB_COLOURSPACES[Space(space).value]
    return derive_bradford_to_d50(space) @ np.asarray(cs.matrix_RGB_to_XYZ, dtype=np.float64)


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
