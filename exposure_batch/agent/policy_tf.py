"""The learned agent's episode in TensorFlow, for GPUs (EXPOSURE_BATCH_AGENT_BACKEND=tf; imports TensorFlow).

Same decisions as the NumPy episode in agent.policy (the Keras actor, the filters' TF ops on the preview between
steps, argmax selection); TensorFlow places it on a GPU when it sees one. Returns Steps, so recipes are built the
same way by both backends.

Exports: TFEpisode.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import filters
from ..recipe import Step
from . import networks as nets


class TFEpisode:
    """TFEpisode(cfg, weights, steps)(images (B,S,S,3) float32 linear ProPhoto previews, dropout_seed=None | (a, b))
    -> per image its Steps."""

    def __init__(self, cfg, weights: dict, steps: int):
        self.steps = steps
        self.actor = nets.Actor(cfg, name="actor")
        self.actor(tf.zeros((1, cfg.preview, cfg.preview, 3)), tf.zeros((1, nets.STATE_DIM)))
        nets.load_weights_dict(self.actor, weights)
        spec = tf.TensorSpec([None, cfg.preview, cfg.preview, 3], tf.float32)
        self._plain = tf.function(lambda x: self._episode(x, None), input_signature=[spec])
        self._seeded = tf.function(self._episode, input_signature=[spec, tf.TensorSpec([2], tf.int64)])

    def _episode(self, images, seed):
        state = tf.zeros([tf.shape(images)[0], nets.STATE_DIM])
        k_max = max(f.size for f in filters.REGISTRY)
        actions, params = [], []
        for step in range(self.steps):
            step_seed = None if seed is None else seed + tf.constant([0, 7919], tf.int64) * step
            probs, raw = self.actor(images, state, dropout_seed=step_seed)
            a = tf.argmax(probs, axis=-1, output_type=tf.int32)
            onehot = tf.one_hot(a, nets.N_FILTERS)
            outs, mapped = nets.apply_filters_tf(images, raw)
            images = tf.reduce_sum(outs * onehot[:, :, None, None, None], axis=1)
            used = tf.maximum(state[:, 3:], onehot)
            cnt = state[:, 2:3] + 1.0
            done = tf.cast(cnt >= self.steps, tf.float32)
            state = tf.concat([done, done, cnt, used], axis=-1)
            actions.append(a)
            params.append(tf.stack([tf.pad(m, [[0, 0], [0, k_max - m.shape[-1]]]) for m in mapped], axis=1))
        return tf.stack(actions, axis=1), tf.stack(params, axis=1)

    def __call__(self, images: np.ndarray, dropout_seed=None) -> list[list[Step]]:
        if dropout_seed is None:
            a, p = self._plain(tf.constant(images))
        else:
            seed = tf.constant([dropout_seed[0] & 0x7FFFFFFF, (dropout_seed[0] >> 31) + dropout_seed[1]], tf.int64)
            a, p = self._seeded(tf.constant(images), seed)
        a, p = a.numpy(), p.numpy()
        out = []
        for b in range(len(a)):
            steps = []
            for s, idx in enumerate(a[b]):
                spec = filters.REGISTRY[int(idx)]
                steps.append(Step.from_vector(spec.name, p[b, s, int(idx), : spec.size]))
            out.append(steps)
        return out
