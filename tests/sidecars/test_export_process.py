"""`export-look` and `process --sidecar`: the files land where the docs say, with valid contents."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from lxml import etree

from exposure_batch.cli import main
from exposure_batch.sidecars import darktable, presets
from tests.helpers import REPO, sample_path
from tests.sidecars import cases, tools

LOOK = str(REPO / "tests" / "data" / "recipes" / "v1" / "look.recipe.json")


def test_export_look_files(tmp_path):
    name = 'Warm "café" & <1>'
    res = CliRunner().invoke(main, ["export-look", LOOK, "--name", name, "-o", str(tmp_path / "out"), "--lut-size", "17"])
    assert res.exit_code == 0, res.output
    files = sorted(os.listdir(tmp_path / "out"))
    base = "Warm _café_ & _1_"
    assert files == sorted([f"{base}.xmp", f"{base}.dtstyle", f"{base}.cube", f"{base}_hald.png",
                            f"{base}_profile.xmp", "README.txt"])
    crs = "{http://ns.adobe.com/camera-raw-settings/1.0/}"
    preset = etree.parse(str(tmp_path / "out" / f"{base}.xmp")).find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert preset.get(crs + "PresetType") == "Normal" and len(preset.get(crs + "UUID")) == 32
    assert "".join(preset.find(crs + "Name").itertext()).strip() == name
    style = etree.parse(str(tmp_path / "out" / f"{base}.dtstyle")).getroot()
    assert style.findtext("info/name") == name
    # the style's plugins are exactly the parametric sidecar history that the darktable-cli tests render
    hist = darktable.parametric_history(cases.recipe("look"))
    plugins = style.findall("style/plugin")
    assert [(p.findtext("operation"), int(p.findtext("module")), p.findtext("op_params")) for p in plugins] == \
        [(e.operation, e.modversion, darktable.encode_params(e.params)) for e in hist.entries]
    assert style.findtext("info/iop_list") == hist.order_list
    readme = (tmp_path / "out" / "README.txt").read_text(encoding="utf-8")
    assert "Import Presets" in readme and "3D lut root folder" in readme and "approximate" in readme


@pytest.mark.needs_tool("exiftool")
@pytest.mark.tool
def test_export_look_preset_validates(tmp_path):
    from tests.sidecars.test_adobe import validate

    paths = presets.export_look(cases.recipe("look"), "look", tmp_path, lut_size=5)
    validate(paths[0])
    validate(tmp_path / "look_profile.xmp")


def test_export_look_bad_recipe(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    res = CliRunner().invoke(main, ["export-look", str(bad), "--name", "x", "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "bad.json" in res.output and "Traceback" not in res.output


@pytest.mark.tool
@pytest.mark.needs_tool("exiftool")
def test_process_sidecars_beside_output_and_source(tmp_path):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    jpg = src_dir / "a & <b>.jpg"
    shutil.copy(sample_path("canon_powershot_g1x2.jpg"), jpg)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["process", str(src_dir), "-o", str(out), "--recipe", LOOK, "--no-progress",
                                    "--sidecar", "all", "--darktable-mode", "lut"])
    assert res.exit_code == 0, res.output
    names = sorted(os.listdir(out))
    assert "a & <b>.jpg.xmp" in names and "a & <b>.jpg.cube" in names and "a & <b>.jpg" in names
    assert "sidecar note" in res.output and "3D LUT root folder" in res.output
    assert "Lightroom reads no sidecar for JPEG" in res.output and "a & <b>.xmp" not in names
    # LUT mode: darktable's history is one lut3d entry reading the .cube written beside it, and the .cube holds the
    # look (65^3 rows of sRGB values in [0, 1], identity grey lifted by the look's +0.62 EV)
    dt = "{http://darktable.sf.net/}"
    side = etree.parse(str(out / "a & <b>.jpg.xmp"))
    desc = side.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    entries = side.findall(f".//{dt}history//{{http://www.w3.org/1999/02/22-rdf-syntax-ns#}}li")
    assert desc.get(dt + "history_end") == "1" and [e.get(dt + "operation") for e in entries] == ["lut3d"]
    params = darktable.decode_params(entries[0].get(dt + "params"))
    assert params[:512].rstrip(b"\0").decode() == "a & <b>.jpg.cube"
    lines = (out / "a & <b>.jpg.cube").read_text(encoding="utf-8").splitlines()
    assert "LUT_3D_SIZE 65" in lines
    table = np.array([[float(v) for v in ln.split()] for ln in lines if ln[:1].isdigit()])
    assert table.shape == (65 ** 3, 3) and table.min() >= 0 and table.max() <= 1
    mid_grey = table[32 + 65 * 32 + 65 * 65 * 32]  # input (0.5, 0.5, 0.5), red fastest
    # brightened (measured 0.699: sRGB 0.5 -> about 0.7 with +0.62 EV and the curve) and warmed (red gain 1.08)
    assert 0.62 < mid_grey.mean() < 0.78 and mid_grey[0] > mid_grey[2] + 0.05, mid_grey
    # beside the source: darktable sidecar next to the original, Adobe settings embedded into it
    res = CliRunner().invoke(main, ["process", str(jpg), "-o", str(tmp_path / "out2"), "--recipe", LOOK,
                                    "--no-progress", "--sidecar", "darktable,adobe", "--sidecar-beside-source"])
    assert res.exit_code == 0, res.output
    assert (src_dir / "a & <b>.jpg.xmp").exists() and not (tmp_path / "out2" / "a & <b>.jpg.xmp").exists()
    assert tools.exiftool_json(jpg, "-XMP-crs:all").get("HasSettings") is True
    assert "darktable: step 3 tone_curve: approximate" in res.output


def test_process_rejects_unknown_sidecar(tmp_path):
    res = CliRunner().invoke(main, ["process", str(sample_path("canon_powershot_g1x2.jpg")), "-o", str(tmp_path),
                                    "--sidecar", "capture-one"])
    assert res.exit_code == 2 and "capture-one" in res.output


@pytest.mark.tool
@pytest.mark.needs_tool("exiftool")
def test_sidecar_beside_source_says_once_how_many_sources_it_modified(tmp_path):
    """Issue 23: --sidecar-beside-source embeds Adobe settings into JPEG/TIFF/DNG originals; the run says so once,
    with the count, and the help says so next to the flag."""
    import hashlib  # noqa: PLC0415

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(sample_path("canon_powershot_g1x2.jpg"), src / name)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    res = CliRunner().invoke(main, ["process", str(src), "-o", str(tmp_path / "out"), "--recipe", LOOK,
                                    "--no-progress", "--sidecar", "adobe", "--sidecar-beside-source"])
    assert res.exit_code == 0, res.output
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    assert all(after[n] != before[n] for n in before)  # the originals' bytes changed ...
    line = ("sidecar note: adobe: settings embedded into 2 source files (--sidecar-beside-source: those originals "
            "were modified; their other metadata is kept)")
    assert res.output.count(line) == 1, res.output  # ... and the run says so, once, with the count
    # without the flag nothing is embedded and nothing is said about modified sources
    res = CliRunner().invoke(main, ["process", str(src), "-o", str(tmp_path / "out2"), "--recipe", LOOK,
                                    "--no-progress", "--sidecar", "adobe"])
    assert res.exit_code == 0 and "embedded into" not in res.output
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()} == after
    helptext = " ".join(CliRunner().invoke(main, ["process", "--help"]).output.split())
    assert "this MODIFIES JPEG/TIFF/PNG/DNG sources" in helptext
