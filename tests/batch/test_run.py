"""The run without the command line (runs.batch), the one retry policy (engine.scheduler) and who checks a profile
(once per run, not once per worker)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exposure_batch.engine.scheduler import DEFER, FAIL, RETRY, RETRYABLE, RetryPolicy
from exposure_batch.errors import Kind
from exposure_batch.failures import Failure
from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.pipeline.outputs import PlanError
from exposure_batch.runs.batch import BatchRun, RunOptions, RunUsageError, plan_dry_run, plan_jobs
from exposure_batch.sources import SourceSpec

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def _failure(kind: Kind) -> Failure:
    return Failure(kind, "render", f"{kind.value} happened")


def test_batch_policy_retries_a_crash_once_and_nothing_else():
    policy = RetryPolicy()  # process / serve
    assert policy.decide(_failure(Kind.CRASH), 1) == RETRY
    assert policy.decide(_failure(Kind.CRASH), 2) == FAIL
    for kind in (Kind.TIMEOUT, Kind.INPUT, Kind.ENVIRONMENT, Kind.CONFLICT, Kind.LIMIT, Kind.SETUP):
        assert policy.decide(_failure(kind), 1) == FAIL, kind


def test_watch_policy_defers_what_waits_and_backs_off_to_16x():
    policy = RetryPolicy(retries=2, retry_kinds=RETRYABLE, defer_waiting=True, env_retry=60.0)
    assert RETRYABLE == {Kind.CRASH, Kind.TIMEOUT}
    assert [policy.decide(_failure(Kind.TIMEOUT), n) for n in (1, 2, 3)] == [RETRY, RETRY, FAIL]
    assert policy.decide(_failure(Kind.ENVIRONMENT), 9) == DEFER
    assert policy.decide(_failure(Kind.SETUP), 1) == DEFER  # a model that cannot load is never the photo's fault
    assert policy.decide(_failure(Kind.CONFLICT), 1) == FAIL  # "already exists" is never a full disk
    assert [policy.backoff(n) for n in (1, 2, 3, 5, 6, 40)] == [60, 120, 240, 960, 960, 960]
    assert RetryPolicy(defer_waiting=True).backoff(1) is None  # env_retry 0: not in this run


def test_plan_jobs_refuses_what_the_user_must_fix(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "._hidden.jpg").write_bytes(b"x")  # an ignored name is no input
    opts = OutputOptions(str(tmp_path / "out"))
    with pytest.raises(RunUsageError, match="no input photos found") as err:
        plan_jobs([str(empty)], opts)
    assert err.value.kind is Kind.USAGE
    with pytest.raises(PlanError):  # the output folder is an input folder
        plan_jobs([str(SAMPLES)], OutputOptions(str(SAMPLES)))
    jobs = plan_jobs([str(SAMPLES / "casio_qv_r51.jpg"), str(SAMPLES / "flower.dng")], opts)
    assert [os.path.basename(o) for _, o in jobs] == ["casio_qv_r51.jpg", "flower.jpg"]
    assert [row[0] for row in plan_dry_run(jobs, opts)] == ["process", "process"]
    assert not os.path.exists(opts.outdir)  # planning writes nothing


def test_batch_run_writes_outputs_and_its_manifest(tmp_path):
    opts = OutputOptions(str(tmp_path / "out"), save_recipe=True)
    jobs = plan_jobs([str(SAMPLES / "casio_qv_r51.jpg")], opts)
    seen = []
    run = BatchRun(jobs, SourceSpec("classic"), opts, RunOptions(workers=1))
    try:
        run.plan()
        results = run.execute(seen.append)
    finally:
        run.close()
    assert [r.status for r in results] == ["done"] and seen == results
    assert (tmp_path / "out" / "casio_qv_r51.jpg").stat().st_size > 1000
    lines = [json.loads(x) for x in (tmp_path / "out" / ".exposure-batch" / "manifest.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["run", "start", "end"] and lines[-1]["status"] == "done"
    again = BatchRun(jobs, SourceSpec("classic"), opts, RunOptions(resume=True))
    try:
        assert again.todo == [] and [r.status for r in again.earlier] == ["skipped"]  # done by the earlier run
    finally:
        again.close()


@pytest.mark.slow
def test_a_profile_mismatch_is_said_once_not_once_per_worker(tmp_path):
    """Two workers build the profile source; the run checks the profile once, before they start."""
    from exposure_batch.look.profile import Profile, agent_identity
    from exposure_batch.sources import make_source
    from tests.look.pairs import known_steps

    ident = dict(agent_identity(make_source("learned")), weights_sha256="f" * 64)  # learned on other weights
    Profile("Old Look", ident, known_steps(), 0.0, 0.0, {}).save(str(tmp_path / "old"))
    photos = tmp_path / "in"
    photos.mkdir()
    for i in range(3):
        (photos / f"p{i}.jpg").write_bytes((SAMPLES / "casio_qv_r51.jpg").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "exposure_batch", "process", str(photos), "-o", str(tmp_path / "out"),
                          "--profile", str(tmp_path / "old"), "-j", "2", "--no-progress", "--group-by", "none"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    said = (out.stdout + out.stderr).count("was learned with agent model")
    assert said == 1, out.stderr[-2000:]
