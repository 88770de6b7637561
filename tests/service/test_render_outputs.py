"""Renders through a real `exposure-batch serve` never write over a photo the service did not write (issue 23 row 1).

The service plans outputs as `process` does: a render into a folder holding another photo of the same stem
(the camera's IMG_0001.jpg beside IMG_0001.dng, scan.jpg beside scan.png) goes to NAME.EXT.jpg and leaves the other
photo byte for byte; a job rendering a/IMG.jpg and b/IMG.jpg into one folder gives OUT/a/IMG.jpg and OUT/b/IMG.jpg;
a re-edit replaces only the service's own render; when every name is taken the request is refused (409, one line
naming the source and the file in the way).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time

import httpx
import pytest

from tests.helpers import make_dng, sample_srgb8, write_underexposed_jpeg
from tests.service.server import ServeProcess

pytestmark = [pytest.mark.slow]


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    base = tmp_path_factory.mktemp("render-outputs")
    root = base / "photos"
    (root / "cam").mkdir(parents=True)
    rgb = (sample_srgb8(size=(96, 64)).astype("float32") / 255) ** 2.2
    make_dng(root / "cam" / "IMG_0001.dng", rgb)  # the raw file ...
    write_underexposed_jpeg(root / "cam" / "IMG_0001.jpg")  # ... and the camera's JPEG of the same shot
    from PIL import Image

    (root / "scans").mkdir()
    Image.fromarray(sample_srgb8(size=(80, 60))).save(root / "scans" / "scan.png")
    write_underexposed_jpeg(root / "scans" / "scan.jpg")
    for d in ("a", "b"):
        (root / d).mkdir()
        write_underexposed_jpeg(root / d / "IMG.jpg", "casio_qv_r51.jpg" if d == "a" else "canon_powershot_g1x2.jpg")
    (root / "out").mkdir()
    config = base / "config"
    with ServeProcess(roots=[root], env={"XDG_CONFIG_HOME": str(config)}, args=["--agent", "classic"]) as srv:
        token = (config / "exposure-batch" / "token").read_text().strip()
        client = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        yield {"root": root, "client": client, "srv": srv}
        client.close()


def _render(c, path, output_dir, fmt="jpeg"):
    return c.post("/v1/edit", json={"path": str(path), "render": {"format": fmt, "output_dir": str(output_dir)}})


def test_render_beside_the_cameras_jpeg_keeps_it(svc):
    c, cam = svc["client"], svc["root"] / "cam"
    before = _digest(cam / "IMG_0001.jpg")
    r = _render(c, cam / "IMG_0001.dng", cam)
    assert r.status_code == 200, r.text
    assert _digest(cam / "IMG_0001.jpg") == before  # the camera's JPEG is untouched
    assert r.json()["outputs"] == [str(cam / "IMG_0001.dng.jpg")]
    assert any("IMG_0001.jpg is taken" in n for n in r.json()["notes"])
    # a re-edit replaces the service's own render, and still not the camera's JPEG
    first = os.stat(cam / "IMG_0001.dng.jpg").st_mtime_ns
    time.sleep(0.01)
    r = _render(c, cam / "IMG_0001.dng", cam)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"] == [str(cam / "IMG_0001.dng.jpg")]
    assert os.stat(cam / "IMG_0001.dng.jpg").st_mtime_ns != first
    assert _digest(cam / "IMG_0001.jpg") == before


def test_png_scan_beside_its_jpeg(svc):
    c, scans = svc["client"], svc["root"] / "scans"
    before = _digest(scans / "scan.jpg")
    r = _render(c, scans / "scan.png", scans)
    assert r.status_code == 200, r.text
    assert _digest(scans / "scan.jpg") == before
    assert r.json()["outputs"] == [str(scans / "scan.png.jpg")]
    # rendering the JPEG into its own folder would replace the source: refused, one line naming it
    r = _render(c, scans / "scan.jpg", scans)
    assert r.status_code == 409 and "scan.jpg" in r.json()["detail"] and "\n" not in r.json()["detail"]
    assert _digest(scans / "scan.jpg") == before


def test_a_render_the_user_replaced_is_not_written_over(svc):
    c, root = svc["client"], svc["root"]
    out = root / "out" / "user"
    out.mkdir()
    r = _render(c, root / "a" / "IMG.jpg", out)
    assert r.json()["outputs"] == [str(out / "IMG.jpg")]
    (out / "IMG.jpg").write_bytes(b"the user's own retouch")  # the user put their own file there since
    r = _render(c, root / "a" / "IMG.jpg", out)
    assert r.status_code == 200, r.text
    assert (out / "IMG.jpg").read_bytes() == b"the user's own retouch"
    assert r.json()["outputs"] == [str(out / "IMG.jpg.jpg")]


def test_every_name_taken_is_refused_naming_both(svc):
    c, root = svc["client"], svc["root"]
    out = root / "out" / "full"
    (out / "b").mkdir(parents=True)
    for name in ("IMG.jpg", "IMG.jpg.jpg", "b/IMG.jpg"):
        (out / name).write_bytes(b"not ours")
    r = _render(c, root / "b" / "IMG.jpg", out)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert str(root / "b" / "IMG.jpg") in detail and str(out / "IMG.jpg") in detail and "\n" not in detail
    for name in ("IMG.jpg", "IMG.jpg.jpg", "b/IMG.jpg"):
        assert (out / name).read_bytes() == b"not ours"


def test_job_with_the_same_name_in_two_folders_keeps_both(svc):
    c, root = svc["client"], svc["root"]
    out = root / "out" / "job"
    out.mkdir()
    r = c.post("/v1/jobs", json={"paths": [str(root / "a" / "IMG.jpg"), str(root / "b" / "IMG.jpg")],
                                 "agent": "classic", "render": {"format": "png", "output_dir": str(out)}})
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    for _ in range(600):
        view = c.get(f"/v1/jobs/{job}").json()
        if view["state"] != "running":
            break
        time.sleep(0.1)
    assert view["counts"]["done"] == 2, view
    outputs = sorted(o for it in view["items"] for o in it["result"]["outputs"])
    assert outputs == [str(out / "a" / "IMG.png"), str(out / "b" / "IMG.png")]
    from exposure_batch.io import decode

    # each source's own render (two different photos), neither replaced by the other
    for d, p in zip("ab", outputs):
        assert decode(p).pixels.shape == decode(root / d / "IMG.jpg").pixels.shape
    assert decode(outputs[0]).pixels.shape != decode(outputs[1]).pixels.shape


def test_job_whose_output_would_be_an_input_is_refused(svc):
    c, root = svc["client"], svc["root"]
    shutil.copy(root / "a" / "IMG.jpg", root / "out" / "src.jpg")
    r = c.post("/v1/jobs", json={"paths": [str(root / "out" / "src.jpg")],
                                 "render": {"format": "jpeg", "output_dir": str(root / "out")}})
    assert r.status_code == 409 and "src.jpg" in r.json()["detail"]
