"""Inference with a trained Exposure actor: 64x64 linear previews -> one Recipe each (reference section 6).

Each image runs the 5-step episode on its preview: the selector's argmax picks the filter, the parameter head gives
its values (mapped to real units by the filter's own `map_raw_np`), and the step -- exactly as the recipe will hold
it -- is applied to the preview with the filter's NumPy op for the next decision. The steps become the Recipe that
the renderer re-applies at full resolution. The actor runs in NumPy (agent.inference.NumpyActor, the same layers
and weights as the Keras actor used in training): no TensorFlow at inference. EXPOSURE_BATCH_AGENT_BACKEND=tf runs
the same episode in TensorFlow instead (agent.policy_tf), which uses a GPU when TensorFlow sees one; the NumPy
actor takes a few ms per image, so that only pays for inference-heavy setups.

Determinism: by default dropout is off, so the same preview gives the same recipe in every run and process.
`variations(preview, n)` gives n alternative edits with the paper's dropout sampling (keep 1 - rate), each seeded
from the preview's content hash and the variation index (same photo -> same n alternatives, every run).
Batched (chunks of 64).

Exports: DEFAULT_MODEL_DIR, BACKEND_ENV, default_backend, LearnedPolicy, load_policy, content_seed.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib import resources

import numpy as np

from .. import filters
from ..errors import TRAIN_EXTRA_HINT, ModelError, tensorflow_missing
from ..recipe import Recipe, Step
from ..render import render
from .inference import NumpyActor
from .netconfig import N_FILTERS, STATE_DIM, NetConfig

#: The shipped model, package data read with importlib.resources: exposure_batch/models is the repository's top-level
#: models/ folder (a symlink in the source tree, copied into wheels by setup.py's package_data).
DEFAULT_MODEL_DIR = str(resources.files("exposure_batch") / "models" / "auto")
MODEL_FILE = "actor.npz"
CARD_FILE = "model.json"
CHUNK = 64
BACKEND_ENV = "EXPOSURE_BATCH_AGENT_BACKEND"


def default_backend() -> str:
    """The inference backend when none is given: $EXPOSURE_BATCH_AGENT_BACKEND ('numpy' or 'tf'), else 'numpy'."""
    return (os.environ.get(BACKEND_ENV) or "numpy").strip().lower()


def _default_dir() -> str:
    return os.environ.get("EXPOSURE_BATCH_MODEL") or DEFAULT_MODEL_DIR


def content_seed(preview: np.ndarray) -> int:
    """63-bit seed from the preview's float32 bytes (same photo -> same seed on every machine)."""
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(preview, np.float32).tobytes()).digest()[:8], "little") >> 1


