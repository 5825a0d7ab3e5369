"""The state of a job's log file: when its last line came, and what it said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Enough to find the last line of any sensible log.
TAIL_BYTES = 8192


@dataclass(frozen=True)
class LogState:
    """A log file at one reading. ``age`` is seconds since its last write (``None``: missing)."""

    exists: bool
    size: int
    mtime_ns: int
    age: float | None
    last_line: str

    def changed_since(self, other: LogState | None) -> bool:
        """True when the file got something new (or was rotated) since ``other``."""
        if other is None:
            return False
        return (self.exists, self.size, self.mtime_ns) != (other.exists, other.size, other.mtime_ns)


def read_log(path: Path, now: float) -> LogState:
    """Stat ``path`` and read its last non-empty line (at most the last 8 KiB)."""
    try:
        info = path.stat()
    except OSError:
        return LogState(False, 0, 0, None, "")
    last_line = ""
    try:
        with path.open("rb") as handle:
            start = max(info.st_size - TAIL_BYTES, 0)
            handle.seek(start)
            lines = [line for line in handle.read().splitlines() if line.strip()]
            if lines:
                last_line = lines[-1].decode("utf-8", "replace").strip()
    except OSError:
        pass
    age = max(now - info.st_mtime, 0.0)
    return LogState(True, info.st_size, info.st_mtime_ns, age, last_line)


def describe_age(state: LogState) -> str:
    """``'12s ago'``, or ``'missing'``."""
    from extraction_lint.guardrails.units import format_duration

    if not state.exists or state.age is None:
        return "missing"
    return f"{format_duration(state.age)} ago"


__all__ = ["LogState", "describe_age", "read_log"]
