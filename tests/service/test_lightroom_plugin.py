"""Lightroom Classic plug-in: busted unit specs (fake SDK), and end to end: the plug-in's real Lua code talks over
real HTTP (luasocket behind LrHttp) to a real `exposure-batch serve` and applies the results to a fake catalogue.

The expected settings come from the service itself, asked separately with httpx for the same photos, and from the
plug-in's documented merge rules (absolute values, only changed keys, process version raised).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx
import numpy as np
import pytest

from tests.helpers import make_dng, sample_path, sample_srgb8, write_underexposed_jpeg
from tests.service.server import REPO, ServeProcess

PLUGIN_DIR = REPO / "plugins" / "lightroom"
pytestmark = [pytest.mark.tool]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:  # CI installs it (.ci/run): fail there, never skip silently
        pytest.fail(f"{tool} is not installed (apt-get install lua5.1 lua-busted lua-socket)")
    return path


def test_busted_specs_pass():
    _need("lua5.1")
    busted = _need("busted")
    r = subprocess.run([busted, "-o", "TAP"], cwd=PLUGIN_DIR, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not ok" not in r.stdout and r.stdout.count("\nok ") >= 15


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("lr-e2e")
    root = base / "shoot"
    root.mkdir()
    write_underexposed_jpeg(root / "a.jpg", max_size=(160, 160))  # the default edit corrects it visibly
    shutil.copy(sample_path("casio_qv_r51.jpg"), root / "b.jpg")
    rgb = sample_srgb8("coffee_p3_16bit.png", size=(96, 64)).astype(np.float32) / 255
    make_dng(root / "c.dng", (rgb ** 2.2) * 0.5)  # a dim raw file: the agent edits it
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    token_file = base / "token"
    token_file.write_text("lightroom-e2e-token-0123456789abcdef\n")
    token_file.chmod(0o600)
    with ServeProcess(roots=[root], token_file=token_file) as srv:
        yield {"srv": srv, "root": root, "token_file": token_file, "base": base}


def _run_plugin(served, photos, mode):
    _need("lua5.1")
    out = served["base"] / f"report-{mode}.json"
    env = {**os.environ, "EB_URL": served["srv"].url, "EB_TOKEN_FILE": str(served["token_file"]), "EB_MODE": mode,
           "EB_OUT": str(out), "EB_PHOTOS": "\n".join(f"{p}|{fmt}" for p, fmt in photos)}
    r = subprocess.run(["lua5.1", "spec/e2e/run_e2e.lua"], cwd=PLUGIN_DIR, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


def _expected(served, path, raw_meta=None):
    """The service's answer for one photo, asked directly (httpx), not through the plug-in."""
    headers = {"Authorization": "Bearer " + served["token_file"].read_text().strip()}
    r = httpx.post(served["srv"].url + "/v1/edit", json={"path": str(path)}, headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_plugin_applies_real_results_over_http(served):
    root = served["root"]
    photos = [(root / "a.jpg", "JPG"), (root / "broken.jpg", "JPG"), (root / "c.dng", "DNG"), (root / "b.jpg", "JPG")]
    report = _run_plugin(served, photos, "paths")
    assert report["applied"] == 3
    assert set(report["writes"]) == {"exposure-batch auto-edit"}
    assert report["portions"][-1] == [4, 4]
    by_path = {p["path"]: p for p in report["photos"]}
    for name in ("a.jpg", "b.jpg", "c.dng"):
        want = _expected(served, root / name)
        photo = by_path[str(root / name)]
        assert len(photo["applied"]) == 1, name
        step = photo["applied"][0]
        assert step["historyName"] == want["history_name"]
        lr = want["lightroom"]
        settings = step["settings"]
        assert settings["ProcessVersion"] == "11.0"  # the fake photo starts on 6.7: raised
        for key, value in lr.items():
            if key == "ProcessVersion":
                continue
            if key in settings:
                assert settings[key] == value, (name, key)
            else:  # only unchanged keys are left out
                assert key in ("Exposure2012", "IncrementalTint", "IncrementalTemperature", "Tint", "Saturation") and \
                    value == 0 or key == "ToneCurvePV2012" and value == [0, 0, 255, 255], (name, key, value)
        if name == "c.dng" and "Temperature" in lr:
            assert 2000 <= settings["Temperature"] <= 50000 and "IncrementalTemperature" not in settings
        if name.endswith(".jpg"):
            assert "Temperature" not in settings
        final = photo["settings"]  # the photo's settings afterwards: the service's absolute values, nothing added
        for key in ("Exposure2012", "Temperature", "IncrementalTemperature"):
            if key in lr:
                assert final[key] == lr[key]
    assert not by_path[str(root / "broken.jpg")]["applied"]  # Lua's empty table: {} or []
    dialog = report["dialogs"][0]
    assert dialog["kind"] == "warning" and "1 of 4 photos could not be edited" in dialog["title"]
    assert "broken.jpg" in dialog["message"]


def test_plugin_uploads_previews_to_a_remote_service(served):
    root = served["root"]
    report = _run_plugin(served, [(root / "a.jpg", "JPG")], "previews")
    assert report["applied"] == 1 and not report["dialogs"]
    want = _expected(served, root / "a.jpg")
    applied = report["photos"][0]["applied"][0]
    assert applied["settings"]["Exposure2012"] == want["lightroom"]["Exposure2012"]


def test_plugin_reports_a_service_that_is_down(served, tmp_path):
    down = {"srv": type("S", (), {"url": "http://127.0.0.1:9"})(), "token_file": served["token_file"],
            "base": tmp_path}
    report = _run_plugin(down, [(served["root"] / "a.jpg", "JPG")], "paths")
    assert report["applied"] == 0
    assert report["dialogs"][0]["title"] == "exposure-batch service is not running"
