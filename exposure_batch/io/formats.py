"""The one table of file formats: what we read, what we write, which are raw, which carry their XMP inside.

Every decision about a format reads this table: decode routing (io.decode), output checks and encoders
(io.write), output names (pipeline), the CLI's --format choices, the service's request schema, and the sidecar
writers (darktable's raw pipeline, Lightroom's embedded XMP). Nothing else lists extensions.

| name | extensions | read | write | bits written | spaces written | raw | XMP inside |
|---|---|---|---|---|---|---|---|
| jpeg | .jpg .jpeg .jpe | yes (sniffed) | yes | 8 | sRGB, Display P3, Adobe RGB (wider gamuts band at 8 bits) | no | yes |
| png | .png | yes (sniffed) | yes | 16 | all | no | yes |
| tiff | .tif .tiff | yes (sniffed) | yes | 16 | all | no | yes |
| dng | .dng | yes (LibRaw) | no | | | yes | yes |
| raw | LibRaw's camera formats (.cr2 .nef .arw ...) | yes (LibRaw) | no | | | yes | no (a sidecar) |
| heif, avif, webp, gif | .heic .heif .hif .avif .webp .gif | yes (sniffed; Pillow, pillow-heif) | no | | | no | heif, avif |
| psd, jxl, jpeg2000, ... | | no: skipped as "unsupported format" | no | | | no | some |

Linear output (gamma 1.0) needs 16 bits: TIFF and PNG only. `is_raw` is decided by extension against LibRaw's
list (DNG included); a file whose bytes are JPEG/PNG is still decoded as such whatever its name (io.decode).

Exports: Format, FORMATS, OUTPUT_FORMATS, OUTPUT_CHOICES, RAW_EXTENSIONS, READ_EXTENSIONS, by_name, by_path,
sniff, is_photo, is_raw, embeds_xmp, output_format, output_extension, bits_for, check_encoding.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from ..color import Space

_ALL_SPACES = tuple(Space)


@dataclass(frozen=True)
class Format:
    """One file format.

    Attributes:
        name: short name ('jpeg'); `aliases` are accepted for it too ('jpg').
        label: for people ('JPEG').
        extensions: lower case with the dot; the first is the one outputs get.
        sniff: first bytes -> True when the content is this format (None: told by extension only).
        decoder: 'raster' (Pillow / tifffile / imagecodecs, io.raster) | 'libraw' (io.raw) | None (not read).
        bits: bit depths we write (empty: not an output format).
        spaces: colour spaces an output may be written in.
        linear: whether linear (gamma 1.0) output is allowed.
        is_raw: a camera raw file: LibRaw develops it, darktable runs its raw pipeline, Adobe's raw defaults apply.
        embeds_xmp: Lightroom reads develop settings from XMP inside the file and ignores a sidecar beside it.
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    sniff: Callable[[bytes], bool] | None = None
    decoder: str | None = None
    bits: tuple[int, ...] = ()
    spaces: tuple[Space, ...] = ()
    linear: bool = False
    is_raw: bool = False
    embeds_xmp: bool = False

    @property
    def writable(self) -> bool:
        return bool(self.bits)


def _starts(*magic: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magic)


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


#: ISO-BMFF (ftyp) brands of AVIF and of HEIF stills (HEVC).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def _ftyp_brands(head: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF file's ftyp box (empty for anything else: video has its own)."""
    if head[4:8] != b"ftyp":
        return set()
    size = int.from_bytes(head[:4], "big")
    return {head[8:12], *(head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4))}


def _avif(head: bytes) -> bool:
    return bool(_ftyp_brands(head) & _AVIF_BRANDS)


def _heif(head: bytes) -> bool:
    brands = _ftyp_brands(head)
    return bool(brands & _HEIF_BRANDS) and not brands & _AVIF_BRANDS


#: LibRaw's camera formats besides DNG (lower case, with dot).
CAMERA_RAW_EXTENSIONS = (
    ".3fr", ".ari", ".arw", ".bay", ".cap", ".cr2", ".cr3", ".crw", ".dcr", ".dcs", ".drf", ".eip", ".erf", ".fff",
    ".gpr", ".iiq", ".k25", ".kdc", ".mdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".ori", ".pef", ".ptx",
    ".pxn", ".raf", ".raw", ".rw2", ".rwl", ".rwz", ".sr2", ".srf", ".srw", ".sti", ".x3f",
)

