"""Training the learned agent (reference sections 3.6-5.3), TensorFlow 2 custom train steps.

Two phases, both optional:
1. **Paired warm start** (beyond the paper; only when paired data exists): whole 5-step episodes are unrolled with
   sampled filter choices; the parameter heads get the pathwise gradient of a reconstruction loss (L1 in CIELAB on
   the display-encoded result vs the paired target), the selector gets REINFORCE on the same loss (with a batch-mean
   baseline, the filter-reuse penalty and an entropy bonus).
2. **RL + GAN** (the paper): trajectory pool, one actor/value update per iteration on 64 non-terminal records with
   reward 0.05 (D(s') - sg D(s)) - penalties (+ a paired reconstruction-improvement term where pairs exist), and
   `critic_steps` WGAN-GP critic updates (one-sided penalty) on terminal pool images vs real target patches;
   learning rates decay as 0.1^(3t/T).

Exports: TrainConfig, PRESETS, Pool, Trainer, gradient_penalty, reward_terms, lab_tf, save_model, MODEL_FILE, CARD_FILE.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .. import color, filters
from . import networks as nets

MODEL_FILE = "actor.npz"
CARD_FILE = "model.json"
CKPT_FILE = "checkpoint.npz"


@dataclass
class TrainConfig:
    """Every hyper-parameter (flags / JSON config map onto these names)."""

    preset: str = "paper"
    net: nets.NetConfig = field(default_factory=lambda: nets.PRESETS["paper"])
    iterations: int = 20000  # RL/GAN iterations T
    warm_iterations: int = 0  # paired warm-start iterations (0 = paper)
    batch: int = 64
    steps: int = 5
    critic_steps: int = 5
    critic_steps_burst: int = 100  # for t < burst_first and t % burst_every == 0
    burst_first: int = 10
    burst_every: int = 500
    pool_size: int = 128
    pool_fill_steps: int = 100  # actor steps with lr 0 at t = 0, to fill the pool with terminal states
    lr_critic: float = 5e-5
    lr_actor: float = 1.5e-5
    lr_value: float = 1.5e-4
    lr_warm: float = 3e-4
    lr_decay: float = 3.0  # lr x 0.1^(lr_decay t / T)
    beta1: float = 0.5
    beta2: float = 0.9
    gp_weight: float = 10.0
    reward_scale: float = 0.05
    entropy_weight: float = 0.05
    reuse_penalty: float = 1.0
    overexposure_weight: float = 1.0
    explore: float = 0.05
    rec_reward: float = 0.0  # weight of the paired reconstruction improvement in the RL reward (0 = paper)
    rec_warm_reuse: float = 5.0  # reuse penalty (in Lab units) for the warm start's REINFORCE cost
    warm_order: tuple = ()  # filter names: teacher-forced warm start (selector learns this order by cross-entropy)
    identity_share: float = 0.2  # --degrade-inputs: share of inputs left undegraded (target: themselves)
    mild_share: float = 0.2  # --degrade-inputs: share of inputs only mildly degraded
    checkpoint_every: int = 500
    log_every: int = 25
    seed: int = 0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["net"] = self.net.to_dict()
        d["warm_order"] = list(self.warm_order)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        preset = d.get("preset", "paper")
        base = PRESETS[preset]() if preset in PRESETS else cls()
        net = nets.NetConfig.from_dict({**base.net.to_dict(), **d.pop("net", {})})
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - known)
        if bad:
            raise ValueError(f"unknown training setting(s): {', '.join(bad)}")
        if "warm_order" in d:
            d["warm_order"] = tuple(d["warm_order"] or ())
        return dataclasses.replace(base, **d, net=net)


def _cpu_preset() -> TrainConfig:
    """Measured on 2 CPU cores: half-width nets, 1 critic step, a paired warm start, a short RL/GAN phase."""
    return TrainConfig(preset="cpu", net=nets.PRESETS["cpu"], iterations=400, warm_iterations=1200, batch=32, critic_steps=1,
                       warm_order=WARM_ORDER, lr_warm=5e-4,
                       critic_steps_burst=20, burst_every=500, pool_fill_steps=10, lr_actor=1e-5, lr_value=3e-4,
                       lr_critic=1e-4, rec_reward=1.0, checkpoint_every=250)


#: A sensible development order for the teacher-forced warm start: undo the cast, the exposure error, the flattened
#: tone (gamma about the exposure pivot), the lost saturation, then a residual tone curve.
WARM_ORDER = ("white_balance", "exposure", "gamma", "saturation", "tone_curve")

PRESETS = {"paper": TrainConfig, "cpu": _cpu_preset}


# --------------------------------------------------------------------------------------------------------------
# colour + losses


def lab_tf(disp):
    """(..., 3) display-encoded sRGB in [0, 1] -> CIELAB (D65), differentiable."""
    c = color.TRANSFER_CURVES[color.Space.SRGB]
    high = tf.pow((tf.maximum(disp, c.decode_toe_end) + c.offset) / c.scale, c.gamma)
    lin = tf.where(disp <= c.decode_toe_end, disp / c.toe_slope, high)
    xyz = tf.tensordot(lin, tf.constant(color.SRGB_TO_XYZ.T), axes=1) / color.D65_XYZ
    e = 216.0 / 24389.0
    f = tf.where(xyz > e, tf.pow(tf.maximum(xyz, e), 1.0 / 3.0), (24389.0 / 27.0 * xyz + 16.0) / 116.0)
    return tf.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def rec_error(img_lin, pair_lin):
    """Per-image mean |Lab difference| (B,) between display encodings of the agent's image and the paired target."""
    return tf.reduce_mean(tf.abs(lab_tf(nets.display_tf(img_lin)) - lab_tf(nets.display_tf(pair_lin))), axis=[1, 2, 3])


