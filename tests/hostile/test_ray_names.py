"""Issue 14 row 1 on the Ray path: file names with any bytes (non-UTF-8, control characters) go through Ray Data
and come back as the exact names, results in order, outputs under the exact names."""
from __future__ import annotations

import os

import pytest

from exposure_batch.pipeline.inputs import find_inputs
from exposure_batch.pipeline.options import OutputOptions
from exposure_batch.pipeline.outputs import plan_outputs
from exposure_batch.sources import SourceSpec
from tests.helpers import require_module
from tests.hostile import corpus

ray = require_module("ray")  # in the test extra: skipped locally without it, a failure under CI=true

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_ray_takes_non_utf8_and_control_character_names(tmp_path):
    from exposure_batch.engine.ray import run_ray  # noqa: PLC0415

    inbox = tmp_path / "in"
    inbox.mkdir()
    names = [corpus.HOSTILE_NAMES[k] for k in ("non-utf8", "crlf", "escape")]
    for i, name in enumerate(names):
        corpus.jpeg(os.path.join(inbox, name), seed=i)
    opts = OutputOptions(str(tmp_path / "out"))
    pairs = find_inputs([str(inbox)])
    out = plan_outputs(pairs, opts)
    jobs = [(p, out[p]) for p, _ in pairs]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        results = run_ray(jobs, SourceSpec("classic"), opts, address=None, batch_size=4)
    finally:
        ray.shutdown()
    assert [r.path for r in results] == [p for p, _ in jobs]
    assert [r.status for r in results] == ["done"] * 3, [r.reason for r in results]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(n for n in names)
