"""The largest allocation sites of a tracemalloc snapshot, named by the line of the user's code.

A block's *site* is the innermost frame of its traceback that is the user's code (not the
standard library, not an installed package, not this plugin); its *origin* is the innermost
frame, where the allocation happened. For ``rows.append(signal.tolist())`` the site is that
line of the job, the origin the same line; for a list grown inside a library, the site is
the job's line that called into it and the origin the library's line.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import site
import sysconfig
import threading
import tracemalloc
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_THIS_PACKAGE = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class AllocationSite:
    """Bytes still allocated at the snapshot, grouped by the user's line that made them."""

    size: int
    count: int
    filename: str
    lineno: int
    origin_filename: str
    origin_lineno: int

    @property
    def source(self) -> str:
        """The site's line of source, stripped ('' when unreadable)."""
        return linecache.getline(self.filename, self.lineno).strip()

    def to_json(self) -> dict[str, object]:
        """Plain data for the trip from the child process."""
        return {
            "size": self.size,
            "count": self.count,
            "filename": self.filename,
            "lineno": self.lineno,
            "origin_filename": self.origin_filename,
            "origin_lineno": self.origin_lineno,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AllocationSite:
        """The inverse of :meth:`to_json`."""
        return cls(
            size=int(str(data["size"])),
            count=int(str(data["count"])),
            filename=str(data["filename"]),
            lineno=int(str(data["lineno"])),
            origin_filename=str(data["origin_filename"]),
            origin_lineno=int(str(data["origin_lineno"])),
        )


@lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    with contextlib.suppress(AttributeError):  # some virtualenv builds lack it
        dirs.update(site.getsitepackages())
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user_site, str):
        dirs.add(user_site)
    dirs.add(_THIS_PACKAGE)
    return tuple(sorted(os.path.realpath(d) + os.sep for d in dirs))


@lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """Whether ``filename`` is the user's code rather than Python's or an installed package's."""
    if filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return not any(real.startswith(d) for d in _library_dirs())


def top_sites(snapshot: tracemalloc.Snapshot, limit: int = 5) -> list[AllocationSite]:
    """The ``limit`` sites holding the most bytes in ``snapshot``."""
    snapshot = snapshot.filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, threading.__file__),
            tracemalloc.Filter(False, os.path.join(_THIS_PACKAGE, "*")),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        )
    )
    grouped: dict[tuple[str, int], list[int]] = {}
    origins: dict[tuple[str, int], tuple[int, str, int]] = {}
    for stat in snapshot.statistics("traceback"):
        frames = list(stat.traceback)  # oldest first
        if not frames:
            continue
        innermost = frames[-1]
        chosen = next((f for f in reversed(frames) if is_user_code(f.filename)), innermost)
        key = (chosen.filename, chosen.lineno)
        totals = grouped.setdefault(key, [0, 0])
        totals[0] += stat.size
        totals[1] += stat.count
        best = origins.get(key)
        if best is None or stat.size > best[0]:
            origins[key] = (stat.size, innermost.filename, innermost.lineno)
    total = sum(size for size, _ in grouped.values())
    ranked = sorted(grouped.items(), key=lambda item: item[1][0], reverse=True)[:limit]
    # Sites under 1% of what is traced are the interpreter's own small change.
    ranked = [item for item in ranked if item[1][0] * 100 >= total] or ranked[:1]
    return [
        AllocationSite(
            size=size,
            count=count,
            filename=filename,
            lineno=lineno,
            origin_filename=origins[(filename, lineno)][1],
            origin_lineno=origins[(filename, lineno)][2],
        )
        for (filename, lineno), (size, count) in ranked
    ]
