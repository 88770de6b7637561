"""The watch daemon groups the frames of a scene that arrive together (real watchdog, real workers)."""
from __future__ import annotations

import shutil

from exposure_batch.recipe import load_recipe
from exposure_batch.shoot.grouping import GroupingOptions
from exposure_batch.shoot.holding import GroupHolder
from exposure_batch.sources import SourceSpec
from tests.watch.conftest import config, daemon_thread, journal_rows, wait_until

from .conftest import write_shoot


def test_files_that_arrive_together_are_harmonised_as_groups(tmp_path):
    inbox, out, staging = tmp_path / "inbox", tmp_path / "out", tmp_path / "staging"
    inbox.mkdir()
    truth = write_shoot(staging, scenes=(0, 1), frames=3, timed=False)
    cfg = config(inbox, out, grouping=GroupingOptions(), group_wait=20, settle=0.5)
    with daemon_thread(cfg):
        for path in sorted(truth):  # a card copied into the inbox
            shutil.copy(path, inbox / path.rsplit("/", 1)[-1])
        wait_until(lambda: len([r for r in journal_rows(out) if r.state == "done"]) == 6, 120, what="6 done")
    groups = {}
    for path, scene in truth.items():
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        group = load_recipe(out / f"{stem}.recipe.json").group
        groups.setdefault(scene, set()).add((group["id"], group["frames"]))
    assert len(groups[0]) == 1 and len(groups[1]) == 1  # one group per scene ...
    assert groups[0] != groups[1] and {g[1] for s in groups.values() for g in s} == {3}  # ... of its 3 frames


def test_a_file_is_not_held_longer_than_group_wait():
    holder = GroupHolder(SourceSpec("classic"), GroupingOptions(), "/nonexistent", window=1.0, wait=5.0)
    holder.hold(1, "a.jpg", None, now=0.0)
    t = 0.0
    while t < 4.5:  # a new file every 0.5 s keeps the window open ...
        t += 0.5
        holder.hold(int(t * 10), f"{t}.jpg", None, now=t)
        assert not holder.due(t)
    assert holder.due(5.0)  # ... but not beyond --group-wait
    quiet = GroupHolder(SourceSpec("classic"), GroupingOptions(), "/nonexistent", window=1.0, wait=5.0)
    quiet.hold(1, "a.jpg", None, now=0.0)
    assert not quiet.due(0.9) and quiet.due(1.0)  # released once the inbox was quiet for the settle window
