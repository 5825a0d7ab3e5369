"""The process's peak resident memory, for the summary line."""

from __future__ import annotations

import sys


def peak_rss() -> int | None:
    """Peak RSS of this process in bytes, or ``None`` where it cannot be read."""
    try:
        import resource
    except ImportError:  # Windows
        return _psutil_peak()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def _psutil_peak() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    info = psutil.Process().memory_info()
    return int(getattr(info, "peak_wset", info.rss))
