"""`learn`: fit a studio's look on top of the agent from before/after pairs, validate it, and write the profile.

    pairs -> decode both (threads) -> picture groups (look.groups: crops of one photo, bursts; or --scenes) and a
    held-out split that no group straddles -> then, with a learned agent (per-photo decisions, look.decisions):
    alternate the look (fit.fit_look on every pair's corrected pixels) and each pair's own capture correction
    under it; fine-tune the capture estimate on those corrections (penalty by grouped cross-validation, shrunk
    towards the shipped estimate); refit the look on the fine-tuned estimate's out-of-fold corrections -> figures
    on the held-out pairs exactly as `process --profile` decides them, with a bootstrap interval over groups ->
    profile folder. With the classic agent (or --no-per-photo): the look alone on top of the agent's recipes.

Exports: LearnOptions, LearnReport, learn, evaluate_pairs, agent_corrections, apply_steps.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .. import __version__
from ..agent.capture import CaptureModel
from ..errors import ExposureBatchError, ProfileError
from . import fit as fitting
from .model import LookModel, agent_key
from .groups import bootstrap_interval, read_scenes_csv
from .pairs import MIN_PAIRS, PairData, assign_scenes, find_pairs, load_pair, split_by_scene
from .profile import CARD_FILE, DECISIONS_FILE, FAMILIARITY_KEY, HISTORY_FILE, Profile, ProfileSource, agent_identity


@dataclass
class LearnOptions:
    """Settings of one `learn` run (see the CLI for their meaning)."""

    name: str | None = None
    agent: str = "learned"
    model_path: str | None = None
    csv_path: str | None = None
    val_dirs: tuple[str, str] | None = None
    val_share: float = 0.2
    seed: int = 0
    thumb_side: int = 96
    train_pixels: int = 16000
    val_pixels: int = 16000
    iterations: int = 40
    adaptive: bool = True
    skip_bad_pairs: bool = False
    overwrite: bool = False
    threads: int = 2
    per_photo: bool = True
    scenes_csv: str | None = None
    rounds: int = 3
    pair_pixels: int = 400
    #: Below this many pairs (per-photo decisions, no --val-dir), the held-out figure is cross-validated over
    #: cv_folds folds of picture groups instead of one held-out share (a few held-out pairs give a noisy figure);
    #: the profile is then learned on all the pairs.
    cv_below: int = 60
    cv_folds: int = 5


@dataclass
class LearnReport:
    profile: Profile
    folder: str
    validation: dict
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


Progress = Callable[[str, int, int, str], None]  # (phase, done, total, text)


def _no_progress(phase: str, done: int, total: int, text: str = "") -> None:
    pass


def _load_all(specs, source, opts: LearnOptions, progress: Progress, phase: str) -> tuple[list[PairData], list[str]]:
    loaded: list[PairData | None] = [None] * len(specs)
    errors: list[str] = []

    def one(i):
        try:
            loaded[i] = load_pair(specs[i], source, opts.thumb_side)
        except ExposureBatchError as err:
            errors.append(" ".join(str(err).split()))

    with ThreadPoolExecutor(max(1, opts.threads)) as pool:
        for k, _ in enumerate(pool.map(one, range(len(specs))), 1):
            progress(phase, k, len(specs), "")
    return [p for p in loaded if p is not None], sorted(errors)


def _check_errors(errors: list[str], opts: LearnOptions, notes: list[str]) -> None:
    if not errors:
        return
    if not opts.skip_bad_pairs:
        more = f" (and {len(errors) - 1} more bad pair(s))" if len(errors) > 1 else ""
        raise ProfileError(f"{errors[0]}{more}; fix or remove them, or pass --skip-bad-pairs")
    notes += [f"left out: {e}" for e in errors]


def agent_corrections(pairs: list[PairData], agent) -> tuple[list, np.ndarray]:
    """Agent recipes (batched, as `process` decides) and each pair's agent-corrected key."""
    recipes = []
    for i in range(0, len(pairs), 64):
        chunk = pairs[i : i + 64]
        recipes += agent.decide([p.agent_in for p in chunk], None)
    keys = np.array([agent_key(p.agent_in, r.steps) if p.agent_in is not None else
                     agent_key(p.before_lin, r.steps) for p, r in zip(pairs, recipes)])
    return recipes, keys


