"""Inference with a trained Exposure agent: 64x64 linear previews -> one Recipe each (reference section 6).

A model with a capture estimate (model card "capture", weights capture.npz; the shipped model has one) first
corrects the capture: agent.capture estimates the exposure error, flattened tone and white-balance cast from the
preview's statistics and the episode opens with the white-box steps that undo them (white balance, exposure, gamma
about middle grey); the actor then runs `capture.actor_steps` steps on the corrected preview. A model without one
runs the actor for all of the card's `steps`.

Each image runs the 5-step episode on its preview: the selector's argmax picks the filter, the parameter head gives
its values (mapped to real units by the filter's own `map_raw_np`), and the step -- exactly as the recipe will hold
it -- is applied to the preview with the filter's NumPy op for the next decision. The steps become the Recipe that
the renderer re-applies at full resolution. The actor runs in NumPy (agent.inference.NumpyActor, the same layers
and weights as the Keras actor used in training): no TensorFlow at inference. EXPOSURE_BATCH_AGENT_BACKEND=tf runs
the actor in TensorFlow instead (agent.policy_tf; same episode around it), which uses a GPU when TensorFlow sees
one; the NumPy actor takes a few ms per image, so that only pays for inference-heavy setups. After the actor: a
white-balance step is guarded (guard_white_balance: it may not push the image's greys away from neutral) and steps
that do (next to) nothing are left out of the recipe (recipe.drop_noop_steps).

Determinism: by default dropout is off, so the same preview gives the same recipe in every run and process, and
the NumPy actor's arithmetic is exact (agent.inference), so also for every thread count, batch size and x86-64 CPU.
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

from .. import color, filters
from ..errors import TRAIN_EXTRA_HINT, ModelError, tensorflow_missing
from ..recipe import Recipe, Step, drop_noop_steps
from ..render import render
from .capture import CAPTURE_FILE, CaptureModel, correction_steps, gentler
from .data import Degradation
from .inference import NumpyActor
from .netconfig import N_FILTERS, STATE_DIM, NetConfig

#: The shipped model, package data read with importlib.resources: exposure_batch/models is the repository's top-level
#: models/ folder (a symlink in the source tree, copied into wheels by setup.py's package_data).
DEFAULT_MODEL_DIR = str(resources.files("exposure_batch") / "models" / "auto")
MODEL_FILE = "actor.npz"
CARD_FILE = "model.json"
CHUNK = 64
#: No-op steps are found on every PRUNE_STRIDE-th preview pixel per axis (and a grid of display colours).
PRUNE_STRIDE = 4
BACKEND_ENV = "EXPOSURE_BATCH_AGENT_BACKEND"


def default_backend() -> str:
    """The inference backend when none is given: $EXPOSURE_BATCH_AGENT_BACKEND ('numpy' or 'tf'), else 'numpy'."""
    return (os.environ.get(BACKEND_ENV) or "numpy").strip().lower()


def _default_dir() -> str:
    return os.environ.get("EXPOSURE_BATCH_MODEL") or DEFAULT_MODEL_DIR


def default_model_dir() -> str:
    """The learned agent's model folder when none is given: $EXPOSURE_BATCH_MODEL, else the shipped models/auto."""
    return _default_dir()


def content_seed(preview: np.ndarray) -> int:
    """63-bit seed from the preview's float32 bytes (same photo -> same seed on every machine)."""
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(preview, np.float32).tobytes()).digest()[:8], "little") >> 1


def _apply_exact(step: Step, image: np.ndarray) -> np.ndarray:
    """The step's NumPy op on a float64 preview (the agent's next input). In float64 the last-bit differences between
    CPUs' vectorised exp/log/pow (about 1e-16) stay far below the actor's input grid (2^-17), so the next decision
    is the same on every machine; in float32 they would move some inputs across a grid step."""
    return np.asarray(step.spec.apply_np(image.copy(), step.spec.prepare(step.params)), dtype=np.float64)


