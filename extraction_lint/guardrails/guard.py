"""``guard(...)``: heartbeat, memory limit, stall detection, timeout and output check in one block.

::

    with guard(total=len(paths), label="extract", heartbeat_every=30,
               memory_limit="2 GiB", stall_timeout="5m", timeout="2h",
               watch_output=db_path) as g:
        for path in g.track(paths):
            rows = load(path)
            write(rows)
            g.tick(rows=len(rows))

One watchdog thread runs every enabled guard; see docs/guardrails.md for how its
errors reach the job's thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import TypedDict, TypeVar, overload

from ._component import SupervisedComponent
from ._supervisor import DEFAULT_GRACE, Supervisor
from ._sysinfo import MemoryReading, read_memory
from .deadline import Deadline
from .memory import DEFAULT_CHECK_EVERY, MemoryGuard, allocation_size
from .output import OutputGrowthCheck
from .progress import (
    DisplayMode,
    PathLike,
    ProgressSnapshot,
    ProgressTracker,
    is_async_iterable,
)
from .stall import StallDetector
from .status import GuardReporter
from .units import MAX_DURATION, DurationLike, SizeLike, parse_duration

T = TypeVar("T")

# Without an explicit output_stall, the output must change at least once per two
# stall timeouts: one slow item plus the time to flush what it produced.
OUTPUT_STALL_FACTOR = 2.0


def _resolve_output_stall(
    output_stall: DurationLike | None, stall_timeout: float | None, watch_output: PathLike | None
) -> float | None:
    if output_stall == "auto":
        if watch_output is None or stall_timeout is None:
            return None
        return min(OUTPUT_STALL_FACTOR * stall_timeout, MAX_DURATION)
    seconds = parse_duration(output_stall, "output_stall")
    if seconds is not None and watch_output is None:
        raise ValueError(
            f"output_stall: {output_stall!r} needs watch_output (the file or directory to watch)"
        )
    return seconds


class _Shared(TypedDict):
    """What every guard of one block is built with."""

    label: str
    progress: ProgressTracker | None
    grace: DurationLike
    hard_exit: bool | None
    logger: logging.Logger | None


class Guard:
    """The object ``guard(...)`` returns; use it in a ``with`` block."""

    def __init__(
        self,
        total: int | None = None,
        label: str = "job",
        heartbeat_every: DurationLike | None = 30,
        memory_limit: SizeLike | None = None,
        stall_timeout: DurationLike | None = None,
        timeout: DurationLike | None = None,
        watch_output: PathLike | None = None,
        output_stall: DurationLike | None = "auto",
        *,
        grace: DurationLike = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        display: DisplayMode = "auto",
        memory_check_every: DurationLike = DEFAULT_CHECK_EVERY,
        logger: logging.Logger | None = None,
        status: bool = True,
        record: PathLike | None = None,
    ) -> None:
        self.progress = ProgressTracker(
            total,
            label,
            heartbeat_every=heartbeat_every,
            display=display,
            watch_output=watch_output,
            logger=logger,
        )
        self.label = self.progress.label
        self.grace = parse_duration(grace, "grace") or DEFAULT_GRACE
        self.hard_exit = hard_exit
        self.logger = logger
        # Every guard of the block reports under the same label and progress.
        shared: _Shared = {
            "label": self.label,
            "progress": self.progress,
            "grace": self.grace,
            "hard_exit": hard_exit,
            "logger": logger,
        }
        self.memory = (
            MemoryGuard(memory_limit, check_every=memory_check_every, **shared)
            if memory_limit is not None
            else None
        )
        self.stall = StallDetector(stall_timeout, **shared) if stall_timeout is not None else None
        self.deadline = Deadline(timeout, **shared) if timeout is not None else None
        every = _resolve_output_stall(
            output_stall, self.stall.timeout if self.stall else None, watch_output
        )
        self.output = (
            OutputGrowthCheck(
                watch_output,
                every,
                label=self.label,
                progress=self.progress,
                grace=self.grace,
                hard_exit=hard_exit,
                logger=logger,
            )
            if watch_output is not None and every is not None
            else None
        )
        self._supervisor: Supervisor | None = None
        self._entered = False
        self._status_options = (status, record)
        self._reporter: GuardReporter | None = None

    @property
    def monitors(self) -> list[SupervisedComponent]:
        """The enabled guards, in the order the watchdog checks them."""
        found: list[SupervisedComponent | None] = [
            self.memory,
            self.deadline,
            self.stall,
            self.output,
        ]
        return [m for m in found if m is not None]

    # -- the block ---------------------------------------------------------------

    def __enter__(self) -> Guard:
        if self._entered:
            raise RuntimeError(f"{self.label}: a guard can be entered only once")
        self._entered = True
        status, record = self._status_options
        if status or record is not None:
            self._reporter = GuardReporter(self, status=status, record=record)
        self._supervisor = Supervisor(
            self.label,
            self.progress,
            [*self.monitors, *([self._reporter] if self._reporter else [])],
            grace=self.grace,
            hard_exit=self.hard_exit,
            drive_display=True,
            logger=self.logger,
        )
        self._supervisor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        supervisor, self._supervisor = self._supervisor, None
        pending = supervisor.stop(exc) if supervisor is not None else None
        if self._reporter is not None:
            self._reporter.finish(pending or exc)
        for monitor in self.monitors:
            monitor._supervisor = None
        if pending is not None:
            raise pending from exc

    @property
    def active(self) -> bool:
        """True inside the ``with`` block."""
        return self._supervisor is not None

    # -- progress ----------------------------------------------------------------

    @overload
    def track(self, iterable: AsyncIterable[T]) -> AsyncIterator[T]: ...

    @overload
    def track(self, iterable: Iterable[T]) -> Iterator[T]: ...

    def track(self, iterable: Iterable[T] | AsyncIterable[T]) -> Iterator[T] | AsyncIterator[T]:
        """Iterate with heartbeat, memory check and stall reset at each item.

        Outside a ``with`` block, the guard is entered for the duration of the loop.
        An async iterable gives an async iterator: ``async for x in g.track(agen())``.
        """
        if self.active:
            return self.progress.track(iterable)
        if is_async_iterable(iterable):
            return self._atrack_entered(iterable)  # type: ignore[arg-type]
        return self._track_entered(iterable)  # type: ignore[arg-type]

    def _track_entered(self, iterable: Iterable[T]) -> Iterator[T]:
        with self:
            yield from self.progress.track(iterable)

    async def _atrack_entered(self, iterable: AsyncIterable[T]) -> AsyncIterator[T]:
        with self:
            async for item in self.progress.track(iterable):
                yield item

    def tick(self, **counters: float) -> None:
        """A sign of life inside an item, adding to named counters (``tick(rows=500)``)."""
        self.progress.tick(**counters)

    def heartbeat(self, status: str | None = None) -> None:
        """A sign of life; ``status`` is shown in the following heartbeat lines."""
        self.progress.heartbeat(status)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done (for loops that do not use :meth:`track`)."""
        self.progress.update(n)

    advance = update

    # -- explicit checks -----------------------------------------------------------

    def check_memory(self) -> MemoryReading | None:
        """Check memory now (at most one reading per 50 ms); return the reading."""
        if self.memory is not None:
            return self.memory.check()
        self._raise_tripped()
        return read_memory()

    def check_allocation(self, nbytes: int, what: str | None = None) -> MemoryReading | None:
        """Refuse an allocation of ``nbytes`` that would take the job over ``memory_limit``.

        Call it before allocating something whose size is known in advance (an
        array, a buffer): when resident memory plus swap plus ``nbytes`` would be
        over the limit it raises :class:`MemoryLimitExceeded` (with the figures,
        the limit, the progress, the current item and ``what``, the caller's name
        for the allocation) instead of letting one large allocation overshoot the
        limit before the guard can see it. The refusal does not trip the guard, so
        the job may catch it and go on. Returns the reading taken; without a
        ``memory_limit`` nothing is refused and the reading is returned as by
        :meth:`check_memory`. See :meth:`MemoryGuard.check_allocation`.
        """
        if self.memory is not None:
            return self.memory.check_allocation(nbytes, what)
        allocation_size(nbytes)
        self._raise_tripped()
        return read_memory()

    def check(self) -> None:
        """Run every enabled check now, in this thread; raise the first failure."""
        self._raise_tripped()
        for monitor in self.monitors:
            monitor.check()

    def _raise_tripped(self) -> None:
        if self._supervisor is not None:
            self._supervisor.checkpoint(time.monotonic())

    # -- figures -----------------------------------------------------------------

    @property
    def done(self) -> int:
        """Items done so far."""
        return self.progress.done

    @property
    def total(self) -> int | None:
        """Expected number of items, if known."""
        return self.progress.total

    def remaining(self) -> float | None:
        """Seconds left before the timeout, or ``None`` without one."""
        return self.deadline.remaining() if self.deadline is not None else None

    def snapshot(self) -> ProgressSnapshot:
        """The current progress figures."""
        return self.progress.snapshot()


