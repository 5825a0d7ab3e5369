"""The process's peak resident memory, for the summary line."""

from __future__ import annotations

import sys
from pathlib import Path

PROC_STATUS = Path("/proc/self/status")


def peak_rss() -> int | None:
    """Peak RSS of this process in bytes, or ``None`` where it cannot be read.

    On Linux this is ``VmHWM``, the high-water mark of this process's own memory.
    ``getrusage(...).ru_maxrss`` is not: Linux carries it over ``exec`` from the process
    that spawned this one, so a child started from a 2 GB parent reports at least 2 GB.
    """
    hwm = _proc_status_hwm()
    if hwm is not None:
        return hwm
    try:
        import resource
    except ImportError:  # Windows
        return _psutil_peak()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _proc_status_hwm() -> int | None:
    try:
        text = PROC_STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # "VmHWM:   123456 kB"
    return None


def _psutil_peak() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    info = psutil.Process().memory_info()
    return int(getattr(info, "peak_wset", info.rss))
