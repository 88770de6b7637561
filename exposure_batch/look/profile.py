"""A studio profile on disk and as a recipe source.

A profile folder holds:
  profile.json       the card: name, the agent it was learned on top of (kind, model id/version, weights SHA-256),
                     the look (its steps at the reference statistic, the adaptive exposure slope), validation
                     figures (no edit / default agent / profile / 3x3 reference: CIEDE2000, PSNR), training facts
  look.recipe.json   the look part alone as an ordinary recipe (what `export-look --profile` exports)
  history.jsonl      the fit's loss history, one JSON line per iteration, written as it goes
  decisions.npz      (profiles that learned per-photo decisions) the fine-tuned capture estimate (capture.npz's
                     arrays) and the training pairs' standardised capture statistics (`familiarity/train`)

As a recipe source (`ProfileSource`), a profile runs its agent -- with the profile's own capture estimate and no
actor step when it learned per-photo decisions -- then appends the look's steps: every edit is one plain recipe
(model id "profile:NAME") that renderers and sidecar writers treat like any other. Each recipe also records how far
the photo lies from the studio's training pairs (`extra.profile.familiarity`: distance and level high / medium /
low), so the photos to review first can be listed.

Exports: CARD_FILE, LOOK_FILE, HISTORY_FILE, Profile, load_profile, agent_identity, current_agent_identity,
ProfileSource, make_profile_source, build_source (the "profile" recipe source), agent_mismatch.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from .. import filters
from ..errors import ProfileError, RecipeError
from ..recipe import Recipe, Step
from .model import LAYOUT, LAYOUT_V1, LookModel, agent_key

log = logging.getLogger(__name__)

FORMAT = "exposure-batch/profile"
FORMAT_VERSION = 2
CARD_FILE = "profile.json"
LOOK_FILE = "look.recipe.json"
HISTORY_FILE = "history.jsonl"
DECISIONS_FILE = "decisions.npz"
#: Key of the training pairs' standardised capture statistics in decisions.npz.
FAMILIARITY_KEY = "familiarity/train"


@dataclass
class Profile:
    """name; agent: {"kind": "learned" | "classic", "model_id", "model_version", "weights_sha256"}; steps: the look
    at key offset 0; slope / key_ref: adaptive exposure (slope 0: not adaptive); card: everything else."""

    name: str
    agent: dict
    steps: tuple[Step, ...]
    slope: float = 0.0
    key_ref: float = 0.0
    card: dict = field(default_factory=dict)
    decisions: dict | None = None  # decisions.npz arrays (see the module docstring), None: the agent decides alone

    @property
    def adaptive(self) -> bool:
        return self.slope != 0.0

    @functools.cached_property
    def profile_id(self) -> str:
        """Short content hash of the look and its agent: recipes carry it as the model version."""
        text = json.dumps([[s.to_dict() for s in self.steps], self.slope, self.key_ref, self.agent], sort_keys=True)
        h = hashlib.sha256(text.encode())
        for key in sorted(self.decisions or {}):
            h.update(key.encode())
            h.update(np.ascontiguousarray(self.decisions[key]).tobytes())
        return h.hexdigest()[:12]

    def capture_arrays(self) -> dict | None:
        """The fine-tuned capture estimate's arrays (None without per-photo decisions)."""
        if self.decisions is None:
            return None
        return {k: v for k, v in self.decisions.items() if not k.startswith("familiarity/")}

    @functools.cached_property
    def familiarity(self):
        """decisions.Familiarity of the training pairs, or None."""
        if not self.decisions or FAMILIARITY_KEY not in self.decisions:
            return None
        from .decisions import Familiarity  # noqa: PLC0415

        return Familiarity(self.decisions[FAMILIARITY_KEY])

    def look_recipe(self) -> Recipe:
        """The look part alone (at the reference statistic) as a recipe."""
        return Recipe(self.steps, model_id=f"profile:{self.name} (look only)", model_version=self.profile_id)

    def to_card(self) -> dict:
        card = dict(self.card)
        card.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name, "id": self.profile_id,
            "agent": dict(self.agent),
            "look": {
                "layout": [name for name, _ in LAYOUT],
                "steps": [s.to_dict() for s in self.steps],
                "adaptive_exposure": {"statistic": "log2 geometric-mean luminance of the agent-corrected agent input",
                                      "key_ref": round(self.key_ref, 6), "slope": round(self.slope, 6)},
            },
        })
        return card

    def save(self, folder: str) -> list[str]:
        """Write profile.json and look.recipe.json atomically into folder (created)."""
        from ..io.write import atomic_write  # noqa: PLC0415

        os.makedirs(folder, exist_ok=True)
        written = []
        if self.decisions is not None:
            path = os.path.join(folder, DECISIONS_FILE)
            with atomic_write(path, "wb") as fh:
                np.savez(fh, **self.decisions)
            written.append(path)
        card_path = os.path.join(folder, CARD_FILE)
        with atomic_write(card_path, "w") as fh:
            fh.write(json.dumps(self.to_card(), indent=2, ensure_ascii=False) + "\n")
        return written + [card_path, self.look_recipe().save(os.path.join(folder, LOOK_FILE))]

    # --- applying ---------------------------------------------------------------------------------------------
    def look_steps(self, key: float | None) -> tuple[Step, ...]:
        """The look's steps for one photo whose agent-corrected key is `key` (None: at the reference)."""
        if not self.adaptive or key is None:
            return self.steps
        # Only the exposure step depends on the photo: the others are shared.
        model, theta, index = self._adaptive_parts
        block = model.blocks[index]
        ev = Step.from_vector(block.filter, model.block_vector(theta, block, key - self.key_ref))
        return self.steps[:index] + (ev,) + self.steps[index + 1 :]

    @functools.cached_property
    def _adaptive_parts(self):
        model = LookModel(adaptive=True)
        index = next(i for i, b in enumerate(model.blocks) if b.filter == "exposure")
        return model, model.theta_from_steps(self.steps, self.slope), index


