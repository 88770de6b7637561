"""Issue 14 rows 9, 10, 13, 15, 16: one photo = one unit (image, recipe, sidecars, .cube together or not at all);
unreadable existing XMP kept untouched beside ours; our earlier settings replaced on --overwrite; merged XMP always
well-formed; exiftool never takes a name as an option and never replaces a symlink by a copy."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest
from lxml import etree

from tests.helpers import sample_path
from tests.hostile import corpus
from tests.hostile.conftest import files_under
from tests.hostile.test_limits import read_only

EXIFTOOL = shutil.which("exiftool")
CRS = "{http://ns.adobe.com/camera-raw-settings/1.0/}"


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _look(tmp_path, ev: float, name: str = "look.json", **top) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(corpus.recipe_json([{"filter": "exposure", "version": 1, "params": {"ev": ev}}], **top)))
    return str(path)


def _raw_catalogue(tmp_path, name: str = "IMG.NEF") -> str:
    """A folder holding a camera RAW (real DNG data under a .NEF name: Lightroom keeps its settings in IMG.xmp)."""
    cat = tmp_path / "cat"
    cat.mkdir()
    shutil.copy(sample_path("flower.dng"), cat / name)
    return str(cat / name)


def _crs(path) -> dict:
    with open(path, "rb") as fh:
        root = etree.fromstring(fh.read())
    desc = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    return {k[len(CRS):]: v for k, v in desc.attrib.items() if k.startswith(CRS)}


# --- row 9: a failing sidecar leaves nothing; an unreadable XMP is kept ---------------------------------------------
def test_unreadable_existing_xmps_are_kept_and_ours_written_beside(tmp_path, process, capfd):
    """Five catalogues (empty, binary, malformed, external entity, billion laughs), one run: every RAW is done,
    every unreadable IMG.xmp untouched, ours beside it."""
    raws, before = [], {}
    for kind, data in sorted(corpus.UNREADABLE_XMPS.items()):
        cat = tmp_path / kind
        cat.mkdir()
        shutil.copy(sample_path("flower.dng"), cat / "IMG.NEF")
        (cat / "IMG.xmp").write_bytes(data)
        raws.append(cat / "IMG.NEF")
        before[kind] = _sha(cat / "IMG.xmp")
    code, out = process(*raws, "-o", tmp_path / "out", "--recipe", _look(tmp_path, 0.5), "--sidecar", "adobe",
                        "--sidecar-beside-source")
    assert code == 0 and f"done {len(raws)}, skipped 0, failed 0" in out, out
    err = capfd.readouterr().err  # (the worker process logs it)
    for kind in corpus.UNREADABLE_XMPS:
        existing = tmp_path / kind / "IMG.xmp"
        assert _sha(existing) == before[kind], kind  # untouched
        assert _crs(tmp_path / kind / "IMG.exposure-batch.xmp")["Exposure2012"] == "+0.50"
        assert f"{existing}: existing XMP cannot be read (" in err
    assert "left untouched, settings written to IMG.exposure-batch.xmp" in err
    assert files_under(tmp_path / "out") == sorted(f"{kind}/IMG.jpg" for kind in corpus.UNREADABLE_XMPS)


def test_failed_sidecar_leaves_nothing_and_a_rerun_redoes_the_whole_unit(tmp_path, process):
    cat = tmp_path / "cat"
    cat.mkdir()
    src = corpus.jpeg(cat / "a.jpg")
    args = (src, "-o", tmp_path / "out", "--save-recipe", "--sidecar", "darktable", "--sidecar-beside-source",
            "--recipe", _look(tmp_path, 0.3))
    with read_only(cat) as reason:  # the sidecars go beside the source: that folder refuses them
        code, out = process(*args)
    assert code == 1
    assert f"{cat / 'a.jpg.xmp'}: cannot create a file in {cat} ({reason})" in out
    assert files_under(tmp_path / "out") == []  # no image, no recipe: the unit was not committed
    assert sorted(os.listdir(cat)) == ["a.jpg"]  # and no temp file anywhere
    code, out = process(*args)  # a rerun is not blocked by "exists": the unit is done as a whole
    assert code == 0 and "done 1, skipped 0, failed 0" in out
    assert files_under(tmp_path / "out") == ["a.jpg", "a.recipe.json"]
    assert sorted(os.listdir(cat)) == ["a.jpg", "a.jpg.xmp"]


def test_odd_extra_in_a_recipe_is_no_sidecar_error(tmp_path, process):
    src = corpus.jpeg(tmp_path / "a.jpg")
    look = _look(tmp_path, 0.2, extra={"variation": "abc", "note": [1, {"x": None}]})
    code, out = process(src, "-o", tmp_path / "out", "--recipe", look, "--sidecar", "darktable")
    assert code == 0, out
    assert files_under(tmp_path / "out") == ["a.jpg", "a.jpg.xmp"]


# --- row 10: --overwrite replaces our own earlier settings ---------------------------------------------------------
def test_overwrite_replaces_our_earlier_adobe_settings(tmp_path, process):
    raw = _raw_catalogue(tmp_path)
    base = (raw, "-o", tmp_path / "out", "--sidecar", "adobe,darktable")
    code, _ = process(*base, "--recipe", _look(tmp_path, 1.0, "a.json"))
    assert code == 0
    xmp = tmp_path / "out" / "IMG.xmp"
    assert _crs(xmp)["Exposure2012"] == "+1.00"
    image_before = _sha(tmp_path / "out" / "IMG.jpg")
    code, out = process(*base, "--recipe", _look(tmp_path, -1.0, "b.json"), "--overwrite")
    assert code == 0, out
    assert _crs(xmp)["Exposure2012"] == "-1.00"
    assert _sha(tmp_path / "out" / "IMG.jpg") != image_before


def test_overwrite_keeps_another_tools_develop_settings(tmp_path, process, capfd):
    raw = _raw_catalogue(tmp_path)
    (tmp_path / "out").mkdir()
    theirs = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
              b'crs:Exposure2012="+0.70"/></rdf:RDF></x:xmpmeta>')
    (tmp_path / "out" / "IMG.xmp").write_bytes(theirs)
    code, out = process(raw, "-o", tmp_path / "out", "--sidecar", "adobe", "--overwrite",
                        "--recipe", _look(tmp_path, -1.0))
    assert code == 0 and (tmp_path / "out" / "IMG.xmp").read_bytes() == theirs
    assert "already has develop settings; kept" in capfd.readouterr().err


# --- row 15: DOCTYPE / entities / xpacket ---------------------------------------------------------------------------
def test_merge_with_doctype_resolves_internal_entities_and_keeps_xpacket(tmp_path, process):
    raw = _raw_catalogue(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "IMG.xmp").write_bytes(corpus.XMP_DOCTYPE)
    code, out = process(raw, "-o", tmp_path / "out", "--sidecar", "adobe", "--recipe", _look(tmp_path, 0.4))
    assert code == 0, out
    data = (tmp_path / "out" / "IMG.xmp").read_bytes()
    root = etree.fromstring(data)  # well-formed
    assert b"<!DOCTYPE" not in data and b"&xxe;" not in data
    assert data.count(b"<?xpacket begin=") == 1 and data.rstrip().endswith(b'<?xpacket end="w"?>')
    desc = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get("{http://ns.adobe.com/xap/1.0/}Label") == "studio-entity"
    assert desc.get("{http://ns.adobe.com/xap/1.0/}Rating") == "4"
    assert desc.get(CRS + "Exposure2012") == "+0.40"


# --- rows 13 and 16: exiftool with hostile names and symlinks -------------------------------------------------------
def _exif(path, *tags) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", *tags, "--", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


@pytest.mark.tool
@pytest.mark.parametrize("key", ["dash-option", "exiftool-tag"])
def test_embedding_into_sources_named_like_options(tmp_path, process, key):
    assert EXIFTOOL, "exiftool is needed (apt-get install libimage-exiftool-perl)"
    cat = tmp_path / "cat"
    cat.mkdir()
    src = corpus.jpeg(cat / corpus.HOSTILE_NAMES[key])
    code, out = process(src, "-o", tmp_path / "out", "--sidecar", "adobe", "--sidecar-beside-source",
                        "--recipe", _look(tmp_path, 0.6))
    assert code == 0 and "done 1, skipped 0, failed 0" in out, out
    meta = _exif(src, "-XMP-crs:Exposure2012", "-ImageDescription")
    assert float(meta["Exposure2012"]) == 0.6
    assert "ImageDescription" not in meta  # '-ImageDescription=pwned.jpg' stayed a file name
    assert sorted(os.listdir(cat)) == [corpus.HOSTILE_NAMES[key]]  # no exiftool leftovers


@pytest.mark.tool
@pytest.mark.parametrize("name", ["photo.jpg", pytest.param("flower.dng", marks=pytest.mark.slow)])
def test_embedding_through_a_symlink_keeps_the_link(tmp_path, process, name):
    assert EXIFTOOL, "exiftool is needed"
    store, cat = tmp_path / "store", tmp_path / "cat"
    store.mkdir()
    cat.mkdir()
    target = store / name
    if name.endswith(".dng"):
        shutil.copy(sample_path(name), target)
    else:
        corpus.jpeg(target)
    os.symlink(target, cat / name)
    code, out = process(cat / name, "-o", tmp_path / "out", "--sidecar", "adobe", "--sidecar-beside-source",
                        "--recipe", _look(tmp_path, -0.4))
    assert code == 0, out
    assert os.path.islink(cat / name) and os.readlink(cat / name) == str(target)
    assert float(_exif(target, "-XMP-crs:Exposure2012")["Exposure2012"]) == -0.4
    assert sorted(os.listdir(store)) == [name]


@pytest.mark.tool
def test_failed_embedding_fails_the_unit(tmp_path, process):
    assert EXIFTOOL, "exiftool is needed"
    cat = tmp_path / "cat"
    cat.mkdir()
    src = corpus.jpeg(cat / "a.jpg")
    before = _sha(src)
    with read_only(cat):
        code, out = process(src, "-o", tmp_path / "out", "--sidecar", "adobe", "--sidecar-beside-source",
                            "--recipe", _look(tmp_path, 0.6))
    assert code == 1 and "failed 1" in out
    assert _sha(src) == before and files_under(tmp_path / "out") == [] and os.listdir(cat) == ["a.jpg"]