def apply_steps(lin: np.ndarray, steps) -> np.ndarray:
    """Recipe steps applied with their exact NumPy ops to a copy of (..., 3) float32 linear ProPhoto pixels."""
    out = np.array(lin, np.float32, copy=True)
    for s in steps:
        out = s.spec.apply_np(out, s.spec.prepare(s.params))
    return out


def _fit_data(pairs, corrected, keys, key_ref, total: int, rng) -> fitting.FitData:
    per = max(64, total // max(1, len(pairs)))
    xs, ys, ks = [], [], []
    for p, c, k in zip(pairs, corrected, keys):
        flat_c, flat_t = c.reshape(-1, 3), p.after_lin.reshape(-1, 3)
        idx = rng.choice(len(flat_c), size=min(per, len(flat_c)), replace=False)
        xs.append(flat_c[idx]), ys.append(flat_t[idx]), ks.append(np.full(len(idx), k - key_ref))
    y = np.concatenate(ys)
    return fitting.FitData(np.concatenate(xs).astype(np.float32), fitting.lab_display(y), np.concatenate(ks)), y


def evaluate_pairs(pairs: list[PairData], corrected: list[np.ndarray], keys: np.ndarray, profile: Profile | None,
                   reference_w: np.ndarray | None) -> dict:
    """Mean over pairs of per-image mean CIEDE2000 and PSNR (display sRGB) for no edit, the default agent, the
    profile and the 3x3 reference. corrected[i]: pair i's before thumbnail after the agent's recipe."""
    from ..agent.data import display_np  # noqa: PLC0415
    from ..agent.evaluate import ciede2000, psnr  # noqa: PLC0415

    rows: dict[str, list] = {"no_edit": [], "default_agent": [], "profile": [], "reference_3x3": []}
    for p, c, k in zip(pairs, corrected, keys):
        target = display_np(p.after_lin)
        outs = {"no_edit": p.before_lin, "default_agent": c}
        if profile is not None:
            outs["profile"] = apply_steps(c, profile.look_steps(k))
        if reference_w is not None:
            outs["reference_3x3"] = np.maximum(fitting.apply_matrix(reference_w, c), 0.0)
        for name, lin in outs.items():
            disp = display_np(lin)
            rows[name].append((ciede2000(disp, target), psnr(disp, target)))
    return {name: {"ciede2000": round(float(np.mean([r[0] for r in v])), 4),
                   "psnr": round(float(np.mean([r[1] for r in v])), 3), "pairs": len(v)}
            for name, v in rows.items() if v}


@dataclass
class _Set:
    """Pairs with the agent's decisions: corrected[i] is pair i's before thumbnail after its agent recipe, keys[i]
    its agent-corrected brightness key."""

    pairs: list
    corrected: list
    keys: np.ndarray

    @classmethod
    def decide(cls, pairs: list[PairData], agent) -> "_Set":
        recipes, keys = agent_corrections(pairs, agent)
        return cls(pairs, [apply_steps(p.before_lin, r.steps) for p, r in zip(pairs, recipes)], keys)

    @property
    def scenes(self) -> list[str]:
        return sorted({p.scene for p in self.pairs})


def _load_sets(before_dir, after_dir, agent, opts: LearnOptions, progress, notes,
               cross_validate: bool = False) -> tuple[list, list, str]:
    """(train pairs, validation pairs, split description); refusals raise ProfileError. cross_validate: with fewer
    than opts.cv_below pairs in at least 3 picture groups, (all pairs, [], "cross-validation")."""
    specs, pair_notes = find_pairs(before_dir, after_dir, opts.csv_path)
    notes += pair_notes
    if len(specs) < MIN_PAIRS:
        raise ProfileError(f"{before_dir}: {len(specs)} before/after pair(s) found, at least {MIN_PAIRS} are needed "
                           "(pairs match by file name stem, or list them with --pairs CSV)")
    pairs, errors = _load_all(specs, agent, opts, progress, "loading pairs")
    _check_errors(errors, opts, notes)
    if len(pairs) < MIN_PAIRS:
        raise ProfileError(f"{before_dir}: only {len(pairs)} usable pair(s) left, at least {MIN_PAIRS} are needed")
    if not opts.val_dirs:
        scenes = read_scenes_csv(opts.scenes_csv) if opts.scenes_csv else None
        progress("grouping pictures", 0, 1, "")
        grouped = assign_scenes(pairs, scenes, before_dir)
        progress("grouping pictures", 1, 1, "")
        if cross_validate and len(grouped) < opts.cv_below and len({p.scene for p in grouped}) >= 3:
            return grouped, [], "cross-validation"
        train, val, split_notes = split_by_scene(grouped, opts.val_share, opts.seed)
        notes += split_notes
        return train, val, "held-out scenes"
    vspecs, vnotes = find_pairs(opts.val_dirs[0], opts.val_dirs[1])
    notes += vnotes
    if not vspecs:
        raise ProfileError(f"{opts.val_dirs[0]}: no validation pairs found")
    val, verrors = _load_all(vspecs, agent, opts, progress, "loading validation pairs")
    _check_errors(verrors, opts, notes)
    return pairs, val, "validation folder"


def _fit(model: LookModel, train_fd, val_fd, theta0, opts: LearnOptions, hist, progress, label: str):
    def on_iteration(row):
        hist.write(json.dumps({"start": label, **{k: (round(v, 6) if isinstance(v, float) else v)
                                                  for k, v in row.items()}}) + "\n")
        hist.flush()
        progress(f"fitting look ({label})", row["iteration"], opts.iterations,
                 f"train loss {row['train_loss']:.3f}  val CIEDE2000 {row['val_ciede2000']:.2f}")

    return fitting.fit_look(model, train_fd, theta0, val=val_fd, iterations=opts.iterations,
                            on_iteration=on_iteration)


def learn(before_dir: str, after_dir: str, out_dir: str, opts: LearnOptions | None = None,
          progress: Progress = _no_progress, log: Callable[[str], None] = lambda s: None) -> LearnReport:
    """Learn a profile from BEFORE_DIR/AFTER_DIR pairs into out_dir. Raises ProfileError (one line) on refusal."""
    from ..sources import make_source  # noqa: PLC0415

    opts = opts or LearnOptions()
    t_start = time.perf_counter()
    notes: list[str] = []
    if os.path.exists(os.path.join(out_dir, CARD_FILE)) and not opts.overwrite:
        raise ProfileError(f"{out_dir}: already holds a profile (use --overwrite)")
    agent = make_source(opts.agent, model_path=opts.model_path)
    per_photo = opts.per_photo and getattr(agent, "capture", None) is not None
    train_pairs, val_pairs, split = _load_sets(before_dir, after_dir, agent, opts, progress, notes,
                                               cross_validate=per_photo)
    t_loaded = time.perf_counter()
    name = opts.name or os.path.basename(os.path.normpath(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    if opts.per_photo and not per_photo:
        notes.append("per-photo decisions need the learned agent's capture estimate: the look alone was learned")
    with open(os.path.join(out_dir, HISTORY_FILE), "w", encoding="utf-8") as hist:
        if split == "cross-validation":
            profile, validation, training_fig, facts, reference_w = _learn_cross_validated(
                name, train_pairs, agent, opts, hist, progress)
            val_pairs = train_pairs  # every pair was scored once, by a profile learned without its group
            if validation["kind"] != PER_PHOTO:
                figs = validation["cross_validated_kinds"]
                notes.append(f"with {len(train_pairs)} pairs the look on top of the default agent's decisions "
                             f"cross-validated better than per-photo decisions ({figs[LOOK_ONLY]:.2f} vs "
                             f"{figs[PER_PHOTO]:.2f} CIEDE2000): the per-photo decisions were not kept")
        elif per_photo:
            profile, validation, training_fig, facts, reference_w = _learn_per_photo(
                name, train_pairs, val_pairs, agent, opts, hist, progress)
        else:
            profile, validation, training_fig, facts, reference_w = _learn_look_only(
                name, train_pairs, val_pairs, agent, opts, hist, progress)
    t_fit = time.perf_counter()
    if validation["profile"]["ciede2000"] > validation["reference_3x3"]["ciede2000"]:
        notes.append(f"the profile is worse than the least-squares 3x3 reference on the held-out pairs "
                     f"({validation['profile']['ciede2000']:.2f} vs {validation['reference_3x3']['ciede2000']:.2f} "
                     "CIEDE2000): the pairs may hold local edits or a look these filters cannot express")
    seconds = {"load": round(t_loaded - t_start, 2), "fit": round(t_fit - t_loaded, 2),
               "total": round(time.perf_counter() - t_start, 2)}
    train_scenes = sorted({p.scene for p in train_pairs})
    val_scenes = sorted({p.scene for p in val_pairs})
    profile.card.update({
        "created_with": f"exposure-batch {__version__}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "validation": {"split": split if split != "cross-validation" else
                       f"cross-validation ({validation.get('folds')} folds of picture groups; the profile then "
                       "learned on all pairs)", "pairs": len(val_pairs), "scenes": val_scenes,
                       "grouping": "--scenes CSV" if opts.scenes_csv else
                       "content (crops, zooms), capture time (bursts) and given scenes, single linkage",
                       "metric": "mean over pairs of per-image mean CIEDE2000 / PSNR (dB) on display sRGB, "
                                 f"{opts.thumb_side} px thumbnails; interval_95: bootstrap over picture groups",
                       **validation},
        "training": {"pairs": len(train_pairs), "scenes": len(train_scenes), "figures": training_fig,
                     "thumb_side": opts.thumb_side, "seconds": seconds,
                     "reference_3x3": np.round(reference_w, 6).tolist(), **facts},
        "agent_model_path": getattr(agent, "model_dir", None),
        "notes": notes,
    })
    profile.save(out_dir)
    for n in notes:
        log(f"note: {n}")
    return LearnReport(profile, out_dir, validation, notes, seconds)


def _with_interval(summary: dict, per_pair: dict, pairs: list[PairData], seed: int) -> dict:
    groups = [p.scene for p in pairs]
    for key in ("profile", "default_agent"):
        if key in summary and len(per_pair.get(key, ())) > 1:
            lo, hi = bootstrap_interval(per_pair[key], groups, seed=seed)
            summary[key]["interval_95"] = [round(lo, 3), round(hi, 3)]
    return summary


def _reference(train: "_Set", val: "_Set", rng, opts: LearnOptions) -> tuple[np.ndarray, dict, dict]:
    """The 3x3 reference fitted on the default agent's corrections; its figures on val and train."""
    key_ref = float(np.mean(train.keys))
    train_fd, train_y = _fit_data(train.pairs, train.corrected, train.keys, key_ref, opts.train_pixels, rng)
    w = fitting.fit_matrix_reference(train_fd.x_lin, train_y)
    return w, evaluate_pairs(val.pairs, val.corrected, val.keys, None, w), \
        evaluate_pairs(train.pairs, train.corrected, train.keys, None, w)


def _learn_per_photo(name, train_pairs, val_pairs, agent, opts: LearnOptions, hist, progress):
    rng = np.random.default_rng(opts.seed)
    profile, facts = _fit_per_photo(name, train_pairs, agent, opts, hist, progress, rng)
    validation, per_pair, training_fig, w = _score_per_photo(profile, train_pairs, val_pairs, agent, opts, progress,
                                                              rng)
    return profile, _with_interval(validation, per_pair, val_pairs, opts.seed), training_fig, facts, w


def _fit_per_photo(name, train_pairs, agent, opts: LearnOptions, hist, progress, rng) -> tuple[Profile, dict]:
    """The profile (per-photo decisions + look) learned from train_pairs alone, and its card facts."""
    # the held-out pairs make no choice: the final look's snapshot is chosen on scenes held back from training
    _, stop_pairs = stopping_split(train_pairs, opts)
    model, theta, arrays, facts = _learn_decisions(train_pairs, stop_pairs, agent, opts, hist, progress, rng)
    profile = Profile(name, agent_identity(agent), model.steps(theta), 0.0, 0.0,
                      {"decisions": {"file": DECISIONS_FILE, "actor_steps": facts["actor_steps"],
                                     "predictor": "the shipped capture estimate, its averaged output "
                                                  "calibrated and/or moved by a ridge step on the members' averaged "
                                                  "last hidden layer, through the shipped or narrower dead zones, "
                                                  "fitted on the pairs' corrections (chosen by grouped "
                                                  "cross-validation on the corrections as the agent applies them)",
                                     "change": facts["change"],
                                     "cross_validation_ciede2000": facts["cross_validation_ciede2000"],
                                     "familiarity": "mean distance to the 3 nearest training pairs in standardised "
                                                    "capture statistics, in units of the training pairs' median "
                                                    "nearest distance; high <= 1.5, medium <= 3, low beyond"}},
                      arrays)
    facts = {k: v for k, v in facts.items() if k not in ("change", "cross_validation_ciede2000")}
    facts["initialisation"] = "no look, shipped capture estimate"
    return profile, facts


def _score_per_photo(profile, train_pairs, val_pairs, agent, opts: LearnOptions, progress, rng,
                     training: bool = True) -> tuple[dict, dict, dict | None, np.ndarray]:
    """(validation summary, its per-pair CIEDE2000 lists, training figures (None unless `training`), 3x3 reference)
    of a profile, decided exactly as `process --profile` decides."""
    source = ProfileSource(profile, agent, check=False)
    progress("scoring", 0, 2, "")
    validation, per_pair = evaluate_sources(val_pairs, {"default_agent": agent, "profile": source})
    training_fig = evaluate_sources(train_pairs, {"default_agent": agent, "profile": source})[0] if training else None
    progress("scoring", 1, 2, "")
    train, val = _Set.decide(train_pairs, agent), _Set.decide(val_pairs, agent)
    w, ref_val, ref_train = _reference(train, val, rng, opts)
    validation["reference_3x3"] = ref_val["reference_3x3"]
    if training_fig is not None:
        training_fig["reference_3x3"] = ref_train["reference_3x3"]
    progress("scoring", 2, 2, "")
    return validation, per_pair, training_fig, w


def cross_validation_folds(pairs: list[PairData], folds: int, seed: int) -> list[tuple[list, list]]:
    """(training, held-out) pairs of each fold: whole picture groups, round-robin over a seeded permutation of the
    groups, so that every pair is held out exactly once and no group straddles a fold."""
    groups = sorted({p.scene for p in pairs})
    rng = np.random.default_rng(seed)
    fold_of = {g: i % folds for i, g in enumerate(rng.permutation(groups).tolist())}
    return [([p for p in pairs if fold_of[p.scene] != k], [p for p in pairs if fold_of[p.scene] == k])
            for k in range(min(folds, len(groups)))]


#: The two kinds of profile `learn` compares by cross-validation when pairs are few.
PER_PHOTO, LOOK_ONLY = "per-photo decisions + look", "default agent + look"


def _learn_cross_validated(name, pairs, agent, opts: LearnOptions, hist, progress):
    """Few pairs: the held-out figure by grouped cross-validation (each fold's profiles learned on the other folds
    and scored on its own held-out groups: every pair is scored once, by profiles that never saw its group), for
    both kinds of profile: per-photo decisions + look, and the look on top of the default agent's decisions (few
    pairs may not teach per-photo decisions that carry over to new pictures, while the agent's own, actor step
    included, do). The kind with the lower cross-validated error is then learned on all the pairs. Returns what
    _learn_per_photo returns (facts["kind"], facts["cross_validated"]: both kinds' figures)."""
    rows: dict[str, dict[str, list]] = {PER_PHOTO: {}, LOOK_ONLY: {}}
    per_pair: dict[str, dict[str, list]] = {PER_PHOTO: {"profile": [], "default_agent": []},
                                            LOOK_ONLY: {"profile": [], "default_agent": []}}
    scored: list[PairData] = []
    folds = cross_validation_folds(pairs, opts.cv_folds, opts.seed)
    for k, (train_k, val_k) in enumerate(folds, 1):
        progress("cross-validation", k - 1, len(folds), f"fold {k}")
        rng = np.random.default_rng([opts.seed, k])
        profile_k, _ = _fit_per_photo(name, train_k, agent, opts, hist, _no_progress, rng)
        summary, pp, _, _ = _score_per_photo(profile_k, train_k, val_k, agent, opts, _no_progress, rng, training=False)
        look_k = _learn_look_only(name, train_k, val_k, agent, opts, hist, _no_progress)[0]
        look_summary, look_pp = evaluate_sources(val_k, {"default_agent": agent,
                                                          "profile": ProfileSource(look_k, agent, check=False)})
        look_summary["reference_3x3"] = summary["reference_3x3"]
        for kind, fig, lists in ((PER_PHOTO, summary, pp), (LOOK_ONLY, look_summary, look_pp)):
            for key, f in fig.items():
                rows[kind].setdefault(key, []).append((f["ciede2000"], f["psnr"], f["pairs"]))
            for key in per_pair[kind]:
                per_pair[kind][key] += lists[key]
        scored += val_k
    progress("cross-validation", len(folds), len(folds), "")
    figures = {kind: {key: {"ciede2000": round(sum(c * n for c, _, n in v) / sum(n for *_, n in v), 4),
                            "psnr": round(sum(q * n for _, q, n in v) / sum(n for *_, n in v), 3),
                            "pairs": sum(n for *_, n in v)} for key, v in rows[kind].items()} for kind in rows}
    kind = min((PER_PHOTO, LOOK_ONLY), key=lambda k: figures[k]["profile"]["ciede2000"])  # ties: per-photo
    validation = _with_interval(figures[kind], per_pair[kind], scored, opts.seed)
    validation["folds"] = len(folds)
    validation["kind"] = kind
    validation["cross_validated_kinds"] = {k: figures[k]["profile"]["ciede2000"] for k in figures}
    if kind == PER_PHOTO:
        rng = np.random.default_rng(opts.seed)
        profile, facts = _fit_per_photo(name, pairs, agent, opts, hist, progress, rng)
        # training figures of the final profile on all its pairs; the reference fitted on all of them
        _, _, training_fig, w = _score_per_photo(profile, pairs, pairs, agent, opts, progress, rng)
    else:
        profile, _, training_fig, facts, w = _learn_look_only(name, pairs, pairs, agent, opts, hist, progress)
    facts["kind"] = kind
    return profile, validation, training_fig, facts, w


def stopping_split(train_pairs: list[PairData], opts: LearnOptions) -> tuple[list[PairData], list[PairData]]:
    """(pairs to fit, pairs for early stopping and choices), split by scene from the TRAINING pairs: whole scenes
    (about val_share of them) when there are at least 8 scenes, else no stopping set (the lowest training loss
    wins). The held-out pairs are never used for a choice."""
    if len({p.scene for p in train_pairs}) < 8:
        return list(train_pairs), []
    fit, stop, _ = split_by_scene(train_pairs, opts.val_share, opts.seed + 1)
    return fit, stop


def _learn_look_only(name, train_pairs, val_pairs, agent, opts: LearnOptions, hist, progress):
    """The global look alone on top of the agent's recipes (classic agent, or --no-per-photo). Early stopping and
    the choice of start use scenes held back from the training pairs (when there are enough), never the held-out
    pairs: their figure stays an honest one."""
    fit_pairs, stop_pairs = stopping_split(train_pairs, opts)
    train, val = _Set.decide(fit_pairs, agent), _Set.decide(val_pairs, agent)
    stop = _Set.decide(stop_pairs, agent) if stop_pairs else None
    key_ref = float(np.mean(train.keys))
    rng = np.random.default_rng(opts.seed)
    train_fd, train_y = _fit_data(train.pairs, train.corrected, train.keys, key_ref, opts.train_pixels, rng)
    stop_fd = _fit_data(stop.pairs, stop.corrected, stop.keys, key_ref, opts.val_pixels, rng)[0] if stop else None
    reference_w = fitting.fit_matrix_reference(train_fd.x_lin, train_y)
    model = LookModel(adaptive=opts.adaptive)
    starts = {"no look": model.identity, "3x3 reference": fitting.init_from_matrix(model, reference_w)}
    order = sorted(starts, key=lambda k: fitting.cost(model, train_fd, starts[k]))
    judge = stop or train  # which pairs choose between the two starts

    def as_profile(result) -> Profile:
        return Profile(name, agent_identity(agent), model.steps(result.theta),
                       float(result.theta[model.slope_index]) if opts.adaptive else 0.0, key_ref)

    def judged(profile) -> dict:
        return evaluate_pairs(judge.pairs, judge.corrected, judge.keys, profile, reference_w)

    init = order[0]
    result = _fit(model, train_fd, stop_fd, starts[init], opts, hist, progress, init)
    profile = as_profile(result)
    score = judged(profile)
    if score["profile"]["ciede2000"] > score["reference_3x3"]["ciede2000"]:
        # Worse than the 3x3 reference on the judging pairs: try the other start, keep the better.
        other = _fit(model, train_fd, stop_fd, starts[order[1]], opts, hist, progress, order[1])
        other_profile = as_profile(other)
        if judged(other_profile)["profile"]["ciede2000"] < score["profile"]["ciede2000"]:
            init, result, profile = order[1], other, other_profile
    validation = evaluate_pairs(val.pairs, val.corrected, val.keys, profile, reference_w)
    training_fig = evaluate_pairs(train.pairs, train.corrected, train.keys, profile, reference_w)
    facts = {"iterations": len(result.history) - 1, "best_iteration": result.best_iteration, "initialisation": init,
             "pixels": int(len(train_fd.x_lin))}
    return profile, validation, training_fig, facts, reference_w


# ---------------------------------------------------------------------------------------------------------------
# Per-photo decisions (learned agent): alternate look and corrections, fine-tune the capture estimate
# ---------------------------------------------------------------------------------------------------------------
def _pair_samples(pairs: list[PairData], n: int, rng) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per pair: (n, 3) float32 before pixels (linear ProPhoto) and the target's CIELAB at the same pixels."""
    px, labs = [], []
    for p in pairs:
        flat_b, flat_a = p.before_lin.reshape(-1, 3), p.after_lin.reshape(-1, 3)
        idx = rng.choice(len(flat_b), size=min(n, len(flat_b)), replace=False)
        px.append(np.asarray(flat_b[idx], np.float32))
        labs.append(fitting.lab_display(flat_a[idx]))
    return px, labs


def _corrected_data(px, labs, d: np.ndarray, per: int) -> fitting.FitData:
    """FitData of the first `per` samples of every pair after its correction d[i] (no adaptive key)."""
    from .decisions import apply_correction  # noqa: PLC0415

    xs = [apply_correction(p[:per], di) for p, di in zip(px, d)]
    x = np.concatenate(xs)
    return fitting.FitData(x, np.concatenate([lab[:per] for lab in labs]), np.zeros(len(x), np.float32))


def _capture_arrays(agent) -> dict:
    from ..agent.capture import CAPTURE_FILE  # noqa: PLC0415

    path = os.path.join(agent.model_dir, str((agent.card.get("capture") or {}).get("file", CAPTURE_FILE)))
    with np.load(path) as z:
        return {k: np.array(z[k]) for k in z.files}


def _learn_decisions(train: list[PairData], val: list[PairData], agent, opts: LearnOptions, hist, progress,
                     rng) -> tuple[LookModel, np.ndarray, dict, dict]:
    """(look model, theta, decisions arrays for the profile, card facts) from the training pairs; val only picks
    the look's snapshot."""
    from . import decisions as dec  # noqa: PLC0415

    capture = agent.capture
    previews = [p.agent_in for p in train]
    feats = dec.features_of(previews)
    shipped = dec.shipped_estimates(capture, previews)
    px, labs = _pair_samples(train, opts.pair_pixels, rng)
    per = max(16, min(opts.pair_pixels, opts.train_pixels // max(1, len(train))))
    model = LookModel(adaptive=False)
    theta = np.array(model.identity)
    d = shipped.copy()
    facts: dict = {"rounds": []}

    def look_lab(theta_now):
        return lambda pix: fitting.lab_display(model.forward(pix, theta_now))

    for k in range(1, opts.rounds + 1):
        fd = _corrected_data(px, labs, d, per)
        theta = _fit(model, fd, None, theta, replace(opts, iterations=12), hist, progress, f"round {k}").theta
        progress("per-photo corrections", k - 1, opts.rounds, f"round {k}")
        d = dec.fit_corrections(look_lab(theta), px, labs, d, shipped)
        facts["rounds"].append({"round": k, "mean_abs_change_from_shipped":
                                dict(zip(dec.ESTIMATE_FIELDS, np.round(np.mean(np.abs(d - shipped), axis=0), 4).tolist()))})
    progress("per-photo corrections", opts.rounds, opts.rounds, "")

    all_lab = np.concatenate(labs)

    def score(pred):
        out = np.concatenate([dec.apply_correction(p, di) for p, di in zip(px, pred)])
        return fitting.ciede2000_pixels(fitting.lab_display(model.forward(out, theta)), all_lab)

    facts["training_ciede2000"] = {"shipped_estimate": round(score(shipped), 4), "own_corrections": round(score(d), 4)}
    progress("fine-tuning the capture estimate", 0, 1, "")
    base = _capture_arrays(agent)
    tune, oof = dec.fine_tune(capture, feats, d, [p.scene for p in train], score, base, seed=opts.seed)
    progress("fine-tuning the capture estimate", 1, 1, str(tune.lam))
    hidden = capture.members[0][-1][0].shape[0]
    arrays = tune.arrays(base, len(capture.members), hidden)
    tuned = CaptureModel(arrays)
    arrays[FAMILIARITY_KEY] = (feats[:, : tuned.n_features] - tuned.feature_mean) / tuned.feature_scale
    # the final look, on the corrections the fine-tuned estimate gives pairs it has not seen (out of fold), as the
    # agent applies them
    val_d = dec.applied_corrections(tuned, dec.features_of([p.agent_in for p in val])) if val else None
    val_px, val_labs = _pair_samples(val, per, rng) if val else ([], [])
    val_fd = _corrected_data(val_px, val_labs, val_d, per) if val else None
    result = _fit(model, _corrected_data(px, labs, oof, per), val_fd, theta, opts, hist, progress, "final")
    facts.update({"change": tune.lam,
                  "cross_validation_ciede2000": tune.cv, "actor_steps": 0,
                  "iterations": len(result.history) - 1, "best_iteration": result.best_iteration})
    return model, result.theta, arrays, facts


def evaluate_sources(pairs: list[PairData], sources: dict) -> tuple[dict, dict]:
    """Per-pair CIEDE2000 / PSNR (display sRGB) of each recipe source's decisions applied to the before thumbnails
    (exactly as `process` decides: batched, on the agent input), plus no edit. Returns (summary, per-pair
    CIEDE2000 lists)."""
    from ..agent.data import display_np  # noqa: PLC0415
    from ..agent.evaluate import ciede2000, psnr  # noqa: PLC0415

    rows: dict[str, list] = {"no_edit": [(ciede2000(display_np(p.before_lin), display_np(p.after_lin)),
                                          psnr(display_np(p.before_lin), display_np(p.after_lin))) for p in pairs]}
    for name, source in sources.items():
        recipes = []
        for i in range(0, len(pairs), 64):
            recipes += source.decide([p.agent_in for p in pairs[i : i + 64]], None)
        rows[name] = []
        for p, r in zip(pairs, recipes):
            disp, target = display_np(apply_steps(p.before_lin, r.steps)), display_np(p.after_lin)
            rows[name].append((ciede2000(disp, target), psnr(disp, target)))
    summary = {name: {"ciede2000": round(float(np.mean([r[0] for r in v])), 4),
                      "psnr": round(float(np.mean([r[1] for r in v])), 3), "pairs": len(v)}
               for name, v in rows.items() if v}
    return summary, {name: [r[0] for r in v] for name, v in rows.items()}
