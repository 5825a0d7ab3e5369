"""Reading a pickle file without running the code a pickle can carry.

``pickle.load`` imports and calls whatever a file names: a file whose ``__reduce__``
returns ``(os.system, ("...",))`` runs that command. :class:`RestrictedUnpickler`
resolves only the handful of globals that numpy arrays need (plain containers, strings
and numbers need none) and refuses every other one with :class:`RefusedGlobal`, before
anything is called. The numpy names it allows are checked stand-ins: ``numpy.ndarray``
is a name, not a class (no array of uninitialised memory), ``numpy.dtype`` describes a
plain numeric dtype, and an array's shape, dtype and bytes must agree exactly before
numpy builds it (:class:`UnpickledArray`).

:func:`read_pickle` reads a file once, through :class:`HashingReader`, so the SHA-256
recorded in the manifest is the hash of exactly the bytes that were parsed, and every
byte passes the opcode checker of :mod:`.scan` before the unpickler acts on it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import math
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extraction_lint.guardrails import GuardrailError

from .scan import AllocationCheck, OpcodeChecker, PickleRefused, PickleTooLarge

# Read size for hashing and for the bytes left after the pickle's STOP opcode.
CHUNK_BYTES = 1 << 20


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; nothing was imported or called."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(
            f"refused to unpickle global {module}.{name}: only numpy arrays and plain "
            "containers (dict, list, tuple, str, numbers) may be loaded"
        )
        self.module = module
        self.name = name


def _latin1_encode(text: object, encoding: object = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 0-2 pickles of numpy arrays use it (latin-1 only)."""
    if not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode of {type(text).__name__}")
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


_MULTIARRAY = ("numpy._core.multiarray", "numpy.core.multiarray")
_NUMERIC = ("numpy._core.numeric", "numpy.core.numeric")

# Array pickles are made of numbers this checker can bound before numpy sees them.
MAX_NDIM = 32
# Numeric dtypes only: no objects (a pickle inside the pickle), no structured or
# sub-array dtypes, no strings. Which of them a signal may have is the records' business.
_DTYPE_CODE = re.compile(r"[biufc][0-9]{1,2}")
_BYTE_ORDERS = {"<", ">", "|", "="}


class NdarrayName:
    """What the global ``numpy.ndarray`` resolves to: a name for ``_reconstruct``, not a class.

    ``numpy.ndarray((1024,), 'f8')`` makes an array of uninitialised memory (the
    process's own heap); a pickle can call any global it names, so it never gets the
    real class.
    """

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise PickleRefused(
            "refused numpy.ndarray(...): it makes an array of memory the file did not fill "
            "(uninitialised, or a view through any stride); arrays are rebuilt only from "
            "their own bytes"
        )

    def __repr__(self) -> str:
        return "numpy.ndarray (a name only: not callable from a pickle)"


NDARRAY = NdarrayName()


# (code, byte order) -> dtype: a file of thousands of arrays names a handful of dtypes.
_RESOLVED: dict[tuple[str, str], np.dtype[Any]] = {}


class DtypeSpec:
    """What ``numpy.dtype(...)`` builds in a pickle: a checked description, not a dtype.

    ``numpy.dtype.__setstate__`` can rewrite a dtype's fields and item size after an
    array uses it; a pickle applies ``BUILD`` to whatever object it holds, so it never
    holds a real dtype. :meth:`resolve` makes the dtype when an array is built.
    """

    def __init__(self, code: str, byte_order: str = "=") -> None:
        self.code = code
        self.byte_order = byte_order

    def __setstate__(self, state: object) -> None:
        # (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise PickleRefused(f"refused dtype state {_short(state)}")
        byte_order, subarray, names, fields = state[1:5]
        if byte_order not in _BYTE_ORDERS or (subarray, names, fields) != (None, None, None):
            raise PickleRefused(
                "refused dtype: only plain numeric dtypes (no fields, sub-arrays or objects)"
            )
        if len(state) == 9 and state[8] is not None:
            raise PickleRefused("refused dtype with metadata")
        self.byte_order = byte_order

    def resolve(self) -> np.dtype[Any]:
        """The numpy dtype described."""
        key = (self.code, self.byte_order)
        dtype = _RESOLVED.get(key)
        if dtype is None:
            dtype = _RESOLVED[key] = self._make()
        return dtype

    def _make(self) -> np.dtype[Any]:
        dtype = np.dtype(self.code)
        if self.byte_order == "<" and dtype.itemsize > 1:
            dtype = dtype.newbyteorder("<")
        elif self.byte_order == ">" and dtype.itemsize > 1:
            dtype = dtype.newbyteorder(">")
        return dtype

    def __repr__(self) -> str:
        return f"numpy.dtype({self.code!r}) (from a pickle)"


