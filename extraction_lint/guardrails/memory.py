"""Memory limit: :class:`MemoryGuard` stops the job before the machine starts to swap.

The figure checked is the process's resident memory plus its swapped-out memory
(Linux), so a job cannot hide its growth by pushing pages to swap. It is read from
``/proc/self/status`` on Linux, from psutil elsewhere (``pip install psutil``); where
neither works, asking for a limit is an error rather than a limit that silently never
fires.
"""

from __future__ import annotations

import logging
import operator
import time
from types import FrameType

from ._component import SupervisedComponent
from ._supervisor import DEFAULT_GRACE
from ._sysinfo import INSTALL_HINT, MemoryReading, memory_backend, read_memory
from .errors import GuardrailError, MemoryLimitExceeded
from .progress import ProgressTracker
from .units import (
    DurationLike,
    SizeLike,
    format_bytes,
    format_bytes_over,
    parse_duration,
    parse_size,
)

DEFAULT_CHECK_EVERY = 1.0
MIN_CHECK_INTERVAL = 0.001
# Growth the reading schedule is planned for: a process filling fresh pages runs at
# a few GB/s at most. Reading once half of the headroom could be used at this rate
# keeps the overshoot under half the headroom, while a job far below its limit is
# read about once a second. A faster growth seen between two readings replaces it.
ASSUMED_MAX_GROWTH = 2 * 1024**3


def allocation_size(nbytes: int) -> int:
    """Validate the ``nbytes`` of ``check_allocation`` (any integer type, numpy's too)."""
    try:
        size = operator.index(nbytes)
    except TypeError:
        raise TypeError(
            f"check_allocation: nbytes must be a number of bytes (an int), got {nbytes!r}"
        ) from None
    if size < 0:
        raise ValueError(f"check_allocation: nbytes must be >= 0, got {size}")
    return size


class MemoryGuard(SupervisedComponent):
    """Raises :class:`MemoryLimitExceeded` when RSS + swap goes over ``limit``.

    Memory is read between items (by :meth:`check`, or by ``track`` under a guard)
    and, in a ``with`` block, by a watchdog thread that interrupts the job even
    inside one long item. Readings are planned so that a job growing by up to
    2 GiB/s cannot pass the limit by more than half of the headroom left at the
    previous reading: about once a second far below the limit (``check_every`` is
    the longest gap), every few milliseconds close to it. That keeps :meth:`check`
    cheap enough to call once per item.
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
        # Seconds until the next reading is due (see _next_interval).
        self._interval = 0.0
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
        growth = float(ASSUMED_MAX_GROWTH)
        if previous is not None and now > previous_at:
            growth = max(growth, (reading.total - previous.total) / (now - previous_at))
        headroom = max(self.limit - reading.total, 0)
        return min(max(0.5 * headroom / growth, MIN_CHECK_INTERVAL), self.check_every)

    def check(self) -> MemoryReading:
        """Raise :class:`MemoryLimitExceeded` if over the limit; return the reading."""
        self._raise_tripped()
        now = time.monotonic()
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= self._interval:
            reading = self.read()
        error = self._evaluate(reading, now)
        if error is not None:
            self._fail(error)
        return reading

    def check_allocation(self, nbytes: int, what: str | None = None) -> MemoryReading:
        """Refuse an allocation of ``nbytes`` that would take the process over the limit.

        For code that knows how much it is about to allocate (an array whose shape
        and dtype it has read, a buffer whose length a header gives): call this
        first, and a single large allocation is refused before it is made instead
        of being caught after it, when the process may already be far over the
        limit or killed by the kernel. The process's memory is read now; when its
        resident memory plus swap plus ``nbytes`` is over the limit, this raises
        :class:`MemoryLimitExceeded` with the reading, ``requested=nbytes``, the
        limit, the progress, the current item and ``what`` (the caller's name for
        the allocation, such as ``"signal 's0042' of 'batch_007.pkl'"``) in the
        message. Returns the reading otherwise.

        A refusal does not trip the guard: nothing was allocated, so the job may
        catch the error and go on (skip that item, read it in smaller pieces). An
        error the guard tripped earlier is raised here first, as by :meth:`check`.
        Safe to call from any thread; the error is raised in the calling one.
        """
        size = allocation_size(nbytes)
        self._raise_tripped()
        reading = self.read()
        after = reading.total + size
        if after <= self.limit:
            return reading
        named = f" for {what}" if what else ""
        shown_after, shown_limit = format_bytes_over(after, self.limit)
        summary = (
            f"{self.label}: allocation refused: {format_bytes(size)}{named} on top of RSS "
            f"{format_bytes(reading.rss)} + swap {format_bytes(reading.swap)} = "
            f"{format_bytes(reading.total)} would make {shown_after}, over memory_limit "
            f"{shown_limit}; {self.progress.where(time.monotonic())}. Process it "
            "in smaller pieces, or raise memory_limit."
        )
        raise MemoryLimitExceeded(
            summary,
            rss=reading.rss,
            swap=reading.swap,
            limit=self.limit,
            requested=size,
            what=what,
        )

    def _evaluate(self, reading: MemoryReading, now: float) -> MemoryLimitExceeded | None:
        if reading.total <= self.limit:
            return None
        shown_total, shown_limit = format_bytes_over(reading.total, self.limit)
        summary = (
            f"{self.label}: memory limit exceeded: RSS {format_bytes(reading.rss)} + swap "
            f"{format_bytes(reading.swap)} = {shown_total}, over memory_limit "
            f"{shown_limit}; {self.progress.where(now)}. Write results out per "
            "item instead of keeping them in memory, or raise memory_limit."
        )
        return MemoryLimitExceeded(summary, rss=reading.rss, swap=reading.swap, limit=self.limit)

    # -- monitor protocol ----------------------------------------------------------

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self._last_read_at + self._interval

    def poll(self, now: float) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= self._interval:
            reading = self.read()
        return self._evaluate(reading, now)

    def at_checkpoint(self, now: float) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`: a reading when one is due, else the last."""
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= self._interval:
            reading = self.read()
        # Near the limit, the next items check sooner than the usual 50 ms.
        tracker = self.progress
        tracker._next_check = min(tracker._next_check, self._last_read_at + self._interval)
        return self._evaluate(reading, now)

    def went_on(
        self, error: GuardrailError, delivered: bool, now: float
    ) -> tuple[str | None, float | None]:
        """See :class:`._supervisor.Monitor`: a block that took its
        :class:`MemoryLimitExceeded` and goes on growing (the loop swallowed it) is
        ended once it holds a tenth of the limit more than at the error: cleaning up
        may take a little memory, piling more rows up may not."""
        if not isinstance(error, MemoryLimitExceeded):
            return None, None
        if not delivered:  # raised in the owner thread within milliseconds
            return None, now + MIN_CHECK_INTERVAL
        reading = self.last_reading
        if reading is None or now - self._last_read_at >= self._interval:
            reading = self.read()
        at_error = error.rss + error.swap
        allowed = at_error + max(self.limit // 10, 1)
        if reading.total >= allowed:
            return (
                f"its memory went on growing, from {format_bytes(at_error)} at the error to "
                f"{format_bytes(reading.total)} (memory_limit {format_bytes(self.limit)})"
            ), None
        return None, self._last_read_at + self._interval

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`: memory is not a matter of time."""
        return None

    def urgent(self, now: float, frame: FrameType | None) -> MemoryLimitExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        return None
