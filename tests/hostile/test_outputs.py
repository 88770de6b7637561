"""Issue 14 rows 5, 6, 7: outputs never collide or replace an input; the report never stops a batch."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.pipeline.outputs import plan_outputs
from exposure_batch.report import ReportWriter
from tests.hostile import corpus
from tests.hostile.conftest import files_under
from tests.hostile.test_limits import read_only


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# --- row 5: two inputs, one output name ----------------------------------------------------------------------------
def test_same_name_in_two_folders_is_disambiguated_by_folder(tmp_path, process):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = corpus.jpeg(tmp_path / "a" / "IMG.jpg", seed=1)
    b = corpus.jpeg(tmp_path / "b" / "IMG.jpg", seed=2)
    code, out = process(a, b, "-o", tmp_path / "out", "--overwrite", "--save-recipe", "--sidecar", "darktable")
    assert code == 0 and "done 2, skipped 0, failed 0" in out, out
    assert files_under(tmp_path / "out") == [
        "a/IMG.jpg", "a/IMG.jpg.xmp", "a/IMG.recipe.json", "b/IMG.jpg", "b/IMG.jpg.xmp", "b/IMG.recipe.json"]
    recipes = [json.loads((tmp_path / "out" / d / "IMG.recipe.json").read_text()) for d in "ab"]
    assert recipes[0]["source"]["sha256"] == _sha(a) and recipes[1]["source"]["sha256"] == _sha(b)


def test_plan_outputs_is_predictable():
    opts = OutputOptions("/out")
    pairs = [("/x/a/IMG.jpg", "IMG.jpg"), ("/y/a/IMG.jpg", "IMG.jpg"), ("/z/b/img.jpg", "img.jpg"),
             ("/x/a/x.jpg", "x.jpg"), ("/x/a/x.png", "x.png")]
    assert plan_outputs(pairs, opts) == {  # the fewest trailing folder names that tell them apart; case-insensitive
        "/x/a/IMG.jpg": "/out/x/a/IMG.jpg", "/y/a/IMG.jpg": "/out/y/a/IMG.jpg", "/z/b/img.jpg": "/out/z/b/img.jpg",
        "/x/a/x.jpg": "/out/x.jpg.jpg", "/x/a/x.png": "/out/x.png.jpg"}
    assert plan_outputs([("/x/a/IMG.jpg", "IMG.jpg"), ("/y/b/img.jpg", "img.jpg")], opts) == {
        "/x/a/IMG.jpg": "/out/a/IMG.jpg", "/y/b/img.jpg": "/out/b/img.jpg"}


def test_same_stem_two_extensions_keep_both(tmp_path, process):
    inbox = tmp_path / "in"
    inbox.mkdir()
    corpus.jpeg(inbox / "x.jpg", seed=1)
    corpus.jpeg(inbox / "x.png", seed=2)
    code, out = process(inbox, "-o", tmp_path / "out", "--overwrite", "--save-recipe")
    assert code == 0 and "done 2" in out
    assert files_under(tmp_path / "out") == ["x.jpg.jpg", "x.jpg.recipe.json", "x.png.jpg", "x.png.recipe.json"]


def test_colliding_sidecars_refused_before_work(tmp_path, process):
    """IMG.CR2 and IMG.NEF both want the Lightroom sidecar IMG.xmp beside the outputs: refused, nothing written."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    for ext in (".CR2", ".NEF"):
        corpus.jpeg(inbox / ("IMG" + ext + ".jpg"))
        os.rename(inbox / ("IMG" + ext + ".jpg"), inbox / ("IMG" + ext))
    code, out = process(inbox, "-o", tmp_path / "out", "--sidecar", "adobe")
    assert code == 2
    assert (f"Error: {inbox / 'IMG.CR2'} and {inbox / 'IMG.NEF'} would both write {tmp_path / 'out' / 'IMG.xmp'}; "
            "rename one or process them into different output folders") in out
    assert not (tmp_path / "out").exists()


