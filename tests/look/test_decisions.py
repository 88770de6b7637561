"""Per-photo decisions: the capture estimate fine-tuned on a studio's corrections recovers a known per-photo rule on
photos it has not seen, keeps the shipped estimate when the pairs teach nothing, and the profile stores it."""
from __future__ import annotations

import os

import numpy as np
import pytest

from exposure_batch.agent.capture import CaptureModel, capture_features
from exposure_batch.agent.data import degrade, sample_degradation
from exposure_batch.agent.policy import load_policy
from exposure_batch.io import decode
from exposure_batch.look import decisions as dec
from exposure_batch.render.preview import _resize_area, thumbnail
from tests.helpers import SAMPLES_DIR, random_square_crop

TRAIN = ("astronaut_orientation6.jpg", "chelsea_adobergb_16bit.tif", "coffee_p3_16bit.png", "casio_qv_r51.jpg")
TEST = ("nikon_d300_rec2020_linear_16bit.png", "flower.dng")
RULE_EV = 0.7


def previews(names, per_photo, seed):
    """64x64 linear previews of random crops of the photos, each with a random capture error; (previews, photo)."""
    rng = np.random.default_rng(seed)
    out, owner = [], []
    for name in names:
        img = thumbnail(decode(SAMPLES_DIR / name).rgb_lin, 256)
        for _ in range(per_photo):
            crop = _resize_area(random_square_crop(img, rng, 0.5, 1.0), 64, 64)
            out.append(degrade(crop, sample_degradation(rng), rng).astype(np.float32))
            owner.append(name)
    return out, owner


def backlit(p) -> bool:
    """The studio's rule: frames whose highlights (95th percentile) sit more than 0.9 stops above their median
    luminance count as backlit."""
    f = capture_features(p)
    return bool(f[12] > 0.9)  # log2 luminance 95th percentile minus the median


@pytest.fixture(scope="module")
def shipped():
    return load_policy().capture


def test_a_per_photo_rule_is_recovered_on_unseen_photos(shipped):
    """The studio always brightens backlit frames by +0.7 EV beyond the agent. Learned from 160 pairs of 4 photos,
    the fine-tuned estimate brightens backlit frames of 2 other photos more than the rest (measured: +0.48 EV vs
    +0.17, a difference of 0.31 where the rule says 0.7: four photos teach the rule only in part), and it is
    closer to the rule than the shipped estimate on the backlit frames."""
    train, owner = previews(TRAIN, 40, 0)
    base = dec.shipped_estimates(shipped, train)
    rule = np.array([backlit(p) for p in train])
    assert 0.2 < rule.mean() < 0.8, rule.mean()  # both kinds of frame are there to learn from
    target = base.copy()
    target[:, 0] += RULE_EV * rule
    feats = dec.features_of(train)
    tune, _ = dec.fine_tune(shipped, feats, target, owner,
                            lambda pred: float(np.mean(np.abs(pred[:, 0] - target[:, 0]))), _arrays())
    assert tune.lam != "shipped"  # the pairs taught something: not the shipped estimate
    arrays = tune.arrays(_arrays(), len(shipped.members), shipped.members[0][-1][0].shape[0])
    tuned = CaptureModel(arrays)
    test, _ = previews(TEST, 30, 1)
    lift = dec.shipped_estimates(tuned, test)[:, 0] - dec.shipped_estimates(shipped, test)[:, 0]
    is_backlit = np.array([backlit(p) for p in test])
    assert is_backlit.any() and (~is_backlit).any()
    assert lift[is_backlit].mean() - lift[~is_backlit].mean() > 0.31 / 2, (lift[is_backlit].mean(), lift[~is_backlit].mean())
    assert 0.0 < lift[is_backlit].mean() < RULE_EV + 0.2


def test_pairs_that_teach_nothing_keep_the_shipped_estimate(shipped):
    """Corrections that are the shipped estimate plus noise: cross-validation keeps the shipped weights."""
    train, owner = previews(TRAIN, 8, 2)
    feats = dec.features_of(train)
    base = dec.applied_corrections(shipped, feats)  # what the default agent applies
    noisy = base + np.random.default_rng(5).normal(0, 0.3, base.shape) * [1, 0, 0.3, 0.3]
    tune, _ = dec.fine_tune(shipped, feats, noisy, owner, lambda pred: float(np.mean(np.abs(pred - base))), _arrays())
    assert tune.lam == "shipped" and not tune.changed


