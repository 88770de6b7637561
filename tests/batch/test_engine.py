"""Pipelined batch engine: same bytes as the one-file path, bounded memory, bad files and dead workers isolated."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from exposure_batch.engine import run_batch, run_stream
from exposure_batch.errors import ExposureBatchError
from exposure_batch.failures import Kind
from exposure_batch.pipeline.inputs import find_inputs
from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.pipeline.outputs import plan_outputs
from exposure_batch.pipeline.stages import process_one
from exposure_batch.sources import SourceSpec, make_source

from .conftest import BAD


def _jobs(folder: Path, outdir: Path, **opts):
    options = OutputOptions(str(outdir), **opts)
    pairs = find_inputs([str(folder)])
    out = plan_outputs(pairs, options)
    return [(p, out[p]) for p, _ in pairs], options


def _reference(jobs, outdir: Path, agent: str = "classic", **opts) -> dict[str, str]:
    """Output path per input name from the plain one-file path (process_one), written to another folder."""
    options = OutputOptions(str(outdir), **opts)
    source = make_source(agent)
    ref = {}
    for path, out_path in jobs:
        r = process_one(path, str(outdir / Path(out_path).name), source, options)
        if r.status == "done":
            ref[Path(path).name] = r.outputs[0]
    return ref


def _max_linear_difference(path_a: str, path_b: str) -> float:
    from exposure_batch.io import decode

    return float(abs(decode(path_a).rgb_lin - decode(path_b).rgb_lin).max())


@pytest.mark.parametrize("agent,workers", [("classic", 1), ("classic", 2), ("learned", 2)])
def test_pipelined_outputs_equal_the_one_file_path(photos, tmp_path, agent, workers):
    fmt = "jpeg" if agent == "classic" else "png"  # learned: 16-bit output, compared within 2 codes
    jobs, opts = _jobs(photos, tmp_path / "out", save_recipe=True, fmt=fmt)
    seen = []
    results = run_batch(jobs, SourceSpec(agent), opts, workers, on_result=seen.append)
    assert [r.path for r in results] == [p for p, _ in jobs]  # input order
    assert sorted(r.path for r in seen) == sorted(p for p, _ in jobs)  # every file reported once
    ref = _reference(jobs, tmp_path / "ref", agent, fmt=fmt)
    by_name = {Path(r.path).name: r for r in results}
    for name in BAD:
        r = by_name[name]
        assert r.status == "failed" and r.reason and "\n" not in r.reason
        assert r.failure.kind is Kind.INPUT and r.failure.stage == "decode" and r.failure.message == r.reason
    done = {n: r for n, r in by_name.items() if n not in BAD}
    assert all(r.status == "done" for r in done.values()), [(n, r.reason) for n, r in done.items()]
    assert set(ref) == set(done)
    for name, r in done.items():
        if agent == "classic":
            assert Path(r.outputs[0]).read_bytes() == Path(ref[name]).read_bytes(), name
        else:  # single-threaded BLAS in the workers: the learned agent's parameters may differ in the 6th decimal
            assert _max_linear_difference(r.outputs[0], ref[name]) <= 5e-5, name  # measured 2.8e-5 (2 codes of 16 bit)
        assert r.outputs[1].endswith(".recipe.json") and os.path.exists(r.outputs[1])
        assert r.recipe is not None and r.recipe.source["name"] == name


def test_backpressure_bounds_files_in_flight(tmp_path):
    """A slow consumer must not let decoding run ahead: at most prefetch + 2 files between decode and output."""
    from tests.helpers import SAMPLES_DIR

    src = SAMPLES_DIR / "casio_qv_r51.jpg"
    jobs = []
    for i in range(14):
        p = tmp_path / f"img{i:02d}.jpg"
        p.write_bytes(src.read_bytes())
        jobs.append((i, str(p), f"img{i:02d}.jpg"))
    todo = iter(())
    lock = threading.Lock()
    in_flight, peak, emitted = set(), [0], []

    def next_job():
        with lock:
            return next(todo, None)

    def on_start(index):
        with lock:
            in_flight.add(index)
            peak[0] = max(peak[0], len(in_flight))

    def emit(index, result):
        assert result.status == "done", result.reason
        with lock:
            in_flight.discard(index)
        emitted.append(index)
        time.sleep(0.15)  # a slow writer: decoding (fast for these JPEGs) would otherwise race ahead

    for prefetch in (0, 1, 2):
        opts = OutputOptions(str(tmp_path / f"out{prefetch}"))
        todo = iter([(i, (p, str(tmp_path / f"out{prefetch}" / name), opts)) for i, p, name in jobs])
        emitted.clear()
        peak[0] = 0
        run_stream(make_source("classic"), next_job, emit, prefetch=prefetch, on_start=on_start)
        assert sorted(emitted) == list(range(14))
        assert peak[0] == prefetch + 2, (prefetch, peak[0])


def test_killed_worker_is_replaced_and_its_files_retried(photos, tmp_path):
    good = [(p, o) for p, o in _jobs(photos, tmp_path / "out")[0] if Path(p).name not in BAD]
    jobs = [(p, str(tmp_path / "out" / f"{i}_{Path(o).name}")) for i, (p, o) in enumerate(good * 2)]
    killed = []

    def on_result(r):
        if not killed:  # kill one worker while it holds other files
            victim = mp.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    # overwrite: a file the killed worker had already written (but not reported) is redone, not refused
    opts = OutputOptions(str(tmp_path / "out"), overwrite=True)
    results = run_batch(jobs, SourceSpec(), opts, 2, on_result=on_result)
    assert killed
    assert [r.status for r in results] == ["done"] * len(jobs), [r.reason for r in results]
    assert all(os.path.exists(o) for _, o in jobs)


@pytest.mark.timeout(240)
def test_workers_killed_while_sending_never_block_the_others(photos, tmp_path):
    """Each worker has its own result pipe: SIGKILL at any moment (even mid-send, which with a shared queue left its
    write lock taken and hung the run) costs only that worker's files, which are retried."""
    good = [(p, o) for p, o in _jobs(photos, tmp_path / "out")[0] if Path(p).name not in BAD]
    jobs = [(p, str(tmp_path / "out" / f"{i}_{Path(o).name}")) for i, (p, o) in enumerate(good * 3)]
    kills = []

    def on_result(r):
        if len(kills) < 3 and mp.active_children():  # kill on each of the first three results
            victim = mp.active_children()[-1]
            os.kill(victim.pid, signal.SIGKILL)
            kills.append(victim.pid)

    results = run_batch(jobs, SourceSpec(), OutputOptions(str(tmp_path / "out"), overwrite=True), 2,
                        on_result=on_result)
    assert len(kills) == 3 and len(results) == len(jobs)
    assert all(r.status == "done" or (r.failure.kind is Kind.CRASH and "worker crashed (SIGKILL" in r.reason)
               for r in results), [r.reason for r in results]
    assert sum(r.status == "done" for r in results) >= len(jobs) - 3


