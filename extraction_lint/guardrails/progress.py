"""Progress counting and heartbeat: :class:`ProgressTracker` and the :func:`track` iterator.

A tracker counts items (``track``, ``update``), named counters (``tick(rows=...)``)
and signs of life (``heartbeat``). While it is active a watchdog thread reports it:
one log line every ``heartbeat_every`` seconds when stderr is a file or a pipe, a rich
progress bar when stderr is a terminal. The per-item cost is one clock read and a
few attribute stores; everything else happens in the watchdog thread or, at most
every :data:`ITEM_CHECK_INTERVAL` seconds, in a slower checkpoint between items.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sized
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import _logging as guard_logging
from ._display import BarDisplay, Display, LogDisplay, describe_item, stderr_is_terminal
from .units import DurationLike, format_duration, format_rate, parse_duration

if TYPE_CHECKING:
    from ._supervisor import Supervisor

T = TypeVar("T")
DisplayMode = Literal["auto", "bar", "log", "off"]
_DISPLAY_MODES = ("auto", "bar", "log", "off")
PathLike = str | os.PathLike[str]

# Between items, the owner thread checks memory, deadline and tripped errors at most
# this often: often enough to stop a fast-growing job early, rarely enough to cost
# nothing measurable on a million cheap items.
ITEM_CHECK_INTERVAL = 0.05


class _Nothing:
    def __repr__(self) -> str:
        return "<no item yet>"


_NOTHING: Any = _Nothing()


def is_async_iterable(iterable: object) -> bool:
    """True for what only ``async for`` can iterate (an async generator, an async stream)."""
    kind = type(iterable)
    return hasattr(kind, "__aiter__") and not hasattr(kind, "__iter__")


def check_total(total: int | None) -> int | None:
    """Validate a ``total`` parameter."""
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"total: expected a number of items (int >= 0) or None, got {total!r}")
    return total


@dataclass(frozen=True)
class ProgressSnapshot:
    """Progress at one moment, as figures."""

    label: str
    done: int
    total: int | None
    elapsed: float
    rate: float
    eta: float | None
    counters: dict[str, float]
    current: str | None
    status: str | None

    @property
    def percent(self) -> float | None:
        """Share of ``total`` done, 0-100, or ``None`` without a total."""
        if not self.total:
            return None
        return 100.0 * self.done / self.total


class ProgressTracker:
    """Counts a job's items and reports its progress while active.

    Use it as a context manager around a loop, or let :meth:`track` enter it for the
    duration of the iteration::

        with ProgressTracker(total=len(paths), label="extract") as progress:
            for path in progress.track(paths):
                rows = load(path)
                progress.tick(rows=len(rows))

    ``heartbeat_every`` (seconds or a duration string, ``None`` for silence) sets the
    log line interval; ``display`` is ``"auto"`` (a bar on a terminal, log lines
    otherwise), ``"bar"``, ``"log"`` or ``"off"``; ``watch_output`` adds the size of
    that file or directory, and its growth since the previous line, to each line.
    """

    def __init__(
        self,
        total: int | None = None,
        label: str = "progress",
        *,
        heartbeat_every: DurationLike | None = 30,
        display: DisplayMode = "auto",
        watch_output: PathLike | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if display not in _DISPLAY_MODES:
            raise ValueError(f"display: expected one of {_DISPLAY_MODES}, got {display!r}")
        self.total = check_total(total)
        self.label = str(label)
        self.heartbeat_every = parse_duration(heartbeat_every, "heartbeat_every")
        self.display_mode: DisplayMode = display
        self.watch_output = watch_output
        self.logger = logger or guard_logging.logger
        self.done = 0
        self.counters: dict[str, float] = {}
        self.current: Any = _NOTHING
        self.status: str | None = None
        now = time.monotonic()
        self.started_at = now
        self.last_beat = now
        self._ticks = 0
        # True once track's loop has started: the total is then final.
        self.iterating = False
        self._count_lock = threading.Lock()
        self._next_check = float("-inf")
        self._supervisors: list[Supervisor] = []
        self._display: Display | None = None
        self._own: Supervisor | None = None

    # -- context manager ---------------------------------------------------------

    def __enter__(self) -> ProgressTracker:
        from ._supervisor import Supervisor

        if self._own is not None:
            raise RuntimeError(f"{self.label}: this ProgressTracker is already active")
        self._own = Supervisor(
            self.label, self, [], drive_display=True, hard_exit=False, logger=self.logger
        )
        self._own.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        own, self._own = self._own, None
        pending = own.stop(exc) if own is not None else None
        if pending is not None:
            raise pending from exc

    # -- counting (the job's thread) -------------------------------------------

    @overload
    def track(self, iterable: AsyncIterable[T]) -> AsyncIterator[T]: ...

    @overload
    def track(self, iterable: Iterable[T]) -> Iterator[T]: ...

    def track(self, iterable: Iterable[T] | AsyncIterable[T]) -> Iterator[T] | AsyncIterator[T]:
        """Yield the items of ``iterable``, counting each one as done once the next is asked for.

        Takes ``total`` from ``len(iterable)`` when it was not given. Enters the
        tracker for the duration of the loop when it is not active yet. An async
        iterable gives an async iterator (``async for x in progress.track(agen())``)
        with the same counting and checks.
        """
        if self.total is None and isinstance(iterable, Sized):
            self.total = len(iterable)
        if is_async_iterable(iterable):
            source: AsyncIterable[T] = iterable  # type: ignore[assignment]
            if self._supervisors:
                return self._aiterate(source)
            return self._aiterate_entered(source)
        items: Iterable[T] = iterable  # type: ignore[assignment]
        if self._supervisors:
            return self._iterate(items)
        return self._iterate_entered(items)

    def _iterate_entered(self, iterable: Iterable[T]) -> Iterator[T]:
        with self:
            yield from self._iterate(iterable)

    async def _aiterate_entered(self, iterable: AsyncIterable[T]) -> AsyncIterator[T]:
        with self:
            async for item in self._aiterate(iterable):
                yield item

    async def _aiterate(self, iterable: AsyncIterable[T]) -> AsyncIterator[T]:
        # The same steps as _iterate; the wait for the next item counts as time in
        # the previous one, as it does for a slow synchronous source.
        clock = time.monotonic
        self.iterating = True
        self._begin()
        async for item in iterable:
            now = clock()
            self.current = item
            self.last_beat = now
            if now >= self._next_check:
                self._checkpoint(now)
            yield item
            self.done += 1
        self.last_beat = clock()

    def _iterate(self, iterable: Iterable[T]) -> Iterator[T]:
        # The hot path: keep it to a clock read, stores and one comparison.
        clock = time.monotonic
        self.iterating = True
        self._begin()  # the total is known now, if it ever will be
        for item in iterable:
            now = clock()
            self.current = item
            self.last_beat = now
            if now >= self._next_check:
                self._checkpoint(now)
            yield item
            self.done += 1
        self.last_beat = clock()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done (for loops that do not use :meth:`track`).

        Safe to call from several threads (a worker pool reporting its items).
        """
        now = time.monotonic()
        with self._count_lock:
            self.done += n
        self.last_beat = now
        if now >= self._next_check:
            self._checkpoint(now)

    advance = update

    def tick(self, **counters: float) -> None:
        """A sign of life inside an item, adding to named counters (``tick(rows=500)``).

        Resets stall detection; does not count an item. Safe to call from several
        threads.
        """
        now = time.monotonic()
        self.last_beat = now
        # A read-add-write of a shared counter can lose updates between threads
        # even under the GIL; the lock costs tens of nanoseconds when uncontended.
        with self._count_lock:
            self._ticks += 1
            if counters:
                mine = self.counters
                for name, value in counters.items():
                    mine[name] = mine.get(name, 0) + value
        if now >= self._next_check:
            self._checkpoint(now)

    def heartbeat(self, status: str | None = None) -> None:
        """A sign of life; ``status`` (if given) is shown in the following heartbeat lines."""
        now = time.monotonic()
        self.last_beat = now
        if status is not None:
            self.status = status
        if now >= self._next_check:
            self._checkpoint(now)

    def _checkpoint(self, now: float) -> None:
        self._next_check = now + ITEM_CHECK_INTERVAL
        self._begin()
        try:
            for supervisor in list(self._supervisors):
                supervisor.checkpoint(now)
        except BaseException:
            self._next_check = float("-inf")  # a tripped guard raises again at every call
            raise

    # -- figures ---------------------------------------------------------------

    @property
    def work(self) -> int:
        """Items done plus ticks: every unit of progress the job reported."""
        return self.done + self._ticks

    @property
    def has_item(self) -> bool:
        """True once an item has been handed out by :meth:`track`."""
        return self.current is not _NOTHING

    def rate(self, now: float | None = None) -> float:
        """Average items per second since the tracker became active."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.started_at
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the average rate, or ``None`` (no total, no rate yet)."""
        rate = self.rate(now)
        if self.total is None or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate

    def snapshot(self) -> ProgressSnapshot:
        """The current figures."""
        now = time.monotonic()
        return ProgressSnapshot(
            label=self.label,
            done=self.done,
            total=self.total,
            elapsed=now - self.started_at,
            rate=self.rate(now),
            eta=self.eta(now),
            counters=dict(self.counters),
            current=describe_item(self.current) if self.has_item else None,
            status=self.status,
        )

    def progress_text(self) -> str:
        """``'extract: 12/136 (8.8%)'``, or ``'extract: 12 done'`` without a total."""
        if self.total is None:
            return f"{self.label}: {self.done:,} done"
        percent = 100.0 * self.done / self.total if self.total else 100.0
        return f"{self.label}: {self.done:,}/{self.total:,} ({percent:.1f}%)"

    def where(self, now: float | None = None) -> str:
        """Where the job stands, for error messages: progress, current item, time in."""
        now = time.monotonic() if now is None else now
        if self.total is None:
            position = f"after {self.done:,} items"
        else:
            percent = 100.0 * self.done / self.total if self.total else 100.0
            position = f"after {self.done:,}/{self.total:,} items ({percent:.1f}%)"
        item = f", current item {describe_item(self.current)}" if self.has_item else ""
        return f"{position}{item}, {format_duration(now - self.started_at)} in"

    def final_text(self, now: float, outcome: BaseException | None) -> str:
        """The last heartbeat line."""
        elapsed = now - self.started_at
        counted = (
            f"{self.done:,}/{self.total:,} items"
            if self.total is not None
            else f"{self.done:,} items"
        )
        extra = "".join(f", {name} {value:,.0f}" for name, value in self.counters.items())
        figures = f"{counted} in {format_duration(elapsed)} ({format_rate(self.rate(now))}{extra})"
        if outcome is None:
            return f"{self.label}: finished: {figures}"
        return f"{self.label}: stopped by {type(outcome).__name__}: {figures}"

    # -- supervision hooks -------------------------------------------------------

    def _attach(self, supervisor: Supervisor) -> None:
        if not self._supervisors and self.done == 0:
            # Elapsed time, rates and stall timers count from the start of the block.
            self.started_at = self.last_beat = time.monotonic()
        self._supervisors.append(supervisor)
        self._next_check = float("-inf")

    def _detach(self, supervisor: Supervisor) -> None:
        if supervisor in self._supervisors:
            self._supervisors.remove(supervisor)

    def _open_display(
        self, logger: logging.Logger, limits: str, supervisor: Supervisor | None = None
    ) -> None:
        mode = self.display_mode
        if self.heartbeat_every is None or mode == "off":
            return
        if mode == "auto":
            mode = "bar" if stderr_is_terminal() else "log"
        if mode == "bar":
            self._display = BarDisplay(self, logger, supervisor)
        else:
            self._display = LogDisplay(self, logger, self.heartbeat_every, limits)

    def _begin(self) -> None:
        """The job is under way (its first item, tick or update): the start line is due."""
        display = self._display
        if display is not None:
            display.begin()

    def _refresh_display(self, now: float) -> float:
        if self._display is None:
            return float("inf")
        return self._display.refresh(now)

    def _close_display(self, outcome: BaseException | None) -> None:
        display, self._display = self._display, None
        if display is not None:
            display.close(outcome)