#: Alternatives to the default edit, in the order `variations` offers them: (label, exposure change in EV,
#: white-balance temperature change in stops: red up and blue down for warmer, luminance kept).
VARIATIONS = (
    ("brighter (+0.5 EV)", 0.5, 0.0), ("darker (-0.5 EV)", -0.5, 0.0),
    ("warmer", 0.0, 0.25), ("cooler", 0.0, -0.25),
    ("much brighter (+1 EV)", 1.0, 0.0), ("much darker (-1 EV)", -1.0, 0.0),
    ("brighter and warmer", 0.5, 0.25), ("darker and cooler", -0.5, -0.25),
)


def _shift_exposure(steps: list[Step], ev: float) -> list[Step]:
    """The steps with `ev` stops more exposure: added to the exposure step, or a new one after white balance."""
    if ev == 0:
        return steps
    for k, step in enumerate(steps):
        if step.filter == "exposure":
            low, high = step.spec.params[0].low, step.spec.params[0].high
            return steps[:k] + [Step("exposure", {"ev": float(np.clip(step.params["ev"] + ev, low, high))})] + steps[k + 1 :]
    at = 1 if steps and steps[0].filter == "white_balance" else 0
    return steps[:at] + [Step("exposure", {"ev": ev})] + steps[at:]


def _shift_white_balance(steps: list[Step], temperature: float) -> list[Step]:
    """The steps with a warmer (> 0) or cooler white balance: gains x 2^(+t, 0, -t), grey's luminance kept,
    merged into the white-balance step or a new one first."""
    if temperature == 0:
        return steps
    shift = np.exp2(np.array([temperature, 0.0, -temperature]))
    spec = filters.get("white_balance")
    k = next((k for k, s in enumerate(steps) if s.filter == "white_balance"), None)
    gains = np.array([steps[k].params[c] for c in ("red", "green", "blue")]) if k is not None else np.ones(3)
    gains = gains * shift
    gains /= float(gains @ color.LUMA_WEIGHTS)
    gains = np.clip(gains, [p.low for p in spec.params], [p.high for p in spec.params])
    step = Step("white_balance", dict(zip(("red", "green", "blue"), map(float, gains))))
    return steps[:k] + [step] + steps[k + 1 :] if k is not None else [step] + steps


#: Below this confidence of the capture estimate (agent.capture.confidence) its correction is made gentler, down to
#: GENTLE_FLOOR of its strength at confidence 0; the recipe's extra says so ("capture": {"gentler", "note"}).
LOW_CONFIDENCE = 0.5
GENTLE_FLOOR = 0.6


def gentle_strength(estimate: Degradation, confidence: float) -> float | None:
    """The strength in (0, 1) at which a capture correction of this confidence is applied (GENTLE_FLOOR +
    (1 - GENTLE_FLOOR) confidence / LOW_CONFIDENCE below LOW_CONFIDENCE), None when it is applied in full (a flat
    frame's no-error estimate included)."""
    if confidence < LOW_CONFIDENCE and estimate != Degradation():
        return GENTLE_FLOOR + (1.0 - GENTLE_FLOOR) * confidence / LOW_CONFIDENCE
    return None


#: How the capture estimate's white balance is guarded (model card `capture.white_balance_guard`; the actor's white
#: balance always gets the full guard): "reference" (the default, models up to 20261130.x) applies all of
#: guard_white_balance's rules; "greys" only its colour-variety and grey-pixel rules, for a model whose estimate
#: reads casts a dominant colour does not explain away and has a cast dead zone (CaptureModel.dead_zone_cast).
#: Measured on the val photos with 20261207's estimate, the reference rule cut the cool-cast share taken back from
#: 0.54 to 0.14: in a colourful photo the least saturated pixels of a cool-cast frame are warm objects the cast made
#: grey (or the image's warm mean colour), so warming them back "moved greys away from neutral", and 7 of 21 photos
#: got no correction at all (tools/capture_diagnose.py; docs/model-card.md).
CAPTURE_GUARDS = ("reference", "greys")

