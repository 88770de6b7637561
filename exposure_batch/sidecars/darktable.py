"""darktable sidecars (`IMG.EXT.xmp`) and styles (`.dtstyle`) for darktable 4.2+.

Two modes:
* `lut`: one `lut3d` history entry that reads the recipe baked into a `.cube` (sRGB-encoded in and out,
  tetrahedral). The `.cube` path is stored relative to darktable's LUT folder (preference "3D lut root folder",
  config key `plugins/darkroom/lut3d/def_path`); the user must point that folder at where the .cube lives.
* `parametric` (default): editable modules. darktable works in linear Rec.2020; the first instance of
  `channelmixerrgb` (color calibration, adaptation bypass) converts to linear ProPhoto, each recipe step becomes
  a module instance in recipe order that acts on ProPhoto values exactly like our filter (exposure = exposure,
  white balance / black & white / saturation = a 3x3 matrix in color calibration, curves = rgbcurve), and a last
  `channelmixerrgb` converts back. A custom module order (`iop_order_list`) keeps the recipe's step order.

Param structs are packed little-endian as documented in docs/sidecar_formats.md B.3 (darktable 4.2.1).

Exports: DtEntry, encode_params, decode_params, history_for, darktable_xmp, recipe_xmp, write_darktable_xmp, dtstyle,
sidecar_name, LUT_DEF_PATH_KEY.
"""
from __future__ import annotations

import base64
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import color
from ..io import formats
from . import xmp
from .editors import DARKTABLE
from .xmp import q

LUT_DEF_PATH_KEY = "plugins/darkroom/lut3d/def_path"
#: darktable's iop_order_version values.
ORDER_CUSTOM, ORDER_LEGACY, ORDER_V30, ORDER_V30_JPG = 0, 1, 2, 3
BLENDOP_VERSION = 11

#: Struct sizes darktable 4.2.1 checks per (operation, modversion).
STRUCT_SIZES = {("exposure", 6): 24, ("channelmixerrgb", 3): 160, ("rgbcurve", 1): 516, ("lut3d", 3): 12940}


@dataclass(frozen=True)
class DtEntry:
    """One darktable history entry. `params` are the raw C struct bytes."""

    operation: str
    modversion: int
    params: bytes
    multi_name: str = ""
    multi_priority: int = 0
    enabled: bool = True

    def __post_init__(self):
        want = STRUCT_SIZES.get((self.operation, self.modversion))
        if want is not None and len(self.params) != want:
            raise ValueError(f"{self.operation} v{self.modversion}: params are {len(self.params)} bytes, expected {want}")