# --- row 6: outputs replacing inputs ------------------------------------------------------------------------------
def test_output_folder_equal_to_input_folder_is_refused(tmp_path, process):
    inbox = tmp_path / "in"
    inbox.mkdir()
    src = corpus.jpeg(inbox / "x.jpg")
    before = _sha(src)
    code, out = process(inbox, "-o", inbox, "--overwrite")
    assert code == 2
    assert (f"Error: the output folder {inbox} is the input folder {inbox}: outputs would replace or mix with the "
            f"originals; choose another folder (e.g. {inbox / 'edited'})") in out
    assert _sha(src) == before and sorted(os.listdir(inbox)) == ["x.jpg"]


def test_explicit_file_into_its_own_folder_is_refused(tmp_path, process):
    src = corpus.jpeg(tmp_path / "x.jpg")
    before = _sha(src)
    code, out = process(src, "-o", tmp_path, "--overwrite")
    assert code == 2
    assert (f"Error: {src} would be replaced by the output of {src}; outputs never replace an input: choose another "
            "output folder") in out
    assert _sha(src) == before


def test_output_inside_recursive_input_is_not_rescanned(tmp_path, process):
    inbox = tmp_path / "shoot"
    inbox.mkdir()
    corpus.jpeg(inbox / "x.jpg")
    for _ in range(2):  # the second run must not pick up shoot/edited/x.jpg as an input
        code, out = process(inbox, "-r", "-o", inbox / "edited", "--overwrite")
        assert code == 0 and "done 1, skipped 0, failed 0" in out, out
    assert files_under(inbox) == ["edited/x.jpg", "x.jpg"]


def test_render_stage_refuses_to_replace_its_source(tmp_path):
    """The last line of defence (watch, Ray, API callers): render_stage never writes over the input file."""
    from exposure_batch.pipeline.stages import process_one  # noqa: PLC0415
    from exposure_batch.recipe import Recipe  # noqa: PLC0415
    from exposure_batch.sources import FixedRecipe  # noqa: PLC0415

    src = corpus.jpeg(tmp_path / "x.jpg")
    before = _sha(src)
    source = FixedRecipe(Recipe.from_steps([("exposure", {"ev": 0.5})]))
    r = process_one(src, src, source, OutputOptions(str(tmp_path), overwrite=True))
    assert r.status == "failed" and r.reason == f"{src}: is the input file itself; outputs never replace an input"
    assert _sha(src) == before


# --- row 7: the report never stops a batch ------------------------------------------------------------------------
def test_report_write_errors_are_logged_and_retried(tmp_path, caplog):
    from exposure_batch.pipeline.result import Result  # noqa: PLC0415

    rep = tmp_path / "rep"
    writer = ReportWriter(rep, autoflush_s=0)
    with read_only(rep) as reason:
        for i in range(3):  # every add tries to flush and fails: no exception reaches the batch
            writer.add(Result(str(tmp_path / f"p{i}.jpg"), "failed", "bad"))
        assert writer.last_error and reason in writer.last_error
        assert writer.try_flush() is None
    assert "report: cannot write" in caplog.text and "retried at the next flush" in caplog.text
    assert writer.try_flush() == str(rep / "index.html") and writer.last_error is None
    state = json.loads((rep / "report.json").read_text())
    assert [p["name"] for p in state["photos"]] == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_batch_finishes_when_the_report_cannot_be_written(tmp_path, process):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for i in range(3):
        corpus.jpeg(inbox / f"p{i}.jpg", seed=i)
    rep = tmp_path / "rep"
    (rep / "thumbs").mkdir(parents=True)
    with read_only(rep) as reason:
        code, out = process(inbox, "-o", tmp_path / "out", "--report", rep)
    assert code == 0, out
    assert "done 3, skipped 0, failed 0" in out
    assert f"report: not written ({rep / 'report.json'}: cannot create a file in {rep} ({reason}))" in out
    assert files_under(tmp_path / "out") == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert not subprocess.run(["ls", "-a", str(rep)], capture_output=True, text=True).stdout.count(".tmp")