#: Colour variety (RMS log chromaticity around the mean) from which a white balance may move colours fully.
CHROMA_SPREAD_FULL = 0.1
#: Casts below this (natural-log chromaticity, about 0.5%: under 1 CIEDE2000 on greys) count as neutral.
NEUTRAL_TOLERANCE = 0.005
#: A pixel within this natural-log chromaticity of neutral (about 1%) counts as grey ...
GREY_PIXEL_TOLERANCE = 0.01
#: ... and when this share of the well-exposed pixels is grey, the greys are taken as evidence that the balance is
#: right: a white balance may then not move them beyond NEUTRAL_TOLERANCE (below it, in proportion).
GREY_SHARE_FULL = 0.2


#: The pixels most likely to be grey: the least saturated REFERENCE_SHARE of the well-exposed pixels (by their
#: log-chromaticity distance from the image's mean). Their mean chromaticity is the guard's reference cast.
REFERENCE_SHARE = 0.2


def guard_white_balance(step: Step, image_lin: np.ndarray, reference: bool = True) -> Step:
    """Take a real cast back, leave a photo with no cast alone: a white-balance step may move the image's
    most-likely-grey pixels (the least saturated REFERENCE_SHARE of its well-exposed pixels, in log chromaticity)
    towards neutral, never further from neutral than they were (or than NEUTRAL_TOLERANCE); and the less the image's
    colours vary (CHROMA_SPREAD_FULL) or the more of its pixels are already grey (GREY_SHARE_FULL) the less it may
    move them at all. A larger move is scaled back in log-gain space (the step stays a white balance, blended towards
    identity).
    reference=False (the capture estimate's white balance under a "greys" guard, CAPTURE_GUARDS): only the last two
    rules (colour variety, grey pixels); the estimate may move the least saturated pixels past their own cast.
    The reference used to be the grey world (all well-exposed pixels' mean): one dominant colour (grass, sky, a red
    wall) then read as a cast, and a correction of a real cast that moved the average towards that colour was
    refused (20261130: a cool cast taken back 0.00 of the time on independent photos). The least saturated pixels
    are what a cast tints and what no dominant colour owns.
    image_lin: (H, W, 3) linear working space, the image the step is applied to."""
    x = np.asarray(image_lin, np.float64).reshape(-1, 3)
    ok = (x.min(axis=1) > 1e-4) & (x.max(axis=1) < 1.0)  # well-exposed, unclipped
    if ok.sum() < 16:
        return step
    log_rgb = np.log(x[ok])
    chroma = log_rgb - log_rgb.mean(axis=1, keepdims=True)  # per-pixel log chromaticity, zero for grey
    world = chroma.mean(axis=0)
    distance = np.sqrt(np.sum((chroma - world) ** 2, axis=1))
    order = np.argsort(distance, kind="stable")
    greyest = chroma[order[: max(8, int(len(order) * REFERENCE_SHARE))]]
    pale = np.sqrt(np.sum(chroma**2, axis=1))
    pale_order = np.argsort(pale, kind="stable")
    palest = chroma[pale_order[: max(8, int(len(pale_order) * REFERENCE_SHARE))]]
    # the reference: the least saturated pixels, both as distance from the image's own mean colour and from neutral
    cast = 0.5 * (greyest.mean(axis=0) + palest.mean(axis=0))
    log_gains = np.log([step.params[c] for c in ("red", "green", "blue")])
    move = log_gains - log_gains.mean()
    aa = float(move @ move)
    if aa < 1e-12:
        return step
    reach = max(float(np.linalg.norm(cast)), NEUTRAL_TOLERANCE)
    bb, cc = float(cast @ move), float(cast @ cast) - reach**2
    t = 1.0
    if reference and float(np.linalg.norm(cast + move)) > reach:
        t = max(0.0, min(1.0, (-bb + np.sqrt(max(bb * bb - aa * cc, 0.0))) / aa))
    # A frame of one colour gives no evidence of a cast (a blue wall is not a blue cast): the less the colours vary,
    # the less the white balance may move them.
    spread = float(np.sqrt(np.mean(np.sum((chroma - world) ** 2, axis=1))))
    cap = max(NEUTRAL_TOLERANCE, min(1.0, spread / CHROMA_SPREAD_FULL) * t * np.sqrt(aa))
    # Many exactly grey pixels (a grey card, a white wall, a chart's background) are no cast: keep them grey.
    grey_share = float(np.mean(pale < GREY_PIXEL_TOLERANCE))
    cap = min(cap, max(NEUTRAL_TOLERANCE, (1.0 - min(grey_share / GREY_SHARE_FULL, 1.0)) * cap))
    t = min(t, cap / np.sqrt(aa))
    if t >= 1.0:
        return step
    gains = np.exp(t * log_gains)
    gains /= float(gains @ color.LUMA_WEIGHTS)
    return Step("white_balance", dict(zip(("red", "green", "blue"), map(float, gains))))


