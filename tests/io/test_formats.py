"""The one format table (io.formats): its answers, and that routing, output checks, the CLI, the service schema and
the sidecar writers all read it."""
from __future__ import annotations

import itertools
import os

import click
import numpy as np
import pytest

from exposure_batch.color import SPACE_NAMES, space_from_name
from exposure_batch.errors import OutputUsage
from exposure_batch.io import formats, read_info, write_image
from exposure_batch.io.write import check_output
from exposure_batch.sidecars import adobe, darktable
from tests.helpers import sample_path


def test_every_extension_has_one_format_and_is_lower_case():
    seen = [e for f in formats.FORMATS for e in f.extensions]
    assert len(seen) == len(set(seen)) and all(e.startswith(".") and e == e.lower() for e in seen)
    names = [n for f in formats.FORMATS for n in (f.name, *f.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name,raw,embeds", [
    ("IMG_0001.CR2", True, False), ("a.nef", True, False), ("x.DNG", True, True), ("a.jpg", False, True),
    ("a.JPE", False, True), ("a.tif", False, True), ("a.png", False, True), ("a.webp", False, False),
    ("a.heic", False, True), ("a.psd", False, True), ("a.exr", False, False), ("noext", False, False),
])
def test_is_raw_and_embedded_xmp_have_one_answer(name, raw, embeds):
    """One rule for "is it raw?": the table, as decode, process, darktable, Adobe and the service ask it."""
    from exposure_batch.service.edits import is_raw_name

    assert formats.is_raw(name) is raw
    assert darktable.is_raw(name) is raw and is_raw_name(name) is raw
    assert formats.embeds_xmp(name) is embeds and adobe.needs_embedding(name) is embeds


def test_sniff_recognises_what_we_write_and_ships(tmp_path):
    img = np.full((8, 8, 3), 0.25, np.float32)
    for ext, name in ((".jpg", "jpeg"), (".png", "png"), (".tif", "tiff")):
        path = write_image(img, tmp_path / f"x{ext}")
        with open(path, "rb") as fh:
            assert formats.sniff(fh.read(16)).name == name
    with open(sample_path("flower.dng"), "rb") as fh:
        assert formats.sniff(fh.read(16)).name == "tiff"  # DNG is TIFF-structured; routing sends it to LibRaw
    assert read_info(sample_path("flower.dng")).format.startswith("raw:")
    assert formats.sniff(b"GIF89a").name == "gif"  # read through Pillow (issue 23 row 8)
    assert formats.sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic").name == "heif"
    assert formats.sniff(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf").name == "avif"
    assert formats.sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") is None  # a video
    assert formats.sniff(b"BM\x00\x00") is None


def test_output_names_and_aliases():
    assert formats.OUTPUT_FORMATS == ("jpeg", "png", "tiff")
    assert [formats.output_format(n) for n in ("jpg", "JPEG", "tif", "png")] == ["jpeg", "jpeg", "tiff", "png"]
    assert [formats.output_extension(n) for n in formats.OUTPUT_FORMATS] == [".jpg", ".png", ".tif"]
    assert [formats.bits_for(n) for n in formats.OUTPUT_FORMATS] == [8, 16, 16]
    for bad in ("gif", "dng", "raw"):
        with pytest.raises(ValueError, match="unknown output format"):
            formats.output_format(bad)


def test_one_jpeg_colour_space_rule_for_cli_and_writer(tmp_path):
    """Every format x space x linear: the CLI's usage check refuses exactly what io.write refuses (JPEG: sRGB,
    Display P3, Adobe RGB, never linear; PNG/TIFF: anything)."""
    from exposure_batch.cli.options import check_output_options

    allowed_jpeg = {"srgb", "p3", "adobergb"}
    for fmt, space, linear in itertools.product(formats.OUTPUT_FORMATS, SPACE_NAMES, (False, True)):
        expect_ok = fmt != "jpeg" or (space in allowed_jpeg and not linear)
        try:
            check_output_options(fmt, space, linear, False, False)
            cli_ok = True
        except click.UsageError:
            cli_ok = False
        try:
            check_output(os.path.join(tmp_path, "x" + formats.output_extension(fmt)), fmt=fmt, space=space,
                          linear=linear)
            write_ok = True
        except OutputUsage:
            write_ok = False
        assert cli_ok == write_ok == expect_ok, (fmt, space, linear)
    assert "Display P3" in formats.check_encoding("jpeg", space_from_name("prophoto"), False)


def test_service_schema_reads_the_table():
    from exposure_batch.service.app import RenderSpec

    schema = RenderSpec.model_json_schema()["properties"]["format"]
    assert tuple(schema["enum"]) == formats.OUTPUT_CHOICES


def test_every_output_format_has_an_encoder_and_writes_what_it_says(tmp_path):
    from exposure_batch.io.write import ENCODERS

    assert set(ENCODERS) == set(formats.OUTPUT_FORMATS)
    img = np.full((6, 9, 3), 0.3, np.float32)
    for name in formats.OUTPUT_FORMATS:
        path = write_image(img, tmp_path / ("x" + formats.output_extension(name)))
        info = read_info(path)
        assert (info.format, info.bit_depth, info.width) == (name, formats.bits_for(name), 9)