def overexposure(img_lin):
    """(B,) mean over H, W, C of max(y - 1, 0)^2."""
    return tf.reduce_mean(tf.square(tf.nn.relu(img_lin - 1.0)), axis=[1, 2, 3])


def explore_mix(probs, explore: float):
    """pi' = (1 - e) pi + e / N, renormalised."""
    p = (1.0 - explore) * probs + explore / nets.N_FILTERS
    return p / tf.reduce_sum(p, axis=-1, keepdims=True)


def entropy(p):
    return -tf.reduce_sum(p * tf.math.log(p), axis=-1)


def reward_terms(d_old, d_new, img_new, pi, onehot, used, t_frac, cfg: TrainConfig):
    """Reward r (B,) of one transition: scale (D(s') - sg D(s)) - overexposure - annealed entropy - reuse penalty."""
    reuse = tf.reduce_sum(onehot * used, axis=-1)
    penalty = (cfg.overexposure_weight * overexposure(img_new)
               + (1.0 - t_frac) * cfg.entropy_weight * (math.log(nets.N_FILTERS) - entropy(pi))
               + cfg.reuse_penalty * reuse)
    return cfg.reward_scale * (d_new - tf.stop_gradient(d_old)) - penalty


def gradient_penalty(critic, real, fake, alpha):
    """One-sided WGAN-GP: mean(max(0, ||grad D(x_hat)|| - 1)^2), x_hat = real + alpha (fake - real), norm over HWC."""
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        d = critic(x_hat)
    g = tape.gradient(d, x_hat)
    norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]) + 1e-6)
    return tf.reduce_mean(tf.square(tf.nn.relu(norm - 1.0)))


def step_state(state, onehot, steps: int):
    """State update: step + 1, usage |= onehot, stopped = submitted = (step + 1 == steps)."""
    step = state[:, 2] + 1.0
    used = tf.maximum(state[:, 3:], onehot)
    done = tf.cast(step >= steps, tf.float32)
    return tf.concat([done[:, None], done[:, None], step[:, None], used], axis=-1)