def test_a_studio_whose_befores_all_need_correcting_narrows_the_dead_zones(shipped):
    """The shipped estimate leaves exposure errors under its dead zone (0.45 EV) nearly alone, to keep good photos
    untouched. Pairs whose corrections are the estimate without dead zones (every before needs its correction,
    however small) make the fine-tune choose narrower dead zones, and its corrections follow them."""
    train, owner = previews(TRAIN, 10, 3)
    feats = dec.features_of(train)
    none = dict(_arrays(), dead_zone_ev=np.float64(0.0), dead_zone_tone=np.float64(0.0))
    target = dec.applied_corrections(CaptureModel(none), feats)
    shipped_d = dec.applied_corrections(shipped, feats)
    small = np.abs(target[:, 0]) < shipped.dead_zone_ev
    assert small.mean() > 0.2 and np.mean(np.abs(target[small, 0] - shipped_d[small, 0])) > 0.05
    tune, oof = dec.fine_tune(shipped, feats, target, owner, lambda pred: float(np.mean(np.abs(pred - target))),
                              _arrays())
    assert tune.zones is not None and tune.zones[0] < shipped.dead_zone_ev, tune.lam
    assert tune.cv[tune.lam] < 0.5 * tune.cv["shipped"], tune.cv
    tuned = CaptureModel(tune.arrays(_arrays(), len(shipped.members), shipped.members[0][-1][0].shape[0]))
    assert float(tuned.dead_zone_ev) == tune.zones[0]


def test_a_last_layer_change_keeps_the_members_in_agreement(shipped):
    """A last-layer change moves the ensemble's averaged output, not its members: their spread, hence the agent's
    confidence, stays the shipped one, and the corrections are not all made gentler (with a change given to each
    member's last layer, the confidence fell from 0.69 to 0.08 on one benchmark's pairs and every correction was
    softened)."""
    train, owner = previews(TRAIN, 40, 0)
    feats = dec.features_of(train)
    target = dec.shipped_estimates(shipped, train)
    target[:, 0] += RULE_EV * np.array([backlit(p) for p in train])
    zones = (shipped.dead_zone_ev, shipped.dead_zone_tone)
    standard, w = dec._standardised_targets(shipped, feats, target, zones)
    change = dec._fit_change(dec._hidden(shipped, feats), dec._outputs(shipped, feats), standard, w, 0.1, True)
    members, hidden = len(shipped.members), shipped.members[0][-1][0].shape[0]
    tuned = CaptureModel(dec.FineTune(*change, "calibration + last layers 0.1", {}).arrays(_arrays(), members, hidden))
    assert np.abs(dec.shipped_estimates(tuned, train)[:, 0] - dec.shipped_estimates(shipped, train)[:, 0]).mean() > 0.1
    assert [c for _, c in tuned.assess(np.stack(train))] == [c for _, c in shipped.assess(np.stack(train))]


def test_familiarity_ranks_strange_photos_last():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (50, 6))
    fam = dec.Familiarity(train)
    near, far = fam.distance(train[3] + 0.01), fam.distance(np.full(6, 8.0))
    assert near < 1.0 and far > 3.0
    assert fam.level(near) == "high" and fam.level(far) == "low"


def _arrays():
    import os

    from exposure_batch.agent.policy import DEFAULT_MODEL_DIR

    with np.load(os.path.join(DEFAULT_MODEL_DIR, "capture.npz")) as z:
        return {k: z[k] for k in z.files}


def _previews_of_samples():
    from exposure_batch.render.preview import make_preview

    return [make_preview(decode(SAMPLES_DIR / n).pixels) for n in ("coffee_p3_16bit.png", "casio_qv_r51.jpg",
                                                                     "chelsea_adobergb_16bit.tif")]


def _matte_profile(agent, shipped):
    """A profile with decisions: the shipped estimate calibrated (+0.3 standardised EV), a matte look, 30 random
    training statistics for the familiarity."""
    from exposure_batch.look.model import LookModel
    from exposure_batch.look.profile import DECISIONS_FILE, FAMILIARITY_KEY, Profile, agent_identity
    from exposure_batch.recipe import Step

    members, hidden = len(shipped.members), shipped.members[0][-1][0].shape[0]
    tune = dec.FineTune(np.array([0.8, 1.0, 1.0, 0.9, 1.0]), np.array([0.3, 0.0, 0.0, 0.05, 0.0]),
                        np.zeros((members * hidden + 1, 5)), "calibration", {})
    arrays = tune.arrays(_arrays(), members, hidden)
    arrays[FAMILIARITY_KEY] = np.random.default_rng(0).normal(size=(30, shipped.n_features))  # what it reads
    model = LookModel(adaptive=False)
    steps = list(model.steps(model.identity))
    steps[-1] = Step("matte", {"black": 0.05, "white": 0.93})
    return Profile("Matte Studio", agent_identity(agent), tuple(steps), 0.0, 0.0,
                   {"decisions": {"file": DECISIONS_FILE, "actor_steps": 0}}, arrays), steps


