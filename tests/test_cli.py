"""End-to-end `exposure-batch process` / `info` on real files (samples/ and generated broken files)."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from exposure_batch.cli import main
from exposure_batch.recipe import Recipe, load_recipe

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
PHOTO_EXTS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".dng")


def sample_files():
    return sorted(p for p in glob.glob(os.path.join(SAMPLES, "*")) if p.lower().endswith(PHOTO_EXTS))


def run(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def small_photos(tmp_path):
    """Two real sample photos (smallest ones) copied into an inbox folder."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    files = sorted(sample_files(), key=os.path.getsize)[:2]
    assert files, "samples/ must ship photos"
    for f in files:
        shutil.copy(f, inbox)
    return inbox


def test_process_samples_writes_jpeg_with_icc_and_recipe(tmp_path):
    out = tmp_path / "out"
    code, text = run(["process", SAMPLES, "-o", str(out), "--save-recipe", "--no-progress"])
    assert code == 0, text
    n = len(sample_files())
    assert f"done {n}, skipped 0, failed 0" in text
    jpgs = sorted(out.glob("*.jpg"))
    assert len(jpgs) == n
    for jpg in jpgs:
        with Image.open(jpg) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and im.info.get("icc_profile")
        recipe = load_recipe(str(jpg.with_suffix("")) + ".recipe.json")
        assert recipe.model_id and recipe.source["sha256"]
        # every photo is edited, except the flat pure-blue frame: one colour is no evidence of a capture error
        flat = jpg.name == "canon_powershot_g1x2.jpg"
        assert (len(recipe.steps) == 0) if flat else (len(recipe.steps) >= 1), (jpg.name, recipe.steps)