FORMATS: tuple[Format, ...] = (
    Format("jpeg", "JPEG", (".jpg", ".jpeg", ".jpe"), aliases=("jpg",), sniff=_starts(b"\xff\xd8\xff"),
           decoder="raster", bits=(8,), spaces=(Space.SRGB, Space.DISPLAY_P3, Space.ADOBE_RGB), embeds_xmp=True),
    Format("png", "PNG", (".png",), sniff=_starts(b"\x89PNG\r\n\x1a\n"), decoder="raster", bits=(16,),
           spaces=_ALL_SPACES, linear=True, embeds_xmp=True),
    Format("tiff", "TIFF", (".tif", ".tiff"), aliases=("tif",),
           sniff=_starts(b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), decoder="raster", bits=(16,),
           spaces=_ALL_SPACES, linear=True, embeds_xmp=True),
    Format("dng", "DNG", (".dng",), decoder="libraw", is_raw=True, embeds_xmp=True),
    Format("raw", "camera raw", CAMERA_RAW_EXTENSIONS, decoder="libraw", is_raw=True),
    # Read through Pillow (HEIF through the pillow-heif plug-in), first frame of an animation.
    Format("heif", "HEIF", (".heic", ".heif", ".hif"), sniff=_heif, decoder="raster", embeds_xmp=True),
    Format("avif", "AVIF", (".avif",), sniff=_avif, decoder="raster", embeds_xmp=True),
    Format("webp", "WebP", (".webp",), sniff=_webp, decoder="raster"),
    Format("gif", "GIF", (".gif",), sniff=_starts(b"GIF87a", b"GIF89a"), decoder="raster"),
    # Rendered formats we do not read, listed so that every "is it raw? where does Lightroom want the XMP?"
    # question has its answer here; a folder scan lists them and they are skipped as "unsupported format".
    Format("psd", "Photoshop", (".psd", ".psb"), embeds_xmp=True),
    Format("jxl", "JPEG XL", (".jxl",), sniff=_starts(b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
    Format("jpeg2000", "JPEG 2000", (".jp2", ".j2k")),
    Format("hdr", "HDR (EXR, PFM, Radiance)", (".exr", ".pfm", ".hdr")),
    Format("pnm", "PNM", (".pnm", ".ppm", ".pgm")),
    Format("bmp", "BMP", (".bmp",)),
)

_BY_NAME = {alias: f for f in FORMATS for alias in (f.name, *f.aliases)}
_BY_EXTENSION = {ext: f for f in FORMATS for ext in f.extensions}

#: Formats we write, in the CLI's order; OUTPUT_CHOICES adds their aliases (what --format and the service accept).
OUTPUT_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.writable)
OUTPUT_CHOICES: tuple[str, ...] = tuple(n for f in FORMATS if f.writable for n in (f.name, *f.aliases))
#: Extensions of raw files (DNG and LibRaw's camera formats), lower case with dot.
RAW_EXTENSIONS: frozenset[str] = frozenset(e for f in FORMATS if f.is_raw for e in f.extensions)
#: Extensions of every file we read.
READ_EXTENSIONS: frozenset[str] = frozenset(e for f in FORMATS if f.decoder for e in f.extensions)
#: Extensions read through io.raster (the content is sniffed).
RASTER_EXTENSIONS: frozenset[str] = frozenset(e for f in FORMATS if f.decoder == "raster" for e in f.extensions)


def _extension(path: str | os.PathLike) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


def by_name(name: str) -> Format:
    """'jpeg' / 'jpg' / 'JPEG' -> Format; ValueError listing the output choices for anything else."""
    fmt = _BY_NAME.get(str(name).strip().lower())
    if fmt is None:
        raise ValueError(f"unknown format {name!r} (use one of {', '.join(OUTPUT_CHOICES)})")
    return fmt


def by_path(path: str | os.PathLike) -> Format | None:
    """The format a file name's extension says (None: an extension not in the table)."""
    return _BY_EXTENSION.get(_extension(path))


def sniff(head: bytes) -> Format | None:
    """The format a file's first bytes show (JPEG, PNG, TIFF, HEIF, AVIF, WebP, GIF, JPEG XL; TIFF-based raws
    such as DNG/NEF/CR2 sniff as TIFF), or None."""
    return next((f for f in FORMATS if f.sniff is not None and f.sniff(head)), None)


def is_photo(path: str | os.PathLike) -> bool:
    """Whether a file's extension names a photo format in the table, read or not (folder scans list both kinds:
    the ones we do not read are skipped as "unsupported format", never ignored without a word)."""
    return by_path(path) is not None


def is_raw(path: str | os.PathLike | None) -> bool:
    """Whether a file (by its name) is a camera raw: DNG or one of LibRaw's camera formats."""
    return path is not None and _extension(path) in RAW_EXTENSIONS


def embeds_xmp(path: str | os.PathLike) -> bool:
    """Whether Lightroom reads settings from inside this file (JPEG, TIFF, PNG, DNG, PSD, HEIF, AVIF) and ignores
    a sidecar beside it."""
    fmt = by_path(path)
    return fmt is not None and fmt.embeds_xmp


def output_format(name: str) -> str:
    """A --format value or alias -> the output format's name ('jpg' -> 'jpeg'); ValueError if we do not write it."""
    fmt = _BY_NAME.get(str(name).strip().lower())
    if fmt is None or not fmt.writable:
        raise ValueError(f"unknown output format {name!r} (use one of {', '.join(OUTPUT_CHOICES)})")
    return fmt.name


def output_extension(name: str) -> str:
    """'jpeg' -> '.jpg', 'tiff' -> '.tif', 'png' -> '.png'."""
    return by_name(output_format(name)).extensions[0]


def bits_for(name: str) -> int:
    """Bits per channel we write for an output format: 8 for JPEG, 16 for TIFF and PNG."""
    return by_name(output_format(name)).bits[0]


def check_encoding(name: str, space: Space, linear: bool) -> str | None:
    """The one rule for what an output format can hold: None when `space` (and linear values, if asked) fit,
    otherwise a one-line reason naming what would ('JPEG takes sRGB, Display P3 or Adobe RGB; write ...')."""
    fmt = by_name(output_format(name))
    if linear and not fmt.linear:
        return (f"{fmt.label} is {fmt.bits[0]}-bit; write linear output as "
                f"{_joined([f'{f.bits[0]}-bit {f.label}' for f in FORMATS if f.linear])}")
    if space not in fmt.spaces:
        wide = _joined([f"{f.bits[0]}-bit {f.label}" for f in FORMATS if f.writable and space in f.spaces])
        return (f"{fmt.label} takes {_joined([s.value for s in fmt.spaces], 'or')}; {space.value} needs more than "
                f"{fmt.bits[0]} bits: write it as {wide}")
    return None


def _joined(items: list[str], word: str = "or") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"