class LearnedPolicy:
    """A loaded model. Attributes: wants = "preview", model_id, model_version, card (dict), actor (NumpyActor)."""

    wants = "preview"

    def __init__(self, model_dir: str, backend: str | None = None):
        self.model_dir = model_dir
        self.backend = (backend or default_backend()).strip().lower()
        if self.backend not in ("numpy", "tf"):
            raise ModelError(f"agent backend {self.backend!r}: choose 'numpy' or 'tf' ({BACKEND_ENV})")
        card_path, weights = os.path.join(model_dir, CARD_FILE), os.path.join(model_dir, MODEL_FILE)
        if not os.path.exists(card_path) or not os.path.exists(weights):
            raise ModelError(f"{model_dir}: not a model folder (needs {CARD_FILE} and {MODEL_FILE})")
        try:
            with open(card_path, encoding="utf-8") as fh:
                self.card = json.load(fh)
        except (OSError, json.JSONDecodeError) as err:
            raise ModelError(f"{card_path}: unreadable model card ({err})") from None
        self._check_filters()
        self.cfg = NetConfig.from_dict(self.card.get("net", {}))
        self.steps = int(self.card.get("steps", 5))
        self.model_id = str(self.card.get("id", os.path.basename(os.path.normpath(model_dir))))
        self.model_version = str(self.card.get("version", "1"))
        try:
            with np.load(weights) as z:
                arrays = {k: z[k] for k in z.files}
            self.actor = NumpyActor(self.cfg, arrays)
        except (OSError, ValueError, KeyError) as err:
            raise ModelError(f"{weights}: cannot load weights ({err})") from None
        self._tf_episode = None
        if self.backend == "tf":
            try:
                from .policy_tf import TFEpisode  # noqa: PLC0415  (imports TensorFlow)
            except ImportError as err:
                if tensorflow_missing(err):
                    raise ModelError(f"agent backend 'tf': {TRAIN_EXTRA_HINT}") from None
                raise

            self._tf_episode = TFEpisode(self.cfg, arrays, self.steps)

    def _check_filters(self) -> None:
        have = [(f.name, f.version) for f in filters.REGISTRY]
        want = [(f["name"], f["version"]) for f in self.card.get("filters", [])]
        if want != have:
            raise ModelError(f"{self.model_dir}: model was trained for filters {want}, this version has {have}")

    def _episode(self, images: np.ndarray, dropout_seed: tuple | None = None) -> list[list[Step]]:
        """(B, S, S, 3) linear previews -> per image the list of `steps` Steps. dropout_seed: (a, b) ints for
        seeded dropout (variations), None for none (deterministic)."""
        if self._tf_episode is not None:
            return self._tf_episode(images, dropout_seed)
        images = images.copy()
        state = np.zeros((len(images), STATE_DIM), np.float32)
        chosen: list[list[Step]] = [[] for _ in range(len(images))]
        for k in range(self.steps):
            dropout = None
            if dropout_seed is not None:
                dropout = (self.cfg.dropout, np.random.default_rng([*dropout_seed, k]))
            probs, raw = self.actor(images, state, dropout)
            actions = np.argmax(probs, axis=-1)
            for b, a in enumerate(actions):
                spec = filters.REGISTRY[int(a)]
                step = Step.from_vector(spec.name, spec.map_raw_np(raw[int(a)][b : b + 1])[0])
                chosen[b].append(step)
                images[b] = step.spec.apply(images[b], step.params)
            onehot = np.eye(N_FILTERS, dtype=np.float32)[actions]
            count = state[:, 2:3] + 1.0
            done = (count >= self.steps).astype(np.float32)
            state = np.concatenate([done, done, count, np.maximum(state[:, 3:], onehot)], axis=-1)
        return chosen

    def _recipes(self, chosen: list[list[Step]], extra=None) -> list[Recipe]:
        return [Recipe(tuple(steps), model_id=self.model_id, model_version=self.model_version,
                       extra=extra[b] if extra else {}) for b, steps in enumerate(chosen)]

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
            recipes += self._recipes(self._episode(arr[i : i + CHUNK]))
        return recipes

    def variations(self, preview_lin, n: int) -> list[Recipe]:
        """n alternative Recipes for one (64, 64, 3) preview via dropout sampling, seeded by its content hash."""
        arr = self._batch([preview_lin])
        base = content_seed(arr[0])
        return [self._recipes(self._episode(arr, (base, i)), [{"variation": i, "dropout": self.cfg.dropout}])[0]
                for i in range(n)]

    def render_preview(self, preview_lin, recipe: Recipe) -> np.ndarray:
        """Convenience: the recipe applied to a preview (linear)."""
        return render(recipe, np.asarray(preview_lin, np.float32))


def load_policy(model_path: str | None = None, backend: str | None = None) -> LearnedPolicy:
    """Load a model folder (default: the shipped models/auto, or $EXPOSURE_BATCH_MODEL)."""
    path = model_path or _default_dir()
    if not os.path.isdir(path):
        raise ModelError(f"{path}: model folder not found (train one with `exposure-batch train` or pass --model)")
    return LearnedPolicy(path, backend)
