"""How a watchdog thread stops a job's thread: process-wide signal, timer and exit machinery.

A watchdog detects trouble in its own thread, but the error has to surface in the
thread that runs the job. Three tiers, from gentlest to last resort:

1. **Signal.** For a guard entered in the main thread, the watchdog sends
   ``SIGVTALRM`` to the main thread with :func:`signal.pthread_kill`. The Python
   handler installed here raises the pending error in the main thread. A signal
   interrupts ``time.sleep`` and blocking reads (PEP 475 runs the handler before
   retrying the call, and the handler's exception propagates), which
   ``_thread.interrupt_main()`` alone would not do. Code that holds the GIL in C
   (a catastrophic regular expression) never lets the watchdog run at all, so the
   same handler is also driven by a *CPU-time* timer (``ITIMER_VIRTUAL``, which
   fires ``SIGVTALRM`` without needing the GIL): C code that checks for signals,
   as the ``re`` engine does, then gets the error raised inside it. The timer is
   set for a twentieth of the time left before the next possible stall or deadline
   (CPU time runs slower than wall time on a loaded machine: a job that gets 5% of
   a CPU is still reached in time), the handler re-arms it for a twentieth of what
   is left, and the watchdog keeps pushing it back while the job progresses. On a
   healthy run it fires only within 20 s of such a moment, with the main thread
   busy (with ``stall_timeout=1`` and a busy loop, about 20 times a second), and
   the handler finds nothing to do.
2. **Watchdog exit.** Raising the error is not always enough: the thread may
   block the signal, sit in a C call that retries on ``EINTR``, or be in C code
   that takes the exception and carries on. If the job's code then stays at the
   same bytecode for the grace period, the watchdog writes the message and every
   thread's stack to stderr and ends the process with ``os._exit(1)`` (see
   ``Supervisor._follow_owner``).
3. **Dead-man switch.** If the GIL is held by C code that never checks for
   signals, no Python code runs anywhere in the process. :mod:`faulthandler`'s
   C-level timer is kept armed at "next possible stall or deadline + grace + 1s";
   when it fires it dumps every thread's stack to stderr and exits with status 1.

Guards entered in other threads use tiers 2 and 3 only when asked to
(``hard_exit=True``); their errors are otherwise raised at the thread's next
``track``/``tick`` call. The handler is installed only from the main thread, only
if ``SIGVTALRM`` has no handler and no CPU timer running (else tiers 2 and 3 stand
alone), and the previous state is restored when the last main-thread guard exits.

**Fork.** A child made by ``os.fork`` (``multiprocessing``'s default start method
on Linux) inherits this module's state but none of its threads: not the watchdogs,
not faulthandler's timer thread. faulthandler keeps, in C, a lock that its timer
thread holds while armed; a child that armed or cancelled the timer would wait for
that lock for ever. So the dead-man switch is cancelled just before a fork and
re-armed in the parent just after, and the child starts with no targets, no handler
of ours and fresh locks: the guards of the parent do not watch the child, which may
enter guards of its own.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, Protocol

SIGNAL: int | None = getattr(signal, "SIGVTALRM", None)
_CAN_KILL_THREAD = hasattr(signal, "pthread_kill")
# Extra time the dead-man switch waits beyond the grace period, so that a watchdog
# that can still run ends the process itself, with the full message.
DEADMAN_MARGIN = 1.0
# The longest delay either timer accepts: both count nanoseconds in a signed 64-bit
# integer (about 292 years). Durations are capped well below (units.MAX_DURATION), so
# this only keeps a figure computed from them from ever raising in the watchdog.
MAX_TIMER = 9e9
# The CPU timer is set for this share of the time left before a stall or timeout
# could happen, and never for less than CPU_TIMER_MIN (unless less is left).
CPU_TIMER_SHARE = 0.05
CPU_TIMER_MIN = 0.02


class Target(Protocol):
    """What this module needs from a supervisor."""

    def on_signal(self, now: float, frame: FrameType | None) -> BaseException | None:
        """Called in the main thread by the signal handler: the error to raise, if any."""
        ...

    def cpu_alarm_at(self) -> float | None:
        """Monotonic time at which an urgent condition may become true."""
        ...

    def hard_exit_at(self) -> float | None:
        """Monotonic time at which the dead-man switch must end the process."""
        ...


# Re-entrant because the signal handler re-arms timers and may interrupt the main
# thread while it holds this lock.
_lock = threading.RLock()
_main_targets: list[Target] = []
_all_targets: list[Target] = []
_installed = False
_previous_handler: Any = None
_defer_depth = 0
_signal_deferred = False
_deadman_at: float | None = None
_deadman_file: Any = None


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred() -> Iterator[None]:
    """A section of the main thread during which guard errors are held back.

    Guards update shared state while entering and exiting; an error raised half-way
    through would leave handlers installed or threads running. A signal arriving
    inside the section is handled when the outermost section ends.
    """
    global _defer_depth, _signal_deferred
    if not _in_main_thread():
        yield
        return
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
    if _defer_depth == 0 and _signal_deferred:
        _signal_deferred = False
        _handle(SIGNAL or 0, sys._getframe())


def _handle(signum: int, frame: FrameType | None) -> None:
    global _signal_deferred
    if _defer_depth:
        _signal_deferred = True
        return
    now = time.monotonic()
    for target in reversed(list(_main_targets)):
        error = target.on_signal(now, frame)
        if error is not None:
            rearm(now)
            raise error
    _arm_cpu_timer(now)


def register(target: Target) -> bool:
    """Start watching ``target``; True when errors can be delivered by signal.

    Call from the owner thread, inside :func:`deferred` when that is the main thread.
    """
    global _installed, _previous_handler
    main = _in_main_thread()
    with _lock:
        _all_targets.append(target)
        if not main:
            return False
        _main_targets.append(target)
        if not _installed and SIGNAL is not None and _CAN_KILL_THREAD:
            try:
                previous = signal.getsignal(SIGNAL)
                timer_idle = signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)
                # Somebody else's SIGVTALRM handler or CPU timer (a profiler):
                # leave it alone and rely on the other tiers.
                if previous in (signal.SIG_DFL, signal.SIG_IGN) and timer_idle:
                    _previous_handler = previous
                    signal.signal(SIGNAL, _handle)
                    _installed = True
            except (ValueError, OSError):
                pass
        return _installed


def unregister(target: Target) -> None:
    """Stop watching ``target``; restore the signal state after the last main-thread one."""
    global _installed
    with _lock:
        if target in _all_targets:
            _all_targets.remove(target)
        if target in _main_targets:
            _main_targets.remove(target)
        if _installed and not _main_targets and SIGNAL is not None:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(SIGNAL, _previous_handler)
            _installed = False
    rearm(time.monotonic())


def interrupt_main() -> None:
    """Make the main thread run the handler now, even inside a sleep or a blocking read."""
    ident = threading.main_thread().ident
    if _installed and SIGNAL is not None and ident is not None:
        signal.pthread_kill(ident, SIGNAL)


def rearm(now: float) -> None:
    """Bring the CPU-time timer and the dead-man switch up to date with every target."""
    _arm_cpu_timer(now)
    _arm_deadman(now)


def _arm_cpu_timer(now: float) -> None:
    if not _installed:
        return
    times = [t for t in (target.cpu_alarm_at() for target in list(_main_targets)) if t is not None]
    try:
        if not times:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        else:
            # CPU time runs slower than wall time when other processes take the
            # CPU (a quarter as fast with four busy processes per core), so the timer
            # is set for a share of the time left: the handler finds nothing to do,
            # re-arms for a share of what is left, and reaches the moment the
            # condition holds soon after it unless the job gets under 5% of a CPU.
            # On a healthy run the watchdog pushes the timer back every second.
            left = max(min(times) - now, 0.0)
            delay = max(min(left, CPU_TIMER_MIN), CPU_TIMER_SHARE * left) + 0.01
            signal.setitimer(signal.ITIMER_VIRTUAL, min(delay, MAX_TIMER))
    except (ValueError, OSError, OverflowError):
        pass


def _fault_file() -> Any:
    for stream in (sys.__stderr__, sys.stderr):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    return None


def _arm_deadman(now: float) -> None:
    global _deadman_at, _deadman_file
    with _lock:
        times = [t for t in (target.hard_exit_at() for target in _all_targets) if t is not None]
        target_at = min(times) if times else None
        if target_at is None:
            if _deadman_at is not None:
                faulthandler.cancel_dump_traceback_later()
                _deadman_at = None
            return
        # Each arming starts a C thread, so arm a little late (never early: that
        # would end a job that is not stalled yet) and re-arm only when progress
        # pushes the target past the armed time, or a new target comes before it.
        slack = min(0.05 * max(target_at - now, 0.0), 5.0)
        if _deadman_at is not None and _deadman_at - 2 * slack <= target_at <= _deadman_at:
            return
        target_at += slack
        stream = _fault_file()
        if stream is None:
            return
        try:
            faulthandler.dump_traceback_later(
                min(max(target_at - now, 0.05), MAX_TIMER), repeat=False, file=stream, exit=True
            )
        except (ValueError, OSError, RuntimeError, OverflowError):
            return
        _deadman_at = target_at
        _deadman_file = stream


# -- fork ---------------------------------------------------------------------------

_fork_from_main = False


def _before_fork() -> None:
    global _deadman_at, _fork_from_main
    # Held across the fork, so that no thread of the parent is half-way through an
    # update of the state the child copies.
    _lock.acquire()
    _fork_from_main = _in_main_thread()
    if _deadman_at is not None:
        with suppress(RuntimeError):
            faulthandler.cancel_dump_traceback_later()
        _deadman_at = None


def _after_fork_in_parent() -> None:
    _lock.release()
    rearm(time.monotonic())


def _after_fork_in_child() -> None:
    global _lock, _installed, _previous_handler, _defer_depth, _signal_deferred
    global _deadman_at, _deadman_file
    _lock = threading.RLock()
    _main_targets.clear()
    _all_targets.clear()
    if _installed and SIGNAL is not None:
        with suppress(ValueError, OSError):
            signal.signal(SIGNAL, _previous_handler)
    _installed = False
    _previous_handler = None
    if not _fork_from_main:
        # The thread that forked is the child's main thread; it was in no section.
        _defer_depth = 0
    _signal_deferred = False
    _deadman_at = None
    _deadman_file = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
