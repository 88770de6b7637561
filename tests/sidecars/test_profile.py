"""Lightroom creative profile RGBTable: encode -> decode round trip, fingerprint, Adobe's base-85, exiftool parse."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from lxml import etree

from exposure_batch.sidecars import cube, profile, xmp
from tests.sidecars import cases, tools


def test_round_trip_32():
    table = cube.bake(cases.recipe("look"), 32)
    fingerprint, payload = profile.encode_table(table)
    assert payload.startswith("Lir00")  # uint32 length 196652, least-significant base-85 digit first
    assert set(payload) <= set(profile.ALPHABET) and not set(payload) & set('"<>&\\')
    back, fp2 = profile.decode_table(payload)
    assert fp2 == fingerprint == hashlib.md5(profile.table_block(table)).hexdigest().upper()
    assert np.abs(back - table).max() <= 0.5 / 65535 + 1e-7


def test_identity_table_is_all_zero_deltas_and_ramp():
    n = 5
    axis = profile._ramp(n) / 65535.0
    table = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)
    block = profile.table_block(table)
    assert len(block) == 16 + n ** 3 * 6 + 28 and not any(block[16:16 + n ** 3 * 6])
    assert list(profile._ramp(3)) == [0, 32768, 65535]


def test_b85_partial_groups():
    for data in (b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256))):
        assert profile._unb85(profile._b85(data)) == data


def test_rejects_big_tables():
    with pytest.raises(ValueError):
        profile.table_block(np.zeros((33, 33, 33, 3)))


@pytest.mark.tool
@pytest.mark.needs_tool("exiftool")
def test_profile_xmp_parses(tmp_path):
    path = xmp.write_xmp(profile.profile_xmp(cases.recipe("look"), 'Look "1" & <b>'), tmp_path / "p.xmp")
    meta = tools.exiftool_json(path)
    assert meta["PresetType"] == "Look" and len(meta["RGBTable"]) == 32
    desc = etree.parse(path).find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    payload = desc.get("{http://ns.adobe.com/camera-raw-settings/1.0/}Table_" + meta["RGBTable"])
    assert profile.decode_table(payload)[1] == meta["RGBTable"]