def select(images, raw, onehot):
    """Apply all filters and keep the chosen one: (B,S,S,3) -> (B,S,S,3)."""
    outs, mapped = nets.apply_filters_tf(images, raw)
    return tf.reduce_sum(outs * onehot[:, :, None, None, None], axis=1), mapped


# --------------------------------------------------------------------------------------------------------------
class Pool:
    """The paper's trajectory pool of (image, state, pair, has_pair) records (reference 5.3)."""

    def __init__(self, size: int, fresh, rng: random.Random):
        self.size, self.fresh, self.rng = size, fresh, rng  # fresh(n) -> (images, pairs, has_pair)
        self.records: list[tuple] = []
        self.finished: list[np.ndarray] = []  # terminal images discarded by pops, still served to the critic


    def top_up(self) -> None:
        n = self.size - len(self.records)
        if n > 0:
            imgs, pairs, hp = self.fresh(n)
            st = nets.initial_state(n)
            self.records += [(imgs[i], st[i], pairs[i], hp[i]) for i in range(n)]

    def pop_nonterminal(self, n: int):
        """Pop records until n non-terminal ones are collected (terminal ones met are discarded)."""
        self.rng.shuffle(self.records)
        out = []
        while len(out) < n:
            if not self.records:
                self.top_up()
                self.rng.shuffle(self.records)
            rec = self.records.pop()
            if rec[1][1] < 0.5:
                out.append(rec)
            else:
                self.finished = (self.finished + [rec[0]])[-self.size :]
        return [np.stack([r[k] for r in out]) for k in range(4)]

    def push(self, images, states, pairs, has_pair) -> None:
        for i in range(len(images)):
            if states[i][2] < 7 or self.rng.random() < 0.5:
                self.records.append((images[i], states[i], pairs[i], has_pair[i]))

    def terminal(self, n: int):
        """n terminal images drawn with replacement, without removing them (None if there are none yet).

        Terminal records discarded by `pop_nonterminal` stay available here (the last `size` of them), so the critic
        always has recent finished edits even when the pool is small relative to the batch."""
        term = [r[0] for r in self.records if r[1][1] >= 0.5] + self.finished
        if not term:
            return None
        return np.stack([term[self.rng.randrange(len(term))] for _ in range(n)])