def _dtype(code: object, align: object = False, copy: object = True) -> DtypeSpec:
    if not isinstance(code, str) or not _DTYPE_CODE.fullmatch(code):
        raise PickleRefused(f"refused dtype {_short(code)}: only numeric dtypes such as 'f8'")
    try:
        np.dtype(code)
    except TypeError:
        raise PickleRefused(f"refused dtype {code!r}: numpy has no such type") from None
    return DtypeSpec(code)


class UnpickledArray(np.ndarray[Any, Any]):
    """An array rebuilt from a pickle: ``__setstate__`` checks the state before numpy does.

    The shape, dtype and raw bytes must agree exactly, so an array holds its own bytes
    from the file: never memory it did not read, never a buffer seen through a zero or
    negative stride.
    """

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise PickleRefused(f"refused array state {_short(state)}")
        version = state[0] if len(state) == 5 else 1
        shape, dtype, fortran, raw = state[-4:]
        if version not in (0, 1) or not isinstance(fortran, (bool, int)):
            raise PickleRefused(f"refused array state {_short(state)}")
        checked = _checked_shape(shape)
        real = _checked_dtype(dtype)
        if not isinstance(raw, bytes):
            raise PickleRefused(f"refused array data of type {type(raw).__name__}; expected bytes")
        _check_size(checked, real, len(raw))
        # numpy parses the flag as a C int; its stubs say numpy.bool.
        numpy_state: Any = (1, checked, real, bool(fortran), raw)
        super().__setstate__(numpy_state)


def _reconstruct(subtype: object, shape: object, dtype: object) -> UnpickledArray:
    # numpy pickles call _reconstruct(ndarray, (0,), b'b') and then BUILD the array.
    if subtype is not NDARRAY:
        raise PickleRefused(f"refused _reconstruct of {_short(subtype)}: only numpy.ndarray")
    return np.ndarray.__new__(UnpickledArray, (0,), np.uint8)


def _frombuffer(
    buffer: object, dtype: object, shape: object, order: object
) -> np.ndarray[Any, Any]:
    # Protocol 5: frombuffer(buffer, dtype).reshape(shape, order), the buffer in the file.
    if not isinstance(buffer, (bytes, bytearray)):
        raise PickleRefused(f"refused array buffer of type {type(buffer).__name__}")
    checked = _checked_shape(shape)
    real = _checked_dtype(dtype)
    if order not in ("C", "F"):
        raise PickleRefused(f"refused array order {_short(order)}")
    _check_size(checked, real, len(buffer))
    return np.frombuffer(buffer, dtype=real).reshape(checked, order=order)


def _checked_shape(shape: object) -> tuple[int, ...]:
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise PickleRefused(
            f"refused array shape {_short(shape)}: expected a tuple of at most {MAX_NDIM} "
            "sizes >= 0"
        )
    return shape


def _checked_dtype(dtype: object) -> np.dtype[Any]:
    if not isinstance(dtype, DtypeSpec):
        raise PickleRefused(f"refused array dtype {_short(dtype)}")
    return dtype.resolve()


