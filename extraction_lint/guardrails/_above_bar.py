"""Keep the program's own output readable while a progress bar is drawn on the terminal.

A live bar is redrawn in place at the bottom of the terminal. Anything else written
to that terminal meanwhile (a ``print``, a log record) must go *above* it: written
straight to the terminal it lands on the bar's line (``...RSS 18.3 MiBINFO job
line``) and the next redraw leaves a stale copy of the bar behind. rich does this
for ``print`` by replacing ``sys.stdout``/``sys.stderr`` with proxies that hand whole
lines to its console, which draws them above the live display; its logging
handler writes through that console for the same reason, and tqdm's
``logging_redirect_tqdm`` points the program's stream handlers at ``tqdm.write``.

:class:`AboveBar` does both for the life of the bar:

- ``sys.stderr``, and ``sys.stdout`` when it is the same terminal, become streams
  that print each complete line above the bar (``soft_wrap``: a long line is left
  for the terminal to wrap, never cut into several records);
- every :class:`logging.StreamHandler` of the program that writes to that
  terminal (``logging.basicConfig()``'s, say) is pointed at the same stream, and
  pointed back when the bar ends.

Output that goes elsewhere (stdout into a file or a pipe, a ``FileHandler``) is
left alone.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
from typing import Any, TextIO


def same_terminal(stream: object, terminal: object) -> bool:
    """True when ``stream`` writes to the terminal ``terminal`` writes to."""
    if stream is terminal:
        return True
    try:
        mine = os.fstat(stream.fileno())  # type: ignore[attr-defined]
        theirs = os.fstat(terminal.fileno())  # type: ignore[attr-defined]
        return os.path.samestat(mine, theirs) and bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


class LinesAboveBar(io.TextIOBase):
    """A text stream that prints each complete line above the live bar of ``console``."""

    def __init__(self, console: Any, original: TextIO) -> None:
        super().__init__()
        self.console = console
        self.original = original
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Print the complete lines now; keep a partial last line until it ends."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._pending += text
            if "\n" not in self._pending:
                return len(text)
            lines, _, self._pending = self._pending.rpartition("\n")
        self._print(lines)
        return len(text)

    def flush(self) -> None:
        """Print a partial line too (``print(..., end="", flush=True)``)."""
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self._print(pending)

    def _print(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text.from_ansi(text), soft_wrap=True)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self.original.isatty())

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.original, "errors", None)


def _program_loggers() -> list[logging.Logger]:
    found = [logging.getLogger()]
    for candidate in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(candidate, logging.Logger):
            found.append(candidate)
    return found


class AboveBar:
    """Sends the program's terminal output above the bar drawn by ``console``, then back."""

    def __init__(self, console: Any, terminal: TextIO) -> None:
        self.console = console
        self.terminal = terminal
        self.stderr: LinesAboveBar | None = None
        self.stdout: LinesAboveBar | None = None
        self.handlers: list[tuple[logging.StreamHandler[Any], Any]] = []

    def start(self) -> None:
        """Install the streams and point the handlers at them."""
        self.stderr = LinesAboveBar(self.console, sys.stderr)
        sys.stderr = self.stderr
        if same_terminal(sys.stdout, self.terminal):
            self.stdout = LinesAboveBar(self.console, sys.stdout)
            sys.stdout = self.stdout
        for logger in _program_loggers():
            for handler in list(logger.handlers):
                if not isinstance(handler, logging.StreamHandler) or isinstance(
                    handler, logging.FileHandler
                ):
                    continue
                stream = getattr(handler, "stream", None)
                if isinstance(stream, LinesAboveBar) or not (
                    stream is self.stderr.original
                    or (self.stdout is not None and stream is self.stdout.original)
                    or same_terminal(stream, self.terminal)
                ):
                    continue
                previous = handler.setStream(self.stderr)
                if previous is not None:
                    self.handlers.append((handler, previous))

    def stop(self, *, flush: bool = True) -> None:
        """Point everything back where it was (unless the program changed it since)."""
        for handler, previous in reversed(self.handlers):
            if handler.stream is self.stderr:
                handler.setStream(previous)
        self.handlers = []
        for name in ("stdout", "stderr"):
            proxy: LinesAboveBar | None = getattr(self, name)
            if proxy is None:
                continue
            if flush:
                proxy.flush()
            if getattr(sys, name) is proxy:
                setattr(sys, name, proxy.original)
            setattr(self, name, None)
