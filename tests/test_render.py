"""Full-resolution renderer: same pixels as the filters' NumPy ops, whatever the banding and threading."""
from __future__ import annotations

import numpy as np
import pytest

from exposure_batch.recipe import Recipe
from exposure_batch.render import render
from tests.test_recipe import STEPS


def reference(recipe, img):
    out = img.copy()
    for step in recipe.steps:
        out = step.spec.apply(out, step.params)
    return out


@pytest.mark.parametrize("band_pixels, threads", [(1 << 16, None), (97, 1), (1000, 2)])
def test_render_equals_filter_ops(band_pixels, threads):
    img = np.random.default_rng(1).uniform(0, 1.5, (121, 203, 3)).astype(np.float32)
    recipe = Recipe.from_steps(STEPS)
    out = render(recipe, img, band_pixels=band_pixels, threads=threads)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_allclose(out, reference(recipe, img), atol=1e-6)


def test_render_in_place_and_input_untouched():
    img = np.random.default_rng(2).uniform(0, 1, (64, 80, 3)).astype(np.float32)
    keep = img.copy()
    recipe = Recipe.from_steps(STEPS[:3])
    out = render(recipe, img)
    assert np.array_equal(img, keep)
    same = render(recipe, img, out=img)
    assert same is img and np.array_equal(img, out)


def test_empty_recipe_is_identity():
    img = np.random.default_rng(3).uniform(0, 2, (10, 10, 3)).astype(np.float32)
    assert np.array_equal(render(Recipe(()), img), img)


# --- fused (numba) kernels: same pixels as the NumPy ops -----------------------------------------------------------
from exposure_batch import color, filters
from exposure_batch.render import kernels  # noqa: E402
from exposure_batch.recipe import Step  # noqa: E402
from exposure_batch.render import fused_available, render_encoded  # noqa: E402

needs_numba = pytest.mark.skipif(not fused_available(), reason="numba missing or EXPOSURE_BATCH_NO_NUMBA set")


def random_params(spec, rng):
    """Random valid values for every parameter of `spec` (ends of the ranges included now and then)."""
    def one(p):
        if rng.random() < 0.1:
            return float(rng.choice([p.low, p.high]))
        return float(rng.uniform(p.low, p.high))

    return {p.name: one(p) if p.size == 1 else [one(p) for _ in range(p.size)] for p in spec.params}


def random_recipe(rng, n_steps=None):
    n = n_steps or int(rng.integers(1, 9))
    names = rng.choice(filters.NAMES, size=n)
    return Recipe(tuple(Step(str(name), random_params(filters.get(str(name)), rng)) for name in names))


def random_image(rng, h=37, w=53):
    """Linear image with values > 1, exact greys, zeros, single-channel zeros and tiny values."""
    img = rng.uniform(0, 1.6, (h, w, 3)).astype(np.float32)
    img[::5] = img[::5, :, :1]  # exact greys
    img[1::7, ::3] = 0.0
    img[2::7, ::4, 1] = 0.0
    img[3::11] *= np.float32(1e-4)
    img[4::13] *= np.float32(4.0)
    img[6::9, 1::2] = img[6::9, 1::2, :1]  # near greys: one channel 1 ulp off (saturation cancels large terms)
    img[6::9, 1::2, 1] = np.nextafter(img[6::9, 1::2, 1], np.float32(2))
    return img


def assert_close(fast, slow):
    """|fast - slow| <= 1e-5 * max(1, |slow|): 1e-5 absolute on [0, 1]; relative above (float32 spacing at 100 is
    8e-6, and gamma steps amplify ulp-level differences of earlier steps)."""
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, atol=1e-5, rtol=1e-5)


def test_every_filter_has_a_fused_kernel():
    rng = np.random.default_rng(0)
    steps = [Step(name, random_params(filters.get(name), rng)) for name in filters.NAMES]
    ops, params, offsets = kernels.pack_steps(steps)
    assert list(ops) == list(range(len(filters.NAMES))) and params.dtype == np.float32
    assert offsets[-1] == params.size and all(np.diff(offsets) > 0)


@needs_numba
@pytest.mark.parametrize("seed", range(12))
def test_fused_equals_numpy_on_random_recipes(seed):
    rng = np.random.default_rng(100 + seed)
    recipe = random_recipe(rng, n_steps=8 if seed < 2 else None)
    if seed == 0:  # every filter once
        recipe = Recipe(tuple(Step(n, random_params(filters.get(n), rng)) for n in rng.permutation(filters.NAMES)))
    img = random_image(rng, h=int(rng.integers(1, 60)), w=int(rng.integers(1, 90)))
    slow = render(recipe, img, fused=False)
    assert_close(render(recipe, img, fused=True), slow)
    assert_close(render(recipe, img, fused=True, threads=1), slow)


