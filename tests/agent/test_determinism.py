"""The learned agent gives bit-identical recipes whatever the batch, thread count or --jobs (issue 12).

The NumPy actor's products are exact (agent.inference): these tests hold it to that on the shipped model, in one
process (batch 1 vs batch N vs another batch order) and end to end through the CLI in fresh processes with different
BLAS thread counts and worker counts (recipes and output files compared byte for byte).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from exposure_batch.agent.inference import quantise_weights, quantise_activations
from exposure_batch.agent.netconfig import STATE_DIM
from exposure_batch.agent.policy import load_policy

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
SAMPLES = os.path.join(REPO, "samples")


def _previews(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list((rng.uniform(0.0, 1.0, (n, 64, 64, 3)) ** 2.2 * rng.uniform(0.2, 3.0, (n, 1, 1, 1))).astype(np.float32))


def test_actor_outputs_are_bit_identical_for_any_batch_composition():
    policy = load_policy()
    x = np.stack(_previews(6, seed=1))
    state = np.zeros((6, STATE_DIM))
    state[:, 2] = [0, 1, 2, 3, 4, 2]
    probs, raw = policy.actor(x, state)
    order = [5, 3, 1, 0, 2, 4]
    probs_r, raw_r = policy.actor(x[order], state[order])
    for j, i in enumerate(order):
        one_p, one_raw = policy.actor(x[i : i + 1], state[i : i + 1])
        assert probs[i].tobytes() == probs_r[j].tobytes() == one_p[0].tobytes()
        for a, b, c in zip(raw, raw_r, one_raw):
            assert a[i].tobytes() == b[j].tobytes() == c[0].tobytes()


def test_recipes_identical_for_batch_1_and_batch_64():
    policy = load_policy()
    previews = _previews(64, seed=2)
    batched = [r.to_json() for r in policy.decide(previews)]
    singles = [policy.decide([p])[0].to_json() for p in previews[:6]] + [policy.decide(previews[60:])[k].to_json() for k in range(4)]
    assert singles == batched[:6] + batched[60:]


def test_exact_products_do_not_depend_on_summation_order():
    """The property the actor relies on: on the quantised grids a dot product is exact in float64, so reversing or
    regrouping the sum gives the same bits (float32 products of the same numbers do not)."""
    rng = np.random.default_rng(3)
    kernel, bias = quantise_weights(rng.normal(0, 0.05, (2048, 8)), rng.normal(0, 0.01, 8), 2048)
    x = quantise_activations(rng.normal(0, 3.0, (4, 2048)))
    forward = x @ kernel + bias
    backward = x[:, ::-1] @ kernel[::-1] + bias
    halves = (x[:, :1000] @ kernel[:1000] + x[:, 1000:] @ kernel[1000:]) + bias
    assert forward.tobytes() == backward.tobytes() == halves.tobytes()


def _process(out_dir, inbox, threads: int, jobs: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "exposure_batch", "process", str(inbox), "-o", str(out_dir), "--format", "png",
           "--save-recipe", "--no-progress", "-j", str(jobs)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    files = {p.name: p.read_bytes() for p in sorted(out_dir.iterdir()) if p.is_file()}
    assert any(n.endswith(".png") for n in files) and any(n.endswith(".json") for n in files), sorted(files)
    return files


@pytest.mark.slow
def test_cli_outputs_byte_identical_for_threads_and_jobs(tmp_path):
    """`process` in fresh processes: 1 or 2 BLAS threads, -j 1 or -j 2 -> the same recipe and output bytes."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    names = ["casio_qv_r51.jpg", "coffee_p3_16bit.png"]
    for name in names:
        (inbox / name).write_bytes(open(os.path.join(SAMPLES, name), "rb").read())
    runs = [_process(tmp_path / f"t{t}j{j}", inbox, t, j) for t, j in ((1, 1), (2, 1), (2, 2))]
    assert runs[0].keys() == runs[1].keys() == runs[2].keys()
    for name in runs[0]:
        assert runs[0][name] == runs[1][name] == runs[2][name], name
