"""`watch --sidecar adobe --sidecar-beside-source`: the settings embedded into a JPEG original change its bytes; the
daemon must not take the rewritten original for a new photo (it edited every such photo twice), and
--move-processed must still move it (it was left in the inbox as "changed")."""
from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from exposure_batch.sidecars.writer import SidecarOptions
from tests.helpers import sample_path
from tests.hostile.conftest import watch_log  # noqa: F401  (fixture)
from tests.sidecars import tools
from tests.watch.conftest import config, daemon_thread, journal_rows, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.tool, pytest.mark.needs_tool("exiftool")]


@pytest.mark.parametrize("move_processed", [False, True])
def test_an_original_with_embedded_settings_is_edited_once(tmp_path, move_processed, watch_log):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    cfg = config(inbox, out, settle=0.3, jobs=1, rescan=0.5, move_processed=move_processed)
    cfg.opts = dataclasses.replace(cfg.opts, sidecars=SidecarOptions(("adobe",), beside_source=True))
    with daemon_thread(cfg) as daemon:
        shutil.copy(sample_path("canon_powershot_g1x2.jpg"), inbox / "a.jpg")
        wait_until(lambda: [r.state for r in journal_rows(out)] == ["done"], 180, what="a.jpg edited")
        # a second photo after it: by the time it is done, a rewritten a.jpg would have been taken up again
        shutil.copy(sample_path("casio_qv_r51.jpg"), inbox / "b.jpg")
        wait_until(lambda: "b.jpg" in [r.rel for r in journal_rows(out) if r.state == "done"], 180,
                   what="b.jpg edited")
        assert [(r.rel, r.state) for r in journal_rows(out)] == [("a.jpg", "done"), ("b.jpg", "done")]
        assert daemon.stats["sources_modified"] == 2
    original = (out / "processed" / "a.jpg") if move_processed else (inbox / "a.jpg")
    assert original.exists() and not (move_processed and (inbox / "a.jpg").exists())
    assert tools.exiftool_json(original, "-XMP-crs:all").get("HasSettings") is True
    row = journal_rows(out)[0]
    assert row.size == original.stat().st_size  # the journal knows the rewritten original
    notes = [m for m in watch_log.messages if m.startswith("event=note")]
    assert len(notes) == 1 and "changes their bytes" in notes[0]
    stopped = next(m for m in watch_log.messages if m.startswith("event=stopped"))
    assert "sources_modified=2" in stopped
