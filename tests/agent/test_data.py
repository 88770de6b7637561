"""Degradation sampler, crops cache, pairing (NumPy only)."""
from __future__ import annotations

import numpy as np

from exposure_batch import color
from exposure_batch.agent import data as D


def test_identity_degradation_is_identity():
    x = np.random.default_rng(0).uniform(0.01, 1, (8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(D.degrade(x, D.Degradation()), x, rtol=1e-5)


def test_exposure_and_white_balance_parts():
    grey = np.full((2, 2, 3), 0.18, np.float32)
    out = D.degrade(grey, D.Degradation(ev=-1.0))
    np.testing.assert_allclose(out, 0.09, rtol=1e-5)
    warm = D.degrade(grey, D.Degradation(temperature=0.5))
    assert warm[0, 0, 0] > warm[0, 0, 1] > warm[0, 0, 2]  # red up, blue down
    assert float(color.luminance(warm[0, 0])) == np.float32(0.18) or abs(float(color.luminance(warm[0, 0])) - 0.18) < 1e-5


def test_flatten_and_desaturate():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.01, 1, (32, 32, 3)).astype(np.float32)
    flat = D.degrade(x, D.Degradation(tone=0.6))
    assert np.std(np.log(color.luminance(flat))) < 0.7 * np.std(np.log(color.luminance(x)))
    des = D.degrade(x, D.Degradation(saturation=0.5))
    chroma = lambda im: np.mean(im.max(-1) - im.min(-1))  # noqa: E731
    assert chroma(des) < 0.6 * chroma(x)


def test_sampled_ranges_and_seeding():
    ds = [D.sample_degradation(np.random.default_rng([3, i])) for i in range(200)]
    evs = np.array([d.ev for d in ds])
    assert evs.min() >= -3 and evs.max() <= 1.5 and evs.min() < -2.5 and evs.max() > 1.0
    assert D.sample_degradation(np.random.default_rng([3, 7])) == ds[7]


def test_crops_cache_and_pairing(photo_dir, tmp_path):
    paths = D.list_images(str(photo_dir))
    out = D.load_crops(paths, n_crops=3, min_frac=0.5, seed=0, cache_dir=str(tmp_path / "cache"))
    assert out["crops"].shape == (12, 80, 80, 3) and out["crops"].dtype == np.float32
    assert len(list((tmp_path / "cache").glob("crops-*.npz"))) == 1
    again = D.load_crops(paths, n_crops=3, min_frac=0.5, seed=0, cache_dir=str(tmp_path / "cache"))
    np.testing.assert_array_equal(again["crops"], out["crops"])
    pairs = D.pair_by_stem(["/a/x.dng", "/a/y.dng"], ["/b/x.jpg", "/b/z.jpg"])
    assert pairs == ["/b/x.jpg", None]
    rng = np.random.default_rng(0)
    a, b = D.random_patches(out["crops"], np.array([0, 1]), rng, (out["crops"],))
    assert a.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(a, b)  # pairs get the same crop and flip


def test_degraded_inputs_restore_towards_their_paired_target_else_themselves():
    rng = np.random.default_rng(0)
    n = 6
    crops = rng.random((n, D.CROP_SIZE, D.CROP_SIZE, 3)).astype(np.float32) * 0.5
    has_pair = np.array([True, False] * (n // 2))
    pairs = np.where(has_pair[:, None, None, None], np.float32(0.9), np.float32(0.0)) * np.ones_like(crops)
    inp = {"crops": crops, "pairs": pairs.astype(np.float32), "has_pair": has_pair, "source": np.arange(n)}
    data = D.TrainData(inp, inp, degrade_inputs=True, seed=3)
    x, truth, weight = data.inputs(64)
    assert x.shape == truth.shape == (64, D.PATCH_SIZE, D.PATCH_SIZE, 3) and np.all(weight == 1)
    paired = np.all(truth == np.float32(0.9), axis=(1, 2, 3))
    assert paired.any() and (~paired).any()
    assert np.all(truth[~paired] <= 0.5)  # unpaired: the clean input crop itself


def test_training_degradations_leave_a_share_of_good_photos_alone():
    rng = np.random.default_rng(5)
    ds = [D.sample_training_degradation(rng, identity=0.3, mild=0.2) for _ in range(2000)]
    untouched = sum(d == D.Degradation() for d in ds) / len(ds)
    assert 0.26 < untouched < 0.34
    mild = [d for d in ds if d != D.Degradation() and abs(d.ev) <= 0.3 and d.noise == 0 and d.tone >= 0.88]
    assert len(mild) / len(ds) > 0.17
    assert any(d.noise > 0 for d in ds) and max(d.noise for d in ds) <= 0.02
    x = np.full((64, 64, 3), 0.18, np.float32)
    noisy = D.degrade(x, D.Degradation(noise=0.01), np.random.default_rng(0))
    assert abs(float(noisy.std()) - 0.01) < 0.002 and abs(float(noisy.mean()) - 0.18) < 0.002
    np.testing.assert_array_equal(D.degrade(x, D.Degradation(noise=0.01)), x)  # no rng: no noise
