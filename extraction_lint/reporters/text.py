"""``--format text``: one greppable line per finding, then a summary line (SPEC 4)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.text import Text

from extraction_lint.diagnostics import Diagnostic, FileResult
from extraction_lint.reporters.base import Reporter, Summary, reported
from extraction_lint.rules import RULES_BY_CODE

SourceLines = Callable[[str], list[str] | None]

#: Lines of context around the primary line in ``--show-source``.
CONTEXT = 1

#: Characters that would act on the terminal rather than show: C0 and C1 controls (the
#: escape that starts a colour, cursor or title sequence, the bell, a carriage return) and
#: the invisible bidirectional and zero-width marks that reorder what a reader sees.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character that a terminal would act on written as an escape
    (``\\x1b``), as Ruff shows them: source quoted in a message cannot drive the terminal."""
    return _UNPRINTABLE.sub(_escape, text)


def wants_color(stream: TextIO) -> bool:
    """Colour on a terminal; ``NO_COLOR`` turns all styling off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TextReporter(Reporter):
    """``path:line:col: CODE message``; styled only when :func:`wants_color` says so."""

    def __init__(
        self,
        stream: TextIO,
        *,
        color: bool | None = None,
        show_source: bool = False,
        statistics: bool = False,
        source_lines: SourceLines | None = None,
    ) -> None:
        super().__init__(stream)
        styled = wants_color(stream) if color is None else color
        self.console = Console(
            file=stream,
            force_terminal=styled,
            color_system="auto" if styled else None,
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )
        self.show_source = show_source
        self.statistics = statistics
        self.source_lines = source_lines

    def add(self, result: FileResult) -> None:
        for diagnostic in reported(result):
            line = Text()
            line.append(printable(diagnostic.path), style="bold")
            line.append(f":{diagnostic.line}:{diagnostic.column}: ", style="cyan")
            line.append(diagnostic.code, style="bold red")
            line.append(" " + printable(diagnostic.message))
            self.console.print(line)
            if self.show_source:
                self._frame(diagnostic)

    def _frame(self, diagnostic: Diagnostic) -> None:
        lines = self.source_lines(diagnostic.path) if self.source_lines else None
        if not lines:
            return
        marks: dict[int, tuple[int, str, str]] = {
            diagnostic.line: (diagnostic.column, diagnostic.code, "bold red")
        }
        for related in diagnostic.related:
            marks.setdefault(related.line, (related.column, related.message, "yellow"))
        shown: set[int] = set()
        for number in sorted(marks):
            for n in range(number - CONTEXT, number + CONTEXT + 1):
                if 1 <= n <= len(lines):
                    shown.add(n)
        width = len(str(max(shown))) if shown else 1
        previous = 0
        for n in sorted(shown):
            if previous and n > previous + 1:
                self.console.print(Text(" " * width + " ..", style="dim"))
            previous = n
            text = Text(f"{n:>{width}} | ", style="dim")
            text.append(printable(lines[n - 1].rstrip("\r\n").expandtabs()))
            self.console.print(text)
            if n in marks:
                column, label, style = marks[n]
                pointer = Text(" " * width + " | " + " " * (column - 1), style="dim")
                pointer.append("^ " + printable(label), style=style)
                self.console.print(pointer)
        self.console.print()

    def finish(self, summary: Summary) -> None:
        if self.statistics and summary.by_code:
            for code, count in sorted(summary.by_code.items()):
                self.console.print(f"{count:>6}  {code}  {RULES_BY_CODE[code].name}")
        checked = summary.files - summary.skipped
        where = f"{checked} file{'s' if checked != 1 else ''} checked"
        if summary.skipped:
            where += f", {summary.skipped} skipped"
        if summary.suppressed:
            where += f", {summary.suppressed} suppressed by noqa"
        if not summary.failed:
            self.console.print(Text(f"All checks passed ({where}).", style="green"))
            return
        parts = []
        if summary.diagnostics:
            n = summary.diagnostics
            parts.append(f"Found {n} problem{'s' if n != 1 else ''}")
        if summary.errors:
            n = summary.errors
            verb = "Could not check" if not parts else "could not check"
            parts.append(f"{verb} {n} file{'s' if n != 1 else ''}")
        self.console.print(Text(f"{'; '.join(parts)} ({where}).", style="bold red"))
