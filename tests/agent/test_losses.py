"""Reward, losses, gradient penalty and the trajectory pool on hand-made cases."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tests.helpers import require_module

tf = require_module("tensorflow")  # skipped locally without it, a failure under CI=true

from exposure_batch.agent import networks as nets  # noqa: E402
from exposure_batch.agent import train as T  # noqa: E402


def _cfg(**kw):
    return T.TrainConfig(**kw)


def test_reward_is_scaled_critic_gain_minus_penalties():
    cfg = _cfg()
    d_old, d_new = tf.constant([1.0, 1.0]), tf.constant([3.0, 3.0])
    img = tf.concat([tf.fill((1, 2, 2, 3), 0.5), tf.fill((1, 2, 2, 3), 2.0)], 0)  # 2nd: overexposed by 1.0
    uniform = tf.fill((2, 8), 1 / 8)  # maximal entropy -> no entropy penalty
    onehot = tf.one_hot([0, 1], 8)
    used = tf.constant([[0.0] * 8, [0, 1, 0, 0, 0, 0, 0, 0]])  # 2nd re-uses filter 1
    r = T.reward_terms(d_old, d_new, img, uniform, onehot, used, 0.0, cfg).numpy()
    np.testing.assert_allclose(r, [0.05 * 2, 0.05 * 2 - 1.0 - 1.0], atol=1e-5)


def test_entropy_penalty_anneals():
    cfg = _cfg()
    peaked = tf.constant([[1.0 - 7e-6] + [1e-6] * 7])
    args = (tf.zeros(1), tf.zeros(1), tf.fill((1, 2, 2, 3), 0.5), peaked, tf.one_hot([0], 8), tf.zeros((1, 8)))
    r0 = float(T.reward_terms(*args, 0.0, cfg)[0])
    r_half = float(T.reward_terms(*args, 0.5, cfg)[0])
    assert r0 == pytest.approx(-0.05 * math.log(8), rel=1e-3)
    assert r_half == pytest.approx(r0 / 2, rel=1e-3)


def test_reward_gradient_skips_old_score():
    critic = lambda x: tf.reduce_sum(x, axis=[1, 2, 3])  # noqa: E731
    x_old, x_new = tf.Variable(tf.ones((1, 2, 2, 3))), tf.Variable(tf.ones((1, 2, 2, 3)))
    with tf.GradientTape() as tape:
        r = T.reward_terms(critic(x_old), critic(x_new), tf.zeros((1, 2, 2, 3)), tf.fill((1, 8), 1 / 8),
                           tf.one_hot([0], 8), tf.zeros((1, 8)), 0.0, _cfg())
    g_old, g_new = tape.gradient(r, [x_old, x_new])
    assert g_old is None
    np.testing.assert_allclose(g_new.numpy(), 0.05)


@pytest.mark.parametrize("w_norm, expected", [(0.5, 0.0), (1.0, 0.0), (3.0, 4.0)])
def test_one_sided_gradient_penalty(w_norm, expected):
    """Linear critic D(x) = <w, x>: ||grad|| = ||w|| everywhere, penalty = max(0, ||w|| - 1)^2."""
    w = np.zeros((2, 2, 3), np.float32)
    w[0, 0, 0] = w_norm
    critic = lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])  # noqa: E731
    real, fake = tf.zeros((4, 2, 2, 3)), tf.ones((4, 2, 2, 3))
    gp = T.gradient_penalty(critic, real, fake, tf.random.uniform((4, 1, 1, 1))).numpy()
    assert gp == pytest.approx(expected, abs=1e-4)


def test_lab_matches_colour_science():
    import colour  # noqa: PLC0415  (an install dependency)
    rgb = np.random.default_rng(0).uniform(0, 1, (16, 3)).astype(np.float32)
    ref = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))
    np.testing.assert_allclose(T.lab_tf(tf.constant(rgb)).numpy(), ref, atol=0.05)


def test_rec_error_zero_for_identical_and_positive_otherwise():
    x = tf.random.uniform((2, 8, 8, 3), 0.01, 0.9, seed=2)
    assert float(tf.reduce_max(T.rec_error(x, x))) == pytest.approx(0.0, abs=1e-4)
    assert float(tf.reduce_min(T.rec_error(x * 2.0, x))) > 1.0


def test_step_state():
    st = tf.constant(nets.initial_state(1))
    for k in range(5):
        st = T.step_state(st, tf.one_hot([k % 2], 8), 5)
    s = st.numpy()[0]
    assert s[:3].tolist() == [1, 1, 5] and s[3:5].tolist() == [1, 1] and s[5:].sum() == 0


def _fresh(n):
    imgs = np.random.default_rng(n).random((n, 4, 4, 3)).astype(np.float32)
    return imgs, imgs.copy(), np.ones(n, np.float32)


def test_pool_pop_push_terminal():
    pool = T.Pool(8, _fresh, random.Random(0))
    pool.top_up()
    assert len(pool.records) == 8 and pool.terminal(2) is None
    img, st, pair, hp = pool.pop_nonterminal(4)
    assert img.shape == (4, 4, 4, 3) and len(pool.records) == 4 and (st[:, 1] == 0).all()
    done = st.copy()
    done[:, :2] = 1
    done[:, 2] = 5
    pool.push(img, done, pair, hp)  # terminal records go back (history for the critic)
    assert len(pool.records) == 8
    assert pool.terminal(10).shape == (10, 4, 4, 3)
    img2, st2, _, _ = pool.pop_nonterminal(6)  # terminal ones met while popping are discarded, pool refilled
    assert (st2[:, 1] == 0).all() and len(img2) == 6