def test_profile_with_decisions_saves_and_loads_to_identical_recipes(tmp_path, shipped):
    from exposure_batch.sources import make_source
    from exposure_batch.look.profile import ProfileSource, load_profile, make_profile_source

    agent = make_source("learned")
    prof, steps = _matte_profile(agent, shipped)
    prof.save(str(tmp_path / "p"))
    assert sorted(os.listdir(tmp_path / "p")) == ["decisions.npz", "look.recipe.json", "profile.json"]
    loaded = load_profile(str(tmp_path / "p"))
    assert loaded.profile_id == prof.profile_id
    previews = _previews_of_samples()
    a = ProfileSource(prof, agent).decide(previews)
    b = make_profile_source(str(tmp_path / "p")).decide(previews)
    assert [r.to_json() for r in a] == [r.to_json() for r in b]  # byte-identical
    shipped_recipes = agent.decide(previews)
    for r, base in zip(a, shipped_recipes):
        extra = r.extra["profile"]
        assert r.steps[-1] == steps[-1] and len(r.steps) == extra["agent_steps"] + len(steps)
        assert extra["familiarity"]["level"] in ("high", "medium", "low") and extra["familiarity"]["distance"] > 0
        # the profile's own capture estimate decides (tuned: +0.3 standardised EV), with no actor step
        assert r.steps[: extra["agent_steps"]] != base.steps
        assert all(s.filter in ("white_balance", "exposure", "gamma") for s in r.steps[: extra["agent_steps"]])


def test_familiarity_reuses_the_agents_capture_statistics(monkeypatch, shipped):
    """Applying a profile computes each photo's capture statistics once (the agent's capture estimate reads them,
    the familiarity reuses them), and its recipes are byte-identical to those of the familiarity computing them
    again."""
    from exposure_batch.agent import capture as capture_module
    from exposure_batch.look.profile import ProfileSource
    from exposure_batch.sources import make_source

    agent = make_source("learned")
    source = ProfileSource(_matte_profile(agent, shipped)[0], agent)
    previews = _previews_of_samples() * 2
    recomputed = source.add_look(previews, source.agent.decide(previews))  # statistics computed again per photo
    calls = []
    real = capture_module.capture_features
    monkeypatch.setattr(capture_module, "capture_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    reused = source.decide(previews)
    assert len(calls) == len(previews)  # once per photo, by the agent's capture estimate
    assert [r.to_json() for r in reused] == [r.to_json() for r in recomputed]
    assert all("familiarity" in r.extra["profile"] for r in reused)


@pytest.mark.slow
def test_twenty_pairs_do_no_worse_than_the_default_agent(tmp_path):
    """About 20 pairs (learned agent): the held-out figure is cross-validated over folds of picture groups (every
    pair scored once, by profiles that never saw its group), for per-photo decisions + look and for the look on top
    of the default agent; the better kind is kept, and it is no worse than the default agent. On these pairs (the
    afters are the classic agent's per-photo edit + a known look) per-photo decisions learned from 5 photos do not
    carry over to the sixth: measured 19.5 CIEDE2000 cross-validated against 6.2 for the look on the agent and 14.5
    for the agent alone."""
    from exposure_batch.look.learn import LOOK_ONLY, PER_PHOTO, LearnOptions, learn
    from tests.look.pairs import make_pairs

    before, after = make_pairs(str(tmp_path), per_scene=4, side=96)
    report = learn(before, after, str(tmp_path / "p"),
                   LearnOptions(agent="learned", iterations=10, train_pixels=6000, thumb_side=64, rounds=2,
                                pair_pixels=200))
    v, card = report.validation, report.profile.card
    assert card["validation"]["split"].startswith("cross-validation")
    assert v["profile"]["pairs"] == card["validation"]["pairs"] == card["training"]["pairs"] == 24
    kinds = v["cross_validated_kinds"]
    assert v["kind"] == min(kinds, key=kinds.get) and v["profile"]["ciede2000"] == min(kinds.values())
    assert v["profile"]["ciede2000"] <= v["default_agent"]["ciede2000"], v
    assert kinds[LOOK_ONLY] < 0.5 * kinds[PER_PHOTO], kinds  # measured 6.2 vs 19.5
    assert ("decisions" in card) == (v["kind"] == PER_PHOTO)
    lo, hi = v["profile"]["interval_95"]
    assert lo <= v["profile"]["ciede2000"] <= hi


def test_report_lists_the_photos_to_review_first():
    from exposure_batch.report.html import render_html, review_first

    def entry(name, level, distance, status="done"):
        return {"id": name, "name": name, "status": status, "seconds": 0.1,
                "familiarity": {"level": level, "distance": distance}}

    photos = [entry("a.jpg", "high", 0.8), entry("b.jpg", "low", 4.2), entry("c.jpg", "medium", 2.1),
              entry("d.jpg", "low", 6.0, "failed"), entry("e.jpg", "low", 9.5)]
    assert [p["name"] for p in review_first(photos)] == ["e.jpg", "b.jpg", "c.jpg"]
    page = render_html("t", photos)
    assert page.index("Review first") < page.index("e.jpg") < page.index("b.jpg") < page.index("c.jpg")
    assert "Review first" not in render_html("t", [entry("a.jpg", "high", 0.8)])