def _check_size(shape: tuple[int, ...], dtype: np.dtype[Any], have: int) -> None:
    need = math.prod(shape) * dtype.itemsize
    if need != have:
        raise PickleRefused(
            f"array of shape {shape} and dtype {dtype} needs {need:,} bytes of data, the "
            f"pickle gives {have:,}"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _empty_bytes(*args: object) -> bytes:
    # Protocols 0-2 write b"" (an empty array's data) as bytes(); bytes(n) would make n
    # zero bytes from a number in the file, so nothing else is allowed.
    if args:
        raise PickleRefused("refused bytes(...) with arguments: only bytes() (empty) is allowed")
    return b""


# (module, name) -> what it resolves to. ndarray.__reduce_ex__ uses _reconstruct
# (protocols 0-4) or _frombuffer (protocol 5); both are replaced by checked versions.
ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain containers, and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global; raise :class:`RefusedGlobal` for any other."""
        if (module, name) not in ALLOWED_GLOBALS:
            raise RefusedGlobal(module, name)
        return ALLOWED_GLOBALS[module, name]


class HashingReader(io.RawIOBase):
    """A read-only file wrapper that checks and hashes every byte it hands out.

    Every chunk goes through ``checker`` (an :class:`OpcodeChecker`) before it is
    returned, so the unpickler never acts on bytes the checker has not accepted. Reads
    never ask the file for more than what is left of it. ``peek`` lets the unpickler read
    ahead: without it, a pickle without frames (protocols 0 to 3) costs one call here per
    opcode and per argument, 100 times slower than ``pickle.load``.
    """

    def __init__(self, raw: io.BufferedReader, checker: OpcodeChecker | None = None) -> None:
        super().__init__()
        self._raw = raw
        self.checker = checker
        self.sha256 = hashlib.sha256()
        #: Bytes read from the file (checked and hashed), handed out or not.
        self.size = 0
        self._file_size = os.fstat(raw.fileno()).st_size
        #: Bytes read ahead for ``peek`` and not handed out yet: ``_ahead[_taken:]``.
        self._ahead = b""
        self._taken = 0
        #: What stopped a ``peek`` (the checker's refusal, a guard's error): the unpickler
        #: reports an error of ``peek`` as the end of the input, so it is kept here.
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        """Always true."""
        return True

    def _accept(self, data: bytes | memoryview) -> None:
        if self.checker is not None and not self.checker.stopped:
            self.checker.feed(data)
        self.sha256.update(data)
        self.size += len(data)

    def _bounded(self, size: int) -> int:
        # A length from the file never becomes a buffer larger than the file; a file that
        # grew since it was opened is read on in chunks.
        left = self._file_size - self.size
        return min(size, left if left > 0 else CHUNK_BYTES)

    def _take(self, size: int) -> bytes:
        """Up to ``size`` of the bytes read ahead, handed out."""
        start = self._taken
        data = self._ahead[start : start + size]
        self._taken = start + len(data)
        if self._taken == len(self._ahead):
            self._ahead, self._taken = b"", 0
        return data

    def peek(self, size: int = 0) -> bytes:
        """The next bytes (up to ``size``, at least one unless the file is at its end),
        checked and hashed, without handing them out."""
        want = max(size, 1)
        have = len(self._ahead) - self._taken
        if have < want:
            more = self._raw.read(self._bounded(want - have))
            if more:
                try:
                    self._accept(more)
                except BaseException as error:
                    self.failure = error
                    raise
                self._ahead = self._ahead[self._taken :] + more
                self._taken = 0
        return self._ahead[self._taken :]

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the file, checked and hashed."""
        view = memoryview(buffer).cast("B")
        count = 0
        if self._ahead:
            ahead = self._take(len(view))
            count = len(ahead)
            view[:count] = ahead
            if count == len(view):
                return count
        more = self._raw.readinto(view[count : count + self._bounded(len(view) - count)]) or 0
        if more:
            self._accept(view[count : count + more])
        return count + more

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all the rest for -1), checked and hashed."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_BYTES), b""))
        ahead = self._take(size) if self._ahead else b""
        if len(ahead) == size:
            return ahead
        data = self._raw.read(self._bounded(size - len(ahead)))
        self._accept(data)
        return ahead + data if ahead else data

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line (protocol 0 pickles are line based), checked and hashed."""
        limit = -1 if size is None else size
        ahead = b""
        if self._ahead:
            end = self._ahead.find(b"\n", self._taken)
            count = len(self._ahead) - self._taken if end < 0 else end + 1 - self._taken
            ahead = self._take(count if limit < 0 else min(count, limit))
            if ahead.endswith(b"\n") or len(ahead) == limit:
                return ahead
        data = self._raw.readline(-1 if limit < 0 else limit - len(ahead))
        self._accept(data)
        return ahead + data if ahead else data


@dataclass(frozen=True)
class PickleContent:
    """A file's unpickled object, with the size and SHA-256 of the bytes it came from."""

    obj: object
    size: int
    sha256: str


