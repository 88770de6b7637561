"""Grouping real JPEG bursts (made from the sample photos) into scenes: by time, by similarity, interleaved."""
from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from exposure_batch.shoot.grouping import GroupingOptions, group_surveys, read_groups_file
from exposure_batch.shoot.survey import parse_capture_time, survey_files

from .conftest import T0, burst, write_frame, write_shoot


def _scenes_of(surveys, grouping, truth):
    """Each group as the sorted list of true scenes of its members."""
    return sorted(sorted(truth[surveys[i].path] for i in g) for g in grouping.groups)


def _share_in_own_group(surveys, grouping, truth) -> float:
    """Share of frames whose group is their scene's group (the group holding most of the scene's frames), and
    that group holds no other scene."""
    ok = 0
    for scene in set(truth.values()):
        best = max(grouping.groups, key=lambda g: sum(truth[surveys[i].path] == scene for i in g))
        if all(truth[surveys[i].path] == scene for i in best):
            ok += sum(truth[surveys[i].path] == scene for i in best)
    return ok / len(truth)


def test_capture_time_parsing_keeps_sub_seconds():
    assert parse_capture_time("2026-05-01T14:00:01.25") - parse_capture_time("2026-05-01T14:00:00.75") == 0.5
    assert parse_capture_time("2026-05-01T14:00:00+02:00") == parse_capture_time("2026-05-01T12:00:00+00:00")
    assert parse_capture_time(None) is None and parse_capture_time("garbage") is None


def test_grouped_by_capture_time(tmp_path):
    truth = write_shoot(tmp_path / "shoot", scenes=(0, 1, 2), frames=4, timed=True)
    surveys = survey_files(sorted(truth))
    assert all(s is not None and s.time is not None for s in surveys)
    by_time = group_surveys(surveys, GroupingOptions(by="time", gap=30))
    assert _scenes_of(surveys, by_time, truth) == [[0] * 4, [1] * 4, [2] * 4]
    # one long gap setting joins everything; a gap below the 1.5 s frame spacing splits every frame
    assert len(group_surveys(surveys, GroupingOptions(by="time", gap=3600)).groups) == 1
    assert len(group_surveys(surveys, GroupingOptions(by="time", gap=1.0)).groups) == 12


def test_grouped_by_similarity_without_exif_interleaved(tmp_path):
    truth = write_shoot(tmp_path / "shoot", scenes=(0, 1, 2, 3), frames=4, timed=False, interleave=True)
    surveys = survey_files(sorted(truth))
    assert all(s.time is None for s in surveys)
    for by in ("similarity", "time+similarity"):
        grouping = group_surveys(surveys, GroupingOptions(by=by))
        assert _share_in_own_group(surveys, grouping, truth) >= 0.95, by
        assert _scenes_of(surveys, grouping, truth) == [[0] * 4, [1] * 4, [2] * 4, [3] * 4]
    # time alone cannot group files without a capture time: each is its own group
    assert len(group_surveys(surveys, GroupingOptions(by="time")).groups) == 16


def test_two_interleaved_cameras_are_separated_by_what_they_show(tmp_path):
    """Two cameras shoot two scenes during the same minute: capture times interleave, pictures differ."""
    truth = {}
    for scene in (0, 1):
        b = burst(scene, 5, seed=3)
        for k, frame in enumerate(b.frames):
            when = T0 + dt.timedelta(seconds=2 * k + scene)  # camera A at even seconds, camera B at odd ones
            truth[write_frame(tmp_path / f"cam{scene}_{k}.jpg", frame, when)] = scene
    surveys = survey_files(sorted(truth, key=lambda p: os.path.basename(p)[-5]))
    combined = group_surveys(surveys, GroupingOptions())
    assert _scenes_of(surveys, combined, truth) == [[0] * 5, [1] * 5]
    assert len(group_surveys(surveys, GroupingOptions(by="time")).groups) == 1


def test_folder_grouping_and_groups_file_override(tmp_path):
    truth = write_shoot(tmp_path / "a", scenes=(0,), frames=3, timed=False)
    truth.update(write_shoot(tmp_path / "b", scenes=(1,), frames=3, timed=False))
    paths = sorted(truth)
    surveys = survey_files(paths)
    assert _scenes_of(surveys, group_surveys(surveys, GroupingOptions(by="folder")), truth) == [[0] * 3, [1] * 3]
    groups_file = tmp_path / "groups.json"
    groups_file.write_text(json.dumps({"hero": [os.path.basename(paths[0]), paths[3]]}))
    grouping = group_surveys(surveys, GroupingOptions(by="folder", groups_file=str(groups_file)))
    hero = grouping.groups[grouping.names.index("hero")]
    assert sorted(hero) == [0, 3]
    assert sorted(len(g) for g in grouping.groups) == [2, 2, 2]
    csv_file = tmp_path / "groups.csv"
    csv_file.write_text("file,group\n# comment\nIMG_0000.jpg,x\n")
    assert read_groups_file(str(csv_file)) == {"IMG_0000.jpg": "x"}
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        read_groups_file(str(bad))


def test_average_linkage_joins_by_mean_distance():
    import numpy as np

    from exposure_batch.shoot.grouping import average_linkage

    x = np.array([0.0, 1.0, 10.0, 11.0, 30.0])
    d = np.abs(x[:, None] - x[None, :])
    assert average_linkage(d, 2.0) == [[0, 1], [2, 3], [4]]
    # {0, 1} and {10, 11}: mean of 10, 11, 9, 10 = 10 <= 15; then to {30}: mean of 30, 29, 20, 19 = 24.5 > 15
    assert average_linkage(d, 15.0) == [[0, 1, 2, 3], [4]]
    assert average_linkage(d, 24.5) == [[0, 1, 2, 3, 4]]
