"""Issue 14, "what to build" 7: a bounded fuzz pass (Hypothesis, derandomized so CI sees the same examples every run)
over mutated real files: the decoders (JPEG, PNG, TIFF, DNG via LibRaw), the EXIF reader, the TIFF structure walk,
the ICC parser and the XMP merge. Each example asserts the exact contract, not just "no crash":

* decode: a (H, W, 3) image of finite, non-negative values within the pixel limit, or an InputError subclass whose
  message is one line starting with the file's path; nothing else;
* read_exif: never raises; only the documented keys, with their types, text printable and <= 256 characters;
* the TIFF walk: returns or raises TiffStructureError; ICC: parse_profile returns or raises ValueError, and
  limit_problem never raises;
* the XMP merge: UnreadableXmp, or a well-formed document carrying our develop settings (xpacket kept when present).

Budget: about 1-2 minutes on 2 cores for the whole module (marked slow).
"""
from __future__ import annotations

import io
import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from exposure_batch.errors import InputError
from exposure_batch.io import decode, icc, metadata, tiffcheck
from exposure_batch.recipe import Recipe
from exposure_batch.sidecars import adobe, xmp
from tests.hostile import corpus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FUZZ = settings(max_examples=int(os.environ.get("EXPOSURE_BATCH_FUZZ_EXAMPLES", "300")), deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Values that make parsers misbehave when written over offsets, counts, sizes.
INTERESTING = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x08", b"\x08\x00\x00\x00",
               b"\xff", b"\x00", b"\x80", b"\xff\xd8", b"\xff\xd9", b"\xff\xda", b"II*\x00", b"\x00\x01", b"\xff\xfe"]
MAX_PIXELS = 4_000_000


# --- seed files (generated) -----------------------------------------------------------------------------------------
def _jpeg_seed() -> bytes:
    from tests.helpers import jpeg_bytes  # noqa: PLC0415
    from exposure_batch.io.metadata import build_exif  # noqa: PLC0415

    exif = build_exif({"camera_make": "Canon", "camera_model": "EOS", "iso": 200, "exposure_time": "1/125",
                       "f_number": 4.0, "capture_time": "2024-05-01T10:11:12", "lens": "EF 50mm"})
    return jpeg_bytes(corpus.photo_array(40, 24), quality=80, exif=exif, icc_profile=icc.profile_bytes("adobergb"))


def _png_seed() -> bytes:
    from tests.helpers import encode_png16  # noqa: PLC0415

    return encode_png16((corpus.photo_array(24, 16).astype(np.uint16) * 257), icc.profile_bytes("p3"))


def _tiff_seed() -> bytes:
    import tifffile  # noqa: PLC0415

    buf = io.BytesIO()
    tifffile.imwrite(buf, corpus.photo_array(24, 16).astype(np.uint16) * 257, photometric="rgb",
                     iccprofile=icc.profile_bytes("prophoto"), extratags=[(271, "s", 0, "Nikon", True)])
    return buf.getvalue()


def _dng_seed(tmp_dir) -> bytes:
    from tests.helpers import make_dng  # noqa: PLC0415

    path = os.path.join(tmp_dir, "seed.dng")
    make_dng(path, corpus.photo_array(32, 24).astype(np.float32) / 255.0, noise=False)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seeds")
    return {".jpg": _jpeg_seed(), ".png": _png_seed(), ".tif": _tiff_seed(), ".dng": _dng_seed(str(tmp))}


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """A few overwrites with interesting values, byte flips, a duplicated or deleted chunk, maybe a truncation."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["put", "flip", "dup", "cut"]))
        at = draw(st.integers(0, max(0, len(buf) - 1)))
        if kind == "put":
            value = draw(st.sampled_from(INTERESTING))
            buf[at:at + len(value)] = value
        elif kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "dup":
            n = draw(st.integers(1, 64))
            buf[at:at] = buf[at:at + n]
        else:
            del buf[at:at + draw(st.integers(1, 64))]
    if draw(st.booleans()) and len(buf) > 8:
        del buf[draw(st.integers(8, len(buf))):]
    return bytes(buf)


def _check_decode(path: str) -> None:
    try:
        d = decode(path, max_pixels=MAX_PIXELS)
    except InputError as err:
        text = str(err)
        assert text.startswith(path + ": ") and "\n" not in text and len(text) < 600, text
        return
    rgb = d.rgb_lin
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS
    assert np.isfinite(rgb).all() and rgb.min() >= 0


def _check_exif(path: str) -> None:
    exif = metadata.read_exif(path)
    assert set(exif) <= set(metadata.EXIF_KEYS)
    for key in ("camera_make", "camera_model", "lens"):
        if key in exif:
            assert isinstance(exif[key], str) and 0 < len(exif[key]) <= 256 and exif[key].isprintable()
    assert isinstance(exif.get("iso", 1), int) and 1 <= exif.get("orientation", 1) <= 8


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".dng"])
def test_fuzz_decoders_and_exif(seeds, tmp_path, ext):
    path = str(tmp_path / ("fuzz" + ext))

    @FUZZ
    @given(data=mutated(seeds[ext]))
    def run(data):
        with open(path, "wb") as fh:
            fh.write(data)
        _check_decode(path)
        _check_exif(path)

    run()


@FUZZ
@given(data=st.data())
def test_fuzz_tiff_walk(data):
    block = data.draw(mutated(_tiff_seed()))
    try:
        tiffcheck.check_tiff_bytes(block)
    except tiffcheck.TiffStructureError as err:
        assert "\n" not in str(err)


@FUZZ
@given(data=st.data())
def test_fuzz_icc_parser(data):
    profile = data.draw(mutated(icc.profile_bytes(data.draw(st.sampled_from(["srgb", "adobergb", "rec2020"])))))
    problem = icc.limit_problem(profile)
    assert problem is None or isinstance(problem, str)
    try:
        prof = icc.parse_profile(profile)
    except (ValueError, struct.error):
        return
    if prof.is_matrix_shaper:
        probe = np.linspace(0, 1, 17, dtype=np.float32)
        for curve in prof.curves:
            assert np.asarray(curve(probe)).shape == (17,)


_SEED_XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
             b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
             b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="3"><dc:subject><rdf:Bag><rdf:li>k&amp;w</rdf:li>'
             b'</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')
_SETTINGS = adobe.crs_settings(Recipe.from_steps([("exposure", {"ev": 0.5})]), raw=True)


@FUZZ
@given(data=st.data())
def test_fuzz_xmp_merge(data):
    existing = data.draw(st.one_of(mutated(_SEED_XMP), mutated(corpus.XMP_DOCTYPE),
                                   st.text(max_size=40).map(lambda t: _SEED_XMP.replace(b"k&amp;w", t.encode(
                                       "utf-8", "surrogatepass").replace(b"<", b"&lt;").replace(b"&", b"&amp;")))))
    try:
        tree, merged = adobe.merge_into(existing, _SETTINGS, replace=True)
    except (xmp.UnreadableXmp, ValueError) as err:
        assert "\n" not in str(err)
        return
    out = xmp.serialize(tree)
    root = etree.fromstring(out)  # always well-formed
    assert merged and b"<!DOCTYPE" not in out
    desc = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get("{http://ns.adobe.com/camera-raw-settings/1.0/}Exposure2012") == "+0.50"
    if existing.startswith(b"<?xpacket begin=") and b'<?xpacket end="w"?>' in existing:
        assert out.count(b"<?xpacket") == 2
