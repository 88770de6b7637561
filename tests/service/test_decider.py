"""Decisions from concurrent requests are batched into one agent call, and give the same recipes as one at a time;
a bad input fails only its own request."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from exposure_batch.io import read_info
from exposure_batch.service.decider import Decider
from tests.helpers import sample_path


def _previews(n):
    rng = np.random.default_rng(0)
    return [rng.uniform(0.01, 0.8, (64, 64, 3)).astype(np.float32) for _ in range(n)]


def test_concurrent_decisions_make_one_batch_with_the_same_recipes():
    decider = Decider("learned")
    choice = decider.choose(None, None)
    info = read_info(sample_path("canon_powershot_g1x2.jpg"))
    previews = _previews(10)

    async def run():
        decider.start()
        try:
            return await asyncio.gather(*(decider.decide(choice, p, info) for p in previews))
        finally:
            await decider.stop()

    recipes = asyncio.run(run())
    assert decider.batches == [10]
    alone = [decider.source(choice).decide([p])[0] for p in previews]
    for batched, single in zip(recipes, alone):  # BLAS sums a batch in another order: the 6th decimal may move
        assert [s.filter for s in batched.steps] == [s.filter for s in single.steps]
        for sb, ss in zip(batched.steps, single.steps):
            for key, value in ss.params.items():
                assert np.allclose(sb.params[key], value, atol=1e-4), (ss.filter, key)
    assert all(r.source["name"] == "canon_powershot_g1x2.jpg" for r in recipes)


def test_a_bad_input_fails_alone():
    decider = Decider("learned")
    choice = decider.choose(None, None)
    info = read_info(sample_path("canon_powershot_g1x2.jpg"))
    good = _previews(2)

    async def run():
        decider.start()
        try:
            return await asyncio.gather(decider.decide(choice, good[0], info),
                                        decider.decide(choice, np.zeros((3,), np.float32), info),
                                        decider.decide(choice, good[1], info), return_exceptions=True)
        finally:
            await decider.stop()

    a, bad, b = asyncio.run(run())
    assert isinstance(bad, Exception) and not isinstance(a, Exception) and not isinstance(b, Exception)


def test_unknown_agent_or_profile_is_refused():
    from exposure_batch.errors import ModelError

    decider = Decider("learned", profiles={"warm": "x.recipe.json"})
    with pytest.raises(ModelError, match="unknown agent"):
        decider.choose("magic", None)
    with pytest.raises(ModelError, match="unknown profile"):
        decider.choose(None, "cold")
    assert decider.choose("classic", "warm").kind == "profile"