@overload
def track(
    iterable: AsyncIterable[T],
    total: int | None = None,
    label: str = "progress",
    *,
    heartbeat_every: DurationLike | None = 30,
    display: DisplayMode = "auto",
    watch_output: PathLike | None = None,
    logger: logging.Logger | None = None,
) -> AsyncIterator[T]: ...


@overload
def track(
    iterable: Iterable[T],
    total: int | None = None,
    label: str = "progress",
    *,
    heartbeat_every: DurationLike | None = 30,
    display: DisplayMode = "auto",
    watch_output: PathLike | None = None,
    logger: logging.Logger | None = None,
) -> Iterator[T]: ...


def track(
    iterable: Iterable[T] | AsyncIterable[T],
    total: int | None = None,
    label: str = "progress",
    *,
    heartbeat_every: DurationLike | None = 30,
    display: DisplayMode = "auto",
    watch_output: PathLike | None = None,
    logger: logging.Logger | None = None,
) -> Iterator[T] | AsyncIterator[T]:
    """Iterate ``iterable`` with a heartbeat (progress only: no memory, stall or time limit).

    ``for path in track(paths, label="extract", heartbeat_every=30): ...``; an async
    iterable gives an async iterator: ``async for x in track(agen(), label=...)``.
    """
    tracker = ProgressTracker(
        total,
        label,
        heartbeat_every=heartbeat_every,
        display=display,
        watch_output=watch_output,
        logger=logger,
    )
    return tracker.track(iterable)
