"""ReportWriter / write_report: files, entries, escaping, incremental updates, restart, re-decode."""
from __future__ import annotations

import json
import os
import re

import numpy as np
from PIL import Image

from exposure_batch.pipeline.result import Result
from exposure_batch.report import ReportWriter, write_report
from exposure_batch.report.html import render_html, summary


def _data(index: str) -> list[dict]:
    """The photo entries embedded in index.html."""
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', index, re.S)
    return json.loads(m.group(1))


def test_done_failed_skipped_entries(tmp_path, recipe, photo_lin):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"x")
    w = ReportWriter(tmp_path / "rep")
    w.add(Result(str(tmp_path / "a.jpg"), "done", outputs=[str(out / "a.jpg")], seconds=1.5, recipe=recipe), photo_lin)
    w.add(Result(str(tmp_path / "b.jpg"), "failed", "a text file, not an image", seconds=0.01))
    w.add(Result(str(tmp_path / "c.jpg"), "skipped", "output exists", [str(out / "c.jpg")]))
    index = w.flush()
    text = open(index, encoding="utf-8").read()
    photos = _data(text)
    assert [p["status"] for p in photos] == ["done", "failed", "skipped"]
    done, failed, _ = photos
    assert [s["filter"] for s in done["steps"]] == [s.filter for s in recipe.steps]
    assert done["steps"][1]["text"] == "Exposure +0.80 EV" and done["steps"][1]["params"] == {"ev": 0.8}
    assert done["outputs"] == [{"name": "a.jpg", "href": "../out/a.jpg"}]
    h, w = photo_lin.shape[:2]  # 240 px long side: below THUMB_SIDE, so kept at its size
    assert done["thumb_size"] == [w, h]
    for kind in ("before", "after"):
        with Image.open(tmp_path / "rep" / done["thumbs"][kind].split("?")[0]) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (w, h))
            assert np.asarray(im).std() > 10  # a photo, not a flat frame
    with Image.open(tmp_path / "rep" / done["thumbs"]["plots"].split("?")[0]) as im:
        plots = np.asarray(im.convert("RGB"))
    assert im.format == "PNG" and plots.shape == (90, 300, 3)  # histogram 204x90 + curve 90x90 side by side
    hist, curve = plots[:, :204], plots[:, 210:]
    assert (hist != hist[0, 0]).any(axis=-1).mean() > 0.05  # the before/after histograms are drawn
    assert (curve != curve[0, 0]).any(axis=-1).mean() > 0.02  # and the recipe's curve
    assert failed["reason"] == "a text file, not an image" and "thumbs" not in failed
    with Image.open(tmp_path / "rep" / done["thumbs"]["before"].split("?")[0]) as b, \
            Image.open(tmp_path / "rep" / done["thumbs"]["after"].split("?")[0]) as a:
        assert np.asarray(a).mean() > np.asarray(b).mean() + 10  # the edit (+0.8 EV) is visible
    assert ">3</b><span>photos" in text and ">1</b><span>failed" in text  # static batch figures
    assert 'loading: "lazy"' in text
    assert sorted(os.listdir(tmp_path / "rep")) == ["index.html", "report.json", "thumbs"]  # no temp files


def test_names_cannot_break_out_of_the_page(tmp_path):
    evil = str(tmp_path / "</script><img src=x onerror=alert(1)>.jpg")
    index = write_report(tmp_path / "rep", [Result(evil, "failed", "<b>bad</b> & worse")], title="<i>t</i>")
    text = open(index, encoding="utf-8").read()
    assert "</script><img" not in text and "<i>t</i>" not in text
    assert _data(text)[0]["reason"] == "<b>bad</b> & worse"


def test_incremental_replace_and_restart(tmp_path, recipe, photo_lin):
    rep = tmp_path / "rep"
    w = ReportWriter(rep)
    w.add(Result("/x/one.jpg", "failed", "truncated"))
    w.add(Result("/x/two.jpg", "done", seconds=0.5, recipe=recipe), photo_lin)
    w.flush()
    w2 = ReportWriter(rep)  # a restarted daemon picks the report up again
    assert [e["name"] for e in w2.entries.values()] == ["one.jpg", "two.jpg"]
    w2.add(Result("/x/one.jpg", "done", seconds=0.7, recipe=recipe), photo_lin)  # fixed and re-processed
    photos = _data(open(w2.flush(), encoding="utf-8").read())
    assert [(p["name"], p["status"]) for p in photos] == [("two.jpg", "done"), ("one.jpg", "done")]
    assert len(os.listdir(rep / "thumbs")) == 6  # one file set per photo, replaced in place


def test_thumbnail_from_decoding_again_and_from_result(tmp_path, recipe, photo_dir):
    path = str(photo_dir / "casio_qv_r51.jpg")
    w = ReportWriter(tmp_path / "rep")
    e = w.add(Result(path, "done", recipe=recipe))  # no thumbnail given: decoded again
    assert e["thumb_size"][1] == 320 and e["thumb_size"][0] < 320  # portrait, long side as the file (< 400)
    r = Result(str(photo_dir / "x.jpg"), "done", recipe=recipe)
    r.thumb_lin = np.full((30, 40, 3), 0.2, np.float32)  # a pipeline hook may attach one
    e = w.add(r)
    assert e["thumb_size"] == [40, 30] and r.thumb_lin is None  # used, then released
    e = w.add(Result(str(photo_dir / "broken.jpg"), "done", recipe=recipe))
    assert "thumbs" not in e and e["note"].startswith("no preview:") and "broken.jpg" in e["note"]


def test_summary_and_page_size():
    photos = [{"status": s, "seconds": t} for s, t in (("done", 1.0), ("done", 3.0), ("failed", 0.5), ("skipped", 0))]
    s = summary(photos)
    assert (s["total"], s["done"], s["failed"], s["skipped"]) == (4, 2, 1, 1)
    assert s["seconds_mean"] == 2.0 and s["seconds_median"] == 2.0 and s["seconds_total"] == 4.5
    assert "const PAGE_SIZE = 25;" in render_html("t", [], page_size=25)


def test_pipeline_hook_keeps_the_unedited_thumbnail(tmp_path, photo_dir):
    """OutputOptions(thumbnail=N): the Result carries the input's linear thumbnail taken before the in-place render,
    so the report needs no second decode."""
    from exposure_batch.io import decode
    from exposure_batch.pipeline.options import OutputOptions
    from exposure_batch.pipeline.stages import process_one
    from exposure_batch.render.preview import thumbnail
    from exposure_batch.report.html import THUMB_SIDE
    from exposure_batch.sources import make_source

    src = str(photo_dir / "casio_qv_r51.jpg")
    r = process_one(src, str(tmp_path / "o.jpg"), make_source("classic"), OutputOptions(str(tmp_path), thumbnail=THUMB_SIDE))
    assert r.status == "done" and r.thumb_lin.dtype == np.float32
    np.testing.assert_allclose(r.thumb_lin, thumbnail(decode(src).rgb_lin, THUMB_SIDE), atol=1e-6)
    r2 = process_one(src, str(tmp_path / "p.jpg"), make_source("classic"), OutputOptions(str(tmp_path)))
    assert r2.thumb_lin is None
    h, w = r.thumb_lin.shape[:2]
    entry = ReportWriter(tmp_path / "rep").add(r)
    assert entry["thumb_size"] == [w, h] and r.thumb_lin is None
