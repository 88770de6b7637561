"""Benchmark: `exposure-batch serve` decision latency on a 24 MP photo and 100 concurrent requests.

    python benchmarks/serve.py [--size 6000x4000] [--concurrent 100] [--concurrent-size 1600x1067] [--workers N]

(a) Decision after decode: POST /v1/edit on a 24 MP JPEG, --repeats times; the service reports the decode time (in
    its worker) and the decision time (from the decoded preview reaching the service to the recipe, incl. the
    editor outputs: target < 0.5 s). Baseline, same run: the learned agent's `decide` on the same preview in this
    process (ratio = service decision / bare agent call).
(b) --concurrent requests sent at once (asyncio + httpx) on photos of --concurrent-size: every request must answer
    200 (no error), no request may wait much longer than its fair share (starvation: max latency vs. the time the
    whole burst takes; FIFO hands work out in arrival order), and the service with its workers must stay under
    2 GB (resident memory of the server process and its children, sampled every 50 ms).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPO)


def make_photo(path: str, width: int, height: int, seed: int = 0) -> None:
    """A photo-like JPEG: a real sample upscaled, with a little noise (so the encoder cannot cheat)."""
    from PIL import Image  # noqa: PLC0415

    base = Image.open(os.path.join(REPO, "samples", "canon_powershot_g1x2.jpg")).convert("RGB")
    big = np.asarray(base.resize((width, height), Image.BICUBIC), dtype=np.int16)
    rng = np.random.default_rng(seed)
    big = np.clip(big + rng.integers(-4, 5, big.shape), 0, 255).astype(np.uint8)
    Image.fromarray(big).save(path, quality=92)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: str, workers: int | None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_file = os.path.join(root, ".token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write("benchmark-token-0123456789abcdef\n")
        cmd = [sys.executable, "-m", "exposure_batch", "serve", "--port", str(self.port), "--root", root,
               "--token-file", self.token_file, "--log-level", "warning"]
        if workers:
            cmd += ["-j", str(workers)]
        env = {**os.environ, "PYTHONPATH": REPO}
        self.proc = subprocess.Popen(cmd, env=env)
        import httpx  # noqa: PLC0415

        for _ in range(600):
            try:
                if httpx.get(self.url + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        self.headers = {"Authorization": "Bearer benchmark-token-0123456789abcdef"}

    def rss(self) -> int:
        import psutil  # noqa: PLC0415

        try:
            p = psutil.Process(self.proc.pid)
            return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
        except psutil.Error:
            return 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


class PeakMemory:
    """Samples the server's resident memory (with its workers) every 50 ms while in the `with` block."""

    def __init__(self, srv: Server):
        self.srv, self.peak, self._stop = srv, 0, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.srv.rss())
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_decision(srv: Server, photo: str, repeats: int) -> dict:
    import httpx  # noqa: PLC0415

    from exposure_batch.io import decode  # noqa: PLC0415
    from exposure_batch.render.preview import make_preview  # noqa: PLC0415
    from exposure_batch.sources import make_source  # noqa: PLC0415

    timings = []
    with PeakMemory(srv) as mem:
        for _ in range(repeats):
            t0 = time.perf_counter()
            r = httpx.post(srv.url + "/v1/edit", json={"path": photo}, headers=srv.headers, timeout=600)
            r.raise_for_status()
            timings.append({**r.json()["timing"], "total_s": time.perf_counter() - t0})
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    agent = make_source("learned")
    preview = make_preview(decode(photo).pixels)
    with threadpool_limits(limits=1, user_api="blas"):  # as in the service
        agent.decide([preview])
        bare = statistics.median(_timed(lambda: agent.decide([preview])) for _ in range(5))
    decide = statistics.median(t["decide_s"] for t in timings)
    return {"decode_s": statistics.median(t["decode_s"] for t in timings), "decide_s": decide,
            "total_s": statistics.median(t["total_s"] for t in timings), "bare_agent_s": bare,
            "ratio": decide / bare if bare else float("nan"), "peak_rss_gb": mem.peak / 2**30}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_concurrent(srv: Server, photos: list[str], n: int) -> dict:
    import httpx  # noqa: PLC0415

    async def one(client, i):
        t0 = time.perf_counter()
        try:
            r = await client.post("/v1/edit", json={"path": photos[i % len(photos)]}, headers=srv.headers)
            return r.status_code, time.perf_counter() - t0
        except httpx.HTTPError as err:
            return f"{type(err).__name__}", time.perf_counter() - t0

    async def burst():
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        async with httpx.AsyncClient(base_url=srv.url, timeout=1800, limits=limits) as client:
            t0 = time.perf_counter()
            out = await asyncio.gather(*(one(client, i) for i in range(n)))
            return out, time.perf_counter() - t0

    with PeakMemory(srv) as mem:
        results, wall = asyncio.run(burst())
    latencies = sorted(lat for _, lat in results)
    errors = [code for code, _ in results if code != 200]
    return {"requests": n, "errors": len(errors), "error_kinds": sorted(set(map(str, errors))), "wall_s": wall,
            "median_s": statistics.median(latencies), "max_s": latencies[-1],
            "max_over_wall": latencies[-1] / wall, "peak_rss_gb": mem.peak / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="6000x4000", help="decision photo size (24 MP)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrent", type=int, default=100)
    ap.add_argument("--concurrent-size", default="1600x1067", help="size of the photos of the burst")
    ap.add_argument("--workers", type=int, default=None, help="service workers [serve's default]")
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    cw, ch = map(int, args.concurrent_size.split("x"))
    with tempfile.TemporaryDirectory(prefix="eb-bench-serve-") as root:
        big = os.path.join(root, "big.jpg")
        make_photo(big, w, h)
        photos = []
        for i in range(8):
            photos.append(os.path.join(root, f"p{i}.jpg"))
            make_photo(photos[-1], cw, ch, seed=i)
        srv = Server(root, args.workers)
        try:
            d = bench_decision(srv, big, args.repeats)
            print(f"(a) {w}x{h} ({w * h / 1e6:.0f} MP) JPEG, median of {args.repeats}: decode {d['decode_s']:.2f} s "
                  f"(worker), decision {d['decide_s'] * 1000:.1f} ms (target < 500 ms: "
                  f"{'met' if d['decide_s'] < 0.5 else 'MISSED'}), request total {d['total_s']:.2f} s; "
                  f"bare agent call in this process {d['bare_agent_s'] * 1000:.1f} ms, ratio {d['ratio']:.2f}; peak memory "
                  f"{d['peak_rss_gb']:.2f} GB")
            c = bench_concurrent(srv, photos, args.concurrent)
            ok_err = c["errors"] == 0
            ok_starve = c["max_over_wall"] <= 1.0 and c["max_s"] <= 2.5 * c["median_s"] + 5
            ok_mem = c["peak_rss_gb"] < 2.0
            print(f"(b) {c['requests']} concurrent requests, {cw}x{ch} photos, {os.cpu_count()} cores: "
                  f"errors {c['errors']} {c['error_kinds'] or ''} ({'met' if ok_err else 'MISSED'}); burst {c['wall_s']:.1f} s, "
                  f"latency median {c['median_s']:.1f} s, max {c['max_s']:.1f} s = {c['max_over_wall']:.2f} of the "
                  f"burst (starvation: {'none' if ok_starve else 'MISSED'}); peak memory {c['peak_rss_gb']:.2f} GB "
                  f"(target < 2 GB: {'met' if ok_mem else 'MISSED'})")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
