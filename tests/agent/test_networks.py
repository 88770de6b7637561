"""Network shapes and parameter counts per preset (reference 5.4), display stage, state planes."""
from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import require_module

tf = require_module("tensorflow")  # skipped locally without it, a failure under CI=true

from exposure_batch import filters  # noqa: E402
from exposure_batch.agent import networks as nets  # noqa: E402
from exposure_batch.agent.data import display_np  # noqa: E402

#: (actor, value, critic, param trunk, 8 heads) trainable parameters.
EXPECTED = {
    "paper": (6_123_680, 1_221_857, 1_216_225, 695_776, 4_206_680),  # the reference's numbers (NeurOp: 8,561,762)
    "cpu": (1_538_176, 307_825, 305_009, 175_856, 1_054_808),
}


@pytest.mark.parametrize("preset", ["paper", "cpu"])
def test_parameter_counts(preset):
    actor, value, critic = nets.build_networks(nets.PRESETS[preset])
    got = (nets.param_count(actor), nets.param_count(value), nets.param_count(critic),
           nets.param_count(actor.param_trunk), sum(nets.param_count(h) for h in actor.heads))
    assert got == EXPECTED[preset]
    if preset == "paper":
        assert sum(got[:3]) == 8_561_762


def test_output_shapes():
    cfg = nets.NetConfig((4, 4, 8, 8), 8, 0.5)
    actor, value, critic = nets.build_networks(cfg)
    img = tf.random.uniform((5, 64, 64, 3))
    st = tf.constant(nets.initial_state(5))
    probs, raw = actor(img, st)
    assert probs.shape == (5, nets.N_FILTERS)
    np.testing.assert_allclose(probs.numpy().sum(-1), 1.0, rtol=1e-5)
    assert [r.shape[-1] for r in raw] == [f.n_raw for f in filters.AGENT_ACTIONS]
    assert value(img, st).shape == (5,)
    assert critic(img).shape == (5,)
    outs, mapped = nets.apply_filters_tf(img, raw)
    assert outs.shape == (5, nets.N_FILTERS, 64, 64, 3)
    assert [m.shape[-1] for m in mapped] == [f.size for f in filters.AGENT_ACTIONS]


def test_dropout_modes():
    """No dropout by default (deterministic), seeded dropout reproducible, different seeds differ."""
    actor, _, _ = nets.build_networks(nets.NetConfig((4, 4, 8, 8), 8, 0.5))
    img, st = tf.random.uniform((2, 64, 64, 3), seed=1), tf.zeros((2, nets.STATE_DIM))
    a1, a2 = actor(img, st)[1][4], actor(img, st)[1][4]
    np.testing.assert_array_equal(a1.numpy(), a2.numpy())
    s1 = actor(img, st, dropout_seed=tf.constant([1, 2], tf.int64))[1][4].numpy()
    s2 = actor(img, st, dropout_seed=tf.constant([1, 2], tf.int64))[1][4].numpy()
    s3 = actor(img, st, dropout_seed=tf.constant([1, 3], tf.int64))[1][4].numpy()
    np.testing.assert_array_equal(s1, s2)
    assert not np.allclose(s1, s3)


def test_display_tf_matches_numpy():
    x = np.random.default_rng(0).uniform(-0.1, 1.5, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(nets.display_tf(tf.constant(x)).numpy(), display_np(x), atol=2e-5)


def test_state_planes_and_stats():
    img = tf.fill((1, 4, 4, 3), 0.5)
    st = tf.constant([[0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 1]], tf.float32)
    planes = nets.state_planes(img, st).numpy()
    assert planes.shape == (1, 4, 4, 14)
    assert (planes[0, :, :, 5] == 3).all() and (planes[0, :, :, 13] == 1).all()
    stats = nets.image_stats_tf(img).numpy()[0]
    np.testing.assert_allclose(stats, [0.5 + 1e-5, 0.0, 0.0], atol=1e-6)  # grey: lum 0.5, no variance, no saturation
