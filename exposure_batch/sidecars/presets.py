"""`export-look`: one recipe as installable looks for several editors, in one folder.

NAME.xmp         Lightroom Classic / Camera Raw develop preset (crs settings, approximate; for rendered files)
NAME.dtstyle     darktable style (the parametric history; custom module order in <iop_list>)
NAME.cube        65^3 3D LUT, sRGB-encoded in and out (Resolve, Photoshop, darktable lut3d, ffmpeg, ...)
NAME_hald.png    16-bit Hald CLUT level 8 (RawTherapee film simulation, darktable lut3d, G'MIC)
README.txt       where each file goes

Exports: lightroom_preset, dtstyle, export_look.
"""
from __future__ import annotations

import os
import re
import uuid

from lxml import etree

from ..io.write import atomic_write
from . import cube, darktable, xmp
from .adobe import _set_settings, crs_settings
from .profile import profile_xmp
from .xmp import q

README = """exposure-batch look "{name}"
{steps}

Files
-----
{name}.xmp       Lightroom Classic / Camera Raw develop preset. Lightroom Classic: Develop > Presets panel "+" >
                 Import Presets. Camera Raw: Presets panel menu > Import Profiles & Presets. Or copy it into
                 %APPDATA%\\Adobe\\CameraRaw\\Settings\\ (Windows) or
                 ~/Library/Application Support/Adobe/CameraRaw/Settings/ (macOS) and restart.
                 The sliders only approximate the look (see notes below); use the .cube for an exact match.
{name}.dtstyle   darktable style: lighttable > styles > import. Editable modules (exposure, color calibration,
                 rgb curve) in the recipe's order, acting on linear ProPhoto like exposure-batch.
{name}.cube      3D LUT ({size}^3), sRGB-encoded input and output, domain 0..1. darktable: put it in the folder set
                 as "3D lut root folder" (preferences > processing) and pick it in the lut 3D module (colorspace
                 sRGB); also Resolve, Photoshop (Color Lookup), Affinity, ffmpeg lut3d.
{name}_hald.png  16-bit Hald CLUT (level 8, 64^3), same transform: RawTherapee Film Simulation (put it in the
                 CLUT folder), darktable lut 3D, G'MIC.
{name}_profile.xmp  Lightroom / Camera Raw creative profile: the same look as a 32^3 RGB table (sRGB), with an
                 Amount slider. Import like a preset (Import Profiles & Presets); it appears in the Profile
                 browser under "exposure-batch". Encoded like Adobe's DNG SDK; not yet confirmed in Lightroom
                 itself: check it once before relying on it. For rendered (sRGB) photos with neutral sliders.

Notes
-----
{notes}
"""


def _safe_name(name: str) -> str:
    """File-system-safe base name (keeps unicode letters, drops path separators and control characters)."""
    clean = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return clean or "look"


def lightroom_preset(recipe, name: str, group: str = "exposure-batch"):
    """Develop preset XMP tree (xmp_templates/lightroom_preset.xmp) for rendered (non-raw) photos."""

    settings = crs_settings(recipe, raw=False)
    tree = xmp.load_template("lightroom_preset.xmp")
    desc = xmp.description(tree)
    desc.set(q("crs:UUID"), uuid.uuid4().hex.upper())
    _set_settings(desc, settings.values)
    steps = "; ".join(recipe.describe()) or "no steps"
    for tag, text in (("Name", name), ("ShortName", name), ("SortName", ""), ("Group", group),
                      ("Description", f"exposure-batch look: {steps}")):
        xmp.set_lang_alt(desc, f"crs:{tag}", text)
    return tree, settings


def dtstyle(recipe, name: str):
    """darktable style tree (parametric history) and its History (with approximation notes)."""

    hist = darktable.parametric_history(recipe)
    tree = etree.parse(str(xmp.template_path("darktable.dtstyle")),
                       etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False))
    root = tree.getroot()
    info = root.find("info")
    info.find("name").text = name
    info.find("description").text = darktable.describe_history(recipe, hist)
    if hist.order_list:
        etree.SubElement(info, "iop_list").text = hist.order_list
    style = root.find("style")
    for num, e in enumerate(hist.entries):
        plugin = etree.SubElement(style, "plugin")
        for tag, value in (("num", num), ("module", e.modversion), ("operation", e.operation),
                           ("op_params", darktable.encode_params(e.params)), ("enabled", int(e.enabled)),
                           ("multi_priority", e.multi_priority), ("multi_name", e.multi_name)):
            etree.SubElement(plugin, tag).text = str(value)
    return tree, hist


def export_look(recipe, name: str, outdir: str | os.PathLike, lut_size: int = 65) -> list[str]:
    """Write the five files into `outdir` (created). Returns their paths."""

    outdir = os.fspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    base = os.path.join(outdir, _safe_name(name))
    preset, settings = lightroom_preset(recipe, name)
    written = [xmp.write_xmp(preset, base + ".xmp")]
    style, hist = dtstyle(recipe, name)
    written.append(xmp.write_xmp(style, base + ".dtstyle"))
    written.append(cube.write_cube(cube.bake(recipe, lut_size), base + ".cube", title=name))
    written.append(cube.write_hald(recipe, base + "_hald.png"))

    written.append(xmp.write_xmp(profile_xmp(recipe, name), base + "_profile.xmp"))
    notes = [f"Lightroom: {n}" for n in settings.notes] + [f"darktable style: {n}" for n in hist.notes]
    notes.append("The .cube and Hald CLUT reproduce exposure-batch's sRGB render of sRGB sources "
                 "(measured mean CIEDE2000 < 0.1 for the .cube; see docs/sidecars.md).")
    text = README.format(name=name, steps="\n".join(f"  {i + 1}. {s}" for i, s in enumerate(recipe.describe())),
                         size=lut_size, notes="\n".join(f"- {n}" for n in notes))
    with atomic_write(os.path.join(outdir, "README.txt"), "w") as fh:
        fh.write(text)
    written.append(os.path.join(outdir, "README.txt"))
    return written
