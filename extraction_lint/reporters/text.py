"""``--format text``: one greppable line per finding, then a summary line (SPEC 4)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.text import Text

from extraction_lint.diagnostics import Diagnostic, FileResult
from extraction_lint.reporters.base import (
    Reporter,
    Summary,
    position,
    printable,
    reported,
    statistics,
)

SourceLines = Callable[[str], list[str] | None]
#: The lines of one cell of a notebook: (path, cell number) -> lines.
CellLines = Callable[[str, int], list[str] | None]

#: Lines of context around the primary line in ``--show-source``.
CONTEXT = 1


def wants_color(stream: TextIO) -> bool:
    """Colour on a terminal; ``NO_COLOR`` turns all styling off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TextReporter(Reporter):
    """``path:line:col: CODE message``; styled only when :func:`wants_color` says so.

    ``style`` is Ruff's ``--output-format`` for text: ``concise`` (one line per finding),
    ``full`` (each with its code frame) or ``grouped`` (findings under their file's name).
    With ``statistics`` the findings give way to counts per rule, as in Ruff; ``quiet``
    prints the findings and nothing else.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        color: bool | None = None,
        show_source: bool = False,
        style: str = "concise",
        statistics: bool = False,
        quiet: bool = False,
        unsafe_fixes: bool = False,
        source_lines: SourceLines | None = None,
        cell_lines: CellLines | None = None,
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
            markup=False,
        )
        self.style = "full" if show_source and style == "concise" else style
        self.statistics = statistics
        self.quiet = quiet
        self.unsafe_fixes = unsafe_fixes
        self.source_lines = source_lines
        self.cell_lines = cell_lines

    def _fixable(self, diagnostic: Diagnostic) -> bool:
        fix = diagnostic.fix
        return fix is not None and (fix.is_safe or self.unsafe_fixes)

    def add(self, result: FileResult) -> None:
        if self.statistics:
            return
        findings = reported(result)
        if self.style == "grouped" and findings:
            self.console.print(Text(printable(result.path) + ":", style="bold underline"))
        for diagnostic in findings:
            line = Text()
            if self.style == "grouped":
                line.append(f"  {position(diagnostic)} ", style="cyan")
            else:
                line.append(printable(diagnostic.path), style="bold")
                line.append(f":{position(diagnostic)}: ", style="cyan")
            line.append(diagnostic.code, style="bold red")
            if self._fixable(diagnostic):
                line.append(" [*]", style="cyan")
            line.append(" " + printable(diagnostic.message))
            self.console.print(line)
            if self.style == "full":
                self._frame(diagnostic)
        if self.style == "grouped" and findings:
            self.console.print()

    def _frame(self, diagnostic: Diagnostic) -> None:
        if diagnostic.cell is not None:
            lines = self.cell_lines(diagnostic.path, diagnostic.cell) if self.cell_lines else None
        else:
            lines = self.source_lines(diagnostic.path) if self.source_lines else None
        if not lines:
            return
        marks: dict[int, tuple[int, str, str]] = {
            diagnostic.line: (diagnostic.column, diagnostic.code, "bold red")
        }
        for related in diagnostic.related:
            if related.cell == diagnostic.cell:  # a frame shows one cell of a notebook
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
        if self.quiet:
            return
        if self.statistics and summary.by_code:
            for row in statistics(summary):
                marker = "  [*]" if row["fixable"] else ""
                self.console.print(f"{row['count']:>6}  {row['code']}  {row['name']}{marker}")
        fixable = sum(summary.fixable.values())
        if fixable:
            self.console.print(Text(f"[*] {fixable} fixable with the --fix option.", style="cyan"))
        if summary.hidden_fixes:
            n = summary.hidden_fixes
            self.console.print(
                Text(
                    f"{n} fix{'es' if n != 1 else ''} available with --unsafe-fixes "
                    f"({'they add' if n != 1 else 'it adds'} an import of extraction_lint).",
                    style="dim",
                )
            )
        checked = summary.files - summary.skipped
        where = f"{checked} file{'s' if checked != 1 else ''} checked"
        if summary.skipped:
            where += f", {summary.skipped} skipped"
        if summary.suppressed:
            where += f", {summary.suppressed} suppressed by noqa"
        if summary.baselined:
            where += f", {summary.baselined} in the baseline"
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
