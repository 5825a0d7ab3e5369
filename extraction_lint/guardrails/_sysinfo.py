"""Cheap readings of the process's memory and of an output path's size.

Memory comes from ``/proc/self/status`` on Linux (one small read gives both the
resident set and the swapped-out part), else from psutil when it is installed
(resident set only: psutil's per-process swap figure parses ``smaps``, far too slow
to take several times a second). Without either, :func:`read_memory` returns ``None``
and a memory limit cannot be enforced.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC_STATUS = "/proc/self/status"
# The dependency itself: the name extraction-lint on PyPI is not this project's.
INSTALL_HINT = "pip install psutil"

# Sibling files where databases stage writes before they reach the main file
# (DuckDB's WAL, SQLite's WAL and rollback journal): a watched database file
# counts them, so a job that writes through its WAL is seen to make output.
_STAGING_SUFFIXES = (".wal", "-wal", "-journal")


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """Resident and swapped-out memory of this process, in bytes."""

    rss: int
    swap: int

    @property
    def total(self) -> int:
        """What the process holds: resident plus swapped out."""
        return self.rss + self.swap


_status_fd: int | None = None
_status_key: tuple[int, str] | None = None
_status_lock = threading.Lock()


def _read_proc_status(path: str = PROC_STATUS) -> MemoryReading | None:
    global _status_fd, _status_key
    # One descriptor kept open and read with pread: a few microseconds instead of
    # an open/read/close. It is tied to the pid, since after a fork it would still
    # describe the parent.
    key = (os.getpid(), path)
    with _status_lock:
        if _status_key != key:
            if _status_fd is not None and _status_key is not None and _status_key[0] == key[0]:
                os.close(_status_fd)
            _status_fd, _status_key = None, key
            try:
                _status_fd = os.open(path, os.O_RDONLY)
            except OSError:
                return None
        if _status_fd is None:
            return None
        try:
            text = os.pread(_status_fd, 16384, 0)
        except OSError:
            return None
    rss = _status_field(text, b"\nVmRSS:")
    if rss is None:
        return None
    return MemoryReading(rss=rss, swap=_status_field(text, b"\nVmSwap:") or 0)


def _after_fork_in_child() -> None:
    global _status_fd, _status_key, _status_lock
    # The watchdog thread may have been reading at the fork: a fresh lock, and the
    # parent's descriptor closed (it would go on describing the parent).
    _status_lock = threading.Lock()
    if _status_fd is not None:
        with contextlib.suppress(OSError):
            os.close(_status_fd)
    _status_fd = _status_key = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _status_field(text: bytes, name: bytes) -> int | None:
    """A ``Name:   1234 kB`` field of /proc/<pid>/status, in bytes."""
    start = text.find(name)
    if start < 0:
        return None
    start += len(name)
    end = text.find(b"\n", start)
    try:
        return int(text[start : end if end >= 0 else None].split()[0]) * 1024
    except (IndexError, ValueError):
        return None


_psutil_process: Any = None


def _read_psutil() -> MemoryReading | None:
    global _psutil_process
    if _psutil_process is None:
        try:
            import psutil
        except ImportError:
            return None
        _psutil_process = psutil.Process()
    return MemoryReading(rss=int(_psutil_process.memory_info().rss), swap=0)


def memory_backend() -> str | None:
    """``'proc'``, ``'psutil'`` or ``None`` when this process's memory cannot be read."""
    if _read_proc_status(PROC_STATUS) is not None:
        return "proc"
    if _read_psutil() is not None:
        return "psutil"
    return None


def read_memory() -> MemoryReading | None:
    """This process's memory now, or ``None`` when no backend can read it."""
    reading = _read_proc_status(PROC_STATUS)
    if reading is not None:
        return reading
    return _read_psutil()


@dataclass(frozen=True, slots=True)
class OutputState:
    """Size and latest modification of a watched file or directory tree."""

    exists: bool
    size: int
    mtime_ns: int
    files: int

    def same_as(self, other: OutputState | None) -> bool:
        """True when nothing about the output changed between two readings."""
        return other is not None and (self.size, self.mtime_ns, self.files) == (
            other.size,
            other.mtime_ns,
            other.files,
        )


def measure_output(path: str | os.PathLike[str]) -> OutputState:
    """Total size of ``path``: a file (with its WAL/journal) or every file under a directory."""
    target = Path(path)
    size = mtime_ns = files = 0
    exists = False
    if target.is_dir():
        exists = True
        stack = [target]
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        size += info.st_size
                        mtime_ns = max(mtime_ns, info.st_mtime_ns)
                        files += 1
                except OSError:
                    continue
        return OutputState(exists, size, mtime_ns, files)
    for candidate in (target, *(Path(f"{target}{s}") for s in _STAGING_SUFFIXES)):
        try:
            info = candidate.stat()
        except OSError:
            continue
        exists = True
        size += info.st_size
        mtime_ns = max(mtime_ns, info.st_mtime_ns)
        files += 1
    return OutputState(exists, size, mtime_ns, files)
