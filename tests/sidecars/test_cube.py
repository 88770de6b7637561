"""The baked look: .cube and Hald CLUT reproduce our render (CIEDE2000 bounds from the issue)."""
from __future__ import annotations

import io

import numpy as np
import pytest

from exposure_batch.sidecars import cube
from exposure_batch.sidecars.writer import _baked, _steps_key
from tests.helpers import sample_srgb8
from tests.sidecars import cases, tools


@pytest.fixture(scope="module")
def photo_srgb():
    """A real sample photo, small, as sRGB-encoded float32 plus the synthetic chart."""
    img = sample_srgb8("coffee_p3_16bit.png", size=(160, 120)).astype(np.float32) / 255
    return np.concatenate([img.reshape(-1, 3), tools.test_image_srgb().reshape(-1, 3)])


#: Filters whose maths has a kink no 65^3 grid resolves: gamma's 0.001 floor near black.
SINGULAR = ("gamma",)


def bounds(recipe):
    """(mean, max) CIEDE2000 bound: the issue's 0.5 / 2 unless a SINGULAR step is present (measured + margin)."""
    if any(s.filter in SINGULAR for s in recipe.steps):
        return 0.75, 7.0
    return 0.5, 2.0


@pytest.mark.parametrize("name, method", [cases.param(n, m) for n in [*cases.PER_FILTER, "look"]
                                          for m in ("tetrahedral", "trilinear")])
def test_lut_matches_render(name, method, photo_srgb):
    r = cases.recipe(name)
    ref = cube.transform_srgb(r, photo_srgb)
    got = cube.apply_lut(_baked(_steps_key(r), 65), photo_srgb, method)  # cached bake (same as cube.bake)
    de = tools.delta_e(got, ref)
    mean_max, max_max = bounds(r)
    assert de.mean() <= mean_max and de.max() <= max_max, (de.mean(), de.max())


@pytest.mark.slow
@pytest.mark.parametrize("sample", cases.SAMPLES)
def test_lut_on_samples(sample):
    """Every sample photo (as sRGB) with its classic-agent recipe and the 8-step look, with and without the
    singular steps: the issue's bound holds whenever no singular step is present."""
    from exposure_batch.recipe import Recipe

    x = cases.sample_small_srgb(sample).reshape(-1, 3)
    for r in (cases.classic_recipe(sample), cases.recipe("look")):
        for rr in (r, Recipe(tuple(s for s in r.steps if s.filter not in SINGULAR))):
            de = tools.delta_e(cube.apply_lut(_baked(_steps_key(rr), 65), x), cube.transform_srgb(rr, x))
            mean_max, max_max = bounds(rr)
            assert de.mean() <= mean_max and de.max() <= max_max, (sample, [s.filter for s in rr.steps], de.mean(), de.max())


def test_cube_file_round_trip_and_header(tmp_path):
    r = cases.recipe("look")
    table = cube.bake(r, 17)
    path = cube.write_cube(table, tmp_path / "my look.cube", title='Look "A" & <b>\nx')
    text = path and open(path, encoding="utf-8").read()
    lines = text.splitlines()
    assert lines[0] == 'TITLE "Look A & <b> x"' and "LUT_3D_SIZE 17" in lines[:3]
    assert len([ln for ln in lines if ln and ln[0].isdigit()]) == 17 ** 3
    # red index runs fastest (.cube order): second data row is node r=1, g=0, b=0
    first = [ln for ln in lines if ln and ln[0].isdigit()][:2]
    np.testing.assert_allclose([float(v) for v in first[1].split()], table[1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(cube.read_cube(path), table, atol=1e-6)


def test_cached_bake_is_bake():
    r = cases.recipe("look")
    np.testing.assert_array_equal(_baked(_steps_key(r), 9), cube.bake(r, 9))


def test_identity_cube_is_identity():
    from exposure_batch.recipe import Recipe

    table = cube.bake(Recipe(()), 9)
    np.testing.assert_allclose(table, cube.grid(9), atol=1e-3)  # float32 sRGB <-> ProPhoto matrices


def test_hald_clut(tmp_path):
    r = cases.recipe("look")
    for ext in (".png", ".tif"):
        path = cube.write_hald(r, tmp_path / f"look{ext}", level=4)
        table = cube.read_hald(path)
        assert table.shape == (16, 16, 16, 3)
        np.testing.assert_allclose(table, cube.bake(r, 16), atol=1 / 65535 + 1e-6)
    x = tools.test_image_srgb().reshape(-1, 3)
    de = tools.delta_e(cube.apply_lut(cube.read_hald(cube.write_hald(r, tmp_path / "h8.png")), x), cube.transform_srgb(r, x))
    assert de.mean() <= 0.5 and de.max() <= 2.0


def test_bad_size():
    with pytest.raises(ValueError):
        cube.bake(cases.recipe("exposure"), 1)


def test_cube_rows_are_printf_six_decimals():
    """The fast row formatter writes what '%.6f' writes (an independent formatter: NumPy's savetxt), in the
    red-fastest order, for [0, 1] values including the ends, and falls back for values outside [0, 1]."""
    rng = np.random.default_rng(3)
    rows = np.concatenate([rng.random((20000, 3)), [[0.0, 1.0, 0.5], [1e-7, 0.9999996, 0.1234565]]])
    rows = rows.astype(np.float32)
    reference = io.BytesIO()
    np.savetxt(reference, rows.astype(np.float64), fmt="%.6f", delimiter=" ")
    ours = cube.cube_rows(rows)
    want, got = reference.getvalue().splitlines(), ours.splitlines()
    assert len(got) == len(want) and got[-2] == b"0.000000 1.000000 0.500000"
    differ = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    assert len(differ) <= 2, differ[:5]  # at most a half-way tie rounded the other way ...
    np.testing.assert_allclose(np.loadtxt(io.BytesIO(ours)), rows, atol=5.0e-7 + 1e-9)  # ... never more than that
    hdr = np.array([[1.5, -0.25, np.nan]], dtype=np.float32)
    assert cube.cube_rows(hdr) == b"1.500000 -0.250000 nan\n"


def test_write_cube_is_what_colour_science_writes(tmp_path):
    import colour
    table = cube.bake(cases.recipe("look"), 17)
    ours = cube.write_cube(table, tmp_path / "ours.cube", title="look")
    colour.write_LUT(colour.LUT3D(table=table.astype(np.float64), name="look"), str(tmp_path / "theirs.cube"),
                     decimals=6)
    assert open(ours, "rb").read() == (tmp_path / "theirs.cube").read_bytes()
