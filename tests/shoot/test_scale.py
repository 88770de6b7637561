"""Grouping at archive scale (issue 25): time-window blocking, skip first, a bounded signature store."""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from click.testing import CliRunner

from exposure_batch.cli import main
from exposure_batch.sources import SourceSpec
from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.shoot.grouping import (SIMILARITY_WINDOW, GroupingOptions, Signed, group_records, signature,
                                           signature_distance, signature_distances)
from exposure_batch.shoot.stream import HARMONISE_FRAMES, group_in_windows, run_grouped

from .conftest import write_shoot
from .tasks import BURST


def _shoot(rng, folders=3, per_folder=400, same_picture=False):
    """Synthetic records: bursts of 5-50 frames 0.5-5 s apart, bursts an hour apart, in `folders` folders;
    returns (paths, records, burst of each index). same_picture: every burst shows the same scene (signatures
    differ only by noise), so only capture time can keep them apart."""
    paths, records, burst_of = [], [], []
    base = rng.normal(0, 0.5, (5, 16, 16)).astype(np.float32)
    t, burst = 1.0e9, 0
    for f in range(folders):
        left = per_folder
        while left:
            n = int(min(left, rng.integers(5, 51)))
            scene = base if same_picture else rng.normal(0, 0.5, (5, 16, 16)).astype(np.float32)
            t += 3600.0
            for _ in range(n):
                t += float(rng.uniform(0.5, 5.0))
                path = f"/shoots/f{f}/IMG_{len(paths):05d}.jpg"
                sig = scene + rng.normal(0, 0.01, scene.shape).astype(np.float32)
                paths.append(path)
                records.append(Signed(path, t, os.path.dirname(path), sig))
                burst_of.append(burst)
            burst += 1
            left -= n
    return paths, records, burst_of


@pytest.mark.parametrize("by", ["time", "time+similarity"])
@pytest.mark.parametrize("same_picture", [False, True])
def test_time_windows_never_split_a_burst_nor_merge_shoots_an_hour_apart(by, same_picture):
    rng = np.random.default_rng([25, same_picture])
    paths, records, burst_of = _shoot(rng, same_picture=same_picture)
    groups = group_in_windows(paths, records, GroupingOptions(by=by, gap=30), window=64)  # ~20 windows
    assert sorted(i for g in groups for i in g) == list(range(len(paths)))
    for g in groups:
        assert len({burst_of[i] for i in g}) == 1, "a group holds two shoots an hour apart"
    per_burst = {}
    for k, g in enumerate(groups):
        for i in g:
            per_burst.setdefault(burst_of[i], set()).add(k)
    assert all(len(ks) == 1 for ks in per_burst.values()), "a burst was split"


def test_similarity_is_compared_in_bounded_windows_and_matches_the_pairwise_distance():
    rng = np.random.default_rng(1)
    sigs = rng.normal(0, 0.3, (7, 5, 16, 16)).astype(np.float32)
    expected = np.array([[signature_distance(a, b) for b in sigs] for a in sigs])
    assert np.allclose(signature_distances(sigs, sigs), expected, atol=1e-6)
    # frames without capture times in one folder: scenes of 3-12 frames in name order, far more frames than one
    # similarity window; every scene comes out whole and alone
    scenes = [rng.normal(0, 0.5, (5, 16, 16)).astype(np.float32) for _ in range(60)]
    records, truth = [], []
    for s, scene in enumerate(scenes):
        for _ in range(int(rng.integers(3, 13))):
            records.append(Signed(f"/scans/IMG_{len(records):04d}.jpg", None, "/scans",
                                  scene + rng.normal(0, 0.01, scene.shape).astype(np.float32)))
            truth.append(s)
    assert len(records) > 4 * SIMILARITY_WINDOW
    grouping = group_records(records, GroupingOptions())
    assert sorted(sorted({truth[i] for i in g}) for g in grouping.groups) == [[s] for s in range(60)]


def test_signature_of_a_frame_is_small_and_fixed_in_size():
    big = signature(np.random.default_rng(0).random((900, 1200, 3), dtype=np.float32))
    small = signature(np.random.default_rng(0).random((60, 80, 3), dtype=np.float32))
    assert big.shape == small.shape == (5, 16, 16) and big.nbytes == 5 * 16 * 16 * 4


def _run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result


