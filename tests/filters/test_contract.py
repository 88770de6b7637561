"""Contract tests over every registered filter: TF op == NumPy op, gradients, identity, range validation."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch import filters
from exposure_batch.errors import FilterParamError, RecipeError
from tests.helpers import require_module



@pytest.fixture(scope="module")
def tf():
    """TensorFlow for the tests of the TF ops (skipped without it locally, a failure under CI=true); the NumPy-side
    tests below run without it."""
    return require_module("tensorflow")

SPECS = filters.REGISTRY
IDS = [s.name for s in SPECS]


def random_params(spec, rng, batch):
    """Random in-range parameter vectors via the network mapping of random raw outputs (B, k)."""
    raw = rng.normal(0, 1.5, size=(batch, spec.n_raw)).astype(np.float32)
    return spec.map_raw_np(raw)


def random_images(rng, batch=4, size=16):
    """Linear images with a spread that includes >1 highlights, near-black and exact greys."""
    img = rng.uniform(0, 1.3, size=(batch, size, size, 3)).astype(np.float32) ** 2
    img[:, 0, 0, :] = 0.5  # an exact grey
    img[:, 0, 1, :] = 0.0
    img[:, 0, 2, :] = [0.3, 0.30000001, 0.29999998]  # near-grey: a few float32 steps of chroma
    img[:, 0, 3, :] = [0.5, 0.50000006, 0.5]
    return img


def test_registry_order_matches_paper():
    assert filters.AGENT_NAMES == (
        "exposure", "gamma", "white_balance", "saturation", "tone_curve", "contrast", "black_and_white", "color_curves",
    )
    assert sum(s.n_raw for s in filters.AGENT_ACTIONS) == 40  # paper: 40 parameters (39 effective)


def test_look_only_filters_follow_the_agent_actions():
    """The registry knows every filter; the agent's action list (what model cards pin) stays the paper's eight."""
    assert filters.NAMES == filters.AGENT_NAMES + ("matte",)
    assert [f.name for f in filters.LOOK_ONLY] == ["matte"]
    assert filters.get("matte") is filters.LOOK_ONLY[0]


def test_shipped_model_loads_with_the_look_only_filter_registered():
    """Registering a look-only filter must not break the shipped agent (its card pins the actions' names and
    versions)."""
    from exposure_batch.agent.policy import load_policy

    policy = load_policy()
    assert [f["name"] for f in policy.card["filters"]] == list(filters.AGENT_NAMES)
    preview = np.random.default_rng(0).uniform(0.01, 0.6, size=(64, 64, 3)).astype(np.float32)
    assert all(s.filter in filters.AGENT_NAMES for s in policy.decide([preview])[0].steps)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_tf_and_numpy_ops_agree(spec, tf):
    rng = np.random.default_rng(0)
    for trial in range(5):
        imgs = random_images(rng)
        params = random_params(spec, rng, len(imgs))
        out_tf = spec.apply_tf(tf.constant(imgs), tf.constant(params)).numpy()
        for i in range(len(imgs)):
            values = spec.values(params[i])
            out_np = spec.apply(imgs[i], values)
            assert out_np.dtype == np.float32 and out_np.shape == imgs[i].shape
            np.testing.assert_allclose(out_np, out_tf[i], atol=1e-5, rtol=0, err_msg=f"{spec.name} trial {trial}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_map_raw_tf_equals_numpy(spec, tf):
    raw = np.random.default_rng(1).normal(0, 2, size=(8, spec.n_raw)).astype(np.float32)
    np.testing.assert_allclose(spec.map_raw_tf(tf.constant(raw)).numpy(), spec.map_raw_np(raw), atol=1e-6)
    for row in spec.map_raw_np(raw):
        spec.values(row)  # every mapped output is inside the declared range


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradients_wrt_parameters_finite_and_nonzero(spec, tf):
    rng = np.random.default_rng(2)
    imgs = tf.constant(random_images(rng, batch=2, size=8) * 0.8)
    for raw_value in (0.0, 0.7, -1.3):
        raw = tf.Variable(np.full((2, spec.n_raw), raw_value, dtype=np.float32))
        with tf.GradientTape() as tape:
            out = spec.apply_tf(imgs, spec.map_raw_tf(raw))
            loss = tf.reduce_sum(out * tf.constant(rng.normal(size=out.shape).astype(np.float32)))
        grad = tape.gradient(loss, raw).numpy()
        assert np.all(np.isfinite(grad)), spec.name
        nonzero = grad[:, 1:] if spec.name == "white_balance" else grad  # f_R is masked out by the paper
        assert np.abs(nonzero).max() > 0, spec.name


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_identity_parameters(spec):
    """Identity values leave images in [0.001, 1] unchanged (gamma lifts < 0.001; curves/saturation clip > 1)."""
    img = np.random.default_rng(3).uniform(0.001, 1.0, size=(16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(spec.apply(img, spec.identity()), img, atol=1e-6)


@pytest.mark.parametrize("name", ["exposure", "gamma", "white_balance", "tone_curve", "color_curves"])
def test_raw_zero_is_identity_as_paper_says(name):
    spec = filters.get(name)
    values = spec.values(spec.map_raw_np(np.zeros((1, spec.n_raw), np.float32))[0])
    img = np.random.default_rng(4).uniform(0.001, 1.0, size=(8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(spec.apply(img, values), img, atol=2e-5)  # WB: paper divides by 1 + 1e-5


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_out_of_range_rejected_with_clear_error(spec):
    p = spec.params[0]
    bad = spec.identity()
    too_big = p.high + 1.0
    bad[p.name] = too_big if p.size == 1 else [too_big] * p.size
    with pytest.raises(FilterParamError, match=rf"{spec.name}\.{p.name}.*outside its range"):
        spec.validate(bad)
    with pytest.raises(FilterParamError, match="missing parameter"):
        spec.validate({})
    with pytest.raises(FilterParamError, match="unknown parameter"):
        spec.validate({**spec.identity(), "bogus": 1})


def test_unknown_filter_lists_valid_names():
    with pytest.raises(RecipeError, match="known filters: exposure, gamma"):
        filters.get("vignette")


def test_known_values():
    img = np.full((2, 2, 3), 0.25, np.float32)
    assert np.allclose(filters.get("exposure").apply(img, {"ev": 1.0}), 0.5)
    assert np.allclose(filters.get("gamma").apply(img, {"gamma": 2.0}), 0.0625)
    bw = filters.get("black_and_white").apply(np.array([[[1.0, 0.0, 0.0]]], np.float32), {"amount": 1.0})
    assert np.allclose(bw, 0.27)
    # tone curve with a steep first segment lifts shadows but keeps 0 -> 0 and 1 -> 1
    tc = filters.get("tone_curve").apply(np.array([[[0.0, 0.1, 1.0]]], np.float32), {"slopes": [2.0] + [1.0] * 7})
    assert tc[0, 0, 0] == 0 and tc[0, 0, 2] == pytest.approx(1.0) and tc[0, 0, 1] > 0.1


def test_saturation_keeps_greys_neutral_and_boosts_colour():
    spec = filters.get("saturation")
    img = np.array([[[0.5, 0.5, 0.5], [0.6, 0.4, 0.3]]], np.float32)
    out = spec.apply(img, {"amount": 1.0})
    assert np.allclose(out[0, 0], 0.5)
    chroma_in = img[0, 1].max() - img[0, 1].min()
    assert out[0, 1].max() - out[0, 1].min() > chroma_in


def test_descriptions_are_readable():
    assert filters.get("exposure").describe({"ev": 0.62}) == "Exposure +0.62 EV"
    assert "R x1.08" in filters.get("white_balance").describe({"red": 1.08, "green": 1.0, "blue": 0.93})


def test_spec_is_declared_with_named_fields_only():
    spec = filters.get("exposure")
    with pytest.raises(TypeError):
        filters.FilterSpec(spec.name, spec.version, spec.label)  # no positional construction


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_filter_declares_its_kernel_and_editor_mappings(spec):
    """One declaration per filter: the fused kernel and both editor mappings are there and give what their
    consumers expect for identity and random in-range parameters."""
    assert isinstance(spec.fused, filters.FusedKernel) and callable(spec.fused.block)
    rng = np.random.default_rng(5)
    for values in (spec.identity(), spec.values(random_params(spec, rng, 1)[0])):
        prepared = spec.prepare(values)
        assert np.asarray(spec.fused.params(prepared), dtype=np.float32).ndim == 1
        assert isinstance(spec.fused.is_separable(prepared), bool)
        dt, adobe = spec.to_darktable(values), spec.to_adobe(values, False)
        assert isinstance(dt, filters.EditorMapping) and dt.ops and isinstance(adobe, filters.EditorMapping)
        assert adobe.settings and (dt.exact or dt.note) and (adobe.exact or adobe.note)