@needs_numba
@pytest.mark.parametrize("name", filters.NAMES)
def test_fused_single_filter_at_range_ends(name):
    spec = filters.get(name)
    img = random_image(np.random.default_rng(7), h=40, w=40)
    for pick in ("low", "high", "default"):
        values = {p.name: getattr(p, pick) if p.size == 1 else [getattr(p, pick)] * p.size for p in spec.params}
        recipe = Recipe((Step(name, values),))
        assert_close(render(recipe, img, fused=True), render(recipe, img, fused=False))


@needs_numba
def test_fused_in_place_and_greys_stay_grey():
    rng = np.random.default_rng(5)
    recipe = Recipe.from_steps(STEPS)
    img = random_image(rng, h=70, w=129)  # 9030 pixels: many blocks and a partial one
    expected = render(recipe, img, fused=False)
    keep = img.copy()
    out = render(recipe, img, fused=True)
    assert np.array_equal(img, keep)
    same = render(recipe, img, out=img, fused=True)
    assert same is img
    assert_close(img, expected)
    np.testing.assert_array_equal(img, out)
    grey = np.full((3, 4, 3), 0.25, np.float32)
    steps = [s for s in Recipe.from_steps(STEPS).steps if s.filter not in ("white_balance", "color_curves")]
    g = render(steps, grey, fused=True)
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])


@needs_numba
def test_fused_zero_pixels_and_empty_recipe():
    recipe = Recipe.from_steps(STEPS)
    empty = np.zeros((0, 5, 3), np.float32)
    assert render(recipe, empty, fused=True).shape == (0, 5, 3)
    assert render_encoded(recipe, empty, "srgb").shape == (0, 5, 3)
    img = random_image(np.random.default_rng(3))
    np.testing.assert_array_equal(render(Recipe(()), img, fused=True), img)


def test_numpy_fallback_by_environment():
    code = (
        "import numpy as np, sys\n"
        "from exposure_batch.render import render, fused_available\n"
        "from exposure_batch.recipe import Recipe\n"
        "from tests.test_recipe import STEPS\n"
        "assert not fused_available()\n"
        "img = np.random.default_rng(1).uniform(0, 1.5, (20, 30, 3)).astype(np.float32)\n"
        "render(Recipe.from_steps(STEPS), img, out=img)\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
        "try:\n    render(Recipe.from_steps(STEPS), img, fused=True)\nexcept RuntimeError:\n    print('ok')\n"
    )
    import os
    import subprocess
    import sys

    env = {**os.environ, kernels.ENV_DISABLE: "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=root)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


# --- fused render + output encoding ------------------------------------------------------------------------------
def encode_reference(recipe, img, space, linear, bits):
    from exposure_batch.io.write import encode_to_int

    return encode_to_int(render(recipe, img, fused=False), space, linear=linear, bits=bits)


@pytest.mark.parametrize("space", list(color.Space))
def test_transfer_params_match_color_encode(space):
    """The fused kernel's toe + power description of each transfer curve is color.encode's maths."""
    x = np.concatenate([np.linspace(0, 1, 20001, dtype=np.float32), np.float32([1e-7, 1 / 512, 0.0031308, 0.018])])
    thr, slope, scale, expo, offset, inclusive = kernels.transfer_params(space)[1:]
    low = x <= thr if inclusive else x < thr
    mine = np.where(low, x * slope, scale * np.power(x, expo) - offset).astype(np.float32)
    np.testing.assert_allclose(mine, color.encode(x, space), atol=2e-7, rtol=0)


@needs_numba
@pytest.mark.slow
@pytest.mark.parametrize("space, linear, bits", [
    ("srgb", False, 8), ("srgb", False, 16), ("p3", False, 8), ("adobergb", False, 16), ("prophoto", False, 16),
    ("rec2020", False, 16), ("prophoto", True, 16), ("srgb", True, 16),
])
def test_render_encoded_equals_render_then_encode(space, linear, bits):
    rng = np.random.default_rng(11)
    recipe = random_recipe(rng, n_steps=4)
    img = random_image(rng, h=64, w=97)
    img[5, :10] = [[-0.01, 0.5, 2.0]]  # out of range both ways
    sp = color.space_from_name(space)
    ref = encode_reference(recipe, img, sp, linear, bits)
    keep = img.copy()
    got = render_encoded(recipe, img, sp, linear=linear, bits=bits)
    assert np.array_equal(img, keep)
    assert got.dtype == ref.dtype == (np.uint8 if bits == 8 else np.uint16) and got.shape == img.shape
    diff = np.abs(got.astype(np.int64) - ref)
    assert diff.max() <= 1 and diff.mean() < 0.02, (diff.max(), diff.mean())
    np.testing.assert_array_equal(render_encoded(recipe, img, sp, linear=linear, bits=bits, fused=False), ref)


@needs_numba
def test_warm_up_then_render_on_two_python_threads():
    """Kernels load once; concurrent calls from two Python threads give the single-thread result."""
    from concurrent.futures import ThreadPoolExecutor

    from exposure_batch.render import warm_up

    warm_up()
    recipe = Recipe.from_steps(STEPS)
    imgs = [random_image(np.random.default_rng(s), h=50, w=70) for s in range(4)]
    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(lambda im: render(recipe, im, fused=True, threads=1), imgs))
    for im, out in zip(imgs, outs):
        np.testing.assert_array_equal(out, render(recipe, im, fused=True, threads=1))


