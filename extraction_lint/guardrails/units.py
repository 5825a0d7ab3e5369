"""Parsing and formatting of the sizes and durations that guard parameters accept.

Sizes are bytes: a number, or a string such as ``"2 GiB"``, ``"500MB"`` or ``"1.5g"``.
Decimal suffixes (``kB``, ``MB``, ``GB``, ``TB``) are powers of 1000, binary ones
(``KiB``, ``MiB``, ``GiB``, ``TiB``) powers of 1024; a bare letter (``k``, ``m``, ``g``,
``t``) is binary, as in ``ulimit``, Docker and the JVM.

Durations are seconds: a number, a :class:`datetime.timedelta`, or a string such as
``"90s"``, ``"5m"``, ``"1.5h"``, ``"1h30m"``, ``"500ms"`` or ``"2 days"``.

``None`` passes through as ``None`` ("this guard is off"); anything unreadable is a
:class:`ValueError` that names the parameter and repeats the bad value. So is a
duration longer than :data:`MAX_DURATION` (100 years): the system's timers, which the
guards arm from such figures, cannot count that far, and ``None`` says "no limit".
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

SizeLike = int | float | str
DurationLike = int | float | str | timedelta

_SIZE_FACTORS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1000**4,
    "tib": 1024**4,
}

_DURATION_FACTORS: dict[str, float] = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}

# The longest duration a guard accepts. The CPU timer and faulthandler's timer take
# nanoseconds in a signed 64-bit count (at most about 292 years), and a guard arms
# them for a stall or timeout plus the grace period, so each of those stays well below.
MAX_DURATION = 100 * 365 * 86400.0
_MAX_DURATION_TEXT = "100 years"

# The largest size a guard accepts: sizes are compared with byte counts the system gives
# as signed 64-bit numbers.
MAX_SIZE = 2**63 - 1
_MAX_SIZE_TEXT = "8 EiB"

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_SIZE_RE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>[a-zA-Z]*)\s*$")
_DURATION_PART_RE = re.compile(rf"\s*(?P<num>{_NUMBER})\s*(?P<unit>[a-zA-Z]*)\s*")


def _bad(name: str, value: object, kind: str, example: str) -> ValueError:
    return ValueError(f"{name}: cannot read {value!r} as a {kind}; use {example}")


def parse_size(value: SizeLike | None, name: str = "size") -> int | None:
    """Return ``value`` in bytes (``None`` stays ``None``).

    Raises :class:`ValueError` naming ``name`` when the value is not a positive size.
    """
    example = "a number of bytes or a string such as '2 GiB' or '500MB'"
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(name, value, "size", example)
    if isinstance(value, int | float):
        number = _as_float(value)
        factor = 1
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        unit = match.group("unit").lower() if match else ""
        if match is None or unit not in _SIZE_FACTORS:
            raise _bad(name, value, "size", example)
        number = float(match.group("num"))
        factor = _SIZE_FACTORS[unit]
    else:
        raise _bad(name, value, "size", example)
    if number * factor > MAX_SIZE and (math.isfinite(number) or not _is_infinity(value)):
        raise ValueError(
            f"{name}: {_shown(value)} is larger than {_MAX_SIZE_TEXT}, the largest size a guard "
            f"can compare{_no_limit_hint(name)}"
        )
    if not math.isfinite(number) or number <= 0:
        raise _bad(name, value, "size", f"a positive size ({example})")
    return max(1, round(number * factor))


def _as_float(value: int | float) -> float:
    """``value`` as a float; an int too large for one is infinitely large."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _shown(value: object) -> str:
    """``value`` as a message quotes it: an int of hundreds of digits by its size alone."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {round(value.bit_length() * math.log10(2)):,} digits"
    return repr(value)


def _no_limit_hint(name: str) -> str:
    # A parameter of the Python API is turned off with None; a command-line option has
    # its own way, which its help gives.
    return "" if name.startswith("-") else "; use None for no limit"


def parse_duration(value: DurationLike | None, name: str = "duration") -> float | None:
    """Return ``value`` in seconds (``None`` stays ``None``).

    Raises :class:`ValueError` naming ``name`` when the value is not a positive duration.
    """
    example = "a number of seconds or a string such as '90s', '5m', '2h' or '1h30m'"
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(name, value, "duration", example)
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = _as_float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value, name, example)
    else:
        raise _bad(name, value, "duration", example)
    if seconds > MAX_DURATION and (math.isfinite(seconds) or not _is_infinity(value)):
        raise ValueError(
            f"{name}: {_shown(value)} is longer than {_MAX_DURATION_TEXT} "
            f"({MAX_DURATION:,.0f} s), the longest duration a guard can time"
            f"{_no_limit_hint(name)}"
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise _bad(name, value, "duration", f"a positive duration ({example})")
    return seconds


def _is_infinity(value: object) -> bool:
    """``value`` names infinity itself (``inf``, ``float('inf')``), not a huge number."""
    if isinstance(value, float):
        return math.isinf(value)
    return isinstance(value, str) and "inf" in value.lower()


def _parse_duration_text(text: str, name: str, example: str) -> float:
    position = 0
    total = 0.0
    parts = 0
    while position < len(text):
        match = _DURATION_PART_RE.match(text, position)
        if match is None or match.end() == position:
            raise _bad(name, text, "duration", example)
        unit = match.group("unit").lower()
        if unit not in _DURATION_FACTORS:
            raise _bad(name, text, "duration", example)
        total += float(match.group("num")) * _DURATION_FACTORS[unit]
        position = match.end()
        parts += 1
    if parts == 0:
        raise _bad(name, text, "duration", example)
    return total


def format_bytes(size: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: binary units, one decimal, exact bytes below 1 KiB."""
    if size < 1024:
        return f"{int(size)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def format_bytes_over(size: float, limit: float) -> tuple[str, str]:
    """``size`` and ``limit`` with the digits it takes to show that ``size`` is the larger.

    ``format_bytes`` gives both as ``'250.0 MiB'`` when the size is a few KiB past
    the limit; a message that says a figure is over a limit must show it over.
    """
    shown = format_bytes(size), format_bytes(limit)
    if size <= limit or _read_back(shown[0]) > _read_back(shown[1]):
        return shown
    if size >= 1024:
        exponent = 1
        while exponent < 4 and size >= 1024 ** (exponent + 1):
            exponent += 1
        unit, scale = ("KiB", "MiB", "GiB", "TiB")[exponent - 1], 1024**exponent
        for digits in (1, 2, 3, 4):
            over, under = f"{size / scale:.{digits}f}", f"{limit / scale:.{digits}f}"
            if float(over) > float(under):
                return f"{over} {unit}", f"{under} {unit}"
    return f"{int(size)} B", f"{int(limit)} B"


def _read_back(shown: str) -> float:
    number, unit = shown.split()
    return float(number) * _SIZE_FACTORS[unit.lower()]


def format_signed_bytes(delta: float) -> str:
    """``2048`` -> ``'+2.0 KiB'``, ``-10`` -> ``'-10 B'``."""
    sign = "-" if delta < 0 else "+"
    return sign + format_bytes(abs(delta))


def format_duration(seconds: float) -> str:
    """``5025`` -> ``'1h23m45s'``; ``1.5`` -> ``'1.5s'``; ``0.25`` -> ``'0.25s'``."""
    if seconds < 1:
        return f"{seconds:.3g}s"
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def format_rate(per_second: float) -> str:
    """An items-per-second figure with enough digits to be useful at any scale."""
    if per_second >= 100:
        return f"{per_second:,.0f}/s"
    if per_second >= 1:
        return f"{per_second:.1f}/s"
    if per_second > 0:
        return f"{per_second * 60:.1f}/min" if per_second >= 1 / 60 else f"{per_second:.2g}/s"
    return "0/s"
