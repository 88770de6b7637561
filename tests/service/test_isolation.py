"""A photo that crashes its worker (segfault in a decoder) fails alone: 503 naming the photo and the crash, the
worker is replaced, and the same service keeps editing other photos, alone or in a job. The app runs in a real
uvicorn server on 127.0.0.1 (in a thread of this process, so the worker task can be a test one)."""
from __future__ import annotations

import shutil
import threading
import time

import httpx
import pytest
import uvicorn

from exposure_batch.service.app import ServiceConfig, create_app
from exposure_batch.service.engine import Engine
from tests.helpers import sample_path
from tests.service.server import free_port

pytestmark = [pytest.mark.slow]
TOKEN = "isolation-test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("isolation")
    shutil.copy(sample_path("canon_powershot_g1x2.jpg"), root / "a.jpg")
    shutil.copy(sample_path("canon_powershot_g1x2.jpg"), root / "segv.jpg")
    cfg = ServiceConfig(token=TOKEN, roots=[str(root)], agent="classic", workers=1, timeout=60)
    app = create_app(cfg, engine=Engine(1, timeout=60, task_ref="tests.service.hostile_tasks:run"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
    yield client, root
    client.close()
    server.should_exit = True
    thread.join(30)


def test_a_crashing_photo_fails_alone_and_the_service_goes_on(served):
    client, root = served
    r = client.post("/v1/edit", json={"path": str(root / "segv.jpg")})
    assert r.status_code == 503
    assert "segv.jpg" in r.json()["detail"] and "SIGSEGV" in r.json()["detail"]
    assert client.post("/v1/edit", json={"path": str(root / "a.jpg")}).status_code == 200
    job = client.post("/v1/jobs", json={"paths": [str(root / "segv.jpg"), str(root / "a.jpg")]}).json()
    end = time.monotonic() + 120
    while (view := client.get(f"/v1/jobs/{job['id']}").json())["state"] == "running" and time.monotonic() < end:
        time.sleep(0.2)
    status = {it["index"]: (it["status"], it.get("error")) for it in view["items"]}
    assert status == {0: ("failed", "crash"), 1: ("done", None)}