class PickleReadError(Exception):
    """The file is not a readable pickle; the message says why, without the file name."""


@dataclass(frozen=True)
class ReadLimits:
    """What one file may ask of memory while it is unpickled.

    ``max_bytes``: the most its objects may take to build (``None``: no allowance),
    ``reason``: where that figure comes from, for the message; ``check_allocation``:
    called as ``check_allocation(nbytes, what)`` before each large buffer is built (a
    guard's, which raises :class:`MemoryLimitExceeded` when the process would go over).
    """

    max_bytes: int | None = None
    reason: str = ""
    check_allocation: AllocationCheck | None = None


def read_pickle(path: Path, limits: ReadLimits | None = None) -> PickleContent:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`, checking and hashing the bytes.

    Raises :class:`PickleReadError` for a truncated or corrupt file, trailing bytes after
    the pickle, a refused global (whose message names it) or anything the opcode checker
    refuses (an out-of-sequence memo index, a length past the end of the file, objects
    over ``limits.max_bytes``). A guardrail error (``check_allocation``'s, or one the
    guard raises meanwhile), ``KeyboardInterrupt`` and ``SystemExit`` pass through as
    they are: they are not about the file.
    """
    limits = limits or ReadLimits()
    with path.open("rb") as raw:
        checker = OpcodeChecker(
            os.fstat(raw.fileno()).st_size,
            limits.max_bytes,
            limits.reason,
            limits.check_allocation,
        )
        reader = HashingReader(raw, checker)
        try:
            obj = _load(reader)
        except GuardrailError:
            raise
        except PickleTooLarge as error:
            raise PickleReadError(f"too large: {error}") from None
        except PickleRefused as error:
            text = str(error)
            raise PickleReadError(
                text if text.startswith("truncated") else f"corrupt pickle: {text}"
            ) from None
        except RefusedGlobal as error:
            raise PickleReadError(str(error)) from None
        except EOFError:
            raise PickleReadError(_truncated(reader.size)) from None
        except MemoryError:
            raise PickleReadError("corrupt pickle: it asks for more memory than exists") from None
        except RecursionError:
            raise PickleReadError("corrupt pickle: nested too deeply") from None
        except Exception as error:  # any parse failure of untrusted bytes is "corrupt"
            text = str(error)
            if "truncated" in text:
                raise PickleReadError(_truncated(reader.size)) from None
            raise PickleReadError(
                f"corrupt pickle: {type(error).__name__}: {text or 'cannot be parsed'}"
            ) from None
        trailing = 0
        while chunk := reader.read(CHUNK_BYTES):
            trailing += len(chunk)
        if trailing:
            raise PickleReadError(
                f"corrupt pickle: {trailing:,} unexpected bytes after the end of the pickle"
            )
        return PickleContent(obj, reader.size, reader.sha256.hexdigest())


def _load(reader: HashingReader) -> object:
    """Unpickle from ``reader``; what stopped its reading ahead is the error, whatever the
    unpickler made of it."""
    try:
        return RestrictedUnpickler(reader).load()
    except BaseException:
        if reader.failure is not None:
            raise reader.failure from None
        raise


def _truncated(size: int) -> str:
    return f"truncated pickle: the file ends after {size:,} bytes, before the pickle is complete"


def hash_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of ``path``, read in chunks of :data:`CHUNK_BYTES`."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
