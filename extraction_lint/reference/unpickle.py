"""Reading a pickle file without running the code a pickle can carry.

``pickle.load`` imports and calls whatever a file names: a file whose ``__reduce__``
returns ``(os.system, ("...",))`` runs that command. :class:`RestrictedUnpickler`
resolves only the handful of globals that numpy arrays need (plain containers, strings
and numbers need none) and refuses every other one with :class:`RefusedGlobal`, before
anything is called.

:func:`read_pickle` reads a file once, through :class:`HashingReader`, so the SHA-256
recorded in the manifest is the hash of exactly the bytes that were parsed.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 0-2 pickles of numpy arrays use it (latin-1 only)."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


def _numpy_attribute(modules: tuple[str, ...], name: str) -> Callable[[], Any]:
    """A resolver for ``name`` in the first importable of ``modules``.

    numpy 2 pickles name ``numpy._core...``, numpy 1 pickles ``numpy.core...``; both
    spellings resolve to whichever exists here, without importing numpy 2's
    deprecated ``numpy.core`` shim.
    """

    def resolve() -> Any:
        for module in modules:
            try:
                return getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"numpy has no {name} in {' or '.join(modules)}")

    return resolve


_MULTIARRAY = ("numpy._core.multiarray", "numpy.core.multiarray")
_NUMERIC = ("numpy._core.numeric", "numpy.core.numeric")
_RECONSTRUCT = _numpy_attribute(_MULTIARRAY, "_reconstruct")
_FROMBUFFER = _numpy_attribute(_NUMERIC, "_frombuffer")
_NDARRAY = _numpy_attribute(("numpy",), "ndarray")
_DTYPE = _numpy_attribute(("numpy",), "dtype")

# (module, name) -> resolver. ndarray.__reduce_ex__ uses _reconstruct (protocols 0-4) or
# _frombuffer (protocol 5); both rebuild an array from a dtype and raw bytes only.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("_codecs", "encode"): lambda: _latin1_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain containers, and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global; raise :class:`RefusedGlobal` for any other."""
        resolver = ALLOWED_GLOBALS.get((module, name))
        if resolver is None:
            raise RefusedGlobal(module, name)
        return resolver()


class HashingReader(io.RawIOBase):
    """A read-only file wrapper that feeds every byte it hands out to a SHA-256."""

    def __init__(self, raw: io.BufferedReader) -> None:
        super().__init__()
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the file and hash what was read."""
        count = self._raw.readinto(buffer)
        if count:
            view = memoryview(buffer)[:count]
            self.sha256.update(view)
            self.size += count
        return count or 0

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all the rest for -1) and hash them."""
        data = self._raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line and hash it (protocol 0 pickles are line based)."""
        data = self._raw.readline(-1 if size is None else size)
        self.sha256.update(data)
        self.size += len(data)
        return data


@dataclass(frozen=True)
class PickleContent:
    """A file's unpickled object, with the size and SHA-256 of the bytes it came from."""

    obj: object
    size: int
    sha256: str


class PickleReadError(Exception):
    """The file is not a readable pickle; the message says why, without the file name."""


def read_pickle(path: Path) -> PickleContent:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`, hashing the bytes on the way.

    Raises :class:`PickleReadError` for a truncated or corrupt file, trailing bytes after
    the pickle, or a refused global (whose message names it).
    """
    with path.open("rb") as raw:
        reader = HashingReader(raw)
        try:
            obj = RestrictedUnpickler(reader).load()
        except RefusedGlobal as error:
            raise PickleReadError(str(error)) from None
        except EOFError:
            raise PickleReadError(_truncated(reader.size)) from None
        except MemoryError:
            raise PickleReadError("corrupt pickle: it asks for more memory than exists") from None
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
