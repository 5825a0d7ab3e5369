"""Running the costly part of one file's check within bounds: a stack large enough for the
native parser, and a time budget.

libcst's native parser recurses once per operand of a flat chain (``a and a and ...``, a
long dotted import): on a process's main thread, whose stack is a few MiB, a few thousand
operands overflow it, and the process dies of a segmentation fault, which no ``except``
can catch. The check therefore runs on a thread of its own with a large stack (reserved
address space: only the pages used are memory), and :mod:`extraction_lint.source` refuses,
before libcst sees them, chains longer than that stack is known to hold.

The time budget: when the check has not finished within it, the check is interrupted at
the next Python instruction (an asynchronous exception in its thread), and the file is
reported as not checked. A native call in progress (the libcst parse of a file the bounds
above admit) runs to its end first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["STACK_SIZE", "BudgetExceeded", "run_bounded"]

T = TypeVar("T")

#: The stack of the thread a check runs on. Reserved, not committed: a check that does not
#: recurse deeply touches a few pages of it.
STACK_SIZE = 512 * 1024 * 1024
#: How often an interrupted check is reminded to stop, should it catch the first reminder.
_REMIND_SECONDS = 0.05
_stack_lock = threading.Lock()


class BudgetExceeded(BaseException):
    """Raised inside a check whose time budget ran out (a BaseException, so that the
    ``except Exception`` of the code it interrupts does not swallow it)."""


def run_bounded(work: Callable[[], T], budget: float | None) -> tuple[bool, T | None]:
    """Run ``work`` on a large-stack thread; ``(True, its result)``, or ``(False, None)`` when
    it ran out of ``budget`` seconds (None: no limit). Exceptions of ``work`` propagate."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    expired = threading.Event()
    # Reminders stop once the thread says it has finished: one that landed after the
    # work ended would escape the thread and be printed as a traceback.
    reminding = threading.Lock()
    finished = threading.Event()

    def target() -> None:
        try:
            outcome.append(work())
        except BudgetExceeded:
            pass
        except BaseException as error:  # handed to the caller's thread
            if not expired.is_set():
                failure.append(error)
        while True:  # a reminder may land in this loop too: then go round again
            try:
                with reminding:
                    finished.set()
                if expired.is_set():
                    _clear_reminder(threading.get_ident())
                return
            except BudgetExceeded:
                continue

    thread = _start(target)
    if thread is None:  # no thread can be made here (a limit on address space): inline
        return True, work()
    thread.join(budget)
    if thread.is_alive():
        expired.set()
        assert thread.ident is not None
        while thread.is_alive():
            with reminding:
                if not finished.is_set():
                    _interrupt(thread.ident)
            thread.join(_REMIND_SECONDS)
        return False, None
    if failure:
        raise failure[0]
    if not outcome:  # interrupted just as it finished
        return False, None
    return True, outcome[0]


def _start(target: Callable[[], None]) -> threading.Thread | None:
    """A started daemon thread running ``target`` on the largest stack it can have:
    :data:`STACK_SIZE`, else smaller ones where address space is limited; None when no
    thread can be started."""
    with _stack_lock:
        for size in (STACK_SIZE, STACK_SIZE // 8, 0):
            previous = threading.stack_size(size)
            try:
                thread = threading.Thread(target=target, name="extraction-lint-check", daemon=True)
                thread.start()
                return thread
            except (RuntimeError, MemoryError):
                continue
            finally:
                threading.stack_size(previous)
    return None


def _clear_reminder(ident: int) -> None:
    """Withdraw a :class:`BudgetExceeded` set for the thread ``ident`` and not raised yet."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object())


def _interrupt(ident: int) -> None:
    """Raise :class:`BudgetExceeded` in the thread ``ident`` at its next instruction."""
    import ctypes  # only a check that ran out of time needs it: not loaded at start-up

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(BudgetExceeded)
    )
