"""The service's editor outputs are the sidecars' own mappings: the Lightroom table holds exactly the values the
Adobe sidecar writes, the darktable text is the file `process --sidecar darktable` writes. Plus the shipped
start-at-login files parse."""
from __future__ import annotations

import plistlib

import pytest
from lxml import etree

from exposure_batch.recipe import Recipe, Step, load_recipe
from exposure_batch.service.edits import editor_outputs, history_name, is_raw_name
from exposure_batch.sidecars import adobe, darktable
from exposure_batch.sidecars.xmp import NS
from tests.helpers import REPO

LOOK = REPO / "tests" / "data" / "recipes" / "v1" / "look.recipe.json"


def _crs_from_sidecar(path) -> dict:
    desc = etree.parse(str(path)).find(".//{%s}Description" % NS["rdf"])
    crs = "{%s}" % NS["crs"]
    out = {k[len(crs):]: v for k, v in desc.attrib.items() if k.startswith(crs)}
    for child in desc:
        if child.tag.startswith(crs):
            out[child.tag[len(crs):]] = [li.text for li in child.iter("{%s}li" % NS["rdf"])]
    return out


@pytest.mark.parametrize("raw", [False, True])
def test_lightroom_table_matches_the_adobe_sidecar(tmp_path, raw):
    recipe = load_recipe(LOOK)
    table = editor_outputs(recipe, "IMG_0001.CR2" if raw else "IMG_0001.jpg", raw)["lightroom"]
    adobe.write_adobe_xmp(recipe, tmp_path / "side.xmp", raw=raw)
    side = _crs_from_sidecar(tmp_path / "side.xmp")
    assert table["ProcessVersion"] == side["ProcessVersion"] == "11.0"
    keys = set(table) - {"ProcessVersion"}
    assert keys == set(side) - {"ProcessVersion", "Version", "HasSettings"}
    for key in keys:
        value = table[key]
        if isinstance(value, list):  # flat [x1, y1, ...] vs the sidecar's "x, y" items
            assert [f"{x}, {y}" for x, y in zip(value[::2], value[1::2])] == side[key], key
        elif isinstance(value, bool):
            assert side[key] == ("True" if value else "False")
        elif isinstance(value, str):
            assert side[key] == value, key
        else:
            assert float(side[key]) == pytest.approx(value), key
    assert ("Temperature" in table) == raw and ("IncrementalTemperature" in table) == (not raw)
    assert 2000 <= table.get("Temperature", 5000) <= 50000


def test_darktable_text_is_the_sidecar_process_writes(tmp_path):
    recipe = load_recipe(LOOK)
    text = editor_outputs(recipe, "IMG_0001.jpg", False)["darktable_xmp"]
    darktable.write_darktable_xmp(recipe, tmp_path / "IMG_0001.jpg.xmp", derived_from="IMG_0001.jpg")
    assert text.encode() == (tmp_path / "IMG_0001.jpg.xmp").read_bytes()


def test_history_name_and_raw_names():
    recipe = load_recipe(LOOK)
    assert history_name(recipe) == "exposure-batch: " + ", ".join(s.spec.label for s in recipe.steps)
    twice = Recipe((Step("white_balance", {"red": 1.1, "green": 1.0, "blue": 0.9}), Step("exposure", {"ev": 0.5}),
                    Step("white_balance", {"red": 0.95, "green": 1.0, "blue": 1.05})))
    assert history_name(twice) == "exposure-batch: White balance, Exposure"  # each filter once, first use first
    assert is_raw_name("a.CR2") and is_raw_name("a.dng") and not is_raw_name("a.JPG") and not is_raw_name("b.tif")


def test_start_at_login_files():
    plist = plistlib.loads((REPO / "contrib" / "org.exposure-batch.serve.plist").read_bytes())
    assert plist["ProgramArguments"][1] == "serve" and plist["RunAtLoad"] is True
    unit = (REPO / "contrib" / "exposure-batch-serve.service").read_text()
    assert "ExecStart=" in unit and " serve " in unit and "WantedBy=default.target" in unit
