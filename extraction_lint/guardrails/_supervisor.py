"""The watchdog thread behind every guard, and how its errors reach the job's thread.

A :class:`Supervisor` owns one daemon thread that polls a set of monitors (memory,
stall, deadline, output growth) and drives the progress display. When a monitor
reports an error the supervisor *trips*: the error is logged at once, then raised in
the owner thread (the thread that entered the guard) by signal when that is the main
thread (see :mod:`._interrupt`), and in any case at the owner's next ``track``/``tick``
call. A tripped supervisor stays tripped: every later call raises the same error
again, so code that swallows it still stops at the next item.

Supervisors entered in one thread nest: the inner one registers as a child of the
outer one, and the outer one counts the inner one's progress as its own sign of life.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from . import _interrupt
from . import _logging as guard_logging
from ._stacks import WATCHDOG_THREAD_PREFIX, format_thread_stacks
from .errors import GuardrailError
from .units import format_duration

if TYPE_CHECKING:
    from .progress import ProgressTracker

# Longest sleep of the watchdog: the CPU timer and dead-man switch are re-armed this
# often, and the thread notices the end of its block at most this late.
MAX_WAKE_INTERVAL = 0.5
DEFAULT_GRACE = 10.0


class Monitor(Protocol):
    """One condition a supervisor watches."""

    def bind(self, supervisor: Supervisor) -> None:
        """Called when the supervisor starts: take a baseline."""
        ...

    def next_poll(self, now: float) -> float:
        """Monotonic time at which :meth:`poll` next wants to run."""
        ...

    def poll(self, now: float) -> GuardrailError | None:
        """Watchdog thread: the error when the condition holds (may do I/O)."""
        ...

    def at_checkpoint(self, now: float) -> GuardrailError | None:
        """Owner thread, between items (rate-limited by the tracker)."""
        ...

    def urgent_at(self) -> float | None:
        """Monotonic time at which :meth:`urgent` may first return an error."""
        ...

    def urgent(self, now: float, frame: FrameType | None) -> GuardrailError | None:
        """Time-only check, lock-free, safe to call from a signal handler."""
        ...


_local = threading.local()


def _stack() -> list[Supervisor]:
    stack: list[Supervisor] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class Supervisor:
    """Watchdog thread plus error delivery for one guard (or one standalone component)."""

    def __init__(
        self,
        label: str,
        tracker: ProgressTracker,
        monitors: list[Monitor],
        *,
        grace: float = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        drive_display: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        self.label = label
        self.tracker = tracker
        self.monitors = monitors
        self.grace = grace
        self.hard_exit_setting = hard_exit
        self.drive_display = drive_display
        self.logger = logger or guard_logging.logger
        self.owner: threading.Thread | None = None
        self.owner_is_main = False
        self.signals = False
        self.hard_exit = False
        self.parent: Supervisor | None = None
        self.children: list[Supervisor] = []
        self.retired_beat = 0.0
        self.tripped: GuardrailError | None = None
        self.tripped_at = 0.0
        self.delivered = False
        self._closed = False
        # Re-entrant: the main thread's signal handler may trip while the main thread
        # itself is inside trip() (a checkpoint), and must not deadlock on itself.
        self._fire_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle (owner thread) -------------------------------------------------

    def start(self) -> None:
        """Begin watching; call from the thread that runs the job."""
        self.owner = threading.current_thread()
        self.owner_is_main = self.owner is threading.main_thread()
        # Ending the whole process from a library is only the default for the main
        # thread; a worker thread's guard may live in a server that must go on.
        self.hard_exit = (
            self.owner_is_main if self.hard_exit_setting is None else self.hard_exit_setting
        )
        with _interrupt.deferred():
            stack = _stack()
            self.parent = stack[-1] if stack else None
            if self.parent is not None:
                self.parent.children.append(self)
            stack.append(self)
            guard_logging.acquire(self.logger)
            self.tracker._attach(self)
            for monitor in self.monitors:
                monitor.bind(self)
            if self.drive_display:
                self.tracker._open_display(self.logger, self._describe_limits())
            self.signals = _interrupt.register(self)
            self._thread = threading.Thread(
                target=self._run, name=f"{WATCHDOG_THREAD_PREFIX}[{self.label}]"
            )
            self._thread.daemon = True
            self._thread.start()

    def stop(self, outcome: BaseException | None) -> GuardrailError | None:
        """Stop the watchdog, undo :meth:`start`; return a tripped error not yet raised."""
        with _interrupt.deferred():
            with self._fire_lock:
                self._closed = True
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=10)
            _interrupt.unregister(self)
            stack = _stack()
            if self in stack:
                stack.remove(self)
            if self.parent is not None:
                self.parent.retired_beat = max(self.parent.retired_beat, self.latest_beat())
                if self in self.parent.children:
                    self.parent.children.remove(self)
            self.tracker._detach(self)
            if self.drive_display:
                self.tracker._close_display(outcome if outcome is not None else self.tripped)
            guard_logging.release(self.logger)
            pending = self.tripped if not self.delivered else None
            self.delivered = True
        return pending

    # -- progress seen by this supervisor ------------------------------------------

    def latest_beat(self) -> float:
        """Last sign of life of this job, counting guards nested inside it."""
        latest = max(self.tracker.last_beat, self.retired_beat)
        for child in list(self.children):
            latest = max(latest, child.latest_beat())
        return latest

    # -- tripping and delivery -------------------------------------------------------

    def trip(self, error: GuardrailError, *, delivered: bool = False) -> bool:
        """Record ``error`` (first one wins) and start delivering it; False if too late."""
        with self._fire_lock:
            if self._closed or self.tripped is not None:
                return False
            self.tripped = error
            self.tripped_at = time.monotonic()
            self.delivered = delivered
            # The owner's next item takes the slow path, where the error is raised.
            self.tracker._next_check = float("-inf")
            if not delivered and self.owner_is_main and self.signals:
                _interrupt.interrupt_main()
        # Logging may wait for the GIL on its write, which C code in the main thread
        # can hold for ever: deliver first, tell afterwards.
        _interrupt.rearm(time.monotonic())
        self._announce(error)
        return True

    def _announce(self, error: GuardrailError) -> None:
        owner = self.owner.name if self.owner is not None else "?"
        if self.owner_is_main and self.signals:
            self.logger.error(
                "%s: %s (raising it in thread %s)", type(error).__name__, error.summary, owner
            )
        else:
            # Raised only at the owner's next track/tick call, which may be far off:
            # show where every thread stands now.
            stacks = error.thread_stacks or format_thread_stacks()
            self.logger.error(
                "%s: %s (raised in thread %s at its next track/tick call)\n%s",
                type(error).__name__,
                error.summary,
                owner,
                stacks,
            )

    def checkpoint(self, now: float) -> None:
        """Owner thread, between items: raise a tripped error or a condition found now."""
        if self.owner is None or threading.get_ident() != self.owner.ident:
            return
        if self.tripped is not None:
            self.delivered = True
            raise self.tripped.with_traceback(None)
        for monitor in self.monitors:
            error = monitor.at_checkpoint(now)
            if error is not None and self.trip(error, delivered=True):
                raise error

    def on_signal(self, now: float, frame: FrameType | None) -> BaseException | None:
        """See :class:`._interrupt.Target`; runs in the main thread's signal handler."""
        if self._closed:
            return None
        if self.tripped is None:
            for monitor in self.monitors:
                error = monitor.urgent(now, frame)
                if error is not None and self.trip(error, delivered=True):
                    return error
        # Tripped earlier, or just now by the watchdog racing this handler.
        if self.tripped is not None and not self.delivered:
            self.delivered = True
            return self.tripped.with_traceback(None)
        return None

    def cpu_alarm_at(self) -> float | None:
        """See :class:`._interrupt.Target`."""
        if self._closed:
            return None
        if self.tripped is not None:
            # Not taken yet: keep the CPU timer firing, so that C code that checks for
            # signals gets it even if the watchdog can no longer run.
            return None if self.delivered else self.tripped_at
        times = [t for t in (m.urgent_at() for m in self.monitors) if t is not None]
        return min(times) if times else None

    def hard_exit_at(self) -> float | None:
        """See :class:`._interrupt.Target`."""
        if not self.hard_exit or self._closed:
            return None
        if self.tripped is not None:
            if self.delivered:
                return None
            return self.tripped_at + self.grace + _interrupt.DEADMAN_MARGIN
        urgent = self.cpu_alarm_at()
        return None if urgent is None else urgent + self.grace + _interrupt.DEADMAN_MARGIN

    # -- the watchdog thread ---------------------------------------------------------

    def _run(self) -> None:
        while True:
            now = time.monotonic()
            wake = now + MAX_WAKE_INTERVAL
            try:
                if self.tripped is None:
                    for monitor in self.monitors:
                        if now >= monitor.next_poll(now):
                            error = monitor.poll(now)
                            if error is not None and self.trip(error):
                                break
                        wake = min(wake, monitor.next_poll(now))
                elif not self.delivered and self.hard_exit:
                    if now >= self.tripped_at + self.grace:
                        self._exit_process()
                    wake = min(wake, self.tripped_at + self.grace)
                if self.drive_display:
                    wake = min(wake, self.tracker._refresh_display(now))
                _interrupt.rearm(now)
            except Exception:  # a watchdog that dies silently guards nothing
                self.logger.exception("%s: guardrails watchdog error", self.label)
            if self._stop.wait(max(wake - time.monotonic(), 0.005)):
                return

    def _exit_process(self) -> None:
        error = self.tripped
        if error is None or self._closed:
            return
        owner = self.owner.name if self.owner is not None else "?"
        text = (
            f"{type(error).__name__}: {error.summary}\n"
            f"{self.label}: thread {owner} did not respond within the grace period of "
            f"{format_duration(self.grace)}; ending the process (exit status 1).\n"
            f"{error.thread_stacks or format_thread_stacks()}\n"
        )
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
        try:
            os.write(2, text.encode("utf-8", "replace"))
        finally:
            os._exit(1)

    def _describe_limits(self) -> str:
        parts = [getattr(m, "description", "") for m in self.monitors]
        return ", ".join(p for p in parts if p)
