"""A bounded walk over a TIFF structure (TIFF files, the EXIF block of a JPEG) before any library parses it.

TIFF parsers follow offsets wherever they point: an IFD whose next-IFD offset points back to itself makes tifffile's
page iterator run forever, and a tag declaring four billion values makes metadata readers allocate or loop for
minutes. This walk visits every IFD reachable through next-IFD pointers, SubIFDs, the Exif, GPS and Interoperability
IFDs, at most once each, reading only the IFD entries (12 or 20 bytes each), and refuses:

* a loop (an IFD reached twice) -> TiffStructureError (corrupt file);
* more than limits.MAX_TIFF_IFDS IFDs or limits.MAX_IFD_ENTRIES entries in one IFD -> TiffLimitError;
* a tag declaring more bytes than the file holds (corrupt) or than limits.MAX_TAG_BYTES -> TiffStructureError /
  TiffLimitError.

Short reads (a truncated file) end the walk quietly: the decoder reports truncation in its own words.

Exports: TiffStructureError, TiffLimitError, check_tiff_file, check_tiff_bytes, jpeg_exif_block.
"""
from __future__ import annotations

import struct

from .. import limits

#: Byte size of one value of each TIFF field type (BYTE .. IFD8).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
#: Tags whose values are offsets of further IFDs: SubIFDs, ExifIFD, GPS IFD, Interoperability IFD.
_IFD_POINTERS = (330, 34665, 34853, 40965)


class TiffStructureError(ValueError):
    """The TIFF structure is corrupt in a way that would hang or blow up a parser (one-line reason)."""


class TiffLimitError(TiffStructureError):
    """The TIFF structure is over one of the limits (IFD count, entries, tag size)."""


class _Reader:
    def __init__(self, read_at, size: int):
        self.read_at, self.size = read_at, size

    def bytes(self, offset: int, n: int) -> bytes:
        if offset < 0 or offset >= self.size:
            return b""
        return self.read_at(offset, min(n, self.size - offset))


def _walk(reader: _Reader, what: str) -> None:
    head = reader.bytes(0, 16)
    if len(head) < 8:
        return
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None:
        return
    (magic,) = struct.unpack(order + "H", head[2:4])
    if magic == 42:
        big, first = False, struct.unpack(order + "I", head[4:8])[0]
    elif magic == 43 and len(head) >= 16:
        big, first = True, struct.unpack(order + "Q", head[8:16])[0]
    else:
        return
    count_fmt, off_fmt, entry_size = ("Q", "Q", 20) if big else ("H", "I", 12)
    count_size = 8 if big else 2
    todo, seen = [first], set()
    while todo:
        offset = todo.pop()
        if offset == 0:
            continue
        if offset in seen:
            raise TiffStructureError(f"{what} is corrupt: its IFD chain loops (IFD at offset {offset} is reached "
                                     "twice)")
        seen.add(offset)
        if len(seen) > limits.MAX_TIFF_IFDS:
            raise TiffLimitError(f"{what} has more than {limits.MAX_TIFF_IFDS} IFDs (the limit)")
        raw_count = reader.bytes(offset, count_size)
        if len(raw_count) < count_size:
            continue  # points past the end: the parser reports the truncation
        (count,) = struct.unpack(order + count_fmt, raw_count)
        if count > limits.MAX_IFD_ENTRIES:
            raise TiffLimitError(f"{what} has an IFD with {count} entries (limit {limits.MAX_IFD_ENTRIES})")
        table = reader.bytes(offset + count_size, count * entry_size + (8 if big else 4))
        n_full = min(count, len(table) // entry_size)
        for i in range(n_full):
            entry = table[i * entry_size:(i + 1) * entry_size]
            tag, typ = struct.unpack(order + "HH", entry[:4])
            n = struct.unpack(order + ("Q" if big else "I"), entry[4:4 + (8 if big else 4)])[0]
            declared = n * _TYPE_SIZES.get(typ, 1)
            if declared > limits.MAX_TAG_BYTES:
                raise TiffLimitError(f"{what}: tag {tag} declares {declared} bytes (limit {limits.MAX_TAG_BYTES})")
            if declared > reader.size:
                raise TiffStructureError(f"{what} is corrupt: tag {tag} declares {declared} bytes, more than the "
                                         f"{reader.size} the file holds")
            if tag in _IFD_POINTERS and typ in (4, 13, 16, 18):
                if n > limits.MAX_TIFF_IFDS:
                    raise TiffLimitError(f"{what}: tag {tag} points to {n} IFDs (limit {limits.MAX_TIFF_IFDS})")
                value_size = 8 if big else 4
                inline = declared <= value_size
                size = 8 if typ in (16, 18) else 4
                fmt = order + ("Q" if size == 8 else "I")
                data = entry[-value_size:] if inline else reader.bytes(
                    struct.unpack(order + off_fmt, entry[-value_size:])[0], declared)
                todo.extend(struct.unpack(fmt, data[k:k + size])[0] for k in range(0, len(data) - size + 1, size))
        if n_full == count:
            tail = table[count * entry_size:count * entry_size + (8 if big else 4)]
            if len(tail) == (8 if big else 4):
                todo.append(struct.unpack(order + off_fmt, tail)[0])


def check_tiff_file(path: str, what: str = "TIFF structure") -> None:
    """Walk the TIFF structure of the file at `path`. Raises TiffStructureError / TiffLimitError."""
    import os  # noqa: PLC0415

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        def read_at(offset: int, n: int) -> bytes:
            fh.seek(offset)
            return fh.read(n)

        _walk(_Reader(read_at, size), what)


def check_tiff_bytes(data: bytes, what: str = "EXIF block") -> None:
    """Walk a TIFF structure held in memory (an EXIF block without its 'Exif\\0\\0' prefix)."""
    _walk(_Reader(lambda offset, n: data[offset:offset + n], len(data)), what)


def jpeg_exif_block(path: str, max_segments: int = 64) -> bytes | None:
    """The TIFF structure inside a JPEG's APP1 'Exif' segment (None when there is none), reading markers only."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\xff\xd8":
            return None
        for _ in range(max_segments):
            marker = fh.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            if marker[1] in (0xD9, 0xDA):  # EOI, SOS: no EXIF before the image data
                return None
            raw_len = fh.read(2)
            if len(raw_len) < 2:
                return None
            (length,) = struct.unpack(">H", raw_len)
            if length < 2:
                return None
            if marker[1] == 0xE1:
                payload = fh.read(length - 2)
                if payload.startswith(b"Exif\0\0"):
                    return payload[6:]
                continue
            fh.seek(length - 2, 1)
    return None
