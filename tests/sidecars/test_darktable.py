"""darktable sidecars: struct layout, XML validity, and fidelity measured with the real darktable-cli.

Renders use a fresh --configdir per test, --apply-custom-presets false, and fail on any stderr line that means
darktable dropped part of the history; the output's embedded history is read back with exiftool.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from lxml import etree

from exposure_batch.sidecars import cube, darktable
from tests.sidecars import cases, tools

needs_dt = pytest.mark.needs_tool("darktable-cli", "exiftool")

#: CIEDE2000 (mean, max) bounds on the synthetic chart, twice the values measured with darktable 4.2.1
#: (`python -m tests.sidecars.measure_fidelity`, docs/sidecars.md, "Measured fidelity"). Parametric mode per filter: exposure,
#: white balance and B&W are exact up to 16-bit rounding (measured 0.002 / 0.01).
PARAMETRIC_BOUNDS = {
    "exposure": (0.004, 0.02), "white_balance": (0.004, 0.02), "black_and_white": (0.004, 0.02),
    "gamma": (0.026, 2.42), "tone_curve": (0.122, 0.50), "contrast": (0.122, 0.58), "color_curves": (0.020, 0.34),
    "saturation": (2.09, 14.9), "look": (3.09, 15.4), "matte": (0.011, 0.32),
}
#: LUT mode (the .cube through darktable's lut3d): measured at most 0.016 mean / 0.51 max (the look).
LUT_BOUND = (0.032, 1.02)
#: The look on every sample (one 16-bit sRGB TIFF mosaic): per-sample mean, twice the measured.
SAMPLE_BOUNDS = {
    "lut": {"astronaut_orientation6.jpg": 0.094, "canon_powershot_g1x2.jpg": 0.006, "casio_qv_r51.jpg": 0.052,
            "chelsea_adobergb_16bit.tif": 0.032, "coffee_p3_16bit.png": 0.076, "flower.dng": 0.040,
            "nikon_d300_rec2020_linear_16bit.png": 0.092},
    "parametric": {"astronaut_orientation6.jpg": 2.17, "canon_powershot_g1x2.jpg": 6.98, "casio_qv_r51.jpg": 3.26,
                   "chelsea_adobergb_16bit.tif": 2.12, "coffee_p3_16bit.png": 1.58, "flower.dng": 2.97,
                   "nikon_d300_rec2020_linear_16bit.png": 1.53},
}


def test_struct_sizes_and_encoding():
    assert len(darktable.exposure_params(1.0)) == 24
    assert len(darktable.channelmixer_params(np.eye(3))) == 160
    assert len(darktable.rgbcurve_params([([0, 1], [0, 1])], linked=True)) == 516
    assert len(darktable.lut3d_params("a/b.cube")) == 12940
    small = darktable.encode_params(darktable.exposure_params(0.5))
    assert small == small.lower() and not small.startswith("gz") and len(small) == 48
    big = darktable.encode_params(darktable.lut3d_params("look.cube"))
    assert big.startswith("gz") and darktable.decode_params(big) == darktable.lut3d_params("look.cube")
    with pytest.raises(ValueError):
        darktable.DtEntry("exposure", 6, b"\0" * 20)


def test_xmp_attributes_and_order(tmp_path):
    r = cases.recipe("look")
    path = tmp_path / "IMG 1 & <2> \"é\".tif.xmp"
    hist = darktable.write_darktable_xmp(r, path)
    tree = etree.parse(str(path))
    dt = "{http://darktable.sf.net/}"
    desc = tree.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get(dt + "auto_presets_applied") == "1" and desc.get(dt + "xmp_version") == "5"
    assert int(desc.get(dt + "history_end")) == len(hist.entries) == len(r.steps) + 2
    order = desc.get(dt + "iop_order_list").split(",")
    pairs = list(zip(order[::2], order[1::2]))
    assert len(pairs) == len(set(pairs))  # every (module, instance) once
    ours = [(e.operation, str(e.multi_priority)) for e in hist.entries]
    start = pairs.index(ours[0])
    assert pairs[start:start + len(ours)] == ours  # recipe order kept
    lis = desc.findall(f"{dt}history/" + "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Seq/*")
    assert all(li.get(dt + "enabled") == "1" for li in lis)
    assert "approximate" in "".join(desc.itertext()) and not hist.exact


def _render_case(name, mode, tmp_path, src=None):
    r = cases.recipe(name)
    if src is None:
        src = tools.write_test_tiff(tmp_path / "chart.tif", tools.test_image_srgb())
    side = tmp_path / (os.path.basename(src) + ".xmp")
    lut_dir = tmp_path / "luts"
    lut_dir.mkdir(exist_ok=True)
    if mode == "lut":
        cube.write_cube(cube.bake(r), lut_dir / "look.cube")
    hist = darktable.write_darktable_xmp(r, side, mode, lut_relpath="look.cube")
    img, _, out = tools.darktable_render(src, side, tmp_path / "dt", lut_dir=lut_dir)
    de = tools.delta_e(img, tools.our_render_srgb(r, src))
    # every module of our history was applied: read the embedded history back from darktable's output
    meta = tools.exiftool_json(out, "-XMP-darktable:all")
    applied = {(h["Operation"], int(h["Multi_priority"]), int(h["Modversion"]), int(h["Enabled"]))
               for h in meta.get("History", [])}
    for e in hist.entries:
        assert (e.operation, e.multi_priority, e.modversion, 1) in applied, (e, sorted(applied))
    return de


@needs_dt
@pytest.mark.tool
@pytest.mark.parametrize("name, mode", [*((n, "parametric") for n in [*cases.PER_FILTER, "look"]),
                                        ("look", "lut"), cases.param("saturation", "lut"), ("gamma", "lut")])
def test_darktable_fidelity_per_filter(name, mode, tmp_path):
    de = _render_case(name, mode, tmp_path)
    mean_max, max_max = LUT_BOUND if mode == "lut" else PARAMETRIC_BOUNDS[name]
    assert de.mean() <= mean_max and de.max() <= max_max, (de.mean(), de.max())


def samples_mosaic(width: int = 128) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """All samples as sRGB, stacked vertically (one darktable render for all). Returns (image, row ranges)."""
    tiles = [cases.sample_small_srgb(s, width) for s in cases.SAMPLES]
    rows, y = [], 0
    for t in tiles:
        rows.append((y, y + t.shape[0]))
        y += t.shape[0]
    return np.concatenate(tiles), rows


@needs_dt
@pytest.mark.tool
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["lut", "parametric"])
def test_darktable_on_samples(mode, tmp_path):
    """Every sample photo (written as one 16-bit sRGB TIFF) with the look: mean CIEDE2000 per sample within twice
    the measured value (SAMPLE_BOUNDS)."""
    mosaic, rows = samples_mosaic()
    src = tools.write_test_tiff(tmp_path / "samples.tif", mosaic)
    de = _render_case("look", mode, tmp_path, src=src)
    assert set(SAMPLE_BOUNDS[mode]) == set(cases.SAMPLES)
    for sample, (y0, y1) in zip(cases.SAMPLES, rows):
        assert de[y0:y1].mean() <= SAMPLE_BOUNDS[mode][sample], (sample, de[y0:y1].mean())


@needs_dt
@pytest.mark.tool
def test_darktable_reports_missing_lut(tmp_path):
    """The stderr check works: a sidecar pointing at a missing .cube is caught (darktable itself exits 0)."""
    src = tools.write_test_tiff(tmp_path / "chart.tif", tools.test_image_srgb(32, 32))
    side = tmp_path / "chart.tif.xmp"
    darktable.write_darktable_xmp(cases.recipe("exposure"), side, "lut", lut_relpath="missing.cube")
    with pytest.raises(AssertionError, match="dropped"):
        tools.darktable_render(src, side, tmp_path / "dt", lut_dir=tmp_path)


@needs_dt
@pytest.mark.tool
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["lut", "parametric"])
def test_darktable_raw_source(mode, tmp_path):
    """A raw source (our DNG built from real photo data) gets the raw module order (v3.0, or custom on its base) and
    darktable applies every entry; pixels differ by each program's raw rendering, so only a loose bound."""
    from tests.helpers import make_dng, sample_srgb8

    from exposure_batch import color

    srgb = sample_srgb8("coffee_p3_16bit.png", size=(96, 64)).astype(np.float32) / 255
    src = tmp_path / "IMG_0001.dng"
    make_dng(src, color.srgb_decode(srgb))
    r = cases.recipe("look")
    side = tmp_path / darktable.sidecar_name(src)
    lut_dir = tmp_path / "luts"
    lut_dir.mkdir()
    cube.write_cube(cube.bake(r), lut_dir / "look.cube")
    hist = darktable.write_darktable_xmp(r, side, mode, lut_relpath="look.cube", raw=darktable.is_raw(src))
    desc = etree.parse(str(side)).find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get("{http://darktable.sf.net/}iop_order_version") == ("2" if mode == "lut" else "0")
    img, _, out = tools.darktable_render(src, side, tmp_path / "dt", lut_dir=lut_dir)
    meta = tools.exiftool_json(out, "-XMP-darktable:all")
    applied = {(h["Operation"], int(h["Multi_priority"])) for h in meta.get("History", [])}
    assert {(e.operation, e.multi_priority) for e in hist.entries} <= applied
    ours = tools.our_render_srgb(r, src)
    assert img.shape == ours.shape
    de = tools.delta_e(img, ours)
    assert de.mean() <= 8.0, de.mean()  # measured 4.5 (lut) and 4.7 (parametric)


@pytest.mark.tool
@pytest.mark.needs_tool("exiftool")
@pytest.mark.parametrize("mode", ["parametric", "lut"])
def test_xmp_with_nasty_names_validates(tmp_path, mode):
    """Names with spaces, unicode, &, <, quotes: valid XMP for exiftool, values read back unchanged."""
    from tests.sidecars.test_adobe import validate

    nasty = "IMG 1 & <2> \"q\" 'é' ü.tif"
    path = tmp_path / darktable.sidecar_name(nasty)
    darktable.write_darktable_xmp(cases.recipe("look"), path, mode, lut_relpath=f"{nasty}.cube", derived_from=nasty)
    validate(path)
    meta = tools.exiftool_json(path)
    assert meta["DerivedFrom"] == nasty
    if mode == "lut":
        raw = darktable.decode_params(meta["History"][0]["Params"])
        assert raw[:512].rstrip(b"\0").decode("utf-8") == f"{nasty}.cube"
