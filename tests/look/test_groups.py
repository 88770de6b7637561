"""Honest validation: pairs showing one picture (crops of a photo, bursts) never straddle the held-out split;
`--scenes` overrides the grouping; the bootstrap interval of the held-out figure."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch.io import decode
from exposure_batch.look.groups import bootstrap_interval, group_pairs, read_scenes_csv
from exposure_batch.look.pairs import PairData, PairSpec, assign_scenes, split_by_scene
from exposure_batch.render.preview import _resize_area, thumbnail
from tests.helpers import SAMPLES_DIR

PHOTOS = ("astronaut_orientation6.jpg", "nikon_d300_rec2020_linear_16bit.png", "chelsea_adobergb_16bit.tif",
          "coffee_p3_16bit.png", "casio_qv_r51.jpg")


def _crop(img, rng, side=96):
    h, w = img.shape[:2]
    frac = rng.uniform(0.6, 1.0)
    ch, cw = int(h * frac), int(w * frac * rng.uniform(0.85, 1.0))
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    crop = np.ascontiguousarray(img[top : top + ch, left : left + cw])
    s = side / max(ch, cw)
    return _resize_area(crop, max(8, round(cw * s)), max(8, round(ch * s)))


def crop_pairs(per_photo=4, seed=0):
    """Flat (no scenes given) pairs: crops of a few photos, each with its own exposure and colour error; shuffled.
    Returns (pairs, photo of each pair)."""
    rng = np.random.default_rng(seed)
    pairs, photo = [], []
    for name in PHOTOS:
        img = thumbnail(decode(SAMPLES_DIR / name).rgb_lin, 320)
        for k in range(per_photo):
            crop = _crop(img, rng)
            gains = np.exp2(rng.uniform(-1.2, 0.8) + rng.uniform(-0.3, 0.3, 3)).astype(np.float32)
            spec = PairSpec(f"/in/{len(pairs):03d}.tif", f"/out/{len(pairs):03d}.jpg")
            pairs.append(PairData(spec, None, crop * gains, crop, 1.0))
            photo.append(name)
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order], [photo[i] for i in order]


@pytest.mark.parametrize("seed", [0, 1])
def test_crops_of_one_photo_never_straddle_the_split(seed):
    pairs, photo = crop_pairs(seed=seed)
    grouped = assign_scenes(pairs)
    by_name = {p.spec.before: ph for p, ph in zip(pairs, photo)}
    groups = {p.scene for p in grouped}
    assert len(groups) >= 3, groups  # distinct photos stay apart (a single group could not be split honestly)
    for split_seed in range(5):
        train, val, notes = split_by_scene(grouped, 0.3, split_seed)
        assert not notes and train and val
        seen_train = {by_name[p.spec.before] for p in train}
        seen_val = {by_name[p.spec.before] for p in val}
        assert not seen_train & seen_val, (seen_train & seen_val)


def test_burst_frames_link_by_capture_time_and_given_scenes_join():
    rng = np.random.default_rng(3)
    imgs = [rng.uniform(0.01, 1.0, (24, 32, 3)).astype(np.float32) for _ in range(4)]  # unrelated noise frames
    labels = group_pairs(imgs, [100.0, 101.5, 5000.0, None], [None, None, None, None])
    assert labels[0] == labels[1] and len(set(labels)) == 3  # 1.5 s apart: one burst; the others apart
    labels = group_pairs(imgs, [None] * 4, ["a", None, "a", None])
    assert labels[0] == labels[2] and len(set(labels)) == 3


def test_scenes_csv_overrides_the_grouping(tmp_path):
    pairs, photo = crop_pairs(per_photo=2)
    csv = tmp_path / "scenes.csv"
    csv.write_text("before,scene\n" + "".join(f"{p.spec.before.split('/')[-1]},{'odd' if i % 2 else 'even'}\n"
                                              for i, p in enumerate(pairs)))
    scenes = read_scenes_csv(str(csv))
    grouped = assign_scenes(pairs, scenes, "/in")
    assert [p.scene for p in grouped] == ["odd" if i % 2 else "even" for i in range(len(pairs))]


def test_bootstrap_interval_resamples_whole_groups():
    # one group of mean 1 (3 pairs), one of mean 3 (1 pair): every resample's mean lies in [1, 3]
    lo, hi = bootstrap_interval(np.array([1.0, 1.0, 1.0, 3.0]), ["a", "a", "a", "b"], n=500)
    assert 1.0 <= lo < 1.5 and 2.9 < hi <= 3.0
    assert bootstrap_interval(np.full(6, 2.5), list("aabbcc")) == (2.5, 2.5)


def test_cross_validation_folds_hold_out_every_pair_once_by_whole_groups():
    """Few pairs: `learn` cross-validates over folds of picture groups: every pair is held out exactly once, a
    group is never on both sides of a fold, and a fold trains on all the other pairs."""
    from types import SimpleNamespace

    from exposure_batch.look.learn import cross_validation_folds

    pairs = [SimpleNamespace(scene=f"g{k % 7}", n=k) for k in range(23)]
    folds = cross_validation_folds(pairs, 5, seed=3)
    assert len(folds) == 5
    held = [p.n for _, val in folds for p in val]
    assert sorted(held) == list(range(23))
    for train, val in folds:
        assert not {p.scene for p in train} & {p.scene for p in val}
        assert len(train) + len(val) == 23 and val
    assert len(cross_validation_folds(pairs[:6], 5, seed=0)) == 5  # 6 pairs of 6 groups
    assert len(cross_validation_folds([p for p in pairs if p.scene in ("g1", "g2", "g3")], 5, seed=0)) == 3
