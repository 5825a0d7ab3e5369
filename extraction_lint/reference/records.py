"""The input format, and the check that a file's unpickled object follows it.

One input file is one pickle of a ``dict`` that maps subject ids to signals::

    {"subject_0000": numpy.ndarray(shape=(L,), dtype=float64), "subject_0001": ..., ...}

- keys: non-empty ``str`` of at most :data:`MAX_SUBJECT_CHARS` characters;
- values: 1-D ``numpy.ndarray`` of a floating dtype (float16/32/64, either byte order),
  stored as float64; lengths may differ between subjects; NaN is kept (a missing
  sample), infinities too.

This is what the incident's job read (``for subject_id, signal in subjects.items()``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import InputFileError

MAX_SUBJECT_CHARS = 256


@dataclass(frozen=True)
class SignalRecord:
    """One subject's signal from one file, ready to be written."""

    subject: str
    signal: npt.NDArray[np.float64]


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    name = type(value).__qualname__
    if type(value).__module__ != "builtins":
        name = f"{type(value).__module__}.{name}"
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"


def check_record(file: str, position: int, key: object, value: object) -> SignalRecord:
    """Return the record for ``key: value``, or raise :class:`InputFileError` naming it.

    ``position`` is the record's 1-based position in the file, for the message.
    """
    where = f"record #{position}"
    if not isinstance(key, str):
        raise InputFileError(file, f"{where}: subject id is {_describe(key)}; expected a str")
    where = f"record #{position} (subject {key[:MAX_SUBJECT_CHARS]!r})"
    if not key or len(key) > MAX_SUBJECT_CHARS:
        raise InputFileError(
            file, f"{where}: subject id must have 1 to {MAX_SUBJECT_CHARS} characters"
        )
    if not isinstance(value, np.ndarray):
        raise InputFileError(
            file, f"{where}: signal is {_describe(value)}; expected a 1-D float numpy array"
        )
    if value.ndim != 1:
        raise InputFileError(
            file, f"{where}: signal has shape {value.shape}; expected a 1-D array (one axis)"
        )
    if value.dtype.kind != "f":
        raise InputFileError(
            file, f"{where}: signal has dtype {value.dtype}; expected a floating dtype (float64)"
        )
    # astype copies only when needed: other widths, the other byte order, a strided view.
    signal = np.ascontiguousarray(value, dtype=np.float64)
    return SignalRecord(key, signal)


def check_content(file: str, content: object) -> dict[str, object]:
    """The file's top-level ``dict``, or :class:`InputFileError` when it is anything else."""
    if not isinstance(content, dict):
        raise InputFileError(
            file,
            f"the pickle holds {_describe(content)}; expected a dict of subject id -> signal",
        )
    return content
