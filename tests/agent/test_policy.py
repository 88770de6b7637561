"""Inference: save/load gives identical recipes, determinism across processes, dropout variations, errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import require_module

tf = require_module("tensorflow")  # skipped locally without it, a failure under CI=true

from exposure_batch.agent import networks as nets  # noqa: E402
from exposure_batch.agent import train as T  # noqa: E402
from exposure_batch.agent.policy import load_policy  # noqa: E402
from exposure_batch.errors import ModelError  # noqa: E402
from exposure_batch.recipe import Recipe  # noqa: E402

from .conftest import TINY_NET  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A randomly initialised tiny model folder (seeded)."""
    tf.keras.utils.set_random_seed(3)
    actor, _, _ = nets.build_networks(nets.NetConfig.from_dict(TINY_NET))
    out = tmp_path_factory.mktemp("model") / "tiny"
    T.save_model(actor, str(out), {"id": "tiny", "version": "test"})
    return out, actor


def _previews(n=4, seed=0):
    return list(np.random.default_rng(seed).uniform(0.0, 0.6, (n, 64, 64, 3)).astype(np.float32))


def test_save_load_identical_recipes(tiny_model):
    path, actor = tiny_model
    a = load_policy(str(path)).decide(_previews())
    b = load_policy(str(path)).decide(_previews())
    assert [r.to_json() for r in a] == [r.to_json() for r in b]
    for r in a:
        assert len(r.steps) <= 5 and r.model_id == "tiny"
        Recipe.from_json(r.to_json())  # valid, round-trips
    # the NumPy actor computes what the Keras actor computes, with the weights it saved
    loaded = load_policy(str(path)).actor
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.5, (3, 64, 64, 3)).astype(np.float32)
    state = np.zeros((3, nets.STATE_DIM), np.float32)
    state[:, 2] = [0, 2, 4]
    state[1, 3 + 2] = 1.0
    probs_np, raw_np = loaded(x, state)
    probs_tf, raw_tf = actor(tf.constant(x), tf.constant(state))
    np.testing.assert_allclose(probs_np, probs_tf.numpy(), atol=1e-5)
    for a_np, a_tf in zip(raw_np, raw_tf):
        np.testing.assert_allclose(a_np, a_tf.numpy(), atol=1e-4)


def test_numpy_actor_equals_keras_actor_for_the_shipped_model():
    """The shipped model's weights in both implementations, log input encoding, odd preview values."""
    from exposure_batch.agent.policy import DEFAULT_MODEL_DIR

    policy = load_policy(DEFAULT_MODEL_DIR)
    keras_actor = nets.Actor(policy.cfg, name="actor")
    keras_actor(tf.zeros((1, 64, 64, 3)), tf.zeros((1, nets.STATE_DIM)))
    with np.load(f"{DEFAULT_MODEL_DIR}/actor.npz") as z:
        nets.load_weights_dict(keras_actor, {k: z[k] for k in z.files})
    rng = np.random.default_rng(2)
    x = (rng.uniform(0.0, 1.0, (4, 64, 64, 3)) ** 3).astype(np.float32)
    x[0, :5] = 0.0  # below the log floor
    state = np.zeros((4, nets.STATE_DIM), np.float32)
    state[:, 2] = [0, 1, 3, 4]
    probs_np, raw_np = policy.actor(x, state)
    probs_tf, raw_tf = keras_actor(tf.constant(x), tf.constant(state))
    np.testing.assert_allclose(probs_np, probs_tf.numpy(), atol=1e-5)
    for a_np, a_tf in zip(raw_np, raw_tf):
        np.testing.assert_allclose(a_np, a_tf.numpy(), atol=1e-4)


def test_batched_equals_one_by_one(tiny_model):
    policy = load_policy(str(tiny_model[0]))
    batch = policy.decide(_previews(5))
    single = [policy.decide([p])[0] for p in _previews(5)]
    for r1, r2 in zip(batch, single):
        assert [s.filter for s in r1.steps] == [s.filter for s in r2.steps]
        for s1, s2 in zip(r1.steps, r2.steps):
            np.testing.assert_allclose(s1.spec.vector(s1.params), s2.spec.vector(s2.params), atol=1e-5)


_CHILD = """
import sys, json, numpy as np
from exposure_batch.agent.policy import load_policy
p = load_policy(sys.argv[1])
prev = list(np.random.default_rng(0).uniform(0.0, 0.6, (4, 64, 64, 3)).astype(np.float32))
out = [r.to_dict() for r in p.decide(prev)] + [r.to_dict() for r in p.variations(prev[0], 2)]
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_deterministic_across_processes(tiny_model):
    runs = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", _CHILD, str(tiny_model[0])], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        runs.append(next(line for line in res.stdout.splitlines() if line.startswith("RESULT")))
    assert runs[0] == runs[1]
    here = load_policy(str(tiny_model[0])).decide(_previews())
    assert json.loads(runs[0][6:])[:4] == [json.loads(r.to_json()) for r in here]


def test_variations_are_seeded_and_differ(tiny_model):
    policy = load_policy(str(tiny_model[0]))
    prev = _previews(1)[0]
    v1 = [r.to_json() for r in policy.variations(prev, 3)]
    v2 = [r.to_json() for r in policy.variations(prev, 3)]
    assert v1 == v2  # same photo -> same alternatives
    assert len(set(v1)) == 3  # dropout sampling gives different edits
    other = [r.to_json() for r in policy.variations(_previews(1, seed=5)[0], 3)]
    assert other != v1


def test_bad_model_folders(tmp_path, tiny_model):
    with pytest.raises(ModelError, match="not found"):
        load_policy(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a model folder"):
        load_policy(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    card = json.loads((tiny_model[0] / "model.json").read_text())
    card["filters"] = card["filters"][:-1]
    (bad / "model.json").write_text(json.dumps(card))
    (bad / "actor.npz").write_bytes((tiny_model[0] / "actor.npz").read_bytes())
    with pytest.raises(ModelError, match="trained for filters"):
        load_policy(str(bad))
    policy = load_policy(str(tiny_model[0]))
    with pytest.raises(ModelError, match="previews"):
        policy.decide([np.zeros((32, 32, 3), np.float32)])


def test_tensorflow_backend_makes_the_same_decisions(tiny_model):
    """EXPOSURE_BATCH_AGENT_BACKEND=tf (GPU-capable) and the default NumPy backend agree on the recipes."""
    path = str(tiny_model[0])
    numpy_policy, tf_policy = load_policy(path), load_policy(path, backend="tf")
    assert numpy_policy.backend == "numpy" and tf_policy.backend == "tf"
    for r1, r2 in zip(numpy_policy.decide(_previews(6, seed=4)), tf_policy.decide(_previews(6, seed=4))):
        assert [s.filter for s in r1.steps] == [s.filter for s in r2.steps]
        for s1, s2 in zip(r1.steps, r2.steps):
            np.testing.assert_allclose(s1.spec.vector(s1.params), s2.spec.vector(s2.params), atol=2e-4)
    v = tf_policy.variations(_previews(1)[0], 2)
    assert [r.to_json() for r in v] == [r.to_json() for r in tf_policy.variations(_previews(1)[0], 2)]
    with pytest.raises(ModelError, match="backend"):
        load_policy(path, backend="cuda")
