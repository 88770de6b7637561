"""`exposure-batch explain` and `exposure-batch process --report`, through click's runner on real files."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner
from PIL import Image

from exposure_batch.cli import main
from exposure_batch.recipe import load_recipe


def test_explain_writes_strip_and_prints_table(tmp_path, photo_dir, recipe):
    look = tmp_path / "look.json"
    recipe.save(look)
    out = tmp_path / "strip.png"
    res = CliRunner().invoke(main, ["explain", str(photo_dir / "casio_qv_r51.jpg"), "-o", str(out),
                                    "--recipe", str(look), "--panel", "160"])
    assert res.exit_code == 0, res.output
    assert "Exposure +0.80 EV" in res.output and "tone_curve" in res.output
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 4 * 160  # input + 5 steps + output, 6 per row at most


def test_explain_default_agent_and_output_name(tmp_path, photo_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["explain", str(photo_dir / "astronaut_orientation6.jpg")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "astronaut_orientation6.steps.jpg").is_file()
    assert "recipe by auto" in res.output  # the shipped learned model is the default agent


def test_explain_bad_input_is_one_line(tmp_path, photo_dir):
    res = CliRunner().invoke(main, ["explain", str(photo_dir / "broken.jpg"), "-o", str(tmp_path / "s.jpg")])
    assert res.exit_code == 1
    assert "broken.jpg" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "s.jpg").exists()


def test_process_report(tmp_path, photo_dir):
    rep = tmp_path / "rep"
    res = CliRunner().invoke(main, ["process", str(photo_dir), "-o", str(tmp_path / "out"), "--save-recipe",
                                    "--report", str(rep), "--no-progress"])
    assert res.exit_code == 1, res.output  # broken.jpg fails, the batch goes on
    assert f"report: {rep / 'index.html'}" in res.output
    text = (rep / "index.html").read_text(encoding="utf-8")
    photos = json.loads(re.search(r'type="application/json">(.*?)</script>', text, re.S).group(1))
    by_name = {p["name"]: p for p in photos}
    assert set(by_name) == {"astronaut_orientation6.jpg", "broken.jpg", "canon_powershot_g1x2.jpg", "casio_qv_r51.jpg"}
    assert by_name["broken.jpg"]["status"] == "failed" and by_name["broken.jpg"]["reason"]
    casio = by_name["casio_qv_r51.jpg"]
    recipe = load_recipe(tmp_path / "out" / "casio_qv_r51.recipe.json")
    assert [s["text"] for s in casio["steps"]] == recipe.describe()  # the report shows the written recipe
    assert [o["href"] for o in casio["outputs"]] == ["../out/casio_qv_r51.jpg", "../out/casio_qv_r51.recipe.json"]
    for p in photos:
        for url in p.get("thumbs", {}).values():
            assert (rep / url.split("?")[0]).is_file()


def test_report_and_explain_help_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys\nfrom exposure_batch.cli import main\nimport exposure_batch.report\nsys.argv = ['x', 'explain', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nassert 'tensorflow' not in sys.modules\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
