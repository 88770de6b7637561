"""Lightroom / Camera Raw creative ("enhanced") profile with an embedded 3D RGB table (RGBTable).

The on-disk format is not in a public spec; it is implemented in Adobe's DNG SDK (dng_big_table.cpp, dng_rgb_table)
and summarised in docs/sidecar_formats.md A.7. Block (little-endian): uint32 type 1, version 1, dimensions 3,
divisions N; N^3 nodes (R index slowest, B fastest) x 3 uint16 stored as wrap-around deltas from the identity ramp
(i * 65535 + N // 2) // (N - 1); uint32 primaries (0 sRGB), gamma (1 sRGB), gamut (0 clip); float64 min / max
amount. Stored as crs:Table_<MD5 of the block, uppercase> = base-85(uint32 length + zlib(block)) with Adobe's
XML-safe alphabet, least-significant digit first. Untested in Lightroom itself (no Adobe software here): check once.

Exports: encode_table, decode_table, profile_xmp, ALPHABET.
"""
from __future__ import annotations

import hashlib
import struct
import uuid
import zlib

import numpy as np

from . import cube, xmp
from .xmp import q

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?`'|()[]{}@%$#"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
MAX_DIVISIONS = 32
PRIMARIES_SRGB, GAMMA_SRGB, GAMUT_CLIP = 0, 1, 0


def _ramp(n: int) -> np.ndarray:
    return (np.arange(n, dtype=np.int64) * 65535 + n // 2) // (n - 1)


def table_block(table: np.ndarray) -> bytes:
    """(N, N, N, 3) [r, g, b]-indexed sRGB table in [0, 1] -> the uncompressed RGBTable block."""
    n = table.shape[0]
    if table.shape != (n, n, n, 3) or not 2 <= n <= MAX_DIVISIONS:
        raise ValueError(f"RGBTable needs an (N, N, N, 3) table with 2 <= N <= {MAX_DIVISIONS}, got {table.shape}")
    vals = np.round(np.clip(table, 0.0, 1.0) * 65535).astype(np.int64)
    ramp = _ramp(n)
    ident = np.stack(np.meshgrid(ramp, ramp, ramp, indexing="ij"), axis=-1)
    deltas = ((vals - ident) & 0xFFFF).astype("<u2")
    return (struct.pack("<4I", 1, 1, 3, n) + deltas.tobytes()
            + struct.pack("<3I2d", PRIMARIES_SRGB, GAMMA_SRGB, GAMUT_CLIP, 0.0, 2.0))


def _b85(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 4):
        chunk = data[i:i + 4]
        x = int.from_bytes(chunk.ljust(4, b"\0"), "little")
        digits = []
        for _ in range(len(chunk) + 1):
            digits.append(ALPHABET[x % 85])
            x //= 85
        out.append("".join(digits))
    return "".join(out)


def _unb85(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 5):
        group = text[i:i + 5]
        x = 0
        for c in reversed(group):
            x = x * 85 + _INDEX[c]
        out += x.to_bytes(4, "little")[: len(group) - 1]
    return bytes(out)


def encode_table(table: np.ndarray) -> tuple[str, str]:
    """Table -> (fingerprint: 32 uppercase hex digits, payload string for crs:Table_<fingerprint>)."""
    block = table_block(table)
    fingerprint = hashlib.md5(block).hexdigest().upper()
    return fingerprint, _b85(struct.pack("<I", len(block)) + zlib.compress(block, 9))


def decode_table(payload: str) -> tuple[np.ndarray, str]:
    """Inverse of encode_table: -> ((N, N, N, 3) float32 table, fingerprint of the block)."""
    raw = _unb85(payload)
    (length,) = struct.unpack("<I", raw[:4])
    block = zlib.decompress(raw[4:])
    if len(block) != length:
        raise ValueError(f"RGBTable length {len(block)} != header {length}")
    kind, version, dims, n = struct.unpack("<4I", block[:16])
    if (kind, version, dims) != (1, 1, 3):
        raise ValueError(f"not a 3D RGBTable (type {kind}, version {version}, dimensions {dims})")
    deltas = np.frombuffer(block[16:16 + n ** 3 * 6], "<u2").astype(np.int64).reshape(n, n, n, 3)
    ramp = _ramp(n)
    ident = np.stack(np.meshgrid(ramp, ramp, ramp, indexing="ij"), axis=-1)
    vals = (deltas + ident) & 0xFFFF
    return (vals / 65535.0).astype(np.float32), hashlib.md5(block).hexdigest().upper()


def profile_xmp(recipe, name: str, group: str = "exposure-batch", divisions: int = MAX_DIVISIONS):
    """Creative profile XMP tree (PresetType Look) carrying the recipe baked into a sRGB RGBTable."""

    fingerprint, payload = encode_table(cube.bake(recipe, divisions))
    tree = xmp.load_template("lightroom_preset.xmp")
    desc = xmp.description(tree)
    desc.set(q("crs:PresetType"), "Look")
    desc.set(q("crs:UUID"), uuid.uuid4().hex.upper())
    desc.set(q("crs:SupportsAmount"), "True")
    desc.set(q("crs:Version"), "15.4")
    desc.set(q("crs:ProcessVersion"), "11.0")
    desc.set(q("crs:RGBTable"), fingerprint)
    desc.set(q(f"crs:Table_{fingerprint}"), payload)
    for tag, text in (("Name", name), ("Group", group),
                      ("Description", "exposure-batch look: " + ("; ".join(recipe.describe()) or "no steps"))):
        xmp.set_lang_alt(desc, f"crs:{tag}", text)
    return tree
