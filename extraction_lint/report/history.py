"""Reading a job's history: the JSON lines ``watch --record`` and ``guard(..., record=FILE)`` write.

The shape is described in :mod:`extraction_lint.guardrails.status`. Lines that are
not JSON objects, or are of an unknown kind, are skipped and counted (a history
cut off mid-line by a kill still reads up to its last whole line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class HistoryError(Exception):
    """The file cannot be read as a history at all."""


@dataclass
class History:
    """One job's history."""

    path: Path
    start: dict[str, Any] = field(default_factory=dict)
    readings: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def t0(self) -> float:
        """Epoch time of the start (the first line's time)."""
        if "time" in self.start:
            return float(self.start["time"])
        if self.readings:
            return float(self.readings[0].get("time", 0.0))
        return 0.0

    def x(self, line: dict[str, Any]) -> float:
        """Seconds since the start for one line."""
        if isinstance(line.get("time"), int | float):
            return max(float(line["time"]) - self.t0, 0.0)
        return float(line.get("elapsed") or 0.0)

    @property
    def duration(self) -> float:
        """Seconds from the start to the last line."""
        lines = [*self.readings, *self.verdicts, *([self.end] if self.end else [])]
        return max((self.x(line) for line in lines), default=0.0)

    def series(self, key: str) -> list[tuple[float, float | None]]:
        """``(seconds since start, value)`` of one figure over the readings."""
        return [(self.x(r), _number(r.get(key))) for r in self.readings]

    def has(self, key: str) -> bool:
        """True when some reading has the figure."""
        return any(_number(r.get(key)) is not None for r in self.readings)

    def peak(self, key: str) -> float | None:
        """The highest value of a figure."""
        values = [v for _, v in self.series(key) if v is not None]
        return max(values) if values else None

    def last(self, key: str) -> float | None:
        """The last known value of a figure."""
        for reading in reversed(self.readings):
            value = _number(reading.get(key))
            if value is not None:
                return value
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def load_history(path: Path) -> History:
    """Read ``path``; raises :class:`HistoryError` when it holds no reading at all."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as error:
        raise HistoryError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise HistoryError(f"{path}: is a directory") from error
    except OSError as error:
        raise HistoryError(f"{path}: cannot read: {error.strerror or error}") from error
    history = History(path)
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            history.skipped.append(f"line {number}: not JSON")
            continue
        if not isinstance(line, dict):
            history.skipped.append(f"line {number}: not a JSON object")
            continue
        kind = line.get("kind")
        if kind == "start" and not history.start:
            history.start = line
        elif kind == "reading":
            history.readings.append(line)
        elif kind == "verdict":
            history.verdicts.append(line)
        elif kind == "end":
            history.end = line
        else:
            history.skipped.append(f"line {number}: unknown kind {kind!r}")
    if not history.readings:
        detail = f" ({'; '.join(history.skipped[:3])})" if history.skipped else ""
        raise HistoryError(
            f"{path}: no readings: not a history written by 'watch --record' or "
            f"guard(..., record=FILE){detail}"
        )
    return history
