"""The input format, and the check that a file's unpickled object follows it.

One input file is one pickle of a ``dict`` that maps subject ids to signals::

    {"subject_0000": numpy.ndarray(shape=(L,), dtype=float64), "subject_0001": ..., ...}

- keys: non-empty ``str`` of at most :data:`MAX_SUBJECT_CHARS` characters, valid
  Unicode (no lone surrogate: the database stores UTF-8) and without NUL;
- values: 1-D ``numpy.ndarray`` of dtype float16, float32 or float64 (either byte
  order; not float128), stored as float64; lengths may differ between subjects; NaN is
  kept (a missing sample), infinities too.

This is what the incident's job read (``for subject_id, signal in subjects.items()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import InputFileError

MAX_SUBJECT_CHARS = 256
SIGNAL_DTYPES = ("float16", "float32", "float64")
SIGNAL_ITEMSIZES = (2, 4, 8)  # of floating dtypes: the three above (numpy's name is slow)
STORED_ITEMSIZE = np.dtype(np.float64).itemsize

# check_allocation(nbytes, what): refuses an allocation that would pass the memory limit.
AllocationCheck = Callable[[int, str], object]


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


def check_record(
    file: str,
    position: int,
    key: object,
    value: object,
    check_allocation: AllocationCheck | None = None,
) -> SignalRecord:
    """Return the record for ``key: value``, or raise :class:`InputFileError` naming it.

    ``position`` is the record's 1-based position in the file, for the message. When the
    signal must be converted to float64 (another width or byte order), the copy's size
    goes to ``check_allocation`` first.
    """
    where = f"record #{position}"
    if not isinstance(key, str):
        raise InputFileError(file, f"{where}: subject id is {_describe(key)}; expected a str")
    where = f"record #{position} (subject {key[:MAX_SUBJECT_CHARS]!r})"
    if not key or len(key) > MAX_SUBJECT_CHARS:
        raise InputFileError(
            file, f"{where}: subject id must have 1 to {MAX_SUBJECT_CHARS} characters"
        )
    if "\x00" in key:
        raise InputFileError(
            file, f"{where}: subject id contains a NUL character at index {key.index(chr(0))}"
        )
    surrogate = _lone_surrogate(key)
    if surrogate is not None:
        raise InputFileError(
            file,
            f"{where}: subject id is not valid Unicode (a lone surrogate "
            f"U+{ord(key[surrogate]):04X} at index {surrogate}); it cannot be stored as UTF-8",
        )
    if not isinstance(value, np.ndarray):
        raise InputFileError(
            file, f"{where}: signal is {_describe(value)}; expected a 1-D float numpy array"
        )
    if value.ndim != 1:
        raise InputFileError(
            file, f"{where}: signal has shape {value.shape}; expected a 1-D array (one axis)"
        )
    if value.dtype.kind != "f" or value.dtype.itemsize not in SIGNAL_ITEMSIZES:
        raise InputFileError(
            file,
            f"{where}: signal has dtype {value.dtype}; expected {', '.join(SIGNAL_DTYPES[:-1])} "
            f"or {SIGNAL_DTYPES[-1]}",
        )
    native = value.dtype == np.float64 and value.dtype.isnative
    if not (native and value.flags.c_contiguous) and check_allocation is not None:
        check_allocation(value.size * STORED_ITEMSIZE, f"signal of subject {key!r} as float64")
    # astype copies only when needed: other widths, the other byte order, a strided view.
    signal = np.ascontiguousarray(value, dtype=np.float64)
    return SignalRecord(key, signal)


def _lone_surrogate(text: str) -> int | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


def stored_bytes(content: Mapping[str, object]) -> int:
    """The bytes the file's signals take as float64, counted before any is converted.

    A file may name one array under many subjects: each is written, so each counts.
    Values that are not arrays count nothing (:func:`check_record` refuses them).
    """
    return sum(
        value.size * STORED_ITEMSIZE for value in content.values() if isinstance(value, np.ndarray)
    )


def check_content(file: str, content: object) -> dict[str, object]:
    """The file's top-level ``dict``, or :class:`InputFileError` when it is anything else."""
    if not isinstance(content, dict):
        raise InputFileError(
            file,
            f"the pickle holds {_describe(content)}; expected a dict of subject id -> signal",
        )
    return content