def test_a_hostile_file_costs_one_worker_never_the_batch(tmp_path):
    """process's engine with a per-file timeout: a file that segfaults its worker is retried once alone, then fails
    as a CRASH; a file that hangs fails as a TIMEOUT; every other file is done."""
    names = ["a.jpg", "b_segv.jpg", "c_hang.jpg", "d.jpg", "e.jpg"]
    jobs = [(str(tmp_path / n), str(tmp_path / "out" / n)) for n in names]
    starts = []
    t0 = time.monotonic()
    results = run_batch(jobs, SourceSpec(), OutputOptions(str(tmp_path / "out")), 2, timeout=4,
                        task_ref="tests.watch.tasks:hostile", on_start=starts.append)
    by_name = {Path(r.path).name: r for r in results}
    assert [by_name[n].status for n in ("a.jpg", "d.jpg", "e.jpg")] == ["done"] * 3, [r.reason for r in results]
    segv, hang = by_name["b_segv.jpg"], by_name["c_hang.jpg"]
    assert segv.status == "failed" and segv.failure.kind is Kind.CRASH and segv.reason == "worker crashed (SIGSEGV)"
    assert starts.count(segv.path) == 2  # the retry ran alone and crashed again
    assert hang.failure.kind is Kind.TIMEOUT and hang.reason == "timed out after 4 s (worker killed)"
    assert time.monotonic() - t0 < 90
    assert not mp.active_children()


def test_worker_that_cannot_build_its_source_stops_the_run(photos, tmp_path):
    jobs, opts = _jobs(photos, tmp_path / "out")
    spec = SourceSpec(recipe_path=str(tmp_path / "missing.recipe.json"))
    t0 = time.monotonic()
    with pytest.raises(ExposureBatchError, match="recipe source"):
        run_batch(jobs, spec, opts, 2)
    assert time.monotonic() - t0 < 120
    assert not mp.active_children()


_FAULTS_SCRIPT = r"""
import ctypes, resource, sys, threading
from exposure_batch.engine import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]

def churn():  # LibRaw in a worker's decode thread: big buffers malloc'ed, filled and freed, file after file
    for _ in range(2):
        buf = libc.malloc(96 << 20)
        ctypes.memset(buf, 1, 96 << 20)
        libc.free(buf)

t = threading.Thread(target=churn); t.start(); t.join()  # the first round faults the memory in
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
t = threading.Thread(target=churn); t.start(); t.join()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not hasattr(os, "confstr") or "glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or ""),
                    reason="glibc allocator only")
def test_workers_reuse_freed_memory_without_page_faults():
    """keep_freed_memory (called by every batch worker): a thread's 96 MB buffers are reused for the next file
    instead of being mmapped afresh (~24,000 page faults each); without it they fault again."""
    import subprocess
    import sys

    def faults(mode):
        out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT, mode], capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0] == "True", int(out[1])

    kept, with_keep = faults("keep")
    _, without = faults("plain")
    assert kept
    assert without > 40_000 and with_keep < 2_000, (with_keep, without)  # 2 x 24,576 pages of 4 KiB each round


def test_workers_start_with_thread_limits_in_their_environment(monkeypatch):
    """child_thread_limits (around every worker's start): a spawned child sees OMP/OpenBLAS/MKL/numba thread
    counts from the moment its Python starts (NumPy's OpenBLAS reads them at import), a variable the user set is
    left alone, and this process's environment is restored afterwards."""
    import subprocess
    import sys

    from exposure_batch.engine import child_thread_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    probe = ("import os, numpy; print(*[os.environ.get(k) for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', "
             "'MKL_NUM_THREADS', 'NUMBA_NUM_THREADS')])")
    with child_thread_limits(1):
        seen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert seen.split() == ["1", "1", "3", "1"]
    assert "OMP_NUM_THREADS" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "3"
    with child_thread_limits(None):
        assert "OMP_NUM_THREADS" not in os.environ
