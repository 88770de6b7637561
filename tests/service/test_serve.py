"""`exposure-batch serve` against a real uvicorn server on 127.0.0.1 (started once for the module).

Covers every route (health, edit by path and by upload, jobs with progress and cancel, /docs) and every security
rule: token file created 0600, 401 without the token, 403 outside the roots (symlinks resolved), 413 over the size
limits (declared and streamed), Host header checked, foreign Origin refused / no CORS headers, non-loopback bind
refused without --allow-remote and warned with it.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from lxml import etree

from exposure_batch.recipe import Recipe
from tests.helpers import sample_path, write_underexposed_jpeg
from tests.service.server import REPO, ServeProcess

pytestmark = [pytest.mark.slow]

JPEG = "canon_powershot_g1x2.jpg"
LOOK = REPO / "tests" / "data" / "recipes" / "v1" / "look.recipe.json"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Roots with photos, a symlink leading out of them, a private config dir; one server for the module."""
    base = tmp_path_factory.mktemp("serve")
    root = base / "photos"
    root.mkdir()
    outside = base / "outside"
    outside.mkdir()
    write_underexposed_jpeg(root / "a.jpg")  # a capture the default edit corrects visibly
    shutil.copy(sample_path("casio_qv_r51.jpg"), root / "b.jpg")
    write_underexposed_jpeg(outside / "secret.jpg")
    (root / "escape.jpg").symlink_to(outside / "secret.jpg")
    (root / "not-a-photo.jpg").write_text("this is text, not a JPEG\n")
    (root / "out").mkdir()
    config = base / "config"
    profiles = base / "profiles"
    profiles.mkdir()
    shutil.copy(LOOK, profiles / "studio-look.recipe.json")
    from exposure_batch.look.profile import Profile, agent_identity
    from exposure_batch.sources import make_source
    from tests.look.pairs import known_steps

    # a studio profile as `exposure-batch learn` saves it, and one whose file is broken
    Profile("Studio Warm", agent_identity(make_source("learned")), known_steps(), 0.0, 0.0, {}).save(
        str(profiles / "studio"))
    (profiles / "broken").mkdir()
    (profiles / "broken" / "profile.json").write_text("{not json")
    with ServeProcess(roots=[root], env={"XDG_CONFIG_HOME": str(config)},
                      args=["--max-request", "4K", "--max-upload", "1M", "--profiles", profiles]) as srv:
        token_file = config / "exposure-batch" / "token"
        token = token_file.read_text().strip()
        client = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        yield {"srv": srv, "root": root, "outside": outside, "token_file": token_file, "token": token,
               "client": client}
        client.close()


def test_health_needs_no_token_and_names_the_model(world):
    r = httpx.get(world["srv"].url + "/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["model"] == "auto" and body["version"]


def test_token_file_is_created_private(world):
    mode = stat.S_IMODE(os.stat(world["token_file"]).st_mode)
    assert mode == 0o600
    assert len(world["token"]) >= 40


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-wrong-token"},
                                     {"Authorization": "Basic Zm9vOmJhcg=="}])
def test_requests_without_the_token_get_401(world, headers):
    body = {"path": str(world["root"] / "a.jpg")}
    for method, url, kw in (("POST", "/v1/edit", {"json": body}), ("POST", "/v1/jobs", {"json": {"paths": [body["path"]]}}),
                            ("GET", "/v1/jobs/abc", {}), ("DELETE", "/v1/jobs/abc", {})):
        r = httpx.request(method, world["srv"].url + url, headers=headers, **kw)
        assert r.status_code == 401, (method, url, r.text)


