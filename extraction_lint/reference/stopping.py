"""Ctrl-C and SIGTERM during a run: the run stops where it is, says why, and prints its summary.

DuckDB turns an exception raised by a signal handler inside a query into its own error
("Query interrupted", "reading the schema of the object ... failed: KeyboardInterrupt",
a TransactionException): the run must not report that as a database error. The
handlers installed here remember which signal came, so that the run reports the signal
whatever form the exception took on its way up.

SIGINT gets a handler even when the process started with it ignored, as a child started
in the background by a shell does: Ctrl-C, or ``kill -INT``, must stop the extractor.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from .errors import Terminated

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT raises ``KeyboardInterrupt``, SIGTERM :class:`Terminated`; ``received`` keeps it.

    Use as a context manager in the main thread (elsewhere it does nothing: Python runs
    signal handlers in the main thread only). Inside :meth:`deferred`, a signal is only
    remembered: cleanup that must finish (counting what was committed, closing the
    database) is not cut short.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._defer = 0

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.received = number
        if self._defer:
            return
        raise self.error()

    def error(self) -> BaseException:
        """The exception that stands for the signal received."""
        if self.received == signal.SIGTERM:
            return Terminated("SIGTERM")
        return KeyboardInterrupt()

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A section no signal interrupts; one that came meanwhile is kept in ``received``."""
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
