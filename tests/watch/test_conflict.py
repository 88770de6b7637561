"""An output that is in the way is a conflict: `watch` neither retries it like a full disk nor blames the photo."""
from __future__ import annotations

from exposure_batch.watch import Daemon
from tests.watch.conftest import config, journal_rows, make_photo


def test_already_exists_is_not_deferred_as_environment_nor_quarantined(dirs):
    inbox, out = dirs
    make_photo(inbox / "a.jpg", seed=1)
    cfg = config(inbox, out, once=True, retries=2, task_ref="tests.watch.tasks:output_appears")
    stats = Daemon(cfg).run()
    assert stats["failed"] == 1 and not stats["deferred"] and not stats["quarantined"], stats
    (row,) = journal_rows(out)
    assert row.state == "failed" and "already exists" in row.reason and row.attempts == 1, row
    assert (inbox / "a.jpg").exists() and not (out / "quarantine").exists()  # the original is not blamed
    assert (out / "a.jpg").read_bytes() == b"written by another program"  # never clobbered