def test_edit_by_path_gives_recipe_lightroom_table_and_darktable_sidecar(world):
    r = world["client"].post("/v1/edit", json={"path": str(world["root"] / "a.jpg")})
    assert r.status_code == 200, r.text
    body = r.json()
    recipe = Recipe.from_dict(body["recipe"])
    assert recipe.model_id == "auto" and len(recipe.steps) >= 1
    assert body["recipe"]["source"]["name"] == "a.jpg"
    # Same recipe as the learned agent gives in this process on the same file (deterministic, warm or not).
    from exposure_batch.io import decode
    from exposure_batch.render.preview import make_preview
    from exposure_batch.sources import make_source

    direct = make_source("learned").decide([make_preview(decode(world["root"] / "a.jpg").pixels)])[0]
    assert [s.filter for s in direct.steps] == [s.filter for s in recipe.steps]
    for mine, theirs in zip(direct.steps, recipe.steps):  # BLAS thread counts differ: the 6th decimal may move
        for key, value in mine.params.items():
            assert np.allclose(theirs.params[key], value, atol=1e-4), (mine.filter, key)
    lr = body["lightroom"]
    assert lr["ProcessVersion"] == "11.0"
    ev = sum(s.params["ev"] for s in recipe.steps if s.filter == "exposure")
    if ev:
        assert lr["Exposure2012"] == pytest.approx(max(-5, min(5, ev)), abs=0.006)
    assert "Temperature" not in lr and "Tint" not in lr  # a JPEG: only Incremental WB keys
    if any(s.filter == "white_balance" for s in recipe.steps):
        assert -100 <= lr["IncrementalTemperature"] <= 100 and lr["WhiteBalance"] == "Custom"
    for key in ("ToneCurvePV2012", "ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue"):
        if key in lr:
            pts = lr[key]
            assert len(pts) % 2 == 0 and pts[0] == 0 and pts[-2] == 255
            assert all(isinstance(v, int) and 0 <= v <= 255 for v in pts)
    tree = etree.fromstring(body["darktable_xmp"].encode())
    ops = tree.xpath("//@*[local-name()='operation']")
    assert ops[0] == "channelmixerrgb" and "exposure" in ops or not ev
    assert body["history_name"].startswith("exposure-batch: ")
    assert body["timing"]["decide_s"] < 5


def test_edit_with_a_profile_or_the_classic_agent(world):
    c, path = world["client"], str(world["root"] / "a.jpg")
    r = c.post("/v1/edit", json={"path": path, "profile": "studio-look"})
    assert r.status_code == 200, r.text
    from exposure_batch.recipe import load_recipe

    look = load_recipe(LOOK)
    assert r.json()["recipe"]["steps"] == [s.to_dict() for s in look.steps]
    r = c.post("/v1/edit", json={"path": path, "profile": "studio"})  # the agent's correction, then the look
    assert r.status_code == 200, r.text
    assert r.json()["recipe"]["model"]["id"] == "profile:Studio Warm"
    filters = [s["filter"] for s in r.json()["recipe"]["steps"]]
    from tests.look.pairs import known_steps

    assert filters[-len(known_steps()):] == [s.filter for s in known_steps()] and len(filters) > len(known_steps())
    r = c.post("/v1/edit", json={"path": path, "profile": "broken"})
    assert r.status_code == 503 and "broken" in r.json()["detail"]
    r = c.post("/v1/edit", json={"path": path, "agent": "classic"})
    assert r.status_code == 200 and r.json()["recipe"]["model"]["id"].startswith("classic")
    assert c.post("/v1/edit", json={"path": path, "agent": "magic"}).status_code == 422


