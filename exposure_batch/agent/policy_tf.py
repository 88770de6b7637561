"""The learned agent's actor in TensorFlow, for GPUs (EXPOSURE_BATCH_AGENT_BACKEND=tf; imports TensorFlow).

The Keras actor decides each step (argmax selection, the chosen filter's parameter head); the episode around it
(the filters' NumPy ops on the preview, the white-balance guard, the state) is agent.policy's, shared with the NumPy
actor, so both backends make the same decisions up to float32 rounding. TensorFlow places the actor on a GPU when it
sees one. Unlike the NumPy actor, its arithmetic is not exact: recipes may differ in the last decimals between
machines.

Exports: TFActor.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import networks as nets


class TFActor:
    """TFActor(cfg, weights).decide(images (B,S,S,3) linear ProPhoto, state (B,D), seed=None | (2,) int64 seed for
    stateless dropout) -> (actions (B,), per image the chosen filter's raw parameters (n_raw,))."""

    def __init__(self, cfg, weights: dict):
        self.actor = nets.Actor(cfg, name="actor")
        self.actor(tf.zeros((1, cfg.preview, cfg.preview, 3)), tf.zeros((1, nets.STATE_DIM)))
        nets.load_weights_dict(self.actor, weights)
        spec = [tf.TensorSpec([None, cfg.preview, cfg.preview, 3], tf.float32), tf.TensorSpec([None, nets.STATE_DIM])]
        self._plain = tf.function(lambda x, s: self.actor(x, s), input_signature=spec)
        self._seeded = tf.function(lambda x, s, seed: self.actor(x, s, dropout_seed=seed),
                                   input_signature=[*spec, tf.TensorSpec([2], tf.int64)])

    def decide(self, images: np.ndarray, state: np.ndarray, seed=None):
        x, s = tf.constant(np.asarray(images, np.float32)), tf.constant(np.asarray(state, np.float32))
        probs, raw = self._plain(x, s) if seed is None else self._seeded(x, s, tf.constant(seed, tf.int64))
        actions = np.argmax(probs.numpy(), axis=-1)
        raw = [r.numpy().astype(np.float64) for r in raw]
        return actions, [raw[a][b] for b, a in enumerate(actions)]
