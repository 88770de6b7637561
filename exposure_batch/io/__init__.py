"""Image I/O: decode photos to linear ProPhoto RGB, write JPEG / TIFF / PNG outputs, EXIF and ICC handling.

Exports: decode, read_info, is_supported, is_photo, ImageInfo, Decoded, SUPPORTED_EXTENSIONS, RAW_EXTENSIONS,
write_image, atomic_write, read_exif, exif_bytes_for_output, write_dng.
"""
from exposure_batch.io.decode import (
    RASTER_EXTENSIONS,
    RAW_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    Decoded,
    ImageInfo,
    decode,
    is_photo,
    is_supported,
    read_info,
)
from exposure_batch.io.metadata import exif_bytes_for_output, read_exif
from exposure_batch.io.write import atomic_write, write_image


def write_dng(*args, **kwargs):
    """See exposure_batch.io.dng.write_dng (imported lazily)."""
    from exposure_batch.io.dng import write_dng as _write_dng  # noqa: PLC0415

    return _write_dng(*args, **kwargs)


__all__ = [
    "Decoded", "ImageInfo", "RASTER_EXTENSIONS", "RAW_EXTENSIONS", "SUPPORTED_EXTENSIONS", "atomic_write", "decode",
    "exif_bytes_for_output", "is_photo", "is_supported", "read_exif", "read_info", "write_dng", "write_image",
]
