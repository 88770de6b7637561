"""File names as data: any bytes a filesystem allows work end to end, and are shown safely.

On POSIX, Python decodes file names with 'surrogateescape': a byte that is not UTF-8 (b'm_bad\\xff.jpg') becomes a
lone surrogate ('m_bad\\udcff.jpg'). Such a str works with every `os` function, but it cannot be encoded as UTF-8,
so it must never be written raw into JSON files, SQLite, XML or a log. Control characters (ESC, CR, BEL, newline)
are legal in names too; raw, they forge log lines and drive terminals.

Exports: shown(text) (one printable line for terminals, logs, XML text), to_db / from_db (exact round trip of a
path through SQLite), is_utf8(text).
"""
from __future__ import annotations

import os
import unicodedata

#: Invisible characters that reorder or hide text on a terminal (bidi overrides and isolates, marks).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape): show the byte itself
        return f"\\x{code - 0xDC00:02x}"
    if ch in _NAMED:
        return _NAMED[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def shown(text) -> str:
    """`text` (a path, a name, a reason naming a path) as one printable line: control characters become \\n, \\r,
    \\x1b ..., undecodable name bytes \\xff, bidi controls \\u202e. Plain names come back unchanged. Valid UTF-8 and
    valid XML text whatever the input."""
    text = os.fsdecode(text) if isinstance(text, bytes) else str(text)
    if text.isprintable() and text.isascii():
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def is_utf8(text: str) -> bool:
    """True when `text` encodes as UTF-8 (no surrogate-escaped bytes)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def to_db(path: str | None):
    """A path as SQLite stores it exactly: the str itself when it is valid UTF-8, else its raw bytes (a BLOB).
    Equality lookups work with the same conversion applied to the query value."""
    if path is None or is_utf8(path):
        return path
    return os.fsencode(path)


def from_db(value):
    """Inverse of to_db: BLOBs become str again with surrogateescape (the name as `os` functions take it)."""
    if isinstance(value, (bytes, memoryview)):
        return os.fsdecode(bytes(value))
    return value
