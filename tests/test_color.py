"""The colour matrices stored in exposure_batch/data/colour_constants.json equal colour-science's derivations."""
from __future__ import annotations

import numpy as np

from exposure_batch import color


def test_every_stored_matrix_equals_colour_science():
    table = color.stored_constants()
    derivations = color.constant_derivations()
    missing = sorted(set(derivations) - set(table))
    assert not missing, f"colour_constants.json lacks {missing}: run tools/make_colour_constants.py"
    for name, derive in derivations.items():
        np.testing.assert_allclose(np.asarray(table[name]), derive(), rtol=0, atol=1e-15, err_msg=name)


def test_convert_matrix_round_trip_and_white():
    for a in color.Space:
        for b in color.Space:
            m = color.convert_matrix(a, b).astype(np.float64)
            np.testing.assert_allclose(m @ np.ones(3), np.ones(3), atol=2e-6)  # white maps to white
            back = color.convert_matrix(b, a).astype(np.float64)
            np.testing.assert_allclose(back @ m, np.eye(3), atol=2e-6)


def test_matrices_fall_back_to_colour_science_when_not_stored(monkeypatch):
    color.convert_matrix.cache_clear()
    monkeypatch.setattr(color, "stored_constants", lambda: {})
    try:
        got = color.convert_matrix(color.Space.PROPHOTO, color.Space.SRGB)
        expected = color.derive_convert_matrix(color.Space.PROPHOTO, color.Space.SRGB).astype(np.float32)
        np.testing.assert_array_equal(got, expected)
    finally:
        color.convert_matrix.cache_clear()