def load_profile(folder: str) -> Profile:
    """Read a profile folder; ProfileError names the folder and the problem in one line."""
    path = os.path.join(folder, CARD_FILE)
    if not os.path.isdir(folder):
        raise ProfileError(f"{folder}: profile folder not found (make one with `exposure-batch learn`)")
    try:
        with open(path, encoding="utf-8") as fh:
            card = json.load(fh)
    except OSError:
        raise ProfileError(f"{folder}: not a profile folder (no {CARD_FILE})") from None
    except json.JSONDecodeError as err:
        raise ProfileError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ProfileError(f"{path}: not an exposure-batch profile card")
    if int(card.get("format_version", 0)) > FORMAT_VERSION:
        raise ProfileError(f"{path}: profile format {card.get('format_version')} is newer than this exposure-batch")
    try:
        look = card["look"]
        steps = tuple(Step(s["filter"], s["params"], int(s.get("version", 0))) for s in look["steps"])
        adaptive = look.get("adaptive_exposure") or {}
        agent = dict(card["agent"])
    except (KeyError, TypeError, ValueError, RecipeError) as err:
        raise ProfileError(f"{path}: malformed look ({err})") from None
    if [s.filter for s in steps] == [name for name, _ in LAYOUT_V1]:  # format 1: no matte step yet
        steps = steps + (Step("matte", filters.get("matte").identity()),)
    if [s.filter for s in steps] != [name for name, _ in LAYOUT]:
        raise ProfileError(f"{path}: look steps {[s.filter for s in steps]} do not match this version's layout")
    decisions = None
    if card.get("decisions"):
        dpath = os.path.join(folder, DECISIONS_FILE)
        try:
            with np.load(dpath) as z:
                decisions = {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise ProfileError(f"{dpath}: cannot read the profile's per-photo decisions ({err})") from None
    return Profile(str(card.get("name", os.path.basename(os.path.normpath(folder)))), agent, steps,
                   float(adaptive.get("slope", 0.0)), float(adaptive.get("key_ref", 0.0)), card, decisions)


def _weights_sha(model_dir: str) -> str | None:
    """SHA-256 of the model's weights: the actor's, then the capture estimate's when the model has one."""
    from ..agent.capture import CAPTURE_FILE  # noqa: PLC0415
    from ..agent.policy import MODEL_FILE  # noqa: PLC0415

    paths = [os.path.join(model_dir, MODEL_FILE)]
    if os.path.exists(os.path.join(model_dir, CAPTURE_FILE)):
        paths.append(os.path.join(model_dir, CAPTURE_FILE))
    try:
        h = hashlib.sha256()
        for path in paths:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def agent_identity(agent) -> dict:
    """{"kind", "model_id", "model_version", "weights_sha256"} of a loaded agent (classic or learned)."""
    model_dir = getattr(agent, "model_dir", None)
    if model_dir is None:
        return {"kind": "classic", "model_id": str(getattr(agent, "model_id", "classic")), "model_version": "1",
                "weights_sha256": None}
    return {"kind": "learned", "model_id": agent.model_id, "model_version": agent.model_version,
            "weights_sha256": _weights_sha(model_dir)}


def agent_mismatch(profile: Profile, identity: dict) -> str | None:
    """One line saying how the loaded agent differs from the one the profile was learned with, or None."""
    want = profile.agent
    if want.get("kind") != identity.get("kind"):
        return (f"profile '{profile.name}' was learned on the {want.get('kind')} agent, not {identity.get('kind')}")
    if want.get("weights_sha256") and identity.get("weights_sha256") and \
            want["weights_sha256"] != identity["weights_sha256"]:
        return (f"profile '{profile.name}' was learned with agent model {want.get('model_id')} "
                f"{want.get('model_version')} (weights {want['weights_sha256'][:12]}), but model "
                f"{identity.get('model_id')} {identity.get('model_version')} (weights "
                f"{identity['weights_sha256'][:12]}) is loaded: the look may not fit its corrections; "
                "re-run `exposure-batch learn` or pass the original --model")
    return None


def current_agent_identity(profile: Profile, model_path: str | None = None) -> dict:
    """Identity of the agent `process --profile` would load for this profile, without loading its weights."""
    if profile.agent.get("kind") != "learned":
        return {"kind": profile.agent.get("kind", "classic"), "model_id": "classic", "model_version": "1",
                "weights_sha256": None}
    from ..agent.policy import CARD_FILE as MODEL_CARD, default_model_dir  # noqa: PLC0415

    model_dir = model_path or default_model_dir()
    try:
        with open(os.path.join(model_dir, MODEL_CARD), encoding="utf-8") as fh:
            card = json.load(fh)
    except (OSError, json.JSONDecodeError):
        card = {}
    return {"kind": "learned", "model_id": str(card.get("id", os.path.basename(os.path.normpath(model_dir)))),
            "model_version": str(card.get("version", "1")), "weights_sha256": _weights_sha(model_dir)}


class ProfileSource:
    """Recipe source: the profile's agent decides each photo's correction, the look follows. Adds a few tenths of a
    millisecond per photo (one agent-recipe pass over at most KEY_PIXELS pixels of the agent input when the look is
    adaptive, plus building the steps).

    check: compare the loaded agent with the profile's (hashes the agent's weights) and log a warning when they
    differ. A run's worker processes build their source with check=False: the run checked once, before they
    started (runs.batch.profile_warning), so the weights are not re-hashed and the warning not repeated per worker.
    """

    def __init__(self, profile: Profile, agent, check: bool = True):
        self.profile = profile
        self.agent = decision_agent(profile, agent)
        agent = self.agent
        self.wants = agent.wants
        self.model_id = f"profile:{profile.name}"
        self.model_version = profile.profile_id
        self.identity = self.mismatch = None
        if check:
            self.identity = agent_identity(agent)
            self.mismatch = agent_mismatch(profile, self.identity)
            if self.mismatch:
                log.warning("%s", self.mismatch)

    def _key(self, agent_in, recipe: Recipe) -> float | None:
        if not self.profile.adaptive or agent_in is None:
            return None
        return agent_key(agent_in, recipe.steps)

    def decide(self, inputs, infos=None) -> list[Recipe]:
        with_statistics = getattr(self.agent, "decide_with_statistics", None)
        if self.profile.familiarity is None or with_statistics is None:
            return self.add_look(inputs, self.agent.decide(inputs, infos))
        # the familiarity reads the capture statistics the agent's capture estimate has just computed
        recipes, statistics = with_statistics(inputs, infos)
        return self.add_look(inputs, recipes, statistics)

    def familiarity(self, agent_in, statistics: np.ndarray | None = None) -> dict | None:
        """{"distance", "level"} of one photo's agent input from the training pairs (None without a record).
        statistics: its capture statistics (at least the first n_features of capture_features) when the agent
        already computed them; else they are computed here."""
        fam = self.profile.familiarity
        if fam is None or (agent_in is None and statistics is None):
            return None
        cap = self.agent.capture
        if statistics is None:
            from ..agent.capture import capture_features  # noqa: PLC0415

            statistics = capture_features(np.asarray(agent_in, np.float64))
        x = (np.asarray(statistics, np.float64)[: cap.n_features] - cap.feature_mean) / cap.feature_scale
        dist = round(fam.distance(x), 3)
        return {"distance": dist, "level": fam.level(dist)}

    def add_look(self, inputs, recipes: list[Recipe], statistics: np.ndarray | None = None) -> list[Recipe]:
        """The agent's recipes followed by the look (adapted to each photo's agent-corrected key). statistics:
        (B, F) capture statistics of the inputs when the agent computed them (decide_with_statistics)."""
        out = []
        for i, (agent_in, r) in enumerate(zip(inputs, recipes)):
            key = self._key(agent_in, r)
            fam = self.familiarity(agent_in, None if statistics is None else statistics[i])
            profile = {"name": self.profile.name, "id": self.profile.profile_id,
                       "agent": {"model_id": r.model_id, "model_version": r.model_version},
                       "agent_steps": len(r.steps), "look_steps": len(self.profile.steps),
                       **({"key": round(key, 4)} if key is not None else {}),
                       **({"familiarity": fam} if fam is not None else {})}
            # the agent's capture confidence stays (the report's "worth a look" list)
            extra = {k: v for k, v in r.extra.items() if k == "capture"} | {"profile": profile}
            out.append(Recipe(tuple(r.steps) + self.profile.look_steps(key), model_id=self.model_id,
                              model_version=self.model_version, extra=extra))
        return out


def decision_agent(profile: Profile, agent):
    """The agent a profile decides with: `agent` itself, or -- when the profile learned per-photo decisions -- the
    same learned model running the profile's fine-tuned capture estimate and the profile's actor steps (0)."""
    arrays = profile.capture_arrays()
    if arrays is None or getattr(agent, "model_dir", None) is None:
        return agent
    from ..agent.policy import LearnedPolicy  # noqa: PLC0415

    tuned = LearnedPolicy(agent.model_dir, getattr(agent, "backend", None), capture_arrays=arrays)
    tuned.steps = int((profile.card.get("decisions") or {}).get("actor_steps", 0))
    return tuned


def make_profile_source(folder: str, model_path: str | None = None, check: bool = True) -> ProfileSource:
    """Load a profile and the agent it names (learned: `model_path`, else the default model); `check`: see
    ProfileSource."""
    from ..sources import make_source  # noqa: PLC0415

    profile = load_profile(folder)
    kind = profile.agent.get("kind", "learned")
    return ProfileSource(profile, make_source(kind, model_path=model_path if kind == "learned" else None), check)


def build_source(spec) -> ProfileSource:
    """sources.SOURCES["profile"]: the profile at spec.profile_path on its agent (spec.model_path for a learned one).
    Not checked against the agent here: whoever starts a run says it once (runs.batch.profile_warning), not every
    worker that builds the source."""
    return make_profile_source(spec.profile_path, spec.model_path, check=False)
