"""File names as data: any bytes a filesystem allows work end to end, and are shown safely.

On POSIX, Python decodes file names with 'surrogateescape': a byte that is not UTF-8 (b'm_bad\\xff.jpg') becomes a
lone surrogate ('m_bad\\udcff.jpg'). Such a str works with every `os` function, but it cannot be encoded as UTF-8,
so it must never be written raw into JSON files, SQLite, XML or a log. Control characters (ESC, CR, BEL, newline)
are legal in names too; raw, they forge log lines and drive terminals.

Exports: shown(text) (one printable line for terminals, logs, XML text), to_db / from_db (exact round trip of a
path through SQLite), is_utf8(text), portable_path / portable_command (paths as shipped files record them).
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


def portable_path(path: str | os.PathLike, start: str | None = None) -> str:
    """A path as a file we ship or share records it (model cards, evaluation setups): relative to `start` (the
    current folder) when it lies inside it ('data/cache/photos'), else only the folder's own name ('cache').
    Never an absolute path of the machine that wrote it."""
    path = os.fspath(path)
    start = os.path.abspath(start or os.getcwd())
    full = os.path.abspath(path)
    if full == start or full.startswith(start.rstrip(os.sep) + os.sep):
        return shown(os.path.relpath(full, start))
    return shown(os.path.basename(os.path.normpath(full)) or os.sep)


def portable_command(args, start: str | None = None) -> str:
    """A command line as a model card records it: each absolute path (an argument, or the value of
    --option=PATH) made portable with `portable_path`."""
    out = []
    for arg in map(str, args):
        option, eq, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
        if os.path.isabs(value):
            value = portable_path(value, start)
        out.append(f"{option}{eq}{value}" if eq else value)
    return " ".join(shown(a) for a in out)