# --------------------------------------------------------------------------------------------------------------
class Trainer:
    """Holds networks, optimisers, pool and the tf.function train steps."""

    def __init__(self, cfg: TrainConfig, data, out_dir: str, log=print):
        self.cfg, self.data, self.out_dir, self.log = cfg, data, out_dir, log
        tf.keras.utils.set_random_seed(cfg.seed)
        self.actor, self.value, self.critic = nets.build_networks(cfg.net)
        adam = lambda lr: tf.keras.optimizers.Adam(float(lr), beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.opt_actor, self.opt_value, self.opt_critic, self.opt_warm = (
            adam(cfg.lr_actor), adam(cfg.lr_value), adam(cfg.lr_critic), adam(cfg.lr_warm))
        for opt, model in ((self.opt_actor, self.actor), (self.opt_value, self.value), (self.opt_critic, self.critic),
                           (self.opt_warm, self.actor)):
            opt.build(model.trainable_variables)
        self.t_warm = 0
        self.t = 0
        self.pool = Pool(cfg.pool_size, data.inputs, random.Random(cfg.seed))
        self.history: list[dict] = []
        self.wall = 0.0
        self._warm = tf.function(self._warm_step, reduce_retracing=True)
        self._rl = tf.function(self._rl_step, reduce_retracing=True)
        self._critic = tf.function(self._critic_step, reduce_retracing=True)

    # ---- train steps ------------------------------------------------------------------------------------------
    def _warm_step(self, x, pair, has_pair):
        cfg = self.cfg
        with tf.GradientTape() as tape:
            img, state = x, tf.zeros([tf.shape(x)[0], nets.STATE_DIM])
            logp, ent, reuse, ce = 0.0, 0.0, 0.0, 0.0
            order = [filters.AGENT_NAMES.index(n) for n in cfg.warm_order]
            for k in range(cfg.steps):
                probs, raw = self.actor(img, state, training=True)
                pi = explore_mix(probs, cfg.explore)
                if order:  # teacher forcing: the selector is trained towards the given order
                    forced = order[k % len(order)]
                    onehot = tf.one_hot(tf.fill([tf.shape(x)[0]], forced), nets.N_FILTERS)
                    ce += -tf.math.log(tf.reduce_sum(probs * onehot, axis=-1))
                    spec = filters.AGENT_ACTIONS[forced]  # only the forced filter runs (the others get no gradient)
                    img = spec.apply_tf(img, spec.map_raw_tf(raw[forced]))
                else:
                    a = tf.random.categorical(tf.math.log(pi), 1)[:, 0]
                    onehot = tf.one_hot(a, nets.N_FILTERS)
                    img, _ = select(img, raw, onehot)
                reuse += tf.reduce_sum(onehot * state[:, 3:], axis=-1)
                logp += tf.math.log(tf.reduce_sum(pi * onehot, axis=-1))
                ent += entropy(pi)
                state = step_state(state, onehot, cfg.steps)
            rec = rec_error(img, pair) * has_pair
            cost = rec + cfg.rec_warm_reuse * reuse + 100.0 * overexposure(img)
            adv = tf.stop_gradient(cost - tf.reduce_mean(cost))
            if order:
                loss = tf.reduce_mean(cost) + tf.reduce_mean(ce)
            else:
                loss = tf.reduce_mean(cost) + tf.reduce_mean(logp * adv) - cfg.entropy_weight * tf.reduce_mean(ent)
        grads = tape.gradient(loss, self.actor.trainable_variables)
        # Teacher forcing leaves the heads of filters outside warm_order without a gradient (None): skip them.
        self.opt_warm.apply_gradients([(g, v) for g, v in zip(grads, self.actor.trainable_variables) if g is not None])
        return {"warm_loss": loss, "rec": tf.reduce_sum(rec) / tf.maximum(tf.reduce_sum(has_pair), 1.0),
                "reuse": tf.reduce_mean(reuse), "entropy": tf.reduce_mean(ent) / cfg.steps}

    def _rl_step(self, img, state, pair, has_pair, t_frac, train_actor):
        cfg = self.cfg
        with tf.GradientTape(persistent=True) as tape:
            probs, raw = self.actor(img, state, training=True)
            pi = explore_mix(probs, cfg.explore)
            a = tf.random.categorical(tf.math.log(pi), 1)[:, 0]
            onehot = tf.one_hot(a, nets.N_FILTERS)
            new_img, _ = select(img, raw, onehot)
            new_state = step_state(state, onehot, cfg.steps)
            d_old = self.critic(nets.display_tf(img))
            d_new = self.critic(nets.display_tf(new_img))
            r = reward_terms(d_old, d_new, new_img, pi, onehot, state[:, 3:], t_frac, cfg)
            if cfg.rec_reward:
                r += cfg.rec_reward * has_pair * (tf.stop_gradient(rec_error(img, pair)) - rec_error(new_img, pair))
            q = r + (1.0 - new_state[:, 1]) * self.value(new_img, new_state)
            v = self.value(img, state)
            value_loss = tf.reduce_mean(tf.square(tf.stop_gradient(q) - v))
            logp = tf.math.log(tf.reduce_sum(pi * onehot, axis=-1))
            actor_loss = tf.reduce_mean(-q - logp * tf.stop_gradient(q - v))
        ga = tape.gradient(actor_loss, self.actor.trainable_variables)
        gv = tape.gradient(value_loss, self.value.trainable_variables)
        del tape
        if train_actor:
            self.opt_actor.apply_gradients(zip(ga, self.actor.trainable_variables))
        self.opt_value.apply_gradients(zip(gv, self.value.trainable_variables))
        return new_img, new_state, {"actor_loss": actor_loss, "value_loss": value_loss, "reward": tf.reduce_mean(r)}

    def _critic_step(self, fake_lin, real_disp):
        fake = nets.display_tf(fake_lin)
        alpha = tf.random.uniform([tf.shape(fake)[0], 1, 1, 1])
        with tf.GradientTape() as tape:
            gp = gradient_penalty(self.critic, real_disp, fake, alpha)
            wd = tf.reduce_mean(self.critic(real_disp)) - tf.reduce_mean(self.critic(fake))
            loss = -wd + self.cfg.gp_weight * gp
        grads = tape.gradient(loss, self.critic.trainable_variables)
        self.opt_critic.apply_gradients(zip(grads, self.critic.trainable_variables))
        return {"critic_loss": loss, "wasserstein": wd, "gp": gp}

    # ---- loops ------------------------------------------------------------------------------------------------
    def _decay(self, t: int) -> float:
        return 0.1 ** (self.cfg.lr_decay * t / max(self.cfg.iterations, 1))

    def warm_iteration(self) -> dict:
        cfg = self.cfg
        self.opt_warm.learning_rate.assign(cfg.lr_warm * 0.1 ** (1.0 * self.t_warm / max(cfg.warm_iterations, 1)))
        x, pair, hp = self.data.inputs(cfg.batch)
        out = self._warm(tf.constant(x), tf.constant(pair), tf.constant(hp))
        self.t_warm += 1
        return {k: float(v) for k, v in out.items()}

    def rl_iteration(self) -> dict:
        cfg, t = self.cfg, self.t
        decay = self._decay(t)
        self.opt_actor.learning_rate.assign(cfg.lr_actor * decay)
        self.opt_value.learning_rate.assign(cfg.lr_value * decay)
        self.opt_critic.learning_rate.assign(cfg.lr_critic * decay)
        t_frac = tf.constant(min(t / max(cfg.iterations, 1), 1.0), tf.float32)
        stats: dict = {}
        for k in range(cfg.pool_fill_steps if t == 0 else 1):  # t = 0: fill the pool, actor lr 0
            self.pool.top_up()
            img, st, pair, hp = self.pool.pop_nonterminal(cfg.batch)
            new_img, new_st, stats = self._rl(tf.constant(img), tf.constant(st), tf.constant(pair), tf.constant(hp),
                                              t_frac, tf.constant(t > 0))
            self.pool.push(new_img.numpy(), new_st.numpy(), pair, hp)
        self.pool.top_up()
        n_critic = cfg.critic_steps_burst if (t < cfg.burst_first or t % cfg.burst_every == 0) else cfg.critic_steps
        for _ in range(n_critic):
            fake = self.pool.terminal(cfg.batch)
            if fake is None:
                break
            stats = stats | self._critic(tf.constant(fake), tf.constant(self.data.targets(cfg.batch)))
        self.t += 1
        return {k: float(v) for k, v in stats.items()}

    def run(self, on_log=None) -> None:
        """Warm start, then RL/GAN, with checkpoints every `checkpoint_every` iterations (resumable)."""
        cfg = self.cfg
        writer = _tensorboard_writer(os.path.join(self.out_dir, "logs"), self.log)
        started = time.time() - self.wall
        phases = (("warm", cfg.warm_iterations, lambda: self.t_warm, self.warm_iteration),
                  ("rl", cfg.iterations, lambda: self.t, self.rl_iteration))
        for phase, total, counter, step in phases:
            if phase == "warm" and not self.data.paired:
                continue
            while counter() < total:
                stats = step()
                i = counter()
                self.wall = time.time() - started
                if i % cfg.log_every == 0 or i == total:
                    if writer is not None:
                        with writer.as_default(step=self.t_warm + self.t):
                            for k, v in stats.items():
                                tf.summary.scalar(f"{phase}/{k}", v)
                    self.history.append({"phase": phase, "it": i, "wall": round(self.wall, 1),
                                         **{k: round(v, 5) for k, v in stats.items()}})
                    if on_log:
                        on_log(phase, i, total, stats, self.wall)
                if i % cfg.checkpoint_every == 0 or i == total:
                    self.save_checkpoint()
                    save_actor(self.actor, os.path.join(self.out_dir, "snapshots", f"{phase}-{i:06d}.npz"))
        if writer is not None:
            writer.flush()

    # ---- checkpoints ------------------------------------------------------------------------------------------
    def save_checkpoint(self) -> str:
        arrays = {}
        for prefix, model in (("actor", self.actor), ("value", self.value), ("critic", self.critic)):
            arrays |= {f"{prefix}::{k}": v for k, v in nets.weights_dict(model).items()}
        for name in ("opt_actor", "opt_value", "opt_critic", "opt_warm"):
            for i, v in enumerate(getattr(self, name).variables):
                arrays[f"{name}::{i:04d}"] = v.numpy()
        arrays["meta"] = np.frombuffer(json.dumps({"t": self.t, "t_warm": self.t_warm, "wall": self.wall,
                                                   "config": self.cfg.to_dict()}).encode(), np.uint8)
        path = os.path.join(self.out_dir, CKPT_FILE)
        os.makedirs(self.out_dir, exist_ok=True)
        tmp = path + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        return path

    def load_checkpoint(self, path: str) -> None:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            for prefix, model in (("actor", self.actor), ("value", self.value), ("critic", self.critic)):
                nets.load_weights_dict(model, {k.split("::", 1)[1]: z[k] for k in z.files if k.startswith(prefix + "::")})
            for name in ("opt_actor", "opt_value", "opt_critic", "opt_warm"):
                for i, v in enumerate(getattr(self, name).variables):
                    v.assign(z[f"{name}::{i:04d}"])
        self.t, self.t_warm, self.wall = meta["t"], meta["t_warm"], meta["wall"]


def _tensorboard_writer(logdir: str, log):
    """A tf.summary writer, or None (with one message) when TensorBoard is not installed (extra `[train]`)."""
    try:
        import tensorboard  # noqa: F401, PLC0415
    except ImportError:
        log("TensorBoard not installed (pip install 'exposure-batch[train]'): losses go to history.json only")
        return None
    return tf.summary.create_file_writer(logdir)


def save_actor(actor, path: str) -> str:
    """Inference weights only (the shipped model file)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **nets.weights_dict(actor))
    os.replace(tmp, path)
    return path


def save_model(actor, out_dir: str, card: dict) -> str:
    """Write a model folder: actor.npz + model.json (filter list/versions, preview, colour space, `card` fields)."""
    save_actor(actor, os.path.join(out_dir, MODEL_FILE))
    full = {
        "format": "exposure-batch/model", "format_version": 1,
        "filters": [{"index": i, "name": f.name, "version": f.version, "n_raw": f.n_raw}
                    for i, f in enumerate(filters.AGENT_ACTIONS)],
        "preview_size": actor.cfg.preview, "colour_space": f"linear {color.WORKING_SPACE.value}",
        "display_stage": "linear ProPhoto -> sRGB primaries -> sRGB transfer (fixed, outside the recipe)",
        "net": actor.cfg.to_dict(), "steps": 5,
        "parameters": {"actor": nets.param_count(actor)},
        **card,
    }
    from ..io.write import atomic_write  # noqa: PLC0415

    with atomic_write(os.path.join(out_dir, CARD_FILE), "w") as fh:
        fh.write(json.dumps(full, indent=2, default=str) + "\n")
    return out_dir
