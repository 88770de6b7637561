"""XMP plumbing shared by the darktable and Adobe writers: namespaces, template loading (lxml), serialisation.

Templates live in the repository's `xmp_templates/` folder, shipped as package data (exposure_batch/xmp_templates); values are always set through lxml (attributes / text),
never by string concatenation, so any file name or text (quotes, `&`, `<`, unicode) yields valid XML.

Exports: NS, q, load_template, serialize, set_lang_alt, template_path.
"""
from __future__ import annotations

import copy
import os
from importlib import resources

from lxml import etree

from ..io.write import atomic_write

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xml": "http://www.w3.org/XML/1998/namespace",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "darktable": "http://darktable.sf.net/",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
}

#: Folder holding the XMP skeletons, package data read with importlib.resources: exposure_batch/xmp_templates is the
#: repository's top-level xmp_templates/ folder (a symlink in the source tree, copied into wheels by setup.py).
TEMPLATE_DIR = resources.files("exposure_batch") / "xmp_templates"


def q(tag: str) -> str:
    """'darktable:history' -> '{http://darktable.sf.net/}history' (Clark notation for lxml)."""
    prefix, local = tag.split(":", 1)
    return f"{{{NS[prefix]}}}{local}"


def template_path(name: str):
    """A skeleton in xmp_templates/ (a Traversable; FileNotFoundError with the folder named when missing)."""
    path = TEMPLATE_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"XMP template {name} not found in {TEMPLATE_DIR}")
    return path


def load_template(name: str) -> etree._ElementTree:
    """Parse a skeleton (comments and blank text dropped, so output indentation is regenerated)."""
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False, no_network=True)
    return etree.parse(str(template_path(name)), parser)


class UnreadableXmp(ValueError):
    """An existing XMP cannot be merged safely (empty, binary, not well-formed, external entities, too big)."""


def parse_xmp(data: bytes) -> etree._ElementTree:
    """Parse an existing XMP file's bytes safely: no network, no external entities (refused), internal entities
    resolved with libxml2's amplification limits (no huge_tree), at most limits.MAX_XMP_BYTES. The DOCTYPE is
    dropped (every entity is resolved), processing instructions around the root (the xpacket wrapper) are kept.
    Raises UnreadableXmp with a one-line reason."""
    from ..limits import MAX_XMP_BYTES  # noqa: PLC0415

    if len(data) > MAX_XMP_BYTES:
        raise UnreadableXmp(f"{len(data)} bytes, over the {MAX_XMP_BYTES}-byte limit for a merge")
    if not data.strip():
        raise UnreadableXmp("empty file")
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities="internal", no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as err:
        raise UnreadableXmp(f"not well-formed XML ({' '.join(str(err).split())[:160]})") from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(e.system_url for e in dtd.iterentities()):
        raise UnreadableXmp("declares external entities (refused: they could read local files)")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise UnreadableXmp("uses entities it does not declare")
    return _without_doctype(root)


def _without_doctype(root: etree._Element) -> etree._ElementTree:
    """A copy of root's document without its DOCTYPE, keeping the processing instructions around the root."""
    before = [n for n in root.itersiblings(preceding=True) if isinstance(n, etree._ProcessingInstruction)][::-1]
    after = [n for n in root.itersiblings() if isinstance(n, etree._ProcessingInstruction)]
    new_root = copy.deepcopy(root)
    tree = etree.ElementTree(new_root)
    for pi in before:
        new_root.addprevious(copy.copy(pi))
    for pi in reversed(after):
        new_root.addnext(copy.copy(pi))
    return tree


def description(tree) -> etree._Element:
    """The first rdf:Description of an XMP tree."""
    node = tree.find(".//" + q("rdf:Description"))
    if node is None:
        raise ValueError("XMP has no rdf:Description")
    return node


def set_lang_alt(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """Set (create or replace) a language alternative `tag` (e.g. 'dc:description') to one x-default text."""
    for old in parent.findall(q(tag)):
        parent.remove(old)
    el = etree.SubElement(parent, q(tag))
    alt = etree.SubElement(el, q("rdf:Alt"))
    li = etree.SubElement(alt, q("rdf:li"))
    li.set(q("xml:lang"), "x-default")
    li.text = text
    return el


def serialize(tree) -> bytes:
    """UTF-8 XML bytes with declaration, pretty-printed; processing instructions around the root (an xpacket
    wrapper) are kept."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    etree.indent(root, space=" ")
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_xmp(tree, path: str | os.PathLike, overwrite: bool = True) -> str:
    """Serialise and write atomically."""

    path = os.fspath(path)
    with atomic_write(path, "wb", overwrite=overwrite) as fh:
        fh.write(serialize(tree))
    return path