@needs_numba
@pytest.mark.slow
@pytest.mark.parametrize("space", [color.Space.SRGB, color.Space.ADOBE_RGB, color.Space.PROPHOTO, color.Space.REC2020])
def test_8bit_encode_table_gives_the_direct_codes(space):
    """Every float of every bucket where the 8-bit code rises (and its neighbours), plus random, negative, > 1,
    -0.0, NaN and infinite values: the table path gives exactly the direct path's codes."""
    tp = kernels.transfer_params(space)
    base, step = kernels.encode_lut(tuple(float(v) for v in tp))
    rising = np.nonzero(step != np.iinfo(np.int32).max)[0]
    assert len(rising) == 255  # one rise per code
    buckets = np.unique(np.clip(np.concatenate([rising - 1, rising, rising + 1]), 0, len(step) - 1))
    bits = (buckets[:, None].astype(np.int64) << kernels.LUT_SHIFT | np.arange(1 << kernels.LUT_SHIFT)).ravel()
    rng = np.random.default_rng(5)
    x = np.concatenate([bits[bits <= 0x3F800000].astype(np.int32).view(np.float32),
                        rng.normal(0.5, 0.6, 500_000).astype(np.float32),
                        np.float32([0.0, -0.0, 1.0, np.nan, 2.0, -1.0, 1e-40, -1e-40, np.inf, -np.inf])])
    src = np.repeat(x, 3)
    with_table, direct = np.empty(src.shape, np.uint8), np.empty(src.shape, np.uint8)
    kernels.run_encode(src, with_table, kernels.EMPTY_STEPS, None, tp, use_lut=True)
    kernels.run_encode(src, direct, kernels.EMPTY_STEPS, None, tp, use_lut=False)
    np.testing.assert_array_equal(with_table, direct)
    assert base[0] == 0 and base[-1] == 255


@needs_numba
@pytest.mark.parametrize("gamma", [1 / 3, 0.45, 1.0, 2.2, 3.0])
def test_fused_gamma_vectorised_power_matches_numpy(gamma):
    """gamma's fused block uses kernels' polynomial power: same values as NumPy's power, NaN kept."""
    from exposure_batch.recipe import Step

    rng = np.random.default_rng(int(gamma * 100))
    img = (rng.random((50, 80, 3)) ** 3 * 8).astype(np.float32)
    img[0, :6] = [[0.0, -1.0, 1e-30], [0.001, 0.0010001, 1.0], [7e3, 1.0e-3, np.nan], [1, 1, 1], [2, 3, 4],
                  [0.5, 0.25, 0.125]]
    recipe = Recipe((Step("gamma", {"gamma": gamma}),))
    fused = render(recipe, img, fused=True)
    ref = render(recipe, img, fused=False)
    assert np.array_equal(np.isnan(fused), np.isnan(ref))
    np.testing.assert_allclose(fused, ref, rtol=2e-6, atol=1e-6, equal_nan=True)


# --- 16-bit linear codes (LibRaw's output): tabulated separable prefix, same codes as the float32 values ----------
def random_codes(rng, h=61, w=83):
    """uint16 linear codes with the ends (0, 65535), exact greys and single-channel zeros."""
    codes = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    codes[::4] = (codes[::4].astype(np.float64) ** 2 / 65535).astype(np.uint16)  # dark values, as in photos
    codes[::5] = codes[::5, :, :1]
    codes[1::7, ::3, 2] = 0
    codes[2, :3] = [[0, 0, 0], [65535, 65535, 65535], [65535, 0, 1]]
    return codes


def random_separable_step(rng):
    """A random step whose filter declares itself per-channel with those parameters."""
    while True:
        name = str(rng.choice(filters.NAMES))
        step = Step(name, random_params(filters.get(name), rng))
        if rng.random() < 0.5 and "amount" in step.params:
            step = Step(name, {"amount": 0.0})
        if kernels.is_separable(step):
            return step