def test_a_finished_batch_re_run_never_starts_a_survey(tmp_path, monkeypatch):
    write_shoot(tmp_path / "shoot", scenes=(0, 1), frames=3)
    out = tmp_path / "out"
    first = _run("process", tmp_path / "shoot", "-o", out, "--no-progress", "-j", "2")
    assert "done 6, skipped 0, failed 0" in first.output and "6 photos in 2 scenes (2 harmonised" in first.stderr

    def no_survey(*args, **kwargs):
        raise AssertionError("a survey (or a worker) was started for a finished batch")

    import exposure_batch.engine.pool as pool_module
    import exposure_batch.shoot.stream as stream_module

    monkeypatch.setattr(stream_module, "run_grouped", no_survey)
    monkeypatch.setattr(stream_module, "plan_in_workers", no_survey)
    monkeypatch.setattr(pool_module.WorkerPool, "__init__", no_survey)
    again = _run("process", tmp_path / "shoot", "-o", out, "--no-progress", "-j", "2")
    assert "done 0, skipped 6, failed 0" in again.output and "groups:" not in again.stderr
    resumed = _run("process", tmp_path / "shoot", "-o", out, "--no-progress", "--resume")
    assert "resume: 6 done earlier, 0 to do" in resumed.stderr and "groups:" not in resumed.stderr


def _signed_alive() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, Signed))