def test_bad_files_fail_one_line_each_and_batch_continues(tmp_path, small_photos):
    (small_photos / "empty.jpg").write_bytes(b"")
    (small_photos / "notes.tif").write_text("just text, not a TIFF\n")
    (small_photos / "noise.nef").write_bytes(np.random.default_rng(0).bytes(5000))
    good = sorted(small_photos.glob("*"))[0]
    (small_photos / "cut.jpg").write_bytes(good.read_bytes()[:300] if good.suffix.lower() in (".jpg", ".jpeg")
                                           else b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    out = tmp_path / "out"
    code, text = run(["process", str(small_photos), "-o", str(out), "--no-progress"])
    assert code == 1
    assert "failed 4" in text and "done 2" in text
    for name in ("empty.jpg", "notes.tif", "noise.nef", "cut.jpg"):
        lines = [line for line in text.splitlines() if line.strip().startswith("failed:") and name in line]
        assert len(lines) == 1, (name, text)


def test_never_overwrites_silently(tmp_path, small_photos):
    out = tmp_path / "out"
    code, text = run(["process", str(small_photos), "-o", str(out), "--no-progress"])
    assert code == 0 and re.search(r"done 2, skipped 0, failed 0 in \d+\.\d s, \d+\.\d\d photos/s", text), text
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
    code, text = run(["process", str(small_photos), "-o", str(out), "--no-progress"])  # a re-run: skipped, hint
    assert code == 0 and "done 0, skipped 2, failed 0" in text and "photos/s" not in text
    assert "2 output(s) existed already and were skipped; --overwrite redoes them" in text
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")} == before
    code, text = run(["process", str(small_photos), "-o", str(out), "--skip-existing", "--no-progress"])
    assert code == 0 and "skipped 2" in text and "--overwrite redoes" not in text  # asked for: no hint
    code, text = run(["process", str(small_photos), "-o", str(out), "--overwrite", "--no-progress"])
    assert code == 0 and "done 2" in text
    assert all(p.stat().st_mtime_ns != before[p.name] for p in out.glob("*.jpg"))
    code, text = run(["process", str(small_photos), "-o", str(out), "--overwrite", "--skip-existing"])
    assert code == 2


def test_readme_examples_run_in_sequence(tmp_path):
    """The README's Quick start, then its report example on the same output folder: both exit 0."""
    out, report = tmp_path / "out", tmp_path / "report"
    n = len(sample_files())
    code, text = run(["process", SAMPLES, "-o", str(out), "--save-recipe", "--overwrite", "--no-progress",
                      "--agent", "classic"])
    assert code == 0 and f"done {n}, skipped 0, failed 0" in text, text
    code, text = run(["process", SAMPLES, "-o", str(out), "--save-recipe", "--report", str(report), "--no-progress",
                      "--agent", "classic"])
    assert code == 0 and f"done 0, skipped {n}, failed 0" in text, text
    assert text.count("failed:") == 0 and "--overwrite redoes them" in text
    photos = json.loads((report / "report.json").read_text())["photos"]
    assert sorted(p["status"] for p in photos) == ["skipped"] * n


def test_fixed_recipe_applies_exactly(tmp_path, small_photos):
    """A 16-bit linear ProPhoto TIFF written with --recipe equals the recipe rendered on the decoded input."""
    from exposure_batch.io import decode
    from exposure_batch.render import render

    recipe = Recipe.from_steps([("exposure", {"ev": -0.5}), ("white_balance", {"red": 1.1, "green": 1.0, "blue": 0.9})])
    rpath = recipe.save(tmp_path / "look.json")
    src = sorted(small_photos.glob("*"))[0]
    out = tmp_path / "out"
    code, text = run(["process", str(src), "-o", str(out), "--recipe", rpath, "--format", "tiff", "--space",
                      "prophoto", "--linear", "--no-progress"])
    assert code == 0, text
    written = decode(str(next(out.glob("*.tif")))).rgb_lin
    expected = np.clip(render(recipe, decode(str(src)).rgb_lin), 0, 1)
    assert written.shape == expected.shape
    assert np.abs(written - expected).max() < 2e-4  # 16-bit quantisation


def test_jobs_2_matches_jobs_1(tmp_path, small_photos):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(["process", str(small_photos), "-o", str(a), "--no-progress", "--format", "png"])[0] == 0
    assert run(["process", str(small_photos), "-o", str(b), "--no-progress", "--format", "png", "-j", "2"])[0] == 0
    for f in sorted(a.glob("*.png")):
        assert np.array_equal(np.asarray(Image.open(f)), np.asarray(Image.open(b / f.name)))


def test_jpeg_rejects_non_srgb_and_empty_input(tmp_path):
    assert run(["process", SAMPLES, "-o", str(tmp_path), "--space", "prophoto"])[0] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["process", str(empty), "-o", str(tmp_path / "o")])[0] == 2


def test_info_prints_what_pipeline_sees():
    path = sample_files()[0]
    code, text = run(["info", path, "--json"])
    assert code == 0
    meta = json.loads(text)
    assert meta["width"] > 0 and meta["height"] > 0 and meta["sha256"]
    code, text = run(["info", os.path.join(SAMPLES, "LICENSES.md")])
    assert code == 1


def test_console_script_help_runs():
    out = subprocess.run([sys.executable, "-m", "exposure_batch", "process", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--recipe" in out.stdout


def test_jpeg_optimize_flag_writes_smaller_identical_jpegs(tmp_path, small_photos):
    sizes = {}
    for flag in ([], ["--jpeg-optimize"]):
        out = tmp_path / ("opt" if flag else "plain")
        code, text = run(["process", str(small_photos), "-o", str(out), "--no-progress", *flag])
        assert code == 0, text
        sizes[bool(flag)] = {p.name: p.stat().st_size for p in out.glob("*.jpg")}
    assert sizes[True].keys() == sizes[False].keys() and sizes[True]
    for name in sizes[True]:
        assert sizes[True][name] < sizes[False][name]
        with Image.open(tmp_path / "opt" / name) as a, Image.open(tmp_path / "plain" / name) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))
