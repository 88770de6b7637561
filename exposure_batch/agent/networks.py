"""Exposure's networks in TensorFlow 2 / Keras (reference sections 3-4): actor, value network, discriminator.

All images are NHWC float32. The actor and value network see **scene-linear ProPhoto** images (B, S, S, 3) plus the
11-dim state; the discriminator sees **display-encoded sRGB** images in [0, 1] (see `display_tf`).

State vector (B, 11): [submitted, stopped, step (raw integer 0..5), used_0 .. used_7].

Exports: NetConfig, PRESETS, Actor, ValueNet, Discriminator, build_networks, display_tf, image_stats_tf,
initial_state, apply_filters_tf, N_FILTERS, STATE_DIM, param_count.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import keras

from .. import color, filters
from .data import display_np  # noqa: F401  (NumPy twin of display_tf)
from .netconfig import MASK_PARAMS, N_FILTERS, PRESETS, STATE_DIM, NetConfig  # noqa: F401  (re-exported)

LUMA = color.LUMA_WEIGHTS


def _conv_trunk(channels, name: str) -> keras.Sequential:
    """4 x (conv k4 s2 SAME + LeakyReLU 0.2), Xavier init, no normalisation, then flatten."""
    layers = []
    for i, ch in enumerate(channels):
        layers += [keras.layers.Conv2D(ch, 4, 2, "same", kernel_initializer="glorot_uniform", name=f"{name}_conv{i}"),
                   keras.layers.LeakyReLU(0.2)]
    layers.append(keras.layers.Flatten())
    return keras.Sequential(layers, name=name)


def _mlp(hidden: int, out: int, name: str) -> keras.Sequential:
    return keras.Sequential([keras.layers.Dense(hidden, kernel_initializer="glorot_uniform", name=f"{name}_fc1"),
                             keras.layers.LeakyReLU(0.2),
                             keras.layers.Dense(out, kernel_initializer="glorot_uniform", name=f"{name}_fc2")], name=name)


def encode_input(images, encoding: str):
    """Actor input encoding. "linear": as is (paper). "log": log2(max(x, 2^-12)) / 12 + 1, so exposure errors are
    shifts and colour casts per-channel offsets (much faster to learn on a CPU budget); 2^-12 -> 0, 1.0 -> 1."""
    if encoding == "log":
        return tf.math.log(tf.maximum(images, 2.0**-12)) / (12.0 * np.log(2.0)) + 1.0
    return images


def state_planes(images, state):
    """(B, S, S, C) + (B, D) -> (B, S, S, C + D) with the state broadcast to constant planes."""
    shape = tf.shape(images)
    planes = tf.broadcast_to(state[:, None, None, :], [shape[0], shape[1], shape[2], tf.shape(state)[-1]])
    return tf.concat([images, planes], axis=-1)


def image_stats_tf(images):
    """(B, S, S, 3) -> (B, 3): mean luminance (+1e-5), luminance variance, mean HSL saturation of clip(x, 0, 1)."""
    lum = tf.reduce_sum(images * LUMA, axis=-1)
    mean = tf.reduce_mean(lum, axis=[1, 2]) + 1e-5
    var = tf.math.reduce_variance(lum, axis=[1, 2])
    x = tf.clip_by_value(images, 0.0, 1.0)
    mx, mn = tf.reduce_max(x, axis=-1), tf.reduce_min(x, axis=-1)
    sat = (mx - mn) / (tf.minimum(mx + mn, 2.0 - mx - mn) + 0.01)
    return tf.stack([mean, var, tf.reduce_mean(sat, axis=[1, 2])], axis=-1)


def display_tf(rgb_lin):
    """Fixed last stage: linear ProPhoto (B, H, W, 3) -> sRGB primaries -> clip [0, 1] -> sRGB transfer (encoded)."""
    m = np.ascontiguousarray(color.convert_matrix(color.WORKING_SPACE, color.Space.SRGB).T)
    x = tf.clip_by_value(tf.tensordot(rgb_lin, m, axes=1), 0.0, 1.0)
    c = color.TRANSFER_CURVES[color.Space.SRGB]
    high = c.scale * tf.pow(tf.maximum(x, c.toe_end), c.exponent) - c.offset
    return tf.where(x <= c.toe_end, c.toe_slope * x, high)


def apply_filters_tf(images, raw_params):
    """Every filter on every sample: images (B, S, S, 3) linear, raw_params list of (B, n_raw_i) ->
    (outputs (B, N_FILTERS, S, S, 3), mapped params list of (B, k_i))."""
    outs, mapped = [], []
    for spec, raw in zip(filters.AGENT_ACTIONS, raw_params):
        p = spec.map_raw_tf(raw)
        mapped.append(p)
        outs.append(spec.apply_tf(images, p))
    return tf.stack(outs, axis=1), mapped


class Actor(keras.Model):
    """Filter selector + per-filter parameter heads on a shared parameter trunk (two trunks, separate weights).

    call(images_lin (B,S,S,3), state (B,11), dropout_seed=None|(2,) int) -> (probs (B, 8), raw params list).
    Dropout: `training=True` uses fresh random dropout, a `dropout_seed` gives seeded (stateless) dropout,
    otherwise none (deterministic inference).
    """

    def __init__(self, cfg: NetConfig, **kw):
        super().__init__(**kw)
        self.cfg = cfg
        self.param_trunk = _conv_trunk(cfg.channels, "param_trunk")
        self.heads = [_mlp(cfg.fc, spec.n_raw + MASK_PARAMS, f"head_{spec.name}") for spec in filters.AGENT_ACTIONS]
        self.select_trunk = _conv_trunk(cfg.channels, "select_trunk")
        self.selector = _mlp(cfg.fc, N_FILTERS, "selector")

    def _dropout(self, feat, training, seed, salt):
        rate = self.cfg.dropout
        if rate <= 0:
            return feat
        if seed is not None:
            return tf.nn.experimental.stateless_dropout(feat, rate, seed=tf.cast(seed, tf.int64) + salt)
        if training:
            return tf.nn.dropout(feat, rate)
        return feat

    def call(self, images, state, training=False, dropout_seed=None):
        x = state_planes(encode_input(images, self.cfg.input_encoding), state) - 0.5
        pf = self._dropout(self.param_trunk(x), training, dropout_seed, 1)
        raw = [h(pf)[:, : spec.n_raw] for h, spec in zip(self.heads, filters.AGENT_ACTIONS)]
        sf = self._dropout(self.select_trunk(x), training, dropout_seed, 2)
        probs = tf.nn.softmax(self.selector(sf)) + 1e-37
        return probs, raw


class ValueNet(keras.Model):
    """V(image_lin, state): 17 input channels (3 image + 11 state + 3 statistic planes) -> (B,) value."""

    def __init__(self, cfg: NetConfig, **kw):
        super().__init__(**kw)
        self.trunk = _conv_trunk(cfg.channels, "value_trunk")
        self.head = _mlp(cfg.fc, 1, "value_head")

    def call(self, images, state):
        x = state_planes(state_planes(images, state), image_stats_tf(images)) - 0.5
        return self.head(self.trunk(x))[:, 0]


class Discriminator(keras.Model):
    """WGAN critic on display-encoded sRGB (B, S, S, 3) + 3 statistic planes (6 channels) -> (B,) raw logit."""

    def __init__(self, cfg: NetConfig, **kw):
        super().__init__(**kw)
        self.trunk = _conv_trunk(cfg.channels, "critic_trunk")
        self.head = _mlp(cfg.fc, 1, "critic_head")

    def call(self, images_disp):
        x = state_planes(images_disp, image_stats_tf(images_disp)) - 0.5
        return self.head(self.trunk(x))[:, 0]


def initial_state(batch: int) -> np.ndarray:
    """(B, 11) zeros: the state at the start of an episode."""
    return np.zeros((batch, STATE_DIM), np.float32)


def build_networks(cfg: NetConfig):
    """Create and build (actor, value, critic) for `cfg.preview`-sized inputs."""
    actor, value, critic = Actor(cfg, name="actor"), ValueNet(cfg, name="value"), Discriminator(cfg, name="critic")
    img = tf.zeros((1, cfg.preview, cfg.preview, 3))
    st = tf.zeros((1, STATE_DIM))
    actor(img, st)
    value(img, st)
    critic(img)
    return actor, value, critic


def param_count(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def weights_dict(model: keras.Model) -> dict:
    """Variable path -> numpy array (for npz saving; no HDF5 needed)."""
    return {v.path: v.numpy() for v in model.variables}


def load_weights_dict(model: keras.Model, arrays) -> None:
    missing = [v.path for v in model.variables if v.path not in arrays]
    if missing:
        raise ValueError(f"weights file lacks {len(missing)} variables, e.g. {missing[0]}")
    for v in model.variables:
        v.assign(arrays[v.path])
