"""Heartbeat output: log lines when stderr is a file or pipe, a rich progress bar on a terminal.

Both are driven from the watchdog thread, never from the loop itself, so a job stuck
inside one long item still reports, and the loop pays nothing per item for them.
"""

from __future__ import annotations

import logging
import os
import reprlib
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from ._above_bar import AboveBar
from ._sysinfo import OutputState, measure_output, read_memory
from .units import format_bytes, format_duration, format_rate, format_signed_bytes

if TYPE_CHECKING:
    from ._supervisor import Supervisor
    from .progress import ProgressTracker

BAR_REFRESH_INTERVAL = 0.2
# The start line waits for the job's first item (so that a total taken from the
# iterable is in it), at most this long, or the first heartbeat if that is sooner.
START_LINE_WAIT = 1.0
# The bar says how long the job has been idle once it is this long, or half of the
# stall timeout if that is shorter.
IDLE_SHOWN_AFTER = 5.0
# The output path is walked (a directory) at most this often for the bar.
_BAR_OUTPUT_INTERVAL = 2.0

_item_repr = reprlib.Repr()
_item_repr.maxstring = 80
_item_repr.maxother = 80


def describe_item(item: object) -> str:
    """A short, readable form of the item being processed, for messages."""
    if isinstance(item, os.PathLike):
        text = os.fspath(item)
        return repr(text if len(text) <= 80 else "..." + text[-77:])
    return _item_repr.repr(item)


def stderr_is_terminal() -> bool:
    """True when a progress bar makes sense on stderr."""
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Display(Protocol):
    """What a tracker drives: refreshed from the watchdog thread, closed at the end."""

    def refresh(self, now: float) -> float:
        """Show the current state if due; return when to be called next."""
        ...

    def begin(self) -> None:
        """The job's first item, tick or update (called often: must be cheap)."""
        ...

    def close(self, outcome: BaseException | None) -> None:
        """Show the final state."""
        ...


def _counter_text(counters: dict[str, float]) -> list[str]:
    return [f"{name} {value:,.0f}" for name, value in counters.items()]


class LogDisplay:
    """One INFO line every ``every`` seconds on the guardrails logger."""

    def __init__(
        self, tracker: ProgressTracker, logger: logging.Logger, every: float, limits: str
    ) -> None:
        self.tracker = tracker
        self.logger = logger
        self.every = every
        now = time.monotonic()
        self.next_line = now + every
        self.last_time = now
        self.last_done = tracker.done
        self.last_output: OutputState | None = None
        if tracker.watch_output is not None:
            self.last_output = measure_output(tracker.watch_output)
        self.limits = limits
        self.started = False
        self.start_by = now + min(every, START_LINE_WAIT)
        # The start line went out before the total was known; it is told once known.
        self.total_pending = False
        self._start_lock = threading.Lock()
        if tracker.total is not None:
            self.begin()  # nothing to wait for

    def begin(self) -> None:
        """Log the start line once: now if the total is known, else at the first item.

        Without a first item it goes out when it can wait no more (see
        :data:`START_LINE_WAIT`). Before the loop has started, an unknown total may
        still come (``track`` takes it from ``len()``): the line then says nothing of
        it, and a line with the total follows once the loop starts with one. Only a
        loop over something without a length is said to have an unknown total.
        """
        tracker = self.tracker
        if self.started:
            if self.total_pending and tracker.iterating:
                self.total_pending = False
                if tracker.total is not None:
                    self.logger.info("%s: %s items to go", tracker.label, f"{tracker.total:,}")
            return
        with self._start_lock:
            if self.started:
                return
            self.started = True
        parts = []
        if tracker.total is not None:
            parts.append(f"{tracker.total:,} items")
        elif tracker.iterating:
            parts.append("unknown total")
        else:
            self.total_pending = True
        parts.append(f"heartbeat every {format_duration(self.every)}")
        if self.limits:
            parts.append(self.limits)
        self.logger.info("%s: started (%s)", tracker.label, "; ".join(parts))

    def refresh(self, now: float) -> float:
        """Emit a line when one is due."""
        if not self.started:
            if now < min(self.start_by, self.next_line):
                return min(self.start_by, self.next_line)
            self.begin()
        if now >= self.next_line:
            self.logger.info("%s", self.line(now))
            self.next_line = now + self.every
        return self.next_line

    def line(self, now: float) -> str:
        """The heartbeat line: progress, rate, ETA, memory, output, counters, item."""
        tracker = self.tracker
        done = tracker.done
        interval = max(now - self.last_time, 1e-9)
        recent = (done - self.last_done) / interval
        self.last_time, self.last_done = now, done
        parts = [
            tracker.progress_text(),
            f"{format_rate(recent)} now, {format_rate(tracker.rate(now))} avg",
        ]
        if tracker.total is not None:
            eta = tracker.eta(now)
            parts.append("ETA " + (format_duration(eta) if eta is not None else "?"))
        parts.append("elapsed " + format_duration(now - tracker.started_at))
        memory = read_memory()
        if memory is not None:
            parts.append(f"RSS {format_bytes(memory.rss)}, swap {format_bytes(memory.swap)}")
        if tracker.watch_output is not None:
            state = measure_output(tracker.watch_output)
            previous = self.last_output.size if self.last_output is not None else 0
            if state.exists:
                parts.append(
                    f"output {format_bytes(state.size)} "
                    f"({format_signed_bytes(state.size - previous)})"
                )
            else:
                parts.append("output missing")
            self.last_output = state
        parts.extend(_counter_text(dict(tracker.counters)))
        if tracker.status:
            parts.append(tracker.status)
        if tracker.has_item:
            parts.append("at " + describe_item(tracker.current))
        return " | ".join(parts)

    def close(self, outcome: BaseException | None) -> None:
        """The final line: how far the job got, in how long, and why it ended."""
        self.begin()
        self.logger.info("%s", self.tracker.final_text(time.monotonic(), outcome))


