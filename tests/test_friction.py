"""What a new user hit (issue 24, "friction"): each case runs the real CLI and checks its exit code and messages."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from exposure_batch.cli import main
from exposure_batch.names import portable_command, portable_path
from exposure_batch.recipe import Recipe
from tests.helpers import REPO, require_module, sample_path

#: The two smallest JPEG samples (fast, not raw: Lightroom wants their settings embedded, not in a sidecar).
JPEGS = ("casio_qv_r51.jpg", "canon_powershot_g1x2.jpg")


def _cli(*args: str, env: dict | None = None, prelude: str = "") -> subprocess.CompletedProcess:
    """`exposure-batch ARGS` in a fresh interpreter (its logging and warnings reach stderr as a user sees them)."""
    code = f"{prelude}\nimport sys\nfrom exposure_batch.cli import main\nsys.exit(main(list(sys.argv[1:])))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_process_on_a_missing_input_folder_exits_2_at_once(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["process", str(tmp_path / "no-such-folder"), "-o", str(out), "--no-progress"])
    assert res.exit_code == 2, res.output
    assert "Invalid value for 'INPUTS...': Path" in res.output and "no-such-folder" in res.output
    assert "does not exist" in res.output and not out.exists()  # nothing created, nothing counted
    res = CliRunner().invoke(main, ["watch", str(tmp_path / "no-such-folder"), "-o", str(out), "--once"])
    assert res.exit_code == 2 and "does not exist" in res.output  # the same answer watch gives


def test_format_jpg_adobe_on_jpegs_warns_once_and_cube_is_written(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in JPEGS:
        shutil.copy(sample_path(name), inbox)
    out = tmp_path / "out"
    res = _cli("process", str(inbox), "-o", str(out), "--format", "jpg", "--sidecar", "adobe,cube", "--agent",
               "classic", "--no-progress")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text
    assert sorted(p.name for p in out.glob("*.jpg")) == sorted(JPEGS)
    assert sorted(p.name for p in out.glob("*.cube")) == sorted(n + ".cube" for n in JPEGS)
    assert text.count("Lightroom reads no sidecar") == 1, text  # one warning for the run, not one per photo
    assert "adobe: step" not in text, text  # no "approximate" notes about sidecars that were never written
    assert not list(out.glob("*.xmp"))


def test_format_choices_and_jpeg_spaces_in_help_and_usage(tmp_path):
    res = CliRunner().invoke(main, ["process", "--help"])
    assert "[jpeg|jpg|png|tiff|tif]" in res.output and "JPEG is always sRGB" not in res.output
    photo = str(sample_path(JPEGS[0]))
    res = CliRunner().invoke(main, ["process", photo, "-o", str(tmp_path), "--format", "jpg", "--space", "prophoto"])
    assert res.exit_code == 2 and "JPEG takes sRGB, Display P3 or Adobe RGB" in res.output


def test_export_look_in_the_lean_install_prints_no_colour_science_warnings(tmp_path):
    """Without SciPy and Matplotlib (the lean install) colour-science warns on import: none of it reaches the
    user (the import is blocked here as it is absent there)."""
    recipe = Recipe.from_steps([("exposure", {"ev": 0.4}), ("saturation", {"amount": 0.3})]).save(tmp_path / "r.json")
    block = "import sys\nsys.modules['scipy'] = None\nsys.modules['matplotlib'] = None"
    res = _cli("export-look", str(recipe), "--name", "Look", "-o", str(tmp_path / "look"), prelude=block)
    assert res.returncode == 0, res.stderr
    assert "Warning" not in res.stderr and "SciPy" not in res.stderr, res.stderr
    assert (tmp_path / "look" / "Look.cube").exists()


def test_evaluate_help_shows_percent_signs_once():
    res = CliRunner().invoke(main, ["evaluate", "--help"])
    assert res.exit_code == 0 and "%%" not in res.output and "8% red/blue" in res.output.replace("\n", " ")


def test_model_cards_store_no_absolute_paths(tmp_path):
    """The writers (train, train-capture, evaluate --update-card) store portable paths, and the shipped cards hold
    no path of the machine that trained them."""
    here = os.getcwd()
    assert portable_path(os.path.join(here, "data", "photos")) == os.path.join("data", "photos")
    assert portable_path("/somewhere/else/cache") == "cache"
    assert portable_path("models/auto") == os.path.join("models", "auto")
    assert portable_command(["exposure-batch", "train", "--cache", "/x/y/cache", f"--out={here}/m"]) == \
        "exposure-batch train --cache cache --out=m"

    def strings(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    cards = list((REPO / "models").glob("*/model.json"))
    assert cards
    for card in cards:
        found = [s for s in strings(json.loads(card.read_text())) if any(
            os.path.isabs(word) and len(word) > 1 for word in s.split())]
        assert found == [], (card, found)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ray_local_success_logs_no_error_line(tmp_path):
    """`--ray local` on a good photo: exit 0 and no error-level line (Ray's C++ log writes ' E ' lines for
    restartable actors built from object-store arguments)."""
    require_module("ray")
    res = _cli("process", str(sample_path(JPEGS[0])), "-o", str(tmp_path / "out"), "--ray", "local", "--agent",
               "classic", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "done 1, skipped 0, failed 0" in res.stdout
    errors = [ln for ln in res.stderr.splitlines() if re.search(r"\] E \d|\bERROR\b|core_worker", ln)]
    assert errors == [], errors
