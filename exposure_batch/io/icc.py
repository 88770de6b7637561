"""ICC profiles: build matrix/TRC profiles for our output spaces, parse and identify the profiles of input files.

We generate ICC v4.3 display-class matrix/TRC profiles ourselves (about 500 bytes each) because no maintained
package ships all of sRGB, Adobe RGB (1998), ProPhoto (ROMM), Display P3 and Rec. 2020 in both encoded and linear
(gamma 1.0) forms. Colorants are the spaces' RGB->XYZ matrices adapted to the ICC D50 PCS with Bradford (the same
adaptation `color.convert_matrix` uses), quantised to s15Fixed16 so that R+G+B sums exactly to the PCS white; the
transfer curves are exact 'para' parametric curves (IEC 61966-2-1, ISO 22028-2 ROMM, BT.2020, Adobe's 563/256 gamma).

Exports: profile_bytes(space, linear) -> bytes, profile_description(space, linear), custom_profile_bytes(),
ParsedProfile, parse_profile(), identify(parsed) -> (Space | None, linear | None), colorants_d50(space), D50_PCS.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct
from typing import Callable

import numpy as np

from .. import color
from ..color import D50_PCS, Space, colorants_d50  # noqa: F401  (re-exported)



def _para(space: Space) -> tuple[int, tuple[float, ...]]:
    """(ICC 'para' function type, parameters) of `space`'s transfer curve (color.TRANSFER_CURVES), encoded ->
    linear: type 0 Y = X^g; type 3 Y = (aX + b)^g for X >= d, else cX."""
    c = color.TRANSFER_CURVES[space]
    if c.toe_end == 0.0 and c.scale == 1.0 and c.offset == 0.0:
        return 0, (c.gamma,)
    return 3, (c.gamma, 1 / c.scale, c.offset / c.scale, 1 / c.toe_slope, c.decode_toe_end)


_SHORT = {Space.SRGB: "sRGB", Space.ADOBE_RGB: "Adobe RGB (1998)", Space.PROPHOTO: "ProPhoto RGB",
          Space.DISPLAY_P3: "Display P3", Space.REC2020: "Rec. 2020"}


def profile_description(space: Space | str, linear: bool = False) -> str:
    """The 'desc' text our profile for `space` carries, e.g. 'ProPhoto RGB (linear)'."""
    space = _as_space(space)
    return _SHORT[space] + (" (linear)" if linear else "")


def _as_space(space: Space | str) -> Space:
    if isinstance(space, Space):
        return space
    try:
        return Space(space)
    except ValueError:
        return color.space_from_name(space)


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

def _s15(x: float) -> int:
    return int(round(x * 65536.0))


def _s15_bytes(values) -> bytes:
    return b"".join(struct.pack(">i", _s15(v)) for v in values)


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15_bytes(xyz)


def _mluc_tag(text: str) -> bytes:
    s = text.encode("utf-16-be")
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s


def _para_tag(ftype: int, params) -> bytes:
    return b"para" + b"\0" * 4 + struct.pack(">HH", ftype, 0) + _s15_bytes(params)


def _quantise(m: np.ndarray) -> np.ndarray:
    """D50 colorants (3x3, columns R G B) as s15Fixed16 integers, each row summing exactly to the D50 PCS white."""
    q = np.array([[_s15(v) for v in row] for row in m], dtype=np.int64)
    target = [_s15(v) for v in D50_PCS]
    for i in range(3):
        j = int(np.argmax(np.abs(q[i])))
        q[i, j] += target[i] - int(q[i].sum())
    return q


@functools.lru_cache(maxsize=None)
def profile_bytes(space: Space | str, linear: bool = False) -> bytes:
    """An ICC v4.3 matrix/TRC display profile for `space`, encoded with its transfer curve or linear (gamma 1).

    Args:
        space: a `color.Space` (or its short name, 'srgb', 'prophoto', ...).
        linear: True gives the gamma-1.0 variant (for linear TIFF output).

    Returns: the profile bytes (deterministic: fixed creation date, MD5 profile ID filled in).
    """
    space = _as_space(space)
    ftype, params = (0, (1.0,)) if linear else _para(space)
    return _build_profile(profile_description(space, linear), _quantise(colorants_d50(space)),
                          color.bradford_to_d50(space), _para_tag(ftype, params))


def custom_profile_bytes(description: str, primaries_xy, white_xy, *, gamma: float = 1.0) -> bytes:
    """A matrix/TRC ICC v4 profile for arbitrary primaries and white (xy chromaticities) with a pure gamma curve.

    For tests and tools (e.g. a 'Wide Gamut RGB' or ACEScg file), not for our outputs.
    """
    colour = color._colour()  # noqa: SLF001
    prim = np.asarray(primaries_xy, dtype=np.float64).reshape(3, 2)
    white = np.asarray(white_xy, dtype=np.float64)
    m = np.asarray(colour.normalised_primary_matrix(prim, white), dtype=np.float64)
    cat = np.asarray(colour.adaptation.matrix_chromatic_adaptation_VonKries(
        colour.xy_to_XYZ(white), np.array(D50_PCS), transform="Bradford"), dtype=np.float64)
    return _build_profile(description, _quantise(cat @ m), cat, _para_tag(0, (gamma,)))


def _build_profile(desc: str, q: np.ndarray, chad: np.ndarray, trc: bytes) -> bytes:
    tags = [
        (b"desc", _mluc_tag(desc)),
        (b"cprt", _mluc_tag("No copyright, use freely (CC0). Generated by exposure-batch.")),
        (b"wtpt", _xyz_tag(D50_PCS)),
        (b"chad", b"sf32" + b"\0" * 4 + _s15_bytes(chad.ravel())),
        (b"rXYZ", b"XYZ " + b"\0" * 4 + b"".join(struct.pack(">i", int(v)) for v in q[:, 0])),
        (b"gXYZ", b"XYZ " + b"\0" * 4 + b"".join(struct.pack(">i", int(v)) for v in q[:, 1])),
        (b"bXYZ", b"XYZ " + b"\0" * 4 + b"".join(struct.pack(">i", int(v)) for v in q[:, 2])),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table = struct.pack(">I", len(tags))
    data = b""
    placed: dict[bytes, int] = {}
    for sig, payload in tags:
        if payload in placed:  # r/g/bTRC share one curve
            table += sig + struct.pack(">II", placed[payload], len(payload))
            continue
        pos = offset + len(data)
        placed[payload] = pos
        table += sig + struct.pack(">II", pos, len(payload))
        data += payload + b"\0" * (-len(payload) % 4)
    size = 128 + table_len + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x04300000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    header += b"acsp" + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8
    header += struct.pack(">I", 0)  # rendering intent: perceptual
    header += _s15_bytes(D50_PCS)
    header += b"\0" * 4  # creator
    header += b"\0" * 16 + b"\0" * 28  # profile ID (filled below) + reserved
    assert len(header) == 128
    body = bytearray(header + table + data)
    # Profile ID: MD5 of the profile with flags, rendering intent and the ID field zeroed (ICC.1:2010 7.2.18).
    body[84:100] = hashlib.md5(bytes(body)).digest()
    return bytes(body)


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------

Curve = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass
class ParsedProfile:
    """What we understood of an ICC profile.

    `matrix` (3x3 float64, columns = D50 XYZ of R, G, B) and `curves` (encoded -> linear, one per channel) are set
    for RGB matrix/TRC profiles; `gray_curve` for gray profiles with a kTRC. `has_lut` is True when the profile has
    A2B tags, which colour management uses in preference to matrix/TRC (we then let littleCMS convert).
    """

    description: str | None
    color_space: str  # 'RGB', 'GRAY', 'CMYK', 'Lab', ...
    version: int
    matrix: np.ndarray | None = None
    curves: tuple[Curve, Curve, Curve] | None = None
    gray_curve: Curve | None = None
    has_lut: bool = False

    @property
    def is_matrix_shaper(self) -> bool:
        return self.matrix is not None and self.curves is not None and not self.has_lut


def _read_text(tag: bytes) -> str | None:
    kind = tag[:4]
    if kind == b"desc":  # v2 textDescriptionType: ASCII count + string
        (n,) = struct.unpack(">I", tag[8:12])
        return tag[12:12 + n].split(b"\0", 1)[0].decode("latin-1").strip() or None
    if kind == b"mluc":
        count, rec = struct.unpack(">II", tag[8:16])
        best = None
        for i in range(count):
            lang = tag[16 + i * rec:16 + i * rec + 4]
            length, off = struct.unpack(">II", tag[20 + i * rec:28 + i * rec])
            text = tag[off:off + length].decode("utf-16-be", "replace").strip("\0 ")
            if best is None or lang[:2] == b"en":
                best = text
                if lang == b"enUS":
                    break
        return best or None
    if kind == b"text":
        return tag[8:].split(b"\0", 1)[0].decode("latin-1").strip() or None
    return None


def _read_xyz(tag: bytes) -> np.ndarray:
    if tag[:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return np.array(struct.unpack(">3i", tag[8:20]), dtype=np.float64) / 65536.0


def _read_curve(tag: bytes) -> Curve:
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack(">I", tag[8:12])
        if n == 0:
            return lambda v: np.asarray(v, dtype=np.float32)
        if n == 1:
            (g,) = struct.unpack(">H", tag[12:14])
            gamma = np.float32(g / 256.0)
            return lambda v: np.power(np.clip(v, 0, 1), gamma).astype(np.float32, copy=False)
        if n > (len(tag) - 12) // 2:
            raise ValueError(f"curve declares {n} entries but holds {(len(tag) - 12) // 2}")
        table = np.frombuffer(tag[12:12 + 2 * n], dtype=">u2").astype(np.float32) / np.float32(65535)
        xs = np.linspace(0, 1, n, dtype=np.float32)
        return lambda v: np.interp(np.clip(v, 0, 1), xs, table).astype(np.float32)
    if kind == b"para":
        (ftype,) = struct.unpack(">H", tag[8:10])
        nparams = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[ftype]
        p = [x / 65536.0 for x in struct.unpack(f">{nparams}i", tag[12:12 + 4 * nparams])]
        return functools.partial(_eval_para, ftype, tuple(np.float32(x) for x in p))
    raise ValueError(f"unsupported curve type {kind!r}")


def _eval_para(ftype: int, p: tuple, v: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(v, dtype=np.float32), 0, 1)
    if ftype == 0:
        return np.power(x, p[0])
    g, a, b = p[0], p[1], p[2]
    base = np.power(np.maximum(a * x + b, 0), g)
    if ftype == 1:
        return np.where(x >= -b / a, base, 0).astype(np.float32)
    if ftype == 2:
        return np.where(x >= -b / a, base + p[3], p[3]).astype(np.float32)
    if ftype == 3:
        return np.where(x >= p[4], base, p[3] * x).astype(np.float32)
    return np.where(x >= p[4], base + p[5], p[3] * x + p[6]).astype(np.float32)


def limit_problem(data: bytes) -> str | None:
    """Why an embedded profile is over a limit (limits.MAX_ICC_BYTES, MAX_ICC_TAGS, MAX_ICC_CURVE_ENTRIES per
    'curv' tag, as declared), or None. Reads only the header and tag table: safe on hostile bytes."""
    from exposure_batch import limits  # noqa: PLC0415

    if len(data) > limits.MAX_ICC_BYTES:
        return f"embedded ICC profile is {len(data)} bytes (limit {limits.MAX_ICC_BYTES})"
    if len(data) < 132:
        return None
    (count,) = struct.unpack(">I", data[128:132])
    if count > limits.MAX_ICC_TAGS:
        return f"embedded ICC profile declares {count} tags (limit {limits.MAX_ICC_TAGS})"
    for i in range(min(count, (len(data) - 132) // 12)):
        _sig, off, size = struct.unpack(">4sII", data[132 + 12 * i:144 + 12 * i])
        head = data[off:off + 12] if size >= 12 else b""
        if head[:4] == b"curv" and len(head) == 12:
            (n,) = struct.unpack(">I", head[8:12])
            if n > limits.MAX_ICC_CURVE_ENTRIES:
                return (f"embedded ICC profile has a curve declaring {n} entries "
                        f"(limit {limits.MAX_ICC_CURVE_ENTRIES})")
    return None


def parse_profile(data: bytes) -> ParsedProfile:
    """Parse ICC profile bytes. Raises ValueError on a malformed profile."""
    if len(data) < 132 or data[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    cs = data[16:20].decode("latin-1").strip()
    version = data[8]
    (count,) = struct.unpack(">I", data[128:132])
    if count > 1000 or 132 + 12 * count > len(data):
        raise ValueError("corrupt ICC tag table")
    tags: dict[bytes, bytes] = {}
    for i in range(count):
        sig, off, size = struct.unpack(">4sII", data[132 + 12 * i:144 + 12 * i])
        if off + size <= len(data):
            tags[sig] = data[off:off + size]
    desc = None
    try:
        desc = _read_text(tags[b"desc"]) if b"desc" in tags else None
    except (struct.error, ValueError, IndexError):
        desc = None
    prof = ParsedProfile(description=desc, color_space={"RGB": "RGB", "GRAY": "GRAY"}.get(cs, cs), version=version,
                         has_lut=any(k in tags for k in (b"A2B0", b"A2B1", b"A2B2")))
    try:
        if cs == "RGB" and all(k in tags for k in (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")):
            prof.matrix = np.stack([_read_xyz(tags[k]) for k in (b"rXYZ", b"gXYZ", b"bXYZ")], axis=1)
            prof.curves = tuple(_read_curve(tags[k]) for k in (b"rTRC", b"gTRC", b"bTRC"))
        elif cs == "GRAY" and b"kTRC" in tags:
            prof.gray_curve = _read_curve(tags[b"kTRC"])
    except (struct.error, ValueError, KeyError, IndexError):
        prof.matrix = prof.curves = prof.gray_curve = None
    return prof


_PROBE = np.linspace(0.0, 1.0, 257, dtype=np.float32)


def _curve_matches(curve: Curve, reference: np.ndarray, tol: float) -> bool:
    got = np.asarray(curve(_PROBE), dtype=np.float64)
    return bool(np.all(np.isfinite(got)) and np.max(np.abs(got - reference)) <= tol)


def identify(prof: ParsedProfile, *, colorant_tol: float = 0.003, curve_tol: float = 0.004
             ) -> tuple[Space | None, bool | None]:
    """Recognise a matrix/TRC profile as one of our spaces.

    Returns: (space, linear) where space is the `color.Space` whose D50 colorants match within `colorant_tol`
    (None if none do), and linear is False when all three curves match that space's transfer curve, True when
    they are the identity, None when they are something else (the caller then evaluates the profile's own curves).
    """
    if not prof.is_matrix_shaper:
        return None, None
    space = None
    for candidate in Space:
        if np.max(np.abs(prof.matrix - colorants_d50(candidate))) <= colorant_tol:
            space = candidate
            break
    if space is None:
        return None, None
    encoded_ref = color.decode(_PROBE, space).astype(np.float64)
    if all(_curve_matches(c, encoded_ref, curve_tol) for c in prof.curves):
        return space, False
    if all(_curve_matches(c, _PROBE.astype(np.float64), 1e-3) for c in prof.curves):
        return space, True
    return space, None


def guess_space_from_description(desc: str | None) -> Space | None:
    """Last-resort name matching for profiles we cannot parse ('Adobe RGB (1998)', 'ProPhoto RGB', ...)."""
    if not desc:
        return None
    d = desc.lower().replace(" ", "").replace("-", "").replace("_", "")
    if "srgb" in d or "iec6196621" in d:
        return Space.SRGB
    if "adobergb" in d or "comp1998" in d:
        return Space.ADOBE_RGB
    if "prophoto" in d or "romm" in d:
        return Space.PROPHOTO
    if "displayp3" in d or "p3d65" in d:
        return Space.DISPLAY_P3
    if "2020" in d:
        return Space.REC2020
    return None


@functools.lru_cache(maxsize=None)
def xyz_d50_to_working() -> np.ndarray:
    """3x3 float32 matrix W with prophoto_lin = xyz_d50 @ W.T (inverse of ProPhoto's D50 colorants)."""
    out = np.linalg.inv(colorants_d50(Space.PROPHOTO)).astype(np.float32)
    out.setflags(write=False)
    return out