def test_edit_upload_with_raw_metadata_gives_kelvin(world):
    """The upload's metadata says whether the original is raw: a raw original gets Lightroom's absolute Kelvin
    Temperature/Tint, a rendered one IncrementalTemperature/IncrementalTint. The saved look (a fixed recipe that
    holds a white balance) makes sure a white balance is there to map, whatever the agent decides."""
    data = sample_path(JPEG).read_bytes()
    files = {"file": ("preview.jpg", data, "image/jpeg")}

    def edit(meta):
        r = world["client"].post("/v1/edit", files=files,
                                 data={"metadata": json.dumps({**meta, "profile": "studio-look"})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert any(s.filter == "white_balance" for s in Recipe.from_dict(body["recipe"]).steps)
        return body

    body = edit({"name": "IMG_0001.CR2", "raw": True})
    assert body["source"] == {"name": "IMG_0001.CR2", "raw": True, "width": 80, "height": 80, "format": "jpeg"}
    assert 2000 <= body["lightroom"]["Temperature"] <= 50000
    assert "IncrementalTemperature" not in body["lightroom"]
    assert 'xmpMM:DerivedFrom="IMG_0001.CR2"' in body["darktable_xmp"]
    body = edit({"name": "scan.jpg", "raw": True})  # the flag wins over the name
    assert body["source"]["raw"] is True and "Temperature" in body["lightroom"]
    for meta in ({"name": "IMG_0001.jpg", "raw": False}, {"name": "IMG_0001.CR2", "raw": False}, {"name": "x.tif"}):
        body = edit(meta)
        assert body["source"]["raw"] is False, meta
        assert "Temperature" not in body["lightroom"] and -100 <= body["lightroom"]["IncrementalTemperature"] <= 100


def test_paths_outside_the_roots_get_403(world):
    c, root, outside = world["client"], world["root"], world["outside"]
    for path in (str(outside / "secret.jpg"), str(root / "escape.jpg"), str(root / ".." / "outside" / "secret.jpg"),
                 "a.jpg", "/etc/passwd"):
        r = c.post("/v1/edit", json={"path": path})
        assert r.status_code == 403, (path, r.text)
    r = c.post("/v1/jobs", json={"paths": [str(root / "a.jpg"), str(root / "escape.jpg")]})
    assert r.status_code == 403
    r = c.post("/v1/edit", json={"path": str(root / "a.jpg"), "render": {"output_dir": str(outside)}})
    assert r.status_code == 403


def test_missing_and_bad_files_fail_clearly_and_the_service_goes_on(world):
    c, root = world["client"], world["root"]
    r = c.post("/v1/edit", json={"path": str(root / "nope.jpg")})
    assert r.status_code == 404 and "nope.jpg" in r.json()["detail"]
    r = c.post("/v1/edit", json={"path": str(root / "not-a-photo.jpg")})
    assert r.status_code == 422 and "not-a-photo.jpg" in r.json()["detail"]
    r = c.post("/v1/edit", json={"path": str(root / "a.jpg"), "profile": "nonexistent"})
    assert r.status_code == 422 and "profile" in r.json()["detail"]
    assert c.post("/v1/edit", json={"path": str(root / "b.jpg")}).status_code == 200


def test_size_limits_413(world):
    c, url = world["client"], world["srv"].url
    big_json = {"path": str(world["root"] / "a.jpg"), "profile": "x" * 5000}
    assert c.post("/v1/edit", json=big_json).status_code == 413
    big_upload = {"file": ("big.jpg", b"\xff" * ((1 << 20) + 1), "image/jpeg")}
    assert c.post("/v1/edit", files=big_upload).status_code == 413

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(10):
            yield b"x" * 1000

    r = httpx.post(url + "/v1/edit", content=chunks(), headers={**c.headers, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_host_header_and_origin_are_checked_and_no_cors(world):
    c, url = world["client"], world["srv"].url
    r = httpx.get(url + "/v1/health", headers={"Host": "evil.example"})
    assert r.status_code == 400
    r = httpx.get(url + "/v1/health", headers={"Host": f"evil.example:{world['srv'].port}"})
    assert r.status_code == 400
    assert httpx.get(url + "/v1/health", headers={"Host": f"localhost:{world['srv'].port}"}).status_code == 200
    r = c.post("/v1/edit", json={"path": str(world["root"] / "a.jpg")}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = httpx.options(url + "/v1/edit", headers={"Origin": "http://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert r.status_code in (403, 405) and "access-control-allow-origin" not in r.headers
    r = httpx.get(url + "/v1/health", headers={"Origin": url})  # the service's own origin (its /docs page)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_docs_and_openapi(world):
    url = world["srv"].url
    assert "swagger" in httpx.get(url + "/docs").text.lower()
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    assert {"/v1/health", "/v1/edit", "/v1/jobs", "/v1/jobs/{job_id}"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/edit"]["post"]["requestBody"]["content"]


def _wait_job(c, job_id, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = c.get(f"/v1/jobs/{job_id}").json()
        if body["state"] != "running":
            return body
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_job_progress_results_and_after(world):
    c, root = world["client"], world["root"]
    paths = [str(root / "a.jpg"), str(root / "b.jpg"), str(root / "gone.jpg"), str(root / "not-a-photo.jpg")]
    r = c.post("/v1/jobs", json={"paths": paths})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    body = _wait_job(c, job_id)
    assert body["state"] == "done" and body["total"] == 4 and body["progress"] == 1.0
    assert body["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 2, "cancelled": 0}
    by_index = {it["index"]: it for it in body["items"]}
    assert set(by_index) == {0, 1, 2, 3}
    assert by_index[0]["result"]["lightroom"]["ProcessVersion"] == "11.0"
    assert "gone.jpg" in by_index[2]["reason"] and by_index[3]["error"] == "input"
    assert c.get(f"/v1/jobs/{job_id}", params={"after": body["seq"]}).json()["items"] == []
    later = c.get(f"/v1/jobs/{job_id}", params={"after": body["seq"] - 1}).json()["items"]
    assert len(later) == 1 and later[0]["seq"] == body["seq"]
    assert c.get("/v1/jobs/unknown").status_code == 404


def test_job_cancel(world):
    c, root = world["client"], world["root"]
    for i in range(40):
        target = root / f"copy{i}.jpg"
        if not target.exists():
            shutil.copy(root / "b.jpg", target)
    r = c.post("/v1/jobs", json={"paths": [str(root / f"copy{i}.jpg") for i in range(40)]})
    job_id = r.json()["id"]
    r = c.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "cancelled" and body["counts"]["cancelled"] > 0
    assert body["counts"]["queued"] == 0 and body["counts"]["running"] == 0
    assert c.get(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
    assert c.post("/v1/edit", json={"path": str(root / "a.jpg")}).status_code == 200  # still serving


def test_render_writes_the_full_resolution_output(world):
    c, root = world["client"], world["root"]
    r = c.post("/v1/edit", json={"path": str(root / "a.jpg"), "render": {"format": "png", "output_dir": str(root / "out")}})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"]
    assert out == [str(root / "out" / "a.png")] and os.path.getsize(out[0]) > 1000
    from exposure_batch.io import decode

    assert decode(out[0]).pixels.shape[:2] == decode(root / "a.jpg").pixels.shape[:2] == (667, 500)


def test_concurrent_edits_all_answer(world):
    import concurrent.futures as cf

    c, root = world["client"], world["root"]
    with cf.ThreadPoolExecutor(12) as ex:
        codes = list(ex.map(lambda i: c.post("/v1/edit", json={"path": str(root / ("a.jpg", "b.jpg")[i % 2])})
                            .status_code, range(12)))
    assert codes == [200] * 12
    # health reports the decider's real batch sizes: never more than the requests in flight (12), never the
    # configured maximum (64) or 0 (measured 2-3 here; batching itself is tested exactly in test_decider.py)
    assert 1 <= httpx.get(world["srv"].url + "/v1/health").json()["largest_batch"] <= 12


def _serve_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "exposure_batch", "serve", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_non_loopback_bind_needs_the_flag_and_warns(tmp_path):
    r = _serve_cli("--host", "0.0.0.0", "--token-file", str(tmp_path / "t"))
    assert r.returncode == 2 and "--allow-remote" in r.stderr
    assert not (tmp_path / "t").exists()
    loose = tmp_path / "loose-token"
    loose.write_text("x" * 40)
    loose.chmod(0o644)  # refused after the warning: the test never leaves a public server running
    r = _serve_cli("--host", "0.0.0.0", "--allow-remote", "--token-file", str(loose))
    assert "WARNING" in r.stderr and "0.0.0.0" in r.stderr
    assert r.returncode == 1 and "readable by other users" in r.stderr


def test_a_bad_model_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _serve_cli("--model", str(tmp_path / "empty"), "--token-file", str(tmp_path / "t"), "--port", "9")
    assert r.returncode == 1 and "cannot load the learned agent" in r.stderr and "Traceback" not in r.stderr


def test_recipe_from_an_upload_names_the_original_not_the_temp_file(world):
    data = sample_path(JPEG).read_bytes()
    r = world["client"].post("/v1/edit", files={"file": ("IMG_0002.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["recipe"]["source"]["name"] == "IMG_0002.jpg"
    assert "tmp" not in json.dumps(r.json()["recipe"]["source"])
