"""Contract of the editor tables (sidecars/editors.py): every filter has an entry in every editor's table, and every
entry gives only what that editor's writer understands, with a note whenever it is approximate."""
from __future__ import annotations

import os

import numpy as np
import pytest

from exposure_batch import filters
from exposure_batch.errors import RecipeError
from exposure_batch.filters import EditorMapping
from exposure_batch.recipe import Recipe
from exposure_batch.sidecars import adobe, darktable
from exposure_batch.sidecars.editors import ADOBE, DARKTABLE, EDITORS


def _samples(spec, n: int = 6):
    """The identity, both ends of every range, and random values inside them."""
    rng = np.random.default_rng(len(spec.name))
    yield spec.identity()
    for pick in ("low", "high"):
        yield {p.name: getattr(p, pick) if p.size == 1 else [getattr(p, pick)] * p.size for p in spec.params}
    for _ in range(n):
        yield {p.name: float(rng.uniform(p.low, p.high)) if p.size == 1 else
               [float(v) for v in rng.uniform(p.low, p.high, p.size)] for p in spec.params}


def test_every_filter_has_an_entry_in_every_editors_table():
    assert set(EDITORS) == {"darktable", "adobe"}
    for editor in EDITORS.values():
        assert set(editor.table) == set(filters.NAMES), editor.name


@pytest.mark.parametrize("spec", filters.REGISTRY, ids=lambda s: s.name)
def test_every_entry_speaks_its_editors_vocabulary(spec):
    for values in _samples(spec):
        values = spec.validate(values)
        dt = DARKTABLE.mapping(spec.name, values)
        assert isinstance(dt, EditorMapping) and dt.ops, (spec.name, values)
        assert {op[0] for op in dt.ops} <= DARKTABLE.vocabulary
        for raw in (False, True):
            lr = ADOBE.mapping(spec.name, values, raw=raw)
            assert isinstance(lr, EditorMapping) and lr.settings, (spec.name, values, raw)
            assert set(lr.settings) <= ADOBE.vocabulary, set(lr.settings) - ADOBE.vocabulary
            assert lr.exact or lr.note
        assert dt.exact or dt.note


def test_writers_read_the_tables():
    """The sidecar writers translate through the tables (a row changed in the table changes the sidecar)."""
    recipe = Recipe.from_steps([("exposure", {"ev": 0.5})])
    assert darktable.parametric_history(recipe).entries[1].operation == "exposure"
    assert adobe.crs_settings(recipe).values["Exposure2012"] == pytest.approx(0.5)
    with pytest.raises(RecipeError, match="no mapping"):
        DARKTABLE.mapping("sharpen", {})
    with pytest.raises(TypeError):
        DARKTABLE.table["exposure"] = None  # read-only: the FilterSpecs are the one declaration


@pytest.mark.parametrize("spec,mode", [("cube", "parametric"), ("darktable", "parametric"), ("darktable", "lut"),
                                       ("adobe", "parametric"), ("all", "lut")])
def test_sidecar_registry_plans_exactly_what_it_writes(tmp_path, spec, mode):
    """One sidecar registry (writer.SIDECARS): planned_paths (the collision check before a run) and write_sidecars
    agree for every kind, and --darktable-mode lut brings the .cube its XMP reads."""
    from exposure_batch.sidecars.writer import KINDS, SIDECARS, SidecarOptions, planned_paths, write_sidecars

    assert KINDS == tuple(k.name for k in SIDECARS) == ("cube", "darktable", "adobe")
    source = tmp_path / "IMG_0001.CR2"  # a raw name: the Adobe sidecar goes beside it (never read here)
    source.write_bytes(b"")
    image = tmp_path / "out" / "IMG_0001.jpg"
    image.parent.mkdir()
    opts = SidecarOptions.parse(spec, darktable_mode=mode)
    recipe = Recipe.from_steps([("exposure", {"ev": 0.3}), ("saturation", {"amount": 0.2})])
    written = write_sidecars(recipe, str(image), str(source), opts)
    assert written == planned_paths(str(image), str(source), opts) and all(map(os.path.isfile, written))
    names = sorted(os.path.basename(p) for p in written)
    expect = {"cube": ["IMG_0001.CR2.cube"], "adobe": ["IMG_0001.xmp"],
              "darktable": ["IMG_0001.CR2.cube", "IMG_0001.CR2.xmp"] if mode == "lut" else ["IMG_0001.CR2.xmp"],
              "all": ["IMG_0001.CR2.cube", "IMG_0001.CR2.xmp", "IMG_0001.xmp"]}[spec]
    assert names == expect
