"""Adobe crs XMP: exiftool validates every file and reads back exactly the values written; merging keeps other
namespaces; embedding into JPEG/TIFF keeps the file's other metadata; darktable's Lightroom importer as a
real-tool check of Exposure2012 and the master curve."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from exposure_batch import color
from exposure_batch.recipe import Recipe
from exposure_batch.sidecars import adobe
from tests.sidecars import cases, tools

needs_exiftool = pytest.mark.needs_tool("exiftool")
NASTY = "IMG 1 & <2> \"q\" 'é' ü.CR2"

EXISTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/" xmp:Rating="4" darktable:history_end="0">
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>K&amp;R</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def warnings_of(path) -> list[str]:
    import subprocess

    res = subprocess.run([tools.EXIFTOOL, "-validate", "-warning", "-a", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return [ln for ln in res.stdout.splitlines() if ln.startswith("Warning")]


def validate(path, allowed=()):
    """exiftool -validate -warning: no warning except those the file already had before we touched it."""
    new = [w for w in warnings_of(path) if w not in allowed]
    assert not new, new


def assert_readback(meta: dict, values: dict):
    """exiftool -j -struct returns exactly what we wrote (numbers compared as numbers, curves as lists)."""
    names = {"Temperature": "ColorTemperature"}
    for name, value in values.items():
        got = meta[names.get(name, name)]
        if name in adobe.CURVE_TAGS:
            assert got == [f"{x}, {y}" for x, y in value], name
        elif isinstance(value, bool):
            assert got is value, name
        elif isinstance(value, str):
            assert got == value, name
        else:
            assert float(got) == pytest.approx(float(adobe._fmt(name, value)), abs=1e-9), (name, got, value)


@pytest.mark.parametrize("name", [*cases.PER_FILTER, "look"])
def test_settings_ranges(name):
    s = adobe.crs_settings(cases.recipe(name), raw=True).values
    if "Exposure2012" in s:
        assert -5 <= s["Exposure2012"] <= 5
    for tag in adobe.CURVE_TAGS:
        if tag in s:
            xs = [x for x, _ in s[tag]]
            assert xs[0] == 0 and xs[-1] == 255 and xs == sorted(set(xs))
            assert all(0 <= y <= 255 for _, y in s[tag])


@needs_exiftool
@pytest.mark.tool
@pytest.mark.parametrize("raw", [True, False])
def test_sidecar_validates_and_reads_back(tmp_path, raw):
    r = cases.recipe("look")
    path = tmp_path / adobe.sidecar_name(NASTY)
    settings, status = adobe.write_adobe_xmp(r, path, raw=raw, raw_file_name=NASTY)
    assert status == "written"
    validate(path)
    meta = tools.exiftool_json(path)
    assert meta["RawFileName"] == NASTY and meta["HasSettings"] is True
    assert_readback(meta, settings.values)
    assert ("Temperature" in settings.values) == raw and ("IncrementalTemperature" in settings.values) != raw


@needs_exiftool
@pytest.mark.tool
def test_merge_keeps_other_namespaces(tmp_path):
    path = tmp_path / "IMG.xmp"
    path.write_bytes(EXISTING)
    settings, status = adobe.write_adobe_xmp(cases.recipe("look"), path)
    assert status == "merged"
    validate(path)
    meta = tools.exiftool_json(path)
    assert meta["Rating"] == 4 and meta["Subject"] == ["beach", "K&R"] and meta["History_end"] == 0
    assert_readback(meta, settings.values)
    # a second run keeps the (now present) develop settings unless told to replace them
    other = Recipe.from_steps([("exposure", {"ev": -1.0})])
    assert adobe.write_adobe_xmp(other, path)[1] == "kept"
    assert tools.exiftool_json(path)["Exposure2012"] == meta["Exposure2012"]
    assert adobe.write_adobe_xmp(other, path, replace=True)[1] == "merged"
    meta2 = tools.exiftool_json(path)
    assert float(meta2["Exposure2012"]) == -1.0 and "ToneCurvePV2012" not in meta2 and meta2["Rating"] == 4


@needs_exiftool
@pytest.mark.tool
@pytest.mark.parametrize("ext", [".jpg", ".tif"])
def test_embed_keeps_metadata(tmp_path, ext):
    from tests.helpers import sample_path

    src = sample_path("canon_powershot_g1x2.jpg" if ext == ".jpg" else "chelsea_adobergb_16bit.tif")
    dst = tmp_path / f"photo &<x>{ext}"
    shutil.copy(src, dst)
    before, had = tools.exiftool_json(dst), warnings_of(dst)
    settings, status = adobe.embed_into(cases.recipe("look"), dst)
    assert status == "embedded"
    after = tools.exiftool_json(dst)
    assert_readback(tools.exiftool_json(dst, "-XMP-crs:all"), settings.values)
    for key in ("Make", "Model", "ImageWidth", "ProfileDescription", "DateTimeOriginal"):
        assert after.get(key) == before.get(key), key
    validate(dst, allowed=had)
    assert adobe.embed_into(Recipe.from_steps([("exposure", {"ev": 1.0})]), dst)[1] == "kept"


@needs_exiftool
@pytest.mark.tool
@pytest.mark.needs_tool("darktable-cli")
def test_darktable_imports_exposure_and_curve(tmp_path):
    """Real-tool check: darktable's Lightroom importer reads Exposure2012 from `IMG.xmp` beside a TIFF and brightens
    the photo. Its importer also applies darktable's own display defaults, so it is not our +1 EV: measured (darktable
    4.2.1) midtone gain 3.4-4.7x on the grey ramp (ours 2x), CIEDE2000 vs our render mean 10.6, max 29.4. The bounds
    are 2x those figures (a broken mapping, e.g. the setting ignored or read as -1 EV, falls outside them)."""
    import subprocess

    import tifffile

    img = tools.test_image_srgb(64, 96)
    src = tools.write_test_tiff(tmp_path / "IMG.tif", img)
    r = Recipe.from_steps([("exposure", {"ev": 1.0})])
    adobe.write_adobe_xmp(r, tmp_path / "IMG.xmp", raw=False)
    out = tmp_path / "out.tif"
    res = subprocess.run([tools.DARKTABLE, src, str(out), "--core", "--configdir", str(tmp_path / "cfg"),
                          "--conf", "plugins/imageio/format/tiff/bpp=16"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    got = tifffile.imread(out)[..., :3].astype(np.float32) / 65535
    ours = tools.our_render_srgb(r, src)
    grey_in = color.srgb_decode(img[:16].mean(axis=0)[:, 1])  # the grey ramp rows, linear
    grey_dt = color.srgb_decode(got[:16].mean(axis=0)[:, 1])
    mid = (grey_in > 0.05) & (grey_in < 0.3)
    gain = grey_dt[mid] / grey_in[mid]
    assert gain.min() > 3.4 / 2 and gain.max() < 4.7 * 2, gain  # brightened (the setting is read, as +EV)
    de = tools.delta_e(got, ours)
    assert de.mean() < 2 * 10.6 and de.max() < 2 * 29.4, (de.mean(), de.max())


@needs_exiftool
@pytest.mark.tool
def test_matte_round_trips_as_the_point_curve_end_points(tmp_path):
    """The matte filter is a straight line on sRGB axes: the sidecar's master point curve, read back by exiftool,
    runs from (0, 255 black) to (255, 255 white), and that curve (interpolated on sRGB axes, as Adobe's curves act
    on gamma-encoded values) reproduces the filter within the 8-bit points' quantisation (1/255 = 0.0039)."""
    r = Recipe.from_steps([("matte", {"black": 0.045, "white": 0.93})])
    path = tmp_path / "IMG.xmp"
    adobe.write_adobe_xmp(r, path, raw=False)
    validate(path)
    meta = tools.exiftool_json(path)
    points = [tuple(int(v) for v in p.split(",")) for p in meta["ToneCurvePV2012"]]
    assert points[0] == (0, round(0.045 * 255)) and points[-1] == (255, round(0.93 * 255)), points
    xs, ys = np.array(points, float).T / 255
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    via_adobe = np.interp(color.srgb_encode(ramp), xs, ys)
    ours = color.srgb_encode(r.steps[0].spec.apply(np.repeat(ramp[:, None], 3, axis=1), r.steps[0].params))[:, 0]
    assert np.abs(via_adobe - ours).max() <= 1.0 / 255, np.abs(via_adobe - ours).max()


def test_two_white_balance_steps_give_one_temperature_for_both():
    """The learned agent's recipes can hold two white balances (capture correction, then the actor's): a raw
    file's Temperature is absolute, so both must be in it. Hand-computed from white_balance.to_adobe's formula,
    Temperature = 5500 * 2^(0.9 log2(r / b)) with the gains multiplied: r = 1.1 * 0.95, b = 0.85 * 1.05."""
    recipe = Recipe.from_steps([("white_balance", {"red": 1.1, "green": 1.0, "blue": 0.85}), ("exposure", {"ev": 0.5}),
                                ("white_balance", {"red": 0.95, "green": 1.0, "blue": 1.05})])
    warm = np.log2((1.1 * 0.95) / (0.85 * 1.05))
    raw = adobe.crs_settings(recipe, raw=True).values
    assert raw["Temperature"] == int(round(5500 * 2 ** (0.9 * warm))) and raw["Exposure2012"] == 0.5
    assert raw["Tint"] == int(round(-np.log2(1.0 / np.sqrt(1.1 * 0.95 * 0.85 * 1.05)) * 60))
    rendered = adobe.crs_settings(recipe, raw=False).values
    assert rendered["IncrementalTemperature"] == int(round(warm * 40))