class LearnedPolicy:
    """A loaded model. Attributes: wants = "preview", model_id, model_version, card (dict), actor (NumpyActor)."""

    wants = "preview"

    def __init__(self, model_dir: str, backend: str | None = None, capture_arrays: dict | None = None):
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
        self.capture = self._load_capture(capture_arrays)
        #: How the capture estimate's white balance is guarded (CAPTURE_GUARDS).
        self.capture_guard = str((self.card.get("capture") or {}).get("white_balance_guard", CAPTURE_GUARDS[0]))
        if self.capture_guard not in CAPTURE_GUARDS:
            raise ModelError(f"{card_path}: capture.white_balance_guard {self.capture_guard!r}: choose one of "
                             f"{', '.join(CAPTURE_GUARDS)}")
        if self.capture is not None:
            self.steps = int((self.card.get("capture") or {}).get("actor_steps", 0))
        self._tf_actor = None
        if self.backend == "tf":
            try:
                from .policy_tf import TFActor  # noqa: PLC0415  (imports TensorFlow)
            except ImportError as err:
                if tensorflow_missing(err):
                    raise ModelError(f"agent backend 'tf': {TRAIN_EXTRA_HINT}") from None
                raise

            self._tf_actor = TFActor(self.cfg, arrays)

    def _load_capture(self, arrays: dict | None) -> CaptureModel | None:
        """The model's capture estimate (card "capture", weights capture.npz), `arrays` instead when given (training
        tries settings with it); None for a model without one (the actor decides every step)."""
        if arrays is None and not self.card.get("capture"):
            return None
        path = os.path.join(self.model_dir, str((self.card.get("capture") or {}).get("file", CAPTURE_FILE)))
        try:
            if arrays is None:
                with np.load(path) as z:
                    arrays = {k: z[k] for k in z.files}
            return CaptureModel(arrays)
        except (OSError, ValueError, KeyError) as err:
            raise ModelError(f"{path}: cannot load the capture estimate ({err})") from None

    def _correct_capture(self, images: np.ndarray, chosen: list[list[Step]],
                         statistics: np.ndarray | None = None) -> list[dict]:
        """The capture estimate's steps (white balance guarded as `capture_guard` says; identities left out, e.g.
        gamma 1), appended to `chosen` and applied to `images` (float64 previews, in place). Below LOW_CONFIDENCE the
        correction is made
        gentler (gentler(), at strength GENTLE_FLOOR + (1 - GENTLE_FLOOR) confidence / LOW_CONFIDENCE), and says so.
        Returns per image the recipe's `extra` entries: {"capture": {"confidence", "ev", "temperature", "tint"
        [, "gentler", "note"]}}. statistics: the images' capture statistics when already computed."""
        infos = []
        for b, (estimate, conf) in enumerate(self.capture.assess(images, statistics)):
            info = {"confidence": round(conf, 3), "ev": round(-estimate.ev, 3),
                    "temperature": round(-estimate.temperature, 3), "tint": round(-estimate.tint, 3)}
            strength = gentle_strength(estimate, conf)
            if strength is not None:
                estimate = gentler(estimate, strength)
                info |= {"gentler": round(strength, 3),
                         "note": f"low confidence ({conf:.2f}): the capture correction was applied at "
                                 f"{strength:.0%} strength; worth a look"}
            infos.append({"capture": info})
            for step in correction_steps(estimate):
                if step.filter == "white_balance":
                    step = guard_white_balance(step, images[b], reference=self.capture_guard == "reference")
                if dict(step.params) == step.spec.identity():
                    continue
                chosen[b].append(step)
                images[b] = _apply_exact(step, images[b])
        return infos

    def correct_previews(self, previews_lin: np.ndarray) -> np.ndarray:
        """(B, S, S, 3) linear previews -> the same after the capture correction alone (float32): what the actor
        sees at its first step (training an actor for a capture estimate starts from these)."""
        images = np.array(previews_lin, dtype=np.float64)
        if self.capture is not None:
            self._correct_capture(images, [[] for _ in range(len(images))])
        return images.astype(np.float32)

    def _check_filters(self) -> None:
        have = [(f.name, f.version) for f in filters.AGENT_ACTIONS]
        want = [(f["name"], f["version"]) for f in self.card.get("filters", [])]
        if want != have:
            raise ModelError(f"{self.model_dir}: model was trained for filters {want}, this version has {have}")

    def _episode(self, images: np.ndarray, dropout_seed: tuple | None = None,
                 statistics: np.ndarray | None = None) -> tuple[list[list[Step]], list[dict]]:
        """(B, S, S, 3) linear previews -> (per image its Steps: the capture correction (when the model has one),
        then `steps` actor steps; per image its recipe `extra`: the capture estimate's confidence). dropout_seed:
        (a, b) ints for seeded dropout (variations), None for none (deterministic). statistics: the previews'
        capture statistics (CaptureModel.statistics) when already computed."""
        images = np.array(images, dtype=np.float64)  # the episode's previews in float64: see _apply_exact
        state = np.zeros((len(images), STATE_DIM), np.float64)
        chosen: list[list[Step]] = [[] for _ in range(len(images))]
        infos: list[dict] = [{} for _ in range(len(images))]
        if self.capture is not None:
            infos = self._correct_capture(images, chosen, statistics)
        for k in range(self.steps):
            if self._tf_actor is not None:
                seed = None if dropout_seed is None else \
                    [dropout_seed[0] & 0x7FFFFFFF, ((dropout_seed[0] >> 31) + dropout_seed[1] + 7919 * k) & 0x7FFFFFFF]
                actions, raw = self._tf_actor.decide(images, state, seed)
            else:
                dropout = None
                if dropout_seed is not None:
                    dropout = (self.cfg.dropout, np.random.default_rng([*dropout_seed, k]))
                actions, raw = self.actor.decide(images, state, dropout)
            for b, a in enumerate(actions):
                spec = filters.AGENT_ACTIONS[int(a)]
                step = Step.from_vector(spec.name, spec.map_raw_np(raw[b][None, :])[0])
                if step.filter == "white_balance":
                    step = guard_white_balance(step, images[b])
                chosen[b].append(step)
                images[b] = _apply_exact(step, images[b])
            onehot = np.eye(N_FILTERS, dtype=np.float64)[actions]
            count = state[:, 2:3] + 1.0
            done = (count >= self.steps).astype(np.float32)
            state = np.concatenate([done, done, count, np.maximum(state[:, 3:], onehot)], axis=-1)
        return chosen, infos

    def _recipes(self, chosen: list[list[Step]], infos: list[dict], previews: np.ndarray, extra=None) -> list[Recipe]:
        """Steps -> Recipes, without the steps that do (next to) nothing on the preview (recipe.drop_noop_steps);
        extra: the episode's `infos` (capture confidence) and `extra` (per image) merged."""
        return [Recipe(drop_noop_steps(steps, previews[b, ::PRUNE_STRIDE, ::PRUNE_STRIDE]), model_id=self.model_id,
                       model_version=self.model_version, extra=infos[b] | (extra[b] if extra else {}))
                for b, steps in enumerate(chosen)]

    def _batch(self, previews_lin) -> np.ndarray:
        arr = np.asarray(np.stack([np.asarray(p, np.float32) for p in previews_lin]), np.float32)
        size = self.cfg.preview
        if arr.ndim != 4 or arr.shape[1:] != (size, size, 3):
            raise ModelError(f"learned agent needs ({size}, {size}, 3) previews, got {arr.shape[1:]}")
        return np.nan_to_num(arr, nan=0.0, posinf=1e4, neginf=0.0)

    def decide(self, previews_lin, infos=None) -> list[Recipe]:
        """list of (64, 64, 3) float32 linear ProPhoto previews -> one deterministic Recipe each."""
        return self.decide_with_statistics(previews_lin, infos)[0]

    def decide_with_statistics(self, previews_lin, infos=None) -> tuple[list[Recipe], np.ndarray | None]:
        """decide()'s recipes and the (B, n_features) float64 capture statistics the capture estimate read from
        the previews (None for a model without one): a profile's familiarity reuses them instead of computing
        them again."""
        if len(previews_lin) == 0:
            return [], None
        arr = self._batch(previews_lin)
        recipes: list[Recipe] = []
        statistics = []
        for i in range(0, len(arr), CHUNK):
            chunk = arr[i : i + CHUNK]
            stats = None
            if self.capture is not None:  # what _correct_capture reads: the chunk in float64
                stats = self.capture.statistics(np.asarray(chunk, np.float64))
                statistics.append(stats)
            recipes += self._recipes(*self._episode(chunk, statistics=stats), chunk)
        return recipes, (np.concatenate(statistics) if statistics else None)

    def variations(self, preview_lin, n: int) -> list[Recipe]:
        """n Recipes for one (64, 64, 3) preview: the default edit first, then the VARIATIONS (the default made
        brighter, darker, warmer, cooler, ... : each visibly different), then the paper's dropout samples, seeded by
        the preview's content hash (same photo -> same n edits). extra: {"variation": index, "change": what}."""
        arr = self._batch([preview_lin])
        default = self._recipes(*self._episode(arr), arr, [{"variation": 0, "change": "default"}])[0]
        out = [default]
        for i, (label, ev, temperature) in enumerate(VARIATIONS[: n - 1], start=1):
            steps = _shift_white_balance(_shift_exposure(list(default.steps), ev), temperature)
            out.append(Recipe(tuple(steps), model_id=self.model_id, model_version=self.model_version,
                              extra={k: v for k, v in default.extra.items() if k == "capture"}
                              | {"variation": i, "change": label}))
        base = content_seed(arr[0])
        for i in range(len(out), n):
            out += self._recipes(*self._episode(arr, (base, i)), arr,
                                 [{"variation": i, "change": "dropout sample", "dropout": self.cfg.dropout}])
        return out

    def render_preview(self, preview_lin, recipe: Recipe) -> np.ndarray:
        """Convenience: the recipe applied to a preview (linear)."""
        return render(recipe, np.asarray(preview_lin, np.float32))


def load_policy(model_path: str | None = None, backend: str | None = None) -> LearnedPolicy:
    """Load a model folder (default: the shipped models/auto, or $EXPOSURE_BATCH_MODEL)."""
    path = model_path or _default_dir()
    if not os.path.isdir(path):
        raise ModelError(f"{path}: model folder not found (train one with `exposure-batch train` or pass --model)")
    return LearnedPolicy(path, backend)