@needs_numba
@pytest.mark.parametrize("seed", range(6))
def test_declared_separable_steps_treat_each_channel_alone(seed):
    """The claim behind the table: output channel c of pixel (a, b, c) equals channel c of the grey pixel made of
    that channel's value, exactly (the fused kernel, on a random image with greys, zeros and values > 1)."""
    rng = np.random.default_rng(100 + seed)
    step = random_separable_step(rng)
    img = random_image(rng).reshape(-1, 3)
    out = render([step], img.reshape(1, -1, 3), fused=True).reshape(-1, 3)
    for c in range(3):
        grey = np.repeat(img[:, c:c + 1], 3, axis=1)
        np.testing.assert_array_equal(out[:, c], render([step], grey.reshape(1, -1, 3), fused=True)[0, :, c],
                                      err_msg=f"{step.spec.name} {step.params}")


@needs_numba
def test_non_separable_steps_are_not_declared_separable():
    assert not kernels.is_separable(Step("saturation", {"amount": 0.3}))
    assert not kernels.is_separable(Step("contrast", {"amount": -0.2}))
    assert not kernels.is_separable(Step("black_and_white", {"amount": 1.0}))
    steps = [Step("exposure", {"ev": 0.5}), Step("saturation", {"amount": 0.0}), Step("contrast", {"amount": 0.4}),
             Step("gamma", {"gamma": 1.2})]
    assert kernels.separable_prefix(steps) == 2
    assert kernels.worth_tabulating([Step("gamma", {"gamma": 1.2})])  # a power per value: tabulate it
    assert not kernels.worth_tabulating(steps[:2])  # a gain and a clip: cheaper per pixel than a lookup


@needs_numba
@pytest.mark.parametrize("seed, space, linear, bits", [
    (0, "srgb", False, 8), (1, "srgb", False, 8), (2, "p3", False, 8), (3, "adobergb", False, 16),
    (4, "prophoto", False, 16), (5, "rec2020", False, 16), (6, "prophoto", True, 16), (7, "srgb", False, 8),
])
def test_render_encoded_from_codes_equals_from_their_values(seed, space, linear, bits):
    """uint16 codes give exactly the codes of their float32 values (io.raw.codes_to_linear), whatever mix of
    separable (tabulated) and non-separable (per pixel) steps, on 1 or 2 threads; the NumPy path agrees too."""
    from exposure_batch.io.raw import codes_to_linear

    rng = np.random.default_rng(200 + seed)
    steps = [random_separable_step(rng) for _ in range(int(rng.integers(0, 4)))]
    steps += list(random_recipe(rng, n_steps=int(rng.integers(1, 4))).steps) if seed % 4 else []
    codes = random_codes(rng)
    keep = codes.copy()
    values = codes_to_linear(codes)
    sp = color.space_from_name(space)
    for threads in (1, 2):
        got = render_encoded(steps, codes, sp, linear=linear, bits=bits, threads=threads)
        assert got.dtype == (np.uint8 if bits == 8 else np.uint16) and got.shape == codes.shape
        np.testing.assert_array_equal(got, render_encoded(steps, values, sp, linear=linear, bits=bits,
                                                          threads=threads))
    np.testing.assert_array_equal(codes, keep)
    matrix = None if sp == color.WORKING_SPACE else color.convert_matrix(color.WORKING_SPACE, sp)
    want = render_encoded(steps, values, sp, linear=linear, bits=bits)
    for tabulate in (True, False):  # the prefix looked up in a table, or every step run on the converted codes
        got = np.empty_like(want)
        assert kernels.run_encode16(codes.reshape(-1, 3), got.reshape(-1, 3), steps, matrix,
                                         kernels.transfer_params(sp, linear), tabulate=tabulate)
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(render_encoded(steps, codes, sp, linear=linear, bits=bits, fused=False),
                                  render_encoded(steps, values, sp, linear=linear, bits=bits, fused=False))


@needs_numba
def test_code_table_is_the_steps_on_every_code():
    from exposure_batch.io.raw import CODE_SCALE

    steps = [Step("white_balance", {"red": 1.3, "green": 1.0, "blue": 0.8}), Step("gamma", {"gamma": 0.8})]
    table = kernels.code_table(steps)
    assert table.shape == (3, 65536) and table.dtype == np.float32
    values = np.arange(65536, dtype=np.float32) * CODE_SCALE
    img = np.stack([values] * 3, axis=-1).reshape(1, -1, 3)
    np.testing.assert_array_equal(table.T, render(steps, img, fused=True)[0])
    assert np.array_equal(kernels.code_table([])[1], values)
