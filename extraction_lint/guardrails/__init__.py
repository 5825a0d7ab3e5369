"""Runtime guardrails for data-extraction jobs.

Make a long job say what it is doing (heartbeat with rate, ETA, memory and output
size) and stop it when it goes wrong (memory limit, stall, timeout, output that
stopped growing)::

    from extraction_lint.guardrails import guard

    with guard(total=len(paths), label="extract", heartbeat_every=30,
               memory_limit="2 GiB", stall_timeout="5m", timeout="2h",
               watch_output=db_path) as g:
        for path in g.track(paths):
            ...
            g.tick(rows=len(rows))

Importing this package needs neither psutil nor rich at import time.
"""

from ._sysinfo import MemoryReading, read_memory
from .deadline import Deadline
from .errors import (
    DeadlineExceeded,
    GuardrailError,
    MemoryLimitExceeded,
    OutputNotGrowing,
    StallDetected,
)
from .guard import Guard, guard
from .memory import MemoryGuard
from .output import OutputGrowthCheck
from .progress import ProgressSnapshot, ProgressTracker, track
from .stall import StallDetector
from .units import parse_duration, parse_size

__all__ = [
    "Deadline",
    "DeadlineExceeded",
    "Guard",
    "GuardrailError",
    "MemoryGuard",
    "MemoryLimitExceeded",
    "MemoryReading",
    "OutputGrowthCheck",
    "OutputNotGrowing",
    "ProgressSnapshot",
    "ProgressTracker",
    "StallDetected",
    "StallDetector",
    "guard",
    "parse_duration",
    "parse_size",
    "read_memory",
    "track",
]
