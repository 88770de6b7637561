"""Inference with a trained Exposure actor: 64x64 linear previews -> one Recipe each (reference section 6).

Each image runs the 5-step episode on its preview: the selector's argmax picks the filter, the parameter head gives
its values (mapped to real units by the filter's own `map_raw_tf`), and the step is applied to the preview for the
next decision. The steps become the Recipe that the renderer re-applies at full resolution.

Determinism: by default dropout is off, so the same preview gives the same recipe in every run and process.
`variations(preview, n)` gives n alternative edits with the paper's dropout sampling (keep 1 - rate), each seeded
from the preview's content hash and the variation index (same photo -> same n alternatives, every run).
Batched (chunks of 64); TensorFlow uses a GPU when it sees one.

Exports: DEFAULT_MODEL_DIR, LearnedPolicy, load_policy.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from .. import filters
from ..errors import ModelError
from ..recipe import Recipe, Step
from . import networks as nets

DEFAULT_MODEL_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "models", "auto"))
MODEL_FILE = "actor.npz"
CARD_FILE = "model.json"
CHUNK = 64


def _default_dir() -> str:
    return os.environ.get("EXPOSURE_BATCH_MODEL") or DEFAULT_MODEL_DIR


def content_seed(preview: np.ndarray) -> int:
    """63-bit seed from the preview's float32 bytes (same photo -> same seed on every machine)."""
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(preview, np.float32).tobytes()).digest()[:8], "little") >> 1


class LearnedPolicy:
    """A loaded model. Attributes: wants = "preview", model_id, model_version, card (dict), actor."""

    wants = "preview"

    def __init__(self, model_dir: str):
        self.model_dir = model_dir
        card_path, weights = os.path.join(model_dir, CARD_FILE), os.path.join(model_dir, MODEL_FILE)
        if not os.path.exists(card_path) or not os.path.exists(weights):
            raise ModelError(f"{model_dir}: not a model folder (needs {CARD_FILE} and {MODEL_FILE})")
        try:
            with open(card_path, encoding="utf-8") as fh:
                self.card = json.load(fh)
        except (OSError, json.JSONDecodeError) as err:
            raise ModelError(f"{card_path}: unreadable model card ({err})") from None
        self._check_filters()
        self.cfg = nets.NetConfig.from_dict(self.card.get("net", {}))
        self.steps = int(self.card.get("steps", 5))
        self.model_id = str(self.card.get("id", os.path.basename(os.path.normpath(model_dir))))
        self.model_version = str(self.card.get("version", "1"))
        self.actor = nets.Actor(self.cfg, name="actor")
        self.actor(tf.zeros((1, self.cfg.preview, self.cfg.preview, 3)), tf.zeros((1, nets.STATE_DIM)))
        try:
            with np.load(weights) as z:
                nets.load_weights_dict(self.actor, {k: z[k] for k in z.files})
        except (OSError, ValueError) as err:
            raise ModelError(f"{weights}: cannot load weights ({err})") from None
        spec = tf.TensorSpec([None, self.cfg.preview, self.cfg.preview, 3], tf.float32)
        self._plain = tf.function(lambda x: self._episode(x, None), input_signature=[spec])
        self._seeded = tf.function(self._episode, input_signature=[spec, tf.TensorSpec([2], tf.int64)])

    def _check_filters(self) -> None:
        have = [(f.name, f.version) for f in filters.REGISTRY]
        want = [(f["name"], f["version"]) for f in self.card.get("filters", [])]
        if want != have:
            raise ModelError(f"{self.model_dir}: model was trained for filters {want}, this version has {have}")

    def _episode(self, images, seed):
        """(B, S, S, 3) linear -> actions (B, steps) int32, params (B, steps, N_FILTERS, K_MAX) mapped values."""
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

    def _to_recipes(self, actions: np.ndarray, params: np.ndarray, extra=None) -> list[Recipe]:
        out = []
        for b in range(len(actions)):
            steps = []
            for s, a in enumerate(actions[b]):
                spec = filters.REGISTRY[int(a)]
                steps.append(Step.from_vector(spec.name, params[b, s, int(a), : spec.size]))
            out.append(Recipe(tuple(steps), model_id=self.model_id, model_version=self.model_version,
                              extra=extra[b] if extra else {}))
        return out

    def _batch(self, previews_lin) -> np.ndarray:
        arr = np.asarray(np.stack([np.asarray(p, np.float32) for p in previews_lin]), np.float32)
        size = self.cfg.preview
        if arr.ndim != 4 or arr.shape[1:] != (size, size, 3):
            raise ModelError(f"learned agent needs ({size}, {size}, 3) previews, got {arr.shape[1:]}")
        return np.nan_to_num(arr, nan=0.0, posinf=1e4, neginf=0.0)

    def decide(self, previews_lin, infos=None) -> list[Recipe]:
        """list of (64, 64, 3) float32 linear ProPhoto previews -> one deterministic Recipe each."""
        if len(previews_lin) == 0:
            return []
        arr = self._batch(previews_lin)
        recipes: list[Recipe] = []
        for i in range(0, len(arr), CHUNK):
            a, p = self._plain(tf.constant(arr[i : i + CHUNK]))
            recipes += self._to_recipes(a.numpy(), p.numpy())
        return recipes

    def variations(self, preview_lin, n: int) -> list[Recipe]:
        """n alternative Recipes for one (64, 64, 3) preview via dropout sampling, seeded by its content hash."""
        arr = self._batch([preview_lin])
        base = content_seed(arr[0])
        recipes = []
        for i in range(n):
            a, p = self._seeded(tf.constant(arr), tf.constant([base & 0x7FFFFFFF, (base >> 31) + i], tf.int64))
            recipes += self._to_recipes(a.numpy(), p.numpy(), [{"variation": i, "dropout": self.cfg.dropout}])
        return recipes

    def render_preview(self, preview_lin, recipe: Recipe) -> np.ndarray:
        """Convenience: the recipe applied to a preview (linear)."""
        return recipe.apply(np.asarray(preview_lin, np.float32))


def load_policy(model_path: str | None = None) -> LearnedPolicy:
    """Load a model folder (default: the shipped models/auto, or $EXPOSURE_BATCH_MODEL)."""
    path = model_path or _default_dir()
    if not os.path.isdir(path):
        raise ModelError(f"{path}: model folder not found (train one with `exposure-batch train` or pass --model)")
    return LearnedPolicy(path)
