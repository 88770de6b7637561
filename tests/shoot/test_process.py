"""`exposure-batch process` with grouping on (the default) and off, end to end on real files."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from exposure_batch.agent.data import display_np
from exposure_batch.agent.evaluate import ciede2000
from exposure_batch.cli import main
from exposure_batch.io import decode
from exposure_batch.pipeline.stages import decide_stage
from exposure_batch.recipe import load_recipe
from exposure_batch.sources import make_source
from tests.helpers import sample_path

from .conftest import T0, UNDER, burst, write_frame


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_a_burst_gets_one_look_and_an_intruder_is_split_off(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    b = burst(2, 5, seed=21, shared=UNDER)
    for k, frame in enumerate(b.frames):
        write_frame(shoot / f"IMG_{k:02d}.png", frame, T0 + dt.timedelta(seconds=2 * k))
    intruder = burst(0, 1, seed=21).frames[0]  # another room, shot in the middle of the burst
    write_frame(shoot / "IMG_02b.png", intruder, T0 + dt.timedelta(seconds=5))
    out = tmp_path / "out"
    res = _run("process", shoot, "-o", out, "-f", "png", "--save-recipe", "--sidecar", "darktable",
               "--group-by", "time",
               "--report", tmp_path / "report", "--no-progress")
    assert "6 photos in 2 scenes (1 harmonised, 1 frames split off)" in res.stderr
    recipes = {k: load_recipe(out / f"IMG_{k:02d}.recipe.json") for k in range(5)}
    groups = {r.group["id"] for r in recipes.values()}
    assert len(groups) == 1 and all(r.group["frames"] == 5 for r in recipes.values())
    assert len({json.dumps([s.to_dict() for s in r.steps[2:]]) for r in recipes.values()}) == 1  # shared steps
    split = load_recipe(out / "IMG_02b.recipe.json").group
    assert split["split_from"] == groups.pop() and split["reason"]
    for k in range(5):  # every frame's sidecar is written from its own (harmonised) recipe
        xmp = (out / f"IMG_{k:02d}.png.xmp").read_text()
        assert "exposure" in xmp
    shown = [b.common(k, display_np(decode(str(out / f"IMG_{k:02d}.png")).rgb_lin)) for k in range(5)]
    f2f = np.mean([ciede2000(shown[i], shown[j]) for i in range(5) for j in range(i + 1, 5)])
    assert f2f <= 1.0  # the target, on the written files
    page = (tmp_path / "report" / "index.html").read_text()
    assert '<b>1</b><span>split off</span>' in page and '<b>1</b><span>harmonised groups</span>' in page
    entries = {p["name"]: p for p in json.loads((tmp_path / "report" / "report.json").read_text())["photos"]}
    assert entries["IMG_02b.png"]["group"]["split_from"] == entries["IMG_00.png"]["group"]["id"]


def test_group_by_none_reproduces_per_photo_recipes(tmp_path):
    names = ("casio_qv_r51.jpg", "coffee_p3_16bit.png", "flower.dng")
    src = tmp_path / "src"
    src.mkdir()
    for n in names:
        shutil.copy(sample_path(n), src / n)
    agent = make_source("learned")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # as in the engine's workers (one BLAS thread each)
        expected = {n: decide_stage(agent, [decode(str(src / n))])[0] for n in names}
    for mode in ("none", "auto"):
        out = tmp_path / mode
        _run("process", src, "-o", out, "--save-recipe", "--group-by", mode, "--no-progress")
        for n in names:
            got = load_recipe(out / (os.path.splitext(n)[0] + ".recipe.json"))
            assert [s.to_dict() for s in got.steps] == [s.to_dict() for s in expected[n].steps], (mode, n)
            assert (got.group is None) == (mode == "none")
            if mode == "auto":
                assert got.group["frames"] == 1  # distinct photos: distinct groups


def test_evaluate_bursts_prints_both_figures_for_each_source(tmp_path):
    photos = tmp_path / "heldout"
    photos.mkdir()
    for n in ("coffee_p3_16bit.png", "chelsea_adobergb_16bit.tif"):
        shutil.copy(sample_path(n), photos / n)
    res = _run("evaluate", "--bursts", "--heldout", photos, "--agents", "none,learned", "--frames", "3",
               "--max-side", "96", "-o", tmp_path / "eval")
    cells = [[c.strip() for c in line.split("|")[1:4]] for line in res.stdout.splitlines() if line.startswith("| ")]
    rows = {c[0]: [float(c[1]), float(c[2])] for c in cells if c[1].replace(".", "").isdigit()}
    assert set(rows) == {"no edit", "learned", "learned + harmonised"}
    assert rows["learned + harmonised"][0] < 0.5 * rows["learned"][0]
    assert rows["learned + harmonised"][0] <= 1.0
    data = json.loads((tmp_path / "eval" / "bursts.json").read_text())
    assert data["setup"]["photos"] == 2 and len(data["per_scene"]["learned"]) == 2


@pytest.mark.slow  # the hanging survey waits out its 30 s timeout (a worker's first survey compiles kernels)
def test_a_survey_that_crashes_or_hangs_costs_only_its_file_and_the_parent_decodes_nothing(tmp_path, monkeypatch):
    import exposure_batch.shoot.plan as plan_module
    import exposure_batch.shoot.survey as survey_module
    import exposure_batch.shoot.work as work

    def not_here(*args, **kwargs):
        raise AssertionError("surveyed or planned in the parent process")

    monkeypatch.setattr(survey_module, "survey_file", not_here)  # the workers import their own copy
    monkeypatch.setattr(survey_module, "survey_files", not_here)
    monkeypatch.setattr(plan_module, "plan_entries", not_here)
    monkeypatch.setattr(work, "SHOOT_TASK", "tests.shoot.tasks:hostile")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    b = burst(1, 4, seed=5, shared=UNDER)
    names = ["IMG_00.png", "IMG_01_segv.png", "IMG_02.png", "IMG_03_hang.png"]
    for k, frame in enumerate(b.frames):
        write_frame(shoot / names[k], frame, T0 + dt.timedelta(seconds=2 * k))
    extra = burst(1, 2, seed=6, shared=UNDER)  # two more frames of the scene: the survivors still make a group
    for k, frame in enumerate(extra.frames):
        write_frame(shoot / f"IMG_1{k}.png", frame, T0 + dt.timedelta(seconds=9 + 2 * k))
    out = tmp_path / "out"
    res = _run("process", shoot, "-o", out, "-f", "png", "--save-recipe", "--group-by", "time", "--timeout", "30",
               "-j", "2", "--no-progress")
    assert "4 photos in 1 scenes (1 harmonised" in res.stderr
    grouped = {n: load_recipe(out / f"{n}.recipe.json").group for n in ("IMG_00", "IMG_02", "IMG_10", "IMG_11")}
    assert len({g["id"] for g in grouped.values()}) == 1 and all(g["frames"] == 4 for g in grouped.values())
    for hostile in ("IMG_01_segv", "IMG_03_hang"):  # no survey: edited alone, rendered by the engine as today
        assert (out / f"{hostile}.png").exists()
        assert not load_recipe(out / f"{hostile}.recipe.json").group
