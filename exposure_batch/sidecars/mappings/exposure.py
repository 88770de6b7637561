"""Exposure -> darktable exposure module (exact) / crs:Exposure2012 (approximate: ACR rolls highlights off)."""
from __future__ import annotations

from . import Mapping


def to_darktable(params) -> Mapping:
    return Mapping(ops=(("exposure", float(params["ev"])),))


def to_adobe(params, raw: bool = False) -> Mapping:
    ev = max(-5.0, min(5.0, float(params["ev"])))
    return Mapping(settings={"Exposure2012": ev}, exact=False, note="Exposure2012 rolls highlights off softly")