# ---------------------------------------------------------------------------------------------------------------
# params encoding
# ---------------------------------------------------------------------------------------------------------------
def encode_params(raw: bytes) -> str:
    """darktable's XMP encoding: lowercase hex up to 100 bytes, else 'gz' + factor + base64(zlib(raw))."""
    if len(raw) <= 100:
        return raw.hex()
    packed = zlib.compress(raw, 9)
    factor = min(len(raw) // len(packed) + 1, 99)
    return f"gz{factor:02d}" + base64.b64encode(packed).decode("ascii")


def decode_params(text: str) -> bytes:
    """Inverse of `encode_params` (accepts both forms)."""
    if text.startswith("gz"):
        return zlib.decompress(base64.b64decode(text[4:]))
    return bytes.fromhex(text)


# ---------------------------------------------------------------------------------------------------------------
# param structs (darktable 4.2.1, little-endian, no padding)
# ---------------------------------------------------------------------------------------------------------------
def exposure_params(ev: float, black: float = 0.0) -> bytes:
    """exposure v6 (24 bytes): mode manual, black, exposure EV, deflicker percentile/target, compensate bias off."""
    return struct.pack("<iffffi", 0, black, ev, 50.0, -4.0, 0)


def channelmixer_params(matrix: np.ndarray) -> bytes:
    """channelmixerrgb v3 (160 bytes) as a plain 3x3 matrix on the working RGB (out = M @ in), CAT bypassed.

    Layout: red[4], green[4], blue[4] (output rows), saturation[4], lightness[4], grey[4], 6 normalize flags,
    illuminant (0 = pipeline), illum_fluo, illum_led, adaptation (4 = none), x, y, temperature, gamut, clip, version.
    """
    m = np.asarray(matrix, dtype=np.float64).reshape(3, 3)
    rows = [float(v) for row in m for v in (*row, 0.0)]
    zeros = [0.0] * 12
    return struct.pack("<24f6i4i3ffii", *rows, *zeros, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0.3457, 0.3585, 5003.0, 0.0, 0, 2)


CURVE_CUBIC, CURVE_CATMULL_ROM, CURVE_MONOTONE_HERMITE = 0, 1, 2
PRESERVE_NONE, PRESERVE_LUMINANCE = 0, 1
MAX_NODES = 20


def rgbcurve_params(curves: Sequence[tuple[Sequence[float], Sequence[float]]], linked: bool,
                    preserve: int = PRESERVE_NONE, curve_type: int = CURVE_MONOTONE_HERMITE) -> bytes:
    """rgbcurve v1 (516 bytes). curves: 1 (linked) or 3 (R, G, B) (xs, ys) node lists on [0, 1], <= 20 nodes each.

    Layout: curve_nodes[3][20] {x, y}, curve_num_nodes[3], curve_type[3], curve_autoscale (0 = linked RGB,
    1 = independent channels), compensate_middle_grey, preserve_colors.
    """
    curves = list(curves) * (3 if len(curves) == 1 else 1)
    nodes, counts = [], []
    for xs, ys in curves:
        if len(xs) > MAX_NODES or len(xs) != len(ys) or len(xs) < 2:
            raise ValueError(f"rgbcurve takes 2..{MAX_NODES} nodes per curve, got {len(xs)}")
        pts = [float(v) for x, y in zip(xs, ys) for v in (x, y)]
        nodes += pts + [0.0] * (2 * MAX_NODES - len(pts))
        counts.append(len(xs))
    return struct.pack("<120f3i3iiii", *nodes, *counts, *([curve_type] * 3), 0 if linked else 1, 0, preserve)


LUT_SRGB, LUT_TETRAHEDRAL = 0, 0


def lut3d_params(relpath: str, lutname: str = "") -> bytes:
    """lut3d v3 (12940 bytes): filepath[512] (relative to the LUT folder), colorspace sRGB, tetrahedral,
    nb_keypoints 0, c_clut[12288] zeros, lutname[128]."""
    raw = os.fsencode(relpath)  # the name's exact bytes (darktable opens it by name)
    if len(raw) >= 512:
        raise ValueError(f"LUT path too long for darktable (max 511 bytes): {relpath}")
    return struct.pack("<512siii12288s128s", raw, LUT_SRGB, LUT_TETRAHEDRAL, 0, b"", lutname.encode("utf-8")[:127])


# ---------------------------------------------------------------------------------------------------------------
# XMP
# ---------------------------------------------------------------------------------------------------------------
def darktable_xmp(entries: Sequence[DtEntry], *, order_version: int = ORDER_V30_JPG, order_list: str | None = None,
                  description: str = "", derived_from: str = ""):
    """Fill xmp_templates/darktable.xmp: history (all entries active), history_end, iop order, description."""
    tree = xmp.load_template("darktable.xmp")
    desc = xmp.description(tree)
    desc.set(q("darktable:history_end"), str(len(entries)))
    desc.set(q("darktable:iop_order_version"), str(order_version))
    desc.set(q("xmpMM:DerivedFrom"), derived_from)
    if order_list:
        desc.set(q("darktable:iop_order_list"), order_list)
    xmp.set_lang_alt(desc, "dc:description", description)
    seq = desc.find(q("darktable:history") + "/" + q("rdf:Seq"))
    for num, e in enumerate(entries):
        li = seq.makeelement(q("rdf:li"), {})
        seq.append(li)
        for key, value in (("num", num), ("operation", e.operation), ("enabled", int(e.enabled)),
                           ("modversion", e.modversion), ("params", encode_params(e.params)),
                           ("multi_name", e.multi_name), ("multi_priority", e.multi_priority)):
            li.set(q(f"darktable:{key}"), str(value))
    # keep dc:description before the history for readability
    hist = desc.find(q("darktable:history"))
    desc.remove(hist)
    desc.append(hist)
    return tree


# ---------------------------------------------------------------------------------------------------------------
# recipe -> history
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class History:
    """darktable history for one recipe: entries, iop order, and per-step exactness notes."""

    entries: tuple[DtEntry, ...]
    order_version: int
    order_list: str | None
    notes: tuple[str, ...]  # one line per approximate step ("tone_curve: approximate (...)")

    @property
    def exact(self) -> bool:
        return not self.notes


def is_raw(source_path: str | os.PathLike | None) -> bool:
    """Whether darktable treats the source as raw (decides the module order version): io.formats.is_raw."""
    return formats.is_raw(source_path)


def base_order(raw: bool = False) -> list[str]:
    """darktable 4.2's v3.0 module order for raw or JPEG input (read from libdarktable's tables)."""
    name = "darktable_iop_order_v30.txt" if raw else "darktable_iop_order_v30_jpg.txt"
    return xmp.template_path(name).read_text().strip().split(",")


def custom_order(sequence: Sequence[tuple[str, int]], raw: bool = False) -> str:
    """v3.0 order with our (operation, instance) sequence placed right after colorin, in recipe order."""
    ours = {op for op, _ in sequence}
    out = []
    for op in base_order(raw):
        if op == "colorin":
            out += ["colorin,0"] + [f"{o},{i}" for o, i in sequence]
        elif op not in ours:
            out.append(f"{op},0")
    return ",".join(out)


def _rec2020_to_working() -> np.ndarray:
    return color.convert_matrix(color.Space.REC2020, color.WORKING_SPACE).astype(np.float64)


def lut_history(lut_relpath: str, lutname: str = "", raw: bool = False) -> History:
    """One lut3d entry (sRGB colorspace, tetrahedral) reading `lut_relpath` below darktable's LUT folder."""
    entry = DtEntry("lut3d", 3, lut3d_params(lut_relpath, lutname))
    return History((entry,), ORDER_V30 if raw else ORDER_V30_JPG, None, ())


def parametric_history(recipe, raw: bool = False) -> History:
    """Recipe -> editable modules on linear ProPhoto, wrapped in Rec.2020 <-> ProPhoto colour calibration."""
    if not recipe.steps:
        return History((), ORDER_V30 if raw else ORDER_V30_JPG, None, ())
    counters: dict[str, int] = {}
    entries, notes = [], []

    def add(operation, version, params, name):
        inst = counters.get(operation, 0)
        counters[operation] = inst + 1
        entries.append(DtEntry(operation, version, params, name, inst))

    to_pp = _rec2020_to_working()
    add("channelmixerrgb", 3, channelmixer_params(to_pp), "to ProPhoto (exposure-batch)")
    for i, step in enumerate(recipe.steps):
        m = DARKTABLE.mapping(step.filter, step.params)
        if not m.exact:
            notes.append(f"step {i + 1} {step.filter}: approximate ({m.note})")
        label = f"{i + 1} {step.spec.label}"
        for op in m.ops:
            kind = op[0]
            if kind == "exposure":
                add("exposure", 6, exposure_params(op[1]), label)
            elif kind == "matrix":
                add("channelmixerrgb", 3, channelmixer_params(op[1]), label)
            elif kind == "curve":
                add("rgbcurve", 1, rgbcurve_params(op[1], linked=op[2], preserve=op[3]), label)
            else:
                raise ValueError(f"unknown darktable op {kind!r}")
    add("channelmixerrgb", 3, channelmixer_params(np.linalg.inv(to_pp)), "to Rec.2020 (exposure-batch)")
    order = custom_order([(e.operation, e.multi_priority) for e in entries], raw)
    return History(tuple(entries), ORDER_CUSTOM, order, tuple(notes))


def history_for(recipe, mode: str = "parametric", lut_relpath: str | None = None, raw: bool = False) -> History:
    """mode 'parametric' | 'lut' (needs lut_relpath, relative to darktable's LUT folder); raw picks the raw order."""
    if mode == "lut":
        if not lut_relpath:
            raise ValueError("darktable lut mode needs the .cube path relative to the LUT folder")
        return lut_history(lut_relpath, raw=raw)
    if mode == "parametric":
        return parametric_history(recipe, raw)
    raise ValueError(f"unknown darktable mode {mode!r} (use parametric or lut)")


def describe_history(recipe, hist: History) -> str:
    """dc:description text: the recipe steps and which are approximate."""
    steps = "; ".join(recipe.describe()) or "no steps"
    exact = "exact" if hist.exact else "approximate: " + "; ".join(hist.notes)
    return f"exposure-batch look: {steps}. darktable mapping {exact}."


def sidecar_name(source_path: str | os.PathLike) -> str:
    """darktable's naming: full file name + '.xmp' (IMG_0001.CR2 -> IMG_0001.CR2.xmp)."""
    return os.path.basename(os.fspath(source_path)) + ".xmp"


def recipe_xmp(recipe, mode: str = "parametric", lut_relpath: str | None = None, derived_from: str = "",
               raw: bool = False):
    """(XMP tree, History) of the darktable sidecar for `recipe` (what write_darktable_xmp writes)."""
    hist = history_for(recipe, mode, lut_relpath, raw)
    tree = darktable_xmp(hist.entries, order_version=hist.order_version, order_list=hist.order_list,
                         description=describe_history(recipe, hist), derived_from=derived_from)
    return tree, hist


def write_darktable_xmp(recipe, path: str | os.PathLike, mode: str = "parametric", lut_relpath: str | None = None,
                        derived_from: str = "", overwrite: bool = True, raw: bool = False) -> History:
    """Write a darktable sidecar for `recipe` at `path` atomically; returns the History (with notes).
    raw: the source is a raw file (darktable's v3.0 raw module order instead of the JPEG one)."""
    tree, hist = recipe_xmp(recipe, mode, lut_relpath, derived_from, raw)
    xmp.write_xmp(tree, path, overwrite=overwrite)
    return hist
