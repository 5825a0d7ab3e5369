"""The guardrails' logger, and a fallback handler for programs that never configured logging.

Heartbeats are INFO records and errors ERROR records on the logger
``extraction_lint.guardrails``. A program that configured logging (any handler on
that logger, on one of its ancestors or on the root) gets them through its own
handlers, filtered by its own levels. A program that configured nothing would see
nothing, since Python drops INFO records by default: for the life of the outermost
active guard, the guardrails then attach one handler to their own logger (not to the
root, so the program's logging stays untouched) that writes to whatever
``sys.stderr`` is at the moment of writing, and lower that logger's level to INFO.
Both are undone when the last guard exits. A program that configures logging
while a guard runs (``logging.basicConfig()`` inside the ``with`` block) gets the
records through its own handlers from then on, and the fallback handler falls
silent, so that no line comes out twice.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TextIO

LOGGER_NAME = "extraction_lint.guardrails"
logger = logging.getLogger(LOGGER_NAME)

_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the current ``sys.stderr``, so a progress display that redirects it works."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr if sys.stderr is not None else sys.__stderr__  # type: ignore[return-value]

    @stream.setter
    def stream(self, value: TextIO) -> None:
        # StreamHandler.__init__ assigns the stream; the property always answers anew.
        pass

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``, unless the program's own handlers now receive it."""
        if not self._program_handles():
            super().emit(record)

    def _program_handles(self) -> bool:
        """True once another handler sits where the guardrails' records propagate."""
        current: logging.Logger | None = logger
        while current is not None:
            if any(handler is not self for handler in current.handlers):
                return True
            if not current.propagate:
                return False
            current = current.parent
        return False


_lock = threading.Lock()
_users = 0
_handler: logging.Handler | None = None
_saved_level = logging.NOTSET


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def acquire(target: logging.Logger) -> None:
    """Make sure records of ``target`` are shown; pair every call with :func:`release`."""
    global _users, _handler, _saved_level
    if target is not logger:
        return  # a logger the program chose is the program's to configure
    with _lock:
        _users += 1
        if _users > 1 or logger.hasHandlers():
            return
        _handler = _CurrentStderrHandler()
        _handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(_handler)
        _saved_level = logger.level
        if logger.level == logging.NOTSET and logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def release(target: logging.Logger) -> None:
    """Undo :func:`acquire` once the last user is gone."""
    global _users, _handler
    if target is not logger:
        return
    with _lock:
        _users -= 1
        if _users > 0 or _handler is None:
            return
        logger.removeHandler(_handler)
        logger.setLevel(_saved_level)
        _handler = None