class _BarHub:
    """One rich progress display shared by every tracker with a bar (rich allows one).

    While it is drawn, the program's prints and log records on the same terminal
    are printed above it (see :mod:`._above_bar`).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.progress: Any = None
        self.above: AboveBar | None = None
        self.users = 0

    def add(self, label: str, total: int | None) -> Any:
        with self.lock:
            if self.progress is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TaskProgressColumn,
                    TextColumn,
                )

                terminal = sys.stderr
                console = Console(file=terminal)
                self.progress = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TaskProgressColumn(),
                    TextColumn("{task.fields[info]}"),
                    console=console,
                    auto_refresh=False,  # refreshed by our watchdog: no extra thread
                    # Ours instead: only what goes to this terminal, lines kept whole.
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                self.progress.start()
                self.above = AboveBar(console, terminal)
                self.above.start()
            self.users += 1
            return self.progress.add_task(label, total=total, info="")

    def update(self, task: Any, **fields: Any) -> None:
        with self.lock:
            if self.progress is not None:
                self.progress.update(task, **fields)
                self.progress.refresh()

    def remove(self, task: Any) -> None:
        with self.lock:
            if self.progress is None:
                return
            self.progress.refresh()
            self.users -= 1
            if self.users == 0:
                if self.above is not None:
                    self.above.stop()
                    self.above = None
                self.progress.stop()
                self.progress = None


_hub = _BarHub()


def _after_fork_in_child() -> None:
    global _hub
    # The parent's bar stays the parent's; a guard in the child starts its own, and
    # the child's output goes where it went before the parent's bar.
    if _hub.above is not None:
        _hub.above.stop(flush=False)
    _hub = _BarHub()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class BarDisplay:
    """A task in the shared rich progress bar, with rate, ETA, memory and output size."""

    def __init__(
        self,
        tracker: ProgressTracker,
        logger: logging.Logger,
        supervisor: Supervisor | None = None,
    ) -> None:
        from .memory import MemoryGuard
        from .stall import StallDetector

        self.tracker = tracker
        self.logger = logger
        self.supervisor = supervisor
        monitors = list(supervisor.monitors) if supervisor is not None else []
        self.memory_limit = next((m.limit for m in monitors if isinstance(m, MemoryGuard)), None)
        self.stall = next((m for m in monitors if isinstance(m, StallDetector)), None)
        self.task = _hub.add(tracker.label, tracker.total)
        self.next_output = 0.0
        self.output_text = ""

    def begin(self) -> None:
        """The bar is its own start."""

    def idle_text(self, now: float) -> str | None:
        """``'idle 12.0s of 30.0s'`` once the job has been idle for a while, else ``None``."""
        stall = self.stall
        if stall is not None:
            idle = stall.idle(now)
            shown_after = min(IDLE_SHOWN_AFTER, stall.timeout / 2)
        else:
            supervisor = self.supervisor
            latest = supervisor.latest_beat() if supervisor is not None else self.tracker.last_beat
            idle = now - latest
            shown_after = IDLE_SHOWN_AFTER
        if idle < shown_after:
            return None
        text = f"idle {format_duration(idle)}"
        return f"{text} of {format_duration(stall.timeout)}" if stall is not None else text

    def refresh(self, now: float) -> float:
        """Update the bar."""
        tracker = self.tracker
        parts = [format_rate(tracker.rate(now))]
        eta = tracker.eta(now)
        if eta is not None:
            parts.append("ETA " + format_duration(eta))
        parts.append("elapsed " + format_duration(now - tracker.started_at))
        idle = self.idle_text(now)
        if idle is not None:
            parts.append(idle)
        memory = read_memory()
        if memory is not None:
            limit = f" of {format_bytes(self.memory_limit)}" if self.memory_limit else ""
            parts.append(f"RSS {format_bytes(memory.rss)}{limit}")
            if memory.swap:
                parts.append(f"swap {format_bytes(memory.swap)}")
        if tracker.watch_output is not None:
            if now >= self.next_output:
                state = measure_output(tracker.watch_output)
                self.output_text = f"out {format_bytes(state.size)}" if state.exists else ""
                self.next_output = now + _BAR_OUTPUT_INTERVAL
            if self.output_text:
                parts.append(self.output_text)
        parts.extend(_counter_text(dict(tracker.counters)))
        _hub.update(self.task, completed=tracker.done, total=tracker.total, info=" | ".join(parts))
        return now + BAR_REFRESH_INTERVAL

    def close(self, outcome: BaseException | None) -> None:
        """Leave the bar at its final state and log the summary line."""
        self.refresh(time.monotonic())
        _hub.remove(self.task)
        self.logger.info("%s", self.tracker.final_text(time.monotonic(), outcome))
