"""Issue 14 rows 1 and 14: any bytes a filesystem allows work end to end (manifest, journal, report, logs, status,
sidecars, recipes); shown names never carry control characters to a terminal or a log."""
from __future__ import annotations

import json
import os

import pytest
from lxml import etree

from exposure_batch.names import from_db, shown, to_db
from tests.hostile import corpus
from tests.hostile.conftest import cli, files_under

BAD = corpus.HOSTILE_NAMES["non-utf8"]  # 'm_bad\udcff.jpg' = the bytes b'm_bad\xff.jpg'
CONTROL = "\x1b\r\x07\u202e"


def _no_control(text: str) -> None:
    """No terminal control character, no raw name byte, and no line a name could have forged."""
    assert not any(c in text for c in CONTROL), repr(text)
    text.encode("utf-8")
    assert not any(line.startswith(("event=done file=forged", "x.jpg")) for line in text.splitlines()), text


def test_shown_escapes_and_leaves_plain_names_alone():
    assert shown("IMG_0001.CR2") == "IMG_0001.CR2"
    assert shown("été 東京.jpg") == "été 東京.jpg"
    assert shown(BAD) == "m_bad\\xff.jpg"
    assert shown("esc\x1b[31mred\x07\r\nx") == "esc\\x1b[31mred\\x07\\r\\nx"
    assert shown("photo\u202egpj.exe") == "photo\\u202egpj.exe"
    assert from_db(to_db(BAD)) == BAD and to_db("plain") == "plain" and isinstance(to_db(BAD), bytes)


@pytest.fixture
def hostile_inbox(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for i, key in enumerate(("non-utf8", "escape", "crlf", "bell", "bidi", "markup")):
        corpus.jpeg(os.path.join(inbox, corpus.HOSTILE_NAMES[key]), seed=i)
    with open(os.path.join(inbox, os.fsdecode(b"junk\xfe\x1b[2J.jpg")), "wb") as fh:
        fh.write(b"not a photo at all")
    return inbox


def test_process_end_to_end_with_hostile_names(tmp_path, hostile_inbox, process):
    out, rep = tmp_path / "out", tmp_path / "rep"
    code, text = process(hostile_inbox, "-o", out, "--save-recipe", "--sidecar", "darktable", "--report", rep)
    assert code == 1, text
    assert "done 6, skipped 0, failed 1" in text
    assert "failed: " + str(hostile_inbox) + "/junk\\xfe\\x1b[2J.jpg: a text file, not an image" in text
    _no_control(text)
    # outputs carry the exact bytes of each name
    names = set(files_under(out))
    assert {BAD, BAD[:-4] + ".recipe.json", BAD + ".xmp"} <= names
    # recipe: the source name round-trips exactly
    recipe = json.loads(open(os.path.join(out, BAD[:-4] + ".recipe.json"), encoding="utf-8").read())
    assert recipe["source"]["name"] == BAD
    # sidecars are well-formed XML naming the source escaped
    for key in ("non-utf8", "crlf", "bidi"):
        with open(os.path.join(out, corpus.HOSTILE_NAMES[key] + ".xmp"), "rb") as fh:
            root = etree.fromstring(fh.read())
        derived = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description").get(
            "{http://ns.adobe.com/xap/1.0/mm/}DerivedFrom")
        assert derived == shown(corpus.HOSTILE_NAMES[key])
    # manifest: every line is ASCII JSON and a resume finds every file done
    lines = open(out / ".exposure-batch" / "manifest.jsonl", "rb").read().splitlines()
    assert all(line.isascii() for line in lines)
    assert BAD in {json.loads(line).get("path", "").rsplit("/", 1)[-1] for line in lines}
    code, text = process(hostile_inbox, "-o", out, "--save-recipe", "--sidecar", "darktable", "--resume")
    assert "done 0, skipped 6, failed 1" in text
    # report: valid UTF-8, names escaped, links carry the exact bytes
    state = json.loads((rep / "report.json").read_bytes().decode("utf-8"))
    shown_names = {p["name"] for p in state["photos"]}
    assert "m_bad\\xff.jpg" in shown_names and "two\\r\\nevent=done file=forged.jpg" in shown_names
    hrefs = {o["href"] for p in state["photos"] for o in p["outputs"]}
    assert any(h.endswith("m_bad%FF.jpg") for h in hrefs)
    page = (rep / "index.html").read_bytes().decode("utf-8")
    _no_control(page)


def test_info_and_dry_run_escape_names(tmp_path, hostile_inbox):
    code, text = cli("info", os.path.join(hostile_inbox, corpus.HOSTILE_NAMES["escape"]))
    assert code == 0 and text.splitlines()[0].endswith("esc\\x1b[31mred.jpg")
    code, text = cli("process", hostile_inbox, "-o", tmp_path / "out", "--dry-run", "--agent", "classic")
    assert code == 0 and "dry run: would process 7" in text
    _no_control(text)


@pytest.mark.slow
def test_watch_journal_logs_and_status_with_hostile_names(tmp_path, hostile_inbox, watch_log):
    """The daemon takes every name (the journal stores non-UTF-8 names exactly), logs them escaped, and
    `status` prints them escaped; it does not crash on them (it used to, then crash-loop under systemd)."""
    from exposure_batch.watch.journal import Journal  # noqa: PLC0415
    from tests.watch.conftest import config  # noqa: PLC0415

    out = tmp_path / "out"
    from exposure_batch.watch import Daemon  # noqa: PLC0415

    stats = Daemon(config(hostile_inbox, out, once=True, settle=0, jobs=1)).run()
    assert stats["done"] == 6 and stats["quarantined"] == 1, stats
    journal = Journal(str(out / ".exposure-batch" / "journal.sqlite"), readonly=True)
    try:
        rows = journal._rows("SELECT * FROM files ORDER BY id")
    finally:
        journal.close()
    assert BAD in {r.rel for r in rows}
    for line in watch_log.messages:
        _no_control(line)
    assert any("file=m_bad\\xff.jpg" in m and "event=done" in m for m in watch_log.messages)
    assert not any(m.startswith("event=done file=forged") for m in watch_log.messages)
    code, text = cli("status", out)
    assert code == 0 and "junk\\xfe\\x1b[2J.jpg" in text
    _no_control(text)
    quarantined = files_under(out / "quarantine")
    assert quarantined == [os.fsdecode(b"junk\xfe\x1b[2J.jpg"), os.fsdecode(b"junk\xfe\x1b[2J.jpg") + ".error.txt"]
    _no_control(open(out / "quarantine" / quarantined[1], encoding="utf-8").read())
