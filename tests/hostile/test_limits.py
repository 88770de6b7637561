"""Issue 14 rows 2, 4, 12, 17, 18: hostile headers, bombs, overflowing values and recipes are refused (or handled)
with one clear line, before any big allocation, and the batch goes on."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from exposure_batch.errors import DecodeError, LimitError, RecipeError
from exposure_batch.io import decode, read_exif, read_info
from exposure_batch.recipe import Recipe
from tests.helpers import in_ci, sample_path
from tests.hostile import corpus
from tests.hostile.conftest import cli, files_under


# --- row 2: a TIFF whose IFD points to itself ---------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("builder", [corpus.tiff_ifd_loop, corpus.tiff_exif_loop])
def test_tiff_ifd_loop_fails_fast_with_one_line(tmp_path, builder):
    path = builder(tmp_path / "loop.tif")
    t0 = time.monotonic()
    with pytest.raises(DecodeError, match=r"loop\.tif: TIFF structure is corrupt: its IFD chain loops \(IFD at offset "
                                          r"\d+ is reached twice\)"):
        decode(path)
    with pytest.raises(DecodeError, match="IFD chain loops"):
        read_info(path)
    assert read_exif(path) == {}  # the metadata reader never follows the loop either
    assert time.monotonic() - t0 < 5


@pytest.mark.timeout(120)
def test_ifd_loop_in_a_batch_fails_one_file_and_info_returns(tmp_path, process):
    inbox = tmp_path / "in"
    inbox.mkdir()
    corpus.tiff_ifd_loop(inbox / "loop.tif")
    corpus.jpeg(inbox / "good.jpg")
    code, out = process(inbox, "-o", tmp_path / "out")
    assert code == 1
    assert "done 1, skipped 0, failed 1" in out
    assert "loop.tif: TIFF structure is corrupt: its IFD chain loops" in out
    assert files_under(tmp_path / "out") == ["good.jpg"]
    code, out = cli("info", inbox / "loop.tif")
    assert code == 1 and "IFD chain loops" in out


def test_tiff_tag_declaring_gigabytes_is_refused(tmp_path):
    path = corpus.tiff_tag_bomb(tmp_path / "tagbomb.tif")
    with pytest.raises(LimitError, match=r"tag 270 declares 4000000000 bytes \(limit 67108864\)"):
        decode(path)


# --- row 4: declared sizes, checked from the header before decoding ----------------------------------------------
@contextlib.contextmanager
def peak_traced():
    """Peak bytes Python and NumPy allocated inside the block (tracemalloc sees NumPy's buffers)."""
    tracemalloc.start()
    got = {}
    try:
        yield got
    finally:
        got["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.mark.parametrize("builder, size, mp", [(corpus.png_bomb, "20000x20000", "400 MP"),
                                                (corpus.jpeg_bomb, "60000x60000", "3600 MP")])
def test_pixel_bombs_refused_before_decoding(tmp_path, builder, size, mp):
    path = builder(tmp_path / ("bomb.png" if builder is corpus.png_bomb else "bomb.jpg"))
    assert os.path.getsize(path) < 400_000
    with peak_traced() as mem:
        with pytest.raises(LimitError, match=rf"image is {size} \({mp}\), over the 250 MP limit \(raise it with "
                                             r"--max-pixels\)"):
            decode(path)
    assert mem["peak"] < 20 << 20  # nothing near the 1.2-10.8 GB the pixels would need


def test_icc_curve_bomb_refused(tmp_path):
    path = corpus.jpeg_with_icc(tmp_path / "icc.jpg", corpus.icc_curve_bomb())
    with peak_traced() as mem:
        with pytest.raises(LimitError, match=r"embedded ICC profile has a curve declaring 268435456 entries "
                                             r"\(limit 65536\)"):
            decode(path)
    assert mem["peak"] < 20 << 20


def test_oversized_icc_refused(tmp_path):
    from exposure_batch.io import icc  # noqa: PLC0415

    big = icc.profile_bytes("srgb") + b"\0" * (9 << 20)
    path = corpus.jpeg_with_icc(tmp_path / "bigicc.jpg", big)
    with pytest.raises(LimitError, match=r"embedded ICC profile is \d+ bytes \(limit 8388608\)"):
        decode(path)


