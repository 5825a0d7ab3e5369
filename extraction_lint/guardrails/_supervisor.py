"""The watchdog thread behind every guard, and how its errors reach the job's thread.

A :class:`Supervisor` owns one daemon thread that polls a set of monitors (memory,
stall, deadline, output growth) and drives the progress display. When a monitor
reports an error the supervisor *trips*: the error is logged at once, then raised in
the owner thread (the thread that entered the guard) by signal when that is the main
thread (see :mod:`._interrupt`), and in any case at the owner's next ``track``/``tick``
call. A tripped supervisor stays tripped: every later call raises the same error
again, so code that swallows it still stops at the next item. A loop that swallows
every exception and goes on without calling the guard again is stopped by a second
stall or timeout: once a :class:`StallDetected` has been raised in the owner thread,
the block must end within one more ``stall_timeout``, and after a
:class:`DeadlineExceeded` within one more ``timeout`` or ``grace``, whichever is
shorter; a block still running then ends the process as an unresponsive thread does
(where ``hard_exit`` is on). After a :class:`MemoryLimitExceeded`, a block whose memory
goes on growing (by a tenth of the limit past the figure of the error) is ended at once.

Supervisors entered in one thread nest: the inner one registers as a child of the
outer one, and the outer one counts the inner one's progress as its own sign of life.

A guard entered inside an asyncio task is delivered through the task's event loop:
the task is cancelled at the await where it waits, and the block ends with the
guard's error instead of :class:`asyncio.CancelledError`. A signal raises the error
only where the task's own code is running (a coroutine stuck in synchronous code),
never inside the event loop's machinery or another task.

In an interactive session (a REPL, ``python -i``, IPython, a Jupyter kernel) the
process is never ended: the error is raised in the main thread as usual, and when
that thread does not take it (stuck in C code) the watchdog says so once, with
every thread's stack, and leaves the session running.

A supervisor watches the process that started it. In a child made by ``os.fork``
its watchdog thread is gone, so it is retired there (it trips nothing, raises
nothing, draws nothing) and the child's own guards start afresh.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from . import _interrupt
from . import _logging as guard_logging
from ._stacks import WATCHDOG_THREAD_PREFIX, format_thread_stacks, job_position
from .errors import DeadlineExceeded, GuardrailError, StallDetected
from .units import format_duration

if TYPE_CHECKING:
    from .progress import ProgressTracker

# Longest sleep of the watchdog: the CPU timer and dead-man switch are re-armed this
# often, and the thread notices the end of its block at most this late.
MAX_WAKE_INTERVAL = 1.0
DEFAULT_GRACE = 10.0
# How often a tripped error is raised again in a main thread that has not moved
# since the trip: C code may take the exception and carry on (DuckDB sometimes
# does, in the middle of a query).
NUDGE_INTERVAL = 0.5


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

    def went_on(
        self, error: GuardrailError, delivered: bool, now: float
    ) -> tuple[str | None, float | None]:
        """After the supervisor tripped on ``error`` (``delivered``: it has been raised in
        the owner thread) and the block went on: why that block must end now (None: not
        yet, or not this monitor's concern), and when to look again (None: no need)."""
        ...


_local = threading.local()
# Every started supervisor not yet stopped, for the fork handler.
_running: weakref.WeakSet[Supervisor] = weakref.WeakSet()


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
        monitors: Sequence[Monitor],
        *,
        grace: float = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        drive_display: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        self.label = label
        self.tracker = tracker
        self.monitors = list(monitors)
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
        # After a trip: where the owner's code stood, whether it has moved since, and
        # since when it has sat at the same bytecode.
        self._trip_position: tuple[int, int] | None = None
        self._owner_position: tuple[int, int] | None = None
        self._moved = False
        self._stuck_since = 0.0
        self._next_nudge = 0.0
        self.delivered = False
        # When the tripped error was first raised in the owner thread.
        self.delivered_at: float | None = None
        self._closed = False
        # Re-entrant: the main thread's signal handler may trip while the main thread
        # itself is inside trip() (a checkpoint), and must not deadlock on itself.
        self._fire_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.retired = False
        # The asyncio task that entered the guard, and whether it was cancelled to
        # deliver the tripped error.
        self._loop: Any = None
        self._task: Any = None
        self._cancelled_task = False
        self.interactive = False
        self._stuck_reported = False

    # -- life cycle (owner thread) -------------------------------------------------

    def start(self) -> None:
        """Begin watching; call from the thread that runs the job."""
        self.owner = threading.current_thread()
        self._loop, self._task = _running_task()
        self.owner_is_main = self.owner is threading.main_thread()
        # Ending the whole process from a library is only the default for the main
        # thread; a worker thread's guard may live in a server that must go on.
        self.hard_exit = (
            self.owner_is_main if self.hard_exit_setting is None else self.hard_exit_setting
        )
        # Ending a REPL or a notebook's kernel would lose the user's whole session.
        self.interactive = interactive_session()
        if self.interactive:
            self.hard_exit = False
        try:
            self._start_deferred()
        except GuardrailError as error:
            # An error tripped while entering (the watchdog's first reading, or an
            # outer guard) is raised when the deferred section ends: here, inside the
            # `with` statement's __enter__. Raised from here it would escape before
            # the block, and no __exit__ would ever stop this watchdog, which would
            # end the process later. It is raised inside the block instead: at the
            # next item, or by the watchdog's next nudge.
            for supervisor in list(_running):
                if supervisor.tripped is error:
                    supervisor.delivered = False
                    supervisor.delivered_at = None

    def _start_deferred(self) -> None:
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
                self.tracker._open_display(self.logger, self._describe_limits(), self)
            self.signals = _interrupt.register(self)
            # The CPU timer and the dead-man switch are armed here, not left to the
            # watchdog's first round: a job whose first item enters C code that holds
            # the GIL would never let that round run, and nothing would stop it.
            _interrupt.rearm(time.monotonic())
            self._thread = threading.Thread(
                target=self._run, name=f"{WATCHDOG_THREAD_PREFIX}[{self.label}]"
            )
            self._thread.daemon = True
            self._thread.start()
            _running.add(self)

    def stop(self, outcome: BaseException | None) -> GuardrailError | None:
        """Stop the watchdog and undo :meth:`start`.

        Returns the error the block should end with instead of ``outcome``: a tripped
        error not raised yet, or one that a library turned into an error of its own
        (DuckDB reports an interrupted query, not why it was interrupted).
        """
        with _interrupt.deferred():
            _running.discard(self)
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
            replacement = self._replacement_for(outcome)
            if self.drive_display:
                self.tracker._close_display(replacement or outcome or self.tripped)
            guard_logging.release(self.logger)
            self.delivered = True
        return replacement

    def _replacement_for(self, outcome: BaseException | None) -> GuardrailError | None:
        tripped = self.tripped
        if tripped is None or outcome is tripped:
            return None
        cancelled = sys.modules["asyncio"].CancelledError if self._task is not None else None
        if self._cancelled_task and cancelled is not None and isinstance(outcome, cancelled):
            # Our own cancellation: the task goes on with the guard's error instead.
            self._task.uncancel()
            return tripped
        if outcome is None:
            return None if self.delivered else tripped
        if not isinstance(outcome, Exception):
            return None  # KeyboardInterrupt, SystemExit: the user's word is final
        seen: set[int] = set()
        cause: BaseException | None = outcome
        while cause is not None and id(cause) not in seen:
            if cause is tripped:
                return None  # handled and translated on purpose
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        return tripped

    def _retire_after_fork(self) -> None:
        """In a forked child: stop acting for a process this supervisor does not watch."""
        # Locks a thread of the parent may have held at the fork are never released.
        self._fire_lock = threading.RLock()
        self._stop = threading.Event()
        self.tracker._count_lock = threading.Lock()
        self.retired = True
        self._closed = True
        self.hard_exit = False
        self.signals = False
        if self.drive_display:
            # The parent draws its bar and writes its final line; the child must not.
            self.drive_display = False
            self.tracker._display = None

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
            self.tripped_at = self._stuck_since = time.monotonic()
            self._next_nudge = self.tripped_at + NUDGE_INTERVAL
            owner = self.owner.ident if self.owner is not None else None
            self._trip_position = self._owner_position = job_position(owner)
            self._moved = False
            self.delivered = delivered
            self.delivered_at = self.tripped_at if delivered else None
            # The owner's next item takes the slow path, where the error is raised.
            self.tracker._next_check = float("-inf")
            if not delivered and self._task is not None:
                self._schedule_cancel()
            if not delivered and self.owner_is_main and self.signals:
                _interrupt.interrupt_main()
        # Logging may wait for the GIL on its write, which C code in the main thread
        # can hold for ever: deliver first, tell afterwards.
        _interrupt.rearm(time.monotonic())
        self._announce(error)
        return True

    def _schedule_cancel(self) -> None:
        # The loop is closed when the block is ending anyway.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._cancel_task)

    def _cancel_task(self) -> None:
        """In the event loop: cancel the guarded task, unless the error already reached it."""
        error = self.tripped
        if self._closed or self.delivered or error is None or self._task.done():
            return
        self._cancelled_task = True
        self._mark_delivered()
        self._task.cancel(msg=f"{self.label}: {type(error).__name__}")

    def _task_is_running(self, frame: FrameType | None) -> bool:
        """Whether ``frame`` (the main thread's, in a signal handler) is in the guarded task."""
        root = getattr(self._task.get_coro(), "cr_frame", None)
        while frame is not None:
            if frame is root:
                return True
            frame = frame.f_back
        return False

    def _mark_delivered(self) -> None:
        self.delivered = True
        if self.delivered_at is None:
            self.delivered_at = time.monotonic()

    def escalation_at(self) -> float | None:
        """When a block that took a stall or timeout error and went on counts as a second one.

        A stall gets one more ``stall_timeout`` after its error was raised in the
        owner thread, a timeout one more ``timeout`` but no more than ``grace``;
        other errors are not escalated (their block is stopped at its next item, or
        by the grace period when stuck).
        """
        error, since = self.tripped, self.delivered_at
        if error is None or since is None:
            return None
        if isinstance(error, StallDetected):
            return since + max(error.limit, 0.0)
        if isinstance(error, DeadlineExceeded):
            return since + min(max(error.limit, 0.0), self.grace)
        return None

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
        if self.owner is None or threading.get_ident() != self.owner.ident or self.retired:
            return
        if self.tripped is not None:
            self._mark_delivered()
            if self.hard_exit:
                self._end_if_it_went_on(now)
            raise self.tripped.with_traceback(None)
        for monitor in self.monitors:
            error = monitor.at_checkpoint(now)
            if error is not None and self.trip(error, delivered=True):
                raise error

    def on_signal(self, now: float, frame: FrameType | None) -> BaseException | None:
        """See :class:`._interrupt.Target`; runs in the main thread's signal handler."""
        if self._closed:
            return None
        # Raising inside the event loop's own code would break the loop, not stop the
        # task: there the error goes through the loop (see trip).
        in_task = self._task is None or self._task_is_running(frame)
        if self.tripped is None:
            for monitor in self.monitors:
                error = monitor.urgent(now, frame)
                if error is not None:
                    if not in_task:
                        self.trip(error)
                        return None
                    if self.trip(error, delivered=True):
                        return error
        # Tripped earlier, or just now by the watchdog racing this handler.
        if self.tripped is not None and not self.delivered and in_task:
            self._mark_delivered()
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
            at = self._stuck_since + self.grace
            escalation = self.escalation_at()
            if escalation is not None:
                at = min(at, escalation)
            return at + _interrupt.DEADMAN_MARGIN
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
                                wake = now  # follow the error from the next turn on
                                break
                        wake = min(wake, monitor.next_poll(now))
                else:
                    self._follow_owner(now)
                    if self.hard_exit:
                        escalation = self.escalation_at()
                        if escalation is not None and now >= escalation:
                            self._exit_process(escalated=True)
                        look_again = self._end_if_it_went_on(now)
                        if look_again is not None:
                            wake = min(wake, look_again)
                        if now >= self._stuck_since + self.grace:
                            self._exit_process()
                        wake = min(wake, self._stuck_since + self.grace)
                        if escalation is not None:
                            wake = min(wake, escalation)
                    elif self.interactive and self.owner_is_main and not self._stuck_reported:
                        if now >= self._stuck_since + self.grace:
                            self._report_stuck(now)
                        wake = min(wake, self._stuck_since + self.grace)
                if self.drive_display:
                    wake = min(wake, self.tracker._refresh_display(now))
                _interrupt.rearm(now)
            except Exception:  # a watchdog that dies silently guards nothing
                self.logger.exception("%s: guardrails watchdog error", self.label)
            if self._stop.wait(max(wake - time.monotonic(), 0.005)):
                return

    def _end_if_it_went_on(self, now: float) -> float | None:
        """Ask the monitors whether the block went on after its error in a way that must
        end it (see :meth:`Monitor.went_on`); end the process if one says so. Returns
        when to ask again."""
        error = self.tripped
        if error is None or self._closed:
            return None
        look_again: float | None = None
        for monitor in self.monitors:
            reason, at = monitor.went_on(error, self.delivered_at is not None, now)
            if reason is not None:
                self._exit_process(reason=reason)
            if at is not None:
                look_again = at if look_again is None else min(look_again, at)
        return look_again

    def _follow_owner(self, now: float) -> None:
        """After a trip: watch the owner thread; raise the error again if it did not move.

        Raising the error is not always enough: C code may take the exception and go
        on (a DuckDB query that ignores the interrupt). While the job's code has not
        moved from where it stood at the trip, or the error has not been raised in
        it yet, the error is raised again every :data:`NUDGE_INTERVAL`. Once it has
        moved after taking it, the job is handling the error (say, cleaning up) and
        is left alone. The grace period before the process is ended
        restarts whenever the job's code moves: it ends only a thread that sat at the
        same bytecode for the whole period.
        """
        if self.owner is None:
            return
        position = job_position(self.owner.ident)
        if position != self._owner_position:
            self._stuck_since = now
            self._owner_position = position
        if position != self._trip_position:
            self._moved = True
        # Until the error has been raised in the owner thread, and while the job has
        # not moved from where it stood when it was, the error is raised again.
        due = not self._moved or not self.delivered
        if due and self.owner_is_main and self.signals and now >= self._next_nudge:
            self._next_nudge = now + NUDGE_INTERVAL
            with self._fire_lock:
                if not self._closed:
                    self.delivered = False
                    _interrupt.interrupt_main()

    def _report_stuck(self, now: float) -> None:
        """Interactive session: the owner did not take the error; say so, end nothing."""
        error = self.tripped
        if error is None or self._closed:
            return
        self._stuck_reported = True
        owner = self.owner.name if self.owner is not None else "?"
        self.logger.error(
            "%s: %s\n%s: thread %s has not moved for %s since the error was raised: it is "
            "stuck in C code that does not return to Python (or blocks signals). This is an "
            "interactive session, so the process is left running; the error is raised when "
            "the call returns. Interrupt it (Ctrl-C, or interrupt the kernel) to stop "
            "sooner.\n%s",
            type(error).__name__,
            error.summary,
            self.label,
            owner,
            format_duration(now - self._stuck_since),
            format_thread_stacks(title="Thread stacks now"),
        )

    def _exit_process(self, *, escalated: bool = False, reason: str | None = None) -> None:
        error = self.tripped
        if error is None or self._closed:
            return
        owner = self.owner.name if self.owner is not None else "?"
        name = type(error).__name__
        if reason is not None:
            why = (
                f"{self.label}: {name} was raised in thread {owner} and the block went on: "
                f"{reason}; ending the process (exit status 1)."
            )
        elif escalated:
            since = self.delivered_at if self.delivered_at is not None else self.tripped_at
            kind = "stall" if isinstance(error, StallDetected) else "timeout"
            why = (
                f"{self.label}: a second {kind}: {name} was raised in thread {owner} "
                f"{format_duration(time.monotonic() - since)} ago and the block is still "
                "running (the error was caught and not acted on); ending the process "
                "(exit status 1)."
            )
        else:
            why = (
                f"{self.label}: thread {owner} did not respond within the grace period of "
                f"{format_duration(self.grace)}; ending the process (exit status 1)."
            )
        text = (
            f"{name}: {error.summary}\n{why}\n{format_thread_stacks(title='Thread stacks now')}\n"
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


def interactive_session() -> bool:
    """True in a REPL, ``python -i``, IPython or a Jupyter kernel: no guard ends those."""
    if hasattr(sys, "ps1") or sys.flags.interactive or "ipykernel" in sys.modules:
        return True
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    try:
        return get_ipython is not None and get_ipython() is not None
    except Exception:
        return False


def _running_task() -> tuple[Any, Any]:
    """The running asyncio loop and task of this thread, or ``(None, None)``."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None, None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None, None
    task = asyncio.current_task(loop)
    return (loop, task) if task is not None else (None, None)


def _after_fork_in_child() -> None:
    global _local
    for supervisor in list(_running):
        supervisor._retire_after_fork()
    _running.clear()
    # The forking thread's stack of active guards belongs to the parent's guards.
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
