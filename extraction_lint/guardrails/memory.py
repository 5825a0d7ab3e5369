"""Memory limit: :class:`MemoryGuard` stops the job before the machine starts to swap.

The figure checked is the process's resident memory plus its swapped-out memory
(Linux), so a job cannot hide its growth by pushing pages to swap. It is read from
``/proc/self/status`` on Linux, from psutil elsewhere (``pip install
'extraction-lint[guardrails]'``); where neither works, asking for a limit is an error
rather than a limit that silently never fires.
"""

from __future__ import annotations

import logging
import time
from types import FrameType

from ._component import SupervisedComponent
from ._supervisor import DEFAULT_GRACE
from ._sysinfo import INSTALL_HINT, MemoryReading, memory_backend, read_memory
from .errors import MemoryLimitExceeded
from .progress import ITEM_CHECK_INTERVAL, ProgressTracker
from .units import DurationLike, SizeLike, format_bytes, parse_duration, parse_size

DEFAULT_CHECK_EVERY = 0.1
MIN_CHECK_INTERVAL = 0.001


class MemoryGuard(SupervisedComponent):
    """Raises :class:`MemoryLimitExceeded` when RSS + swap goes over ``limit``.

    In a ``with`` block a watchdog thread reads memory every ``check_every`` seconds
    and interrupts the job, even inside one long item; :meth:`check` reads it on
    demand and is cheap enough to call once per item: it reads at most every 50 ms,
    more often when memory grows fast towards the limit.
    """

    def __init__(
        self,
        limit: SizeLike,
        *,
        label: str = "memory",
        progress: ProgressTracker | None = None,
        check_every: DurationLike = DEFAULT_CHECK_EVERY,
        grace: DurationLike = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        parsed = parse_size(limit, "memory_limit")
        if parsed is None:
            raise ValueError("memory_limit: MemoryGuard needs a limit; got None")
        if memory_backend() is None:
            raise RuntimeError(
                "memory_limit: cannot read this process's memory on this platform without "
                f"psutil; install it with: {INSTALL_HINT}"
            )
        super().__init__(label, progress, grace, hard_exit, logger)
        self.limit = parsed
        self.check_every = parse_duration(check_every, "check_every") or DEFAULT_CHECK_EVERY
        self.last_reading: MemoryReading | None = None
        self.peak = 0
        self._last_read_at = float("-inf")
        self._next_poll = 0.0
        # Seconds until a quarter of the headroom may be used up at the current
        # growth rate (infinite when memory is flat or shrinking).
        self._interval = float("inf")
        self.description = f"memory limit {format_bytes(parsed)}"

    def read(self) -> MemoryReading:
        """Read the process's memory now (and remember the peak)."""
        reading = read_memory()
        if reading is None:  # the backend vanished: report nothing rather than crash
            reading = MemoryReading(0, 0)
        now = time.monotonic()
        previous, previous_at = self.last_reading, self._last_read_at
        self.last_reading = reading
        self.peak = max(self.peak, reading.total)
        self._last_read_at = now
        self._interval = self._next_interval(previous, previous_at, reading, now)
        return reading

    def _next_interval(
        self,
        previous: MemoryReading | None,
        previous_at: float,
        reading: MemoryReading,
        now: float,
    ) -> float:
        # A fixed 50 ms between readings lets a job growing at 2 GB/s overshoot by
        # 100 MB. Read again once a quarter of the headroom may be used up at the
        # current growth rate: rarely for a flat job, every millisecond near the limit.
        if previous is None or now <= previous_at:
            return float("inf")
        growth = (reading.total - previous.total) / (now - previous_at)
        if growth <= 0:
            return float("inf")
        headroom = max(self.limit - reading.total, 0)
        return max(0.25 * headroom / growth, MIN_CHECK_INTERVAL)

    def check(self) -> MemoryReading:
        """Raise :class:`MemoryLimitExceeded` if over the limit; return the reading."""
        self._raise_tripped()
        now = time.monotonic()
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= min(self._interval, ITEM_CHECK_INTERVAL):
            reading = self.read()
        error = self._evaluate(reading, now)
        if error is not None:
            self._fail(error)
        return reading

    def _evaluate(self, reading: MemoryReading, now: float) -> MemoryLimitExceeded | None:
        if reading.total <= self.limit:
            return None
        summary = (
            f"{self.label}: memory limit exceeded: RSS {format_bytes(reading.rss)} + swap "
            f"{format_bytes(reading.swap)} = {format_bytes(reading.total)}, over memory_limit "
            f"{format_bytes(self.limit)}; {self.progress.where(now)}. Write results out per "
            "item instead of keeping them in memory, or raise memory_limit."
        )
        return MemoryLimitExceeded(summary, rss=reading.rss, swap=reading.swap, limit=self.limit)

    # -- monitor protocol ----------------------------------------------------------

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self._next_poll

    def poll(self, now: float) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        reading = self.read()
        self._next_poll = now + min(self.check_every, self._interval)
        return self._evaluate(reading, now)

    def at_checkpoint(self, now: float) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`.

        Between items the latest reading is compared with the limit; a fresh one is
        taken only if the watchdog has not read for ``check_every`` seconds (it is
        blocked, or there is none) or memory grows fast towards the limit. A reading
        costs tens of microseconds on a busy machine: too much for every 50 ms.
        """
        interval = min(self._interval, self.check_every)
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= interval:
            reading = self.read()
            interval = min(self._interval, self.check_every)
        # Near the limit and growing, the next items check sooner.
        tracker = self.progress
        tracker._next_check = min(tracker._next_check, self._last_read_at + interval)
        return self._evaluate(reading, now)

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`: memory is not a matter of time."""
        return None

    def urgent(self, now: float, frame: FrameType | None) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        return None