def test_max_pixels_flag_in_process(tmp_path, process):
    inbox = tmp_path / "in"
    inbox.mkdir()
    corpus.jpeg(inbox / "small.jpg", 48, 32)  # 1,536 pixels
    corpus.png_bomb(inbox / "bomb.png")
    code, out = process(inbox, "-o", tmp_path / "out", "--max-pixels", "1000")
    assert code == 1 and "failed 2" in out
    assert "small.jpg: image is 48x32 (0.0 MP), over the 0.0 MP limit (raise it with --max-pixels)" in out
    code, out = process(inbox, "-o", tmp_path / "out2")  # default 250 MP: the small photo passes, the bomb not
    assert code == 1 and "done 1, skipped 0, failed 1" in out and "bomb.png: image is 20000x20000 (400 MP)" in out


def test_max_pixels_checked_for_raw_before_unpacking():
    path = sample_path("flower.dng")
    with pytest.raises(LimitError, match=r"flower\.dng: image is \d+x\d+ .* over the 0\.0 MP limit"):
        decode(path, max_pixels=100)
    assert decode(path, max_pixels=None).pixels.ndim == 3


# --- row 12: float overflow, oversized EXIF ----------------------------------------------------------------------
def test_float_tiff_with_huge_values_is_edited_cleanly(tmp_path, process):
    src = corpus.float_tiff(tmp_path / "hdr.tif", 1e10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        d = decode(src)
        assert np.isfinite(d.rgb_lin).all() and d.rgb_lin.max() <= 65504 * 1.01
        code, out = process(src, "-o", tmp_path / "out", "--save-recipe")
    assert code == 0, out
    assert "done 1, skipped 0, failed 0" in out
    recipe = json.loads((tmp_path / "out" / "hdr.recipe.json").read_text())
    params = [v for s in recipe["steps"] for v in np.ravel(list(s["params"].values()))]
    assert params and np.isfinite(params).all()


def test_70kb_make_tag_written_as_jpeg(tmp_path, process):
    src = corpus.jpeg_huge_make(tmp_path / "make.tif", 70_000)
    code, out = process(src, "-o", tmp_path / "out")
    assert code == 0, out
    from PIL import Image  # noqa: PLC0415

    with Image.open(tmp_path / "out" / "make.jpg") as im:
        make = im.getexif().get(0x010F)
    assert make == "M" * 256  # truncated to limits.MAX_EXIF_TEXT


# --- row 17: read-only folders, bad recipe versions --------------------------------------------------------------
def _chattr_immutable(folder) -> bool:
    return shutil.which("chattr") is not None and subprocess.run(
        ["chattr", "+i", str(folder)], capture_output=True).returncode == 0


def _read_only_bind_mount(folder) -> bool:
    folder = str(folder)
    if shutil.which("mount") is None or subprocess.run(["mount", "--bind", folder, folder],
                                                       capture_output=True).returncode != 0:
        return False
    if subprocess.run(["mount", "-o", "remount,bind,ro", folder], capture_output=True).returncode != 0:
        subprocess.run(["umount", folder], check=True)
        return False
    return True


@contextlib.contextmanager
def read_only(folder):
    """Make `folder` unwritable, even for root; yields what the OS says to a write there.

    Root: `chattr +i` ("Operation not permitted"), else a read-only bind mount of the folder onto itself ("Read-only
    file system"). Non-root: mode bits ("Permission denied"). Neither possible: a failure under CI=true, a skip
    elsewhere."""
    os.makedirs(folder, exist_ok=True)
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield "Permission denied"
        finally:
            os.chmod(folder, 0o755)
    elif _chattr_immutable(folder):
        try:
            yield "Operation not permitted"
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    elif _read_only_bind_mount(folder):
        try:
            yield "Read-only file system"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        (pytest.fail if in_ci() else pytest.skip)(
            "cannot make a folder read-only for root here (neither chattr +i nor a read-only bind mount)")


def test_read_only_output_folder_is_one_clear_error(tmp_path, process):
    src = corpus.jpeg(tmp_path / "a.jpg")
    with read_only(tmp_path / "out") as reason:
        code, out = process(src, "-o", tmp_path / "out")
    assert code == 1
    assert out.strip().splitlines() == [f"Error: cannot write to the output folder {tmp_path / 'out'} ({reason})"]


def test_read_only_report_folder_is_one_clear_error(tmp_path, process):
    src = corpus.jpeg(tmp_path / "a.jpg")
    with read_only(tmp_path / "rep") as reason:
        code, out = process(src, "-o", tmp_path / "out", "--report", tmp_path / "rep")
    assert code == 1
    assert out.strip().splitlines() == [f"Error: cannot use the report folder {tmp_path / 'rep'} ({reason})"]


@pytest.mark.parametrize("change, message", [
    ({"schema_version": 0}, "recipe schema_version 0 is not valid (versions start at 1; this exposure-batch reads "
                            "1..1)"),
    ({"schema_version": -1}, "recipe schema_version -1 is not valid"),
    ({"steps": [{"filter": "exposure", "version": "abc", "params": {"ev": 0.1}}]},
     "step 0: 'version' must be a positive integer, got \"abc\""),
    ({"extra": ["odd"]}, "recipe 'extra' must be an object, got list"),
])
def test_bad_recipe_versions_are_one_line_errors(tmp_path, process, change, message):
    look = tmp_path / "look.json"
    look.write_text(json.dumps(corpus.recipe_json(**change)))
    src = corpus.jpeg(tmp_path / "a.jpg")
    code, out = process(src, "-o", tmp_path / "out", "--recipe", look)
    assert code == 1
    assert len(out.strip().splitlines()) == 1 and out.startswith(f"Error: {look}: {message}")


# --- row 18: huge recipes -----------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("n", [65, 10_000, 1_000_000])
def test_long_recipes_refused_quickly(tmp_path, n):
    text = json.dumps(corpus.long_recipe(n))
    t0 = time.monotonic()
    message = (rf"recipe has {n} steps; at most 64 are allowed" if len(text) <= 1 << 20 else
               rf"recipe is {len(text)} characters; at most 1048576 are allowed")
    with pytest.raises(RecipeError, match=message):
        Recipe.from_json(text)
    assert time.monotonic() - t0 < 3.0  # measured 0.04 s; it took 55 s / 128 s and 2.1 GB to render them
    assert len(Recipe.from_json(json.dumps(corpus.long_recipe(64))).steps) == 64


def test_long_recipe_in_process_fails_before_work(tmp_path, process):
    look = tmp_path / "long.json"
    look.write_text(json.dumps(corpus.long_recipe(10_000)))
    src = corpus.jpeg(tmp_path / "a.jpg")
    code, out = process(src, "-o", tmp_path / "out", "--recipe", look)
    assert code == 1 and "recipe has 10000 steps; at most 64 are allowed" in out
    assert files_under(tmp_path / "out") == []


# --- more: a name too long for its outputs is the input's problem (not retried by watch) --------------------------
def test_name_too_long_for_its_outputs_is_an_input_failure(tmp_path):
    from exposure_batch.failures import Kind  # noqa: PLC0415
    from exposure_batch.pipeline.options import OutputOptions  # noqa: PLC0415
    from exposure_batch.pipeline.stages import process_one  # noqa: PLC0415
    from exposure_batch.sources import FixedRecipe  # noqa: PLC0415

    src = corpus.jpeg(tmp_path / ("L" * 240 + ".jpg"))
    out = str(tmp_path / "out" / ("L" * 240 + ".jpg"))
    r = process_one(src, out, FixedRecipe(Recipe.from_steps([("exposure", {"ev": 0.2})])),
                    OutputOptions(str(tmp_path / "out"), save_recipe=True))
    assert r.status == "failed" and r.failure.kind is Kind.INPUT
    assert r.reason.startswith("file name too long for its outputs (" + "L" * 40 + "... would pass the 255-byte")
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
