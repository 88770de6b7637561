"""Typed errors. Every error carries a one-line, human-readable reason.

Exports: ExposureBatchError, InputError (+ DecodeError, UnsupportedFile, LimitError), RecipeError,
FilterParamError, OutputError, ModelError, ProfileError.
"""
from __future__ import annotations

import os


class ExposureBatchError(Exception):
    """Base class: str(err) is always one line."""


class InputError(ExposureBatchError):
    """An input file cannot be used. `path` names the file, `reason` says why in one line."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


class DecodeError(InputError):
    """The file looked like an image but could not be decoded (truncated, corrupt, ...)."""


class UnsupportedFile(InputError):
    """The file is not an image format we read (or is empty)."""


class LimitError(InputError):
    """The file is over a configured limit (pixels, ICC/EXIF size, tag counts): refused before it is decoded.
    Not retried: the same file hits the same limit again (raise the limit, e.g. --max-pixels, to accept it)."""


class RecipeError(ExposureBatchError):
    """A recipe is malformed or names unknown filters / out-of-range parameters."""


class FilterParamError(RecipeError):
    """A filter parameter is missing, has the wrong shape, or is outside its range."""


class OutputError(ExposureBatchError):
    """An output cannot be written (exists and overwrite is off, bad format, disk error)."""


class ModelError(ExposureBatchError):
    """A model folder is missing, unreadable, or does not match this version's filters."""


class ProfileError(ExposureBatchError):
    """A studio profile cannot be learned (too few pairs, pairs that do not align or show different pictures) or
    loaded (missing or malformed profile folder)."""


#: One-line hint when `learn` runs without SciPy (the `learn` extra).
LEARN_EXTRA_HINT = "SciPy is not installed; learning a studio profile needs it: pip install 'exposure-batch[learn]'"
#: One-line hint when a command needs TensorFlow and the default (lean) install lacks it.
TRAIN_EXTRA_HINT = "TensorFlow is not installed; it is only needed for training: pip install 'exposure-batch[train]'"


def tensorflow_missing(err: ImportError) -> bool:
    """True when `err` is TensorFlow (or Keras/TensorBoard) itself missing, not some other broken import."""
    return isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] in ("tensorflow", "keras")