def guard(
    total: int | None = None,
    label: str = "job",
    heartbeat_every: DurationLike | None = 30,
    memory_limit: SizeLike | None = None,
    stall_timeout: DurationLike | None = None,
    timeout: DurationLike | None = None,
    watch_output: PathLike | None = None,
    output_stall: DurationLike | None = "auto",
    *,
    grace: DurationLike = DEFAULT_GRACE,
    hard_exit: bool | None = None,
    display: DisplayMode = "auto",
    memory_check_every: DurationLike = DEFAULT_CHECK_EVERY,
    logger: logging.Logger | None = None,
    status: bool = True,
    record: PathLike | None = None,
) -> Guard:
    """Watch a job: heartbeat, and each guard whose limit is set (``None`` turns it off).

    - ``total``: expected number of items (taken from ``len()`` by ``track`` if omitted).
    - ``label``: names the job in every line and message.
    - ``heartbeat_every``: seconds between heartbeat lines (a bar on a terminal).
    - ``memory_limit``: bytes or ``"2 GiB"``; RSS + swap above it raises
      :class:`MemoryLimitExceeded`.
    - ``stall_timeout``: seconds or ``"5m"``; no progress for that long raises
      :class:`StallDetected`.
    - ``timeout``: seconds or ``"2h"``; the block running longer raises
      :class:`DeadlineExceeded`.
    - ``watch_output``: a file or directory whose size the heartbeat reports.
    - ``output_stall``: how long ``watch_output`` may stay unchanged while items
      advance before :class:`OutputNotGrowing`; ``"auto"`` (default) is twice
      ``stall_timeout`` (off without one), ``None`` turns it off.
    - ``grace``: how long the job's thread has to take an error before the process
      is ended (main thread by default; see ``hard_exit``).
    - ``hard_exit``: end the process when the job's thread does not respond;
      ``None`` means yes in the main thread, no in other threads.
    - ``display``: ``"auto"``, ``"bar"``, ``"log"`` or ``"off"``.
    - ``status``: keep a status record for ``extraction-lint status`` (see
      :mod:`.status`); ``record``: write the job's history as JSON lines to that
      file, for ``extraction-lint report``.
    """
    return Guard(
        total,
        label,
        heartbeat_every,
        memory_limit,
        stall_timeout,
        timeout,
        watch_output,
        output_stall,
        grace=grace,
        hard_exit=hard_exit,
        display=display,
        memory_check_every=memory_check_every,
        logger=logger,
        status=status,
        record=record,
    )