@pytest.mark.slow  # two runs of 300 and 1,200 synthetic files through a real worker pool (~1 min on 2 busy cores)
def test_the_parents_signature_store_does_not_grow_with_the_file_count(tmp_path):
    window = 40
    peaks = {}
    for n in (300, 1200):
        jobs = [(f"/synthetic/shoot/IMG_{k:05d}.jpg", str(tmp_path / f"out{n}" / f"IMG_{k:05d}.jpg"))
                for k in range(n)]
        seen = []

        def sample(done, total):
            if done % 25 == 0:
                seen.append(_signed_alive())

        results, stats = run_grouped(jobs, SourceSpec("classic"), OutputOptions(str(tmp_path / f"out{n}")),
                                     GroupingOptions(), 2, on_survey=sample, window=window,
                                     task_ref="tests.shoot.tasks:synthetic", spool_parent=str(tmp_path))
        assert [r.status for r in results] == ["done"] * n
        assert sorted(len(g["files"]) for g in stats.groups) == [BURST] * (n // BURST)  # every burst one group
        assert stats.planned == n
        peaks[n] = max(seen)
    # records held: at most the lookahead (2 windows) and a harmonise task's worth, whatever the file count (a
    # store growing with the files would hold ~4x more at 1,200 than at 300)
    bound = 2 * window + HARMONISE_FRAMES
    assert peaks[300] <= bound and peaks[1200] <= bound < 1200 // 4, peaks
    assert not [p for p in os.listdir(tmp_path) if p.startswith("shoot-")]  # the spool is removed


def test_exif_less_folder_and_timed_folder_in_one_run(tmp_path):
    """A folder without capture times next to a timed one: each grouped on its own (similarity / time)."""
    write_shoot(tmp_path / "shoot" / "timed", scenes=(0, 1), frames=3, timed=True)
    write_shoot(tmp_path / "shoot" / "scans", scenes=(2, 3), frames=3, timed=False, interleave=True)
    out = tmp_path / "out"
    res = _run("process", tmp_path / "shoot", "-r", "-o", out, "--no-progress", "--save-recipe")
    assert "12 photos in 4 scenes (4 harmonised, 0 frames split off)" in res.stderr
    from exposure_batch.recipe import load_recipe

    groups = {}
    for folder in ("timed", "scans"):
        for name in os.listdir(tmp_path / "shoot" / folder):
            recipe = load_recipe(out / folder / (os.path.splitext(name)[0] + ".recipe.json"))
            groups.setdefault(recipe.group["id"], set()).add((folder, name[6:8] if folder == "scans" else name[4:6]))
    # scene number: IMG_SSkk (timed) / IMG_kkSS (interleaved scans); each group holds one scene of one folder
    assert len(groups) == 4 and all(len(g) == 1 for g in groups.values()), groups


def test_the_plan_travels_with_the_edits_and_one_worker_measures(tmp_path, monkeypatch):
    """Each photo's plan entry goes with its edit task (nothing written for the plan); any worker harmonises, one
    measures the consistency figures, so colour-science (its CIEDE2000: about 1.2 s and 150 MB per process) is
    imported by that worker alone, never by the others nor by the run's parent."""
    import datetime as dt
    import sys

    from .conftest import T0, burst, write_frame

    spy = tmp_path / "spy"
    spy.mkdir()
    monkeypatch.setenv("EXPOSURE_BATCH_TEST_SPY", str(spy))
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    jobs = []
    for s in range(4):
        for k, frame in enumerate(burst(s, 3, seed=2).frames):
            path = write_frame(shoot / f"IMG_{s}{k}.jpg", frame, T0 + dt.timedelta(seconds=600 * s + 2 * k))
            jobs.append((path, str(tmp_path / "out" / f"IMG_{s}{k}.jpg")))
    parent_had_colour = "colour" in sys.modules
    results, stats = run_grouped(jobs, SourceSpec("learned"), OutputOptions(str(tmp_path / "out")),
                                 GroupingOptions(), 2, task_ref="tests.shoot.tasks:colour_spy",
                                 spool_parent=str(tmp_path / "spool"), window=4)  # a harmonise task per scene
    assert [r.status for r in results] == ["done"] * 12
    groups = [r.recipe.group for r in results]
    assert len({g["id"] for g in groups}) == 4 and all(g["frames"] == 3 for g in groups)
    assert all(isinstance(g["consistency"], float) and g["consistency"] < 5 for g in groups)
    assert {s["id"]: s["consistency"] for s in stats.groups} == {g["id"]: g["consistency"] for g in groups}
    tasks = {pid: [line.split() for line in (spy / pid).read_text().splitlines()] for pid in os.listdir(spy)}
    assert len(tasks) == 2 and {kind for lines in tasks.values() for kind, _ in lines} == {
        "survey", "harmonise", "measure", "edit-planned"}
    measurers = [pid for pid, lines in tasks.items() if any(kind == "measure" for kind, _ in lines)]
    assert len(measurers) == 1
    other = next(pid for pid in tasks if pid not in measurers)
    assert len(tasks[other]) >= 3 and all(imported == "False" for _, imported in tasks[other]), tasks[other]
    assert ("colour" in sys.modules) == parent_had_colour  # the parent measured nothing
    assert os.listdir(tmp_path / "spool") == []  # spool (survey images, no plan files) removed


def test_a_workers_task_plan_holds_only_the_entries_of_its_recent_tasks():
    from exposure_batch.shoot.plan import TaskPlan, singleton_entry

    plan = TaskPlan()
    for k in range(TaskPlan.HELD + 10):
        plan.hold(f"/shoot/IMG_{k}.jpg", singleton_entry(f"g{k}"))
    assert len(plan.entries) == TaskPlan.HELD
    assert plan.lookup("/shoot/IMG_9.jpg") is None  # the oldest are dropped
    assert plan.lookup(f"/shoot/IMG_{TaskPlan.HELD + 9}.jpg").group["id"] == f"g{TaskPlan.HELD + 9}"
    assert plan.lookup("/shoot/../shoot/IMG_10.jpg").group["id"] == "g10"  # by absolute path


def test_a_small_photos_survey_is_its_decode_and_a_bigger_ones_is_the_cheap_survey(tmp_path):
    """A JPEG of at most FULL_DECODE_PIXELS is decoded once, by its survey (kept for its edit); a bigger one is
    surveyed from libjpeg's reduced decode (told from the header, nothing decoded twice); a broken one gives None."""
    from exposure_batch.render.preview import _resize_area
    from exposure_batch.shoot.work import FULL_DECODE_PIXELS, decoded_file, spool_file, survey_record

    from .conftest import scene_photo, write_frame

    photo = scene_photo("coffee_p3_16bit.png", 400)
    small = write_frame(tmp_path / "small.jpg", _resize_area(photo, 320, 240))
    big = write_frame(tmp_path / "big.jpg", _resize_area(photo, 800, 600))
    assert 320 * 240 <= FULL_DECODE_PIXELS < 800 * 600
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(open(small, "rb").read()[:600])
    spool = tmp_path / "spool"
    spool.mkdir()
    a = survey_record(small, None, str(spool), True, "preview")
    b = survey_record(big, None, str(spool), True, "preview")
    assert a.decoded and os.path.exists(decoded_file(str(spool), small))
    assert not b.decoded and not os.path.exists(decoded_file(str(spool), big))
    assert os.path.exists(spool_file(str(spool), small)) and os.path.exists(spool_file(str(spool), big))
    assert a.signature.shape == b.signature.shape == (5, 16, 16)
    assert survey_record(str(broken), None, str(spool), True, "preview") is None
    # the user's pixel limit still holds for a small photo
    assert survey_record(small, 1000, str(spool), True, "preview") is None
