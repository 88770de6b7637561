"""Typed errors. Every error carries a one-line, human-readable reason and, as a class attribute, its `Kind`:
whose fault it is and what a scheduler does about it (failures.classify reads it; nothing parses messages).

    INPUT        the photo itself is bad (truncated, not an image, unsupported): not retried, quarantined
    LIMIT        the photo is over a configured limit (--max-pixels, header limits, --memory-limit): not retried
                 with the same settings (raise the limit to accept it)
    CONFLICT     an output is in the way (exists and overwrite is off, is the input itself): not retried, the
                 photo is not blamed (skipped)
    USAGE        the settings are wrong (output format/space/quality, a malformed recipe): not retried
    SETUP        a model or profile cannot be loaded, workers cannot start: never blamed on a photo
    ENVIRONMENT  the machine refused (disk full, read-only or unwritable folder): not the photo's fault; wait
    CRASH        a worker died or code raised something unexpected (a bug): retried once, alone
    TIMEOUT      the photo ran past the per-file time limit and its worker was killed: retried once, alone

Exports: Kind, ExposureBatchError, InputError (+ DecodeError, UnsupportedFile, LimitError), RecipeError,
FilterParamError, OutputError (+ OutputExists, OutputUnwritable, OutputUsage, SourceMetadataTooLarge), ModelError,
ProfileError, SetupError.
"""
from __future__ import annotations

import enum
import os


class Kind(str, enum.Enum):
    """Whose fault a failure is (see the module doc); the value is what JSON, journals and the service carry."""

    INPUT = "input"
    LIMIT = "limit"
    CONFLICT = "conflict"
    USAGE = "usage"
    SETUP = "setup"
    ENVIRONMENT = "environment"
    CRASH = "crash"
    TIMEOUT = "timeout"

    @property
    def retryable(self) -> bool:
        """Worth another attempt, alone in a fresh worker: CRASH and TIMEOUT (the photo may not be the cause)."""
        return self in (Kind.CRASH, Kind.TIMEOUT)

    @property
    def blames_input(self) -> bool:
        """The photo is the cause (INPUT, LIMIT): quarantine it. Other kinds never blame the photo."""
        return self in (Kind.INPUT, Kind.LIMIT)

    @property
    def waits(self) -> bool:
        """Not the photo's fault and may clear by itself or by a fix to the machine or setup (ENVIRONMENT, SETUP):
        keep the original and try again later."""
        return self in (Kind.ENVIRONMENT, Kind.SETUP)


class ExposureBatchError(Exception):
    """Base class: str(err) is always one line. `kind`: whose fault (subclasses set it); a bare
    ExposureBatchError is an unexpected state of the code (CRASH)."""

    kind: Kind = Kind.CRASH


class InputError(ExposureBatchError):
    """An input file cannot be used. `path` names the file, `reason` says why in one line."""

    kind = Kind.INPUT

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


class DecodeError(InputError):
    """The file looked like an image but could not be decoded (truncated, corrupt, ...)."""


class UnsupportedFile(InputError):
    """The file is not an image format we read (or is empty)."""


class UnsupportedFormat(UnsupportedFile):
    """A photo in a format this install does not decode (JPEG XL; HEIC without pillow-heif): skipped and counted,
    never silently ignored (its reason reads 'unsupported format (NAME)')."""


class LimitError(InputError):
    """The file is over a configured limit (pixels, ICC/EXIF size, tag counts): refused before it is decoded.
    Not retried: the same file hits the same limit again (raise the limit, e.g. --max-pixels, to accept it)."""

    kind = Kind.LIMIT


class RecipeError(ExposureBatchError):
    """A recipe is malformed or names unknown filters / out-of-range parameters."""

    kind = Kind.USAGE


class FilterParamError(RecipeError):
    """A filter parameter is missing, has the wrong shape, or is outside its range."""


class OutputError(ExposureBatchError):
    """An output cannot be written. Raise one of the subclasses, which say whose fault it is."""

    kind = Kind.ENVIRONMENT


class OutputExists(OutputError):
    """An output is in the way: it exists and overwrite is off, or it is the input file itself (a conflict)."""

    kind = Kind.CONFLICT


class OutputUnwritable(OutputError):
    """The machine refused the write: folder missing or read-only, disk full, permission denied."""

    kind = Kind.ENVIRONMENT


class OutputUsage(OutputError):
    """The output settings are wrong: unknown format or extension, a space or bit depth the format cannot hold,
    JPEG quality out of range."""

    kind = Kind.USAGE


class SourceMetadataTooLarge(OutputError):
    """The source's metadata does not fit the output (an EXIF block over a JPEG APP segment's 64 KiB)."""

    kind = Kind.INPUT


class SetupError(ExposureBatchError):
    """Something the run needs before any photo cannot be set up (a model, a profile, the workers)."""

    kind = Kind.SETUP


class ModelError(SetupError):
    """A model folder is missing, unreadable, or does not match this version's filters."""


class ProfileError(SetupError):
    """A studio profile cannot be learned (too few pairs, pairs that do not align or show different pictures) or
    loaded (missing or malformed profile folder)."""


#: One-line hint when `learn` runs without SciPy (the `learn` extra).
LEARN_EXTRA_HINT = "SciPy is not installed; learning a studio profile needs it: pip install 'exposure-batch[learn]'"
#: One-line hint when a command needs TensorFlow and the default (lean) install lacks it.
TRAIN_EXTRA_HINT = "TensorFlow is not installed; it is only needed for training: pip install 'exposure-batch[train]'"


def tensorflow_missing(err: ImportError) -> bool:
    """True when `err` is TensorFlow (or Keras/TensorBoard) itself missing, not some other broken import."""
    return isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] in ("tensorflow", "keras")
