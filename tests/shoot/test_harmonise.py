"""Harmonising one scene's frames: consistent outputs, capture errors still undone, misfits split off."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch.agent.data import display_np
from exposure_batch.agent.evaluate import ciede2000
from exposure_batch.recipe import Recipe
from exposure_batch.render import render
from exposure_batch.render.preview import make_preview
from exposure_batch.shoot.evaluate import _surveys
from exposure_batch.shoot import harmonise
from exposure_batch.shoot.harmonise import (CONSENSUS_FRAMES, capture_deviations, consensus_frames, consistency_of,
                                            fold_gains, harmonise_group, harmonise_groups)
from exposure_batch.sources import make_source

from .conftest import burst, scene_photo


def _frame_to_frame(b, outputs) -> float:
    shown = [b.common(k, display_np(o)) for k, o in enumerate(outputs)]
    return float(np.mean([ciede2000(shown[i], shown[j]) for i in range(len(shown)) for j in range(i + 1, len(shown))]))


def _restoration(b, outputs) -> float:
    return float(np.mean([ciede2000(display_np(o), display_np(t)) for o, t in zip(outputs, b.originals)]))


@pytest.fixture(scope="module")
def learned():
    return make_source("learned")


def test_capture_deviations_recover_the_drift():
    b = burst(1, 5, seed=7)
    truth = np.log2([[r * 2 ** ev, 2 ** ev, bl * 2 ** ev] for ev, r, bl in b.drift])
    est = capture_deviations(b.frames)
    err = (est - truth) - np.mean(est - truth, axis=0)  # the common offset is the group's, not a frame's
    assert np.abs(err).max() < 0.045  # measured 0.003-0.023 on the four sample scenes


def test_fold_gains_is_exact_and_merges_leading_steps():
    img = scene_photo("coffee_p3_16bit.png", 64)
    recipe = Recipe.from_steps([("exposure", {"ev": 0.5}), ("white_balance", {"red": 1.1, "green": 0.97, "blue": 0.9}),
                                ("contrast", {"amount": 0.3})])
    gains = np.array([0.8, 1.1, 1.3])
    folded = fold_gains(recipe, gains)
    assert [s.filter for s in folded.steps] == ["white_balance", "exposure", "contrast"]
    expected = render(recipe, (img * gains.astype(np.float32)).astype(np.float32))
    np.testing.assert_allclose(render(folded, img), expected, rtol=2e-4, atol=1e-5)
    grey = np.array([folded.steps[0].params[c] for c in ("red", "green", "blue")]) @ [0.27, 0.67, 0.06]
    assert grey == pytest.approx(1.0, abs=1e-5)  # white balance keeps grey's luminance; exposure carries the rest


def test_harmonised_frames_match_and_are_still_restored(learned):
    alone_f2f, group_f2f, alone_rest, group_rest = [], [], [], []
    for scene in (0, 1, 2, 3):  # per scene harmonising restores better or worse (by up to 1.5); the mean holds
        b = burst(scene, 5, seed=11)
        alone = [render(r, f) for r, f in zip(learned.decide([make_preview(f) for f in b.frames]), b.frames)]
        h = harmonise_group(learned, _surveys(f"s{scene}", b.frames))
        assert not h.split and sorted(h.recipes) == list(range(5))
        together = [render(h.recipes[k], f) for k, f in enumerate(b.frames)]
        alone_f2f.append(_frame_to_frame(b, alone))
        group_f2f.append(_frame_to_frame(b, together))
        alone_rest.append(_restoration(b, alone))
        group_rest.append(_restoration(b, together))
        assert h.consistency is not None and h.consistency < 2.0  # measured 0.7-0.96 (survey images, aligned)
    assert np.mean(group_f2f) <= 1.0  # the target (measured 0.0-0.3 on these scenes)
    assert np.mean(group_f2f) < 0.5 * np.mean(alone_f2f)
    # each frame's capture error is still undone: measured 14.54 harmonised vs 14.03 alone (model 20261130.3;
    # 13.43 vs 13.65 with 20261130); on the 12 held-out bursts harmonising restores better (9.62 vs 10.18)
    assert np.mean(group_rest) <= np.mean(alone_rest) + 1.0


def test_a_flash_frame_and_a_frame_of_another_room_are_split_off(learned):
    b = burst(0, 5, seed=5)
    frames = list(b.frames)
    h, w = frames[2].shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    falloff = np.exp(-(((yy - h / 2) / (0.35 * h)) ** 2 + ((xx - w / 2) / (0.35 * w)) ** 2))[..., None]
    cool = np.array([0.7, 1.0, 1.5], np.float32)
    flash = frames[2] * np.float32(0.15) + frames[2] * falloff.astype(np.float32) * cool * 2
    frames[2] = flash.astype(np.float32)
    other = burst(1, 1, seed=5).frames[0]
    frames.append(np.ascontiguousarray(other[:h, :w]) if other.shape[0] >= h and other.shape[1] >= w else other)
    result = harmonise_group(learned, _surveys("x", frames))
    assert sorted(result.split) == [2, 5]
    assert result.members == [0, 1, 3, 4]
    assert all(isinstance(reason, str) and reason for reason in result.split.values())


def test_consensus_frames_are_evenly_spaced_from_first_to_last():
    assert CONSENSUS_FRAMES == 8
    assert consensus_frames(list(range(5))) == [0, 1, 2, 3, 4]  # a small group: every frame
    # linspace(0, 19, 8) = 0, 2.71, 5.43, 8.14, 10.86, 13.57, 16.29, 19 (rounded)
    assert consensus_frames(list(range(20))) == [0, 3, 5, 8, 11, 14, 16, 19]
    assert consensus_frames([4, 9, 10, 12, 13, 15, 20, 21, 30]) == [4, 9, 10, 12, 15, 20, 21, 30]


class _Counting:
    """A recipe source that counts the inputs it is asked to decide on."""

    def __init__(self, inner):
        self.inner, self.wants, self.inputs = inner, inner.wants, 0

    def decide(self, inputs, infos=None):
        self.inputs += len(inputs)
        return self.inner.decide(inputs, infos)


def test_a_big_group_is_decided_on_a_few_frames_and_still_looks_like_one(learned, monkeypatch):
    b = burst(2, 20, seed=3)
    counting = _Counting(learned)
    h = harmonise_group(counting, _surveys("big", b.frames))
    assert not h.split and sorted(h.recipes) == list(range(20))
    assert counting.inputs == CONSENSUS_FRAMES  # not 20: the rest only need their own compensation
    assert h.reference in consensus_frames(list(range(20)))
    together = [render(h.recipes[k], f) for k, f in enumerate(b.frames)]
    assert _frame_to_frame(b, together) <= 1.0
    # against deciding on every frame (the consensus of all 20 results): measured restoration 13.49 vs 13.40,
    # frame-to-frame 0.016 both (model 20261130.3)
    monkeypatch.setattr(harmonise, "CONSENSUS_FRAMES", 100)
    every = _Counting(learned)
    h_all = harmonise_group(every, _surveys("big", b.frames))
    assert every.inputs == 20
    all_frames = [render(h_all.recipes[k], f) for k, f in enumerate(b.frames)]
    assert abs(_restoration(b, together) - _restoration(b, all_frames)) < 1.0



def test_the_consistency_figure_measured_later_from_the_pairs_is_the_same(learned):
    b = burst(0, 5, seed=11)
    here = harmonise_group(learned, _surveys("s", b.frames))
    later = harmonise_groups(learned, [_surveys("s", b.frames)], measure=False)[0]
    assert later.consistency is None and len(later.pairs) == 4  # consecutive pairs of the 5 frames
    assert all(a.shape == c.shape and a.nbytes <= 16 * 16 * 3 * 8 for a, c in later.pairs)  # a few kB each
    assert here.pairs == [] and later.recipes == here.recipes
    assert consistency_of(later.pairs) == here.consistency
