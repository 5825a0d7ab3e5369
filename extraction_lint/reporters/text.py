"""``--format text``: one greppable line per finding, then a summary line (SPEC 4)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TextIO

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


class Text:
    """A line made of styled pieces; rich draws it on a terminal, and the plain text is
    written otherwise (so a pipe or a file never pays for importing rich)."""

    def __init__(self, text: str = "", style: str = "") -> None:
        self.pieces: list[tuple[str, str]] = [(text, style)] if text else []

    def append(self, text: str, style: str = "") -> None:
        """Add a piece."""
        self.pieces.append((text, style))

    @property
    def plain(self) -> str:
        """The text without styles."""
        return "".join(text for text, _ in self.pieces)


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
        self._console = None
        if styled:
            from rich.console import Console

            self._console = Console(
                file=stream,
                force_terminal=True,
                color_system="auto",
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

    def _print(self, line: Text | str = "") -> None:
        if isinstance(line, str):
            line = Text(line)
        if self._console is None:
            self.stream.write(line.plain + "\n")
            return
        from rich.text import Text as RichText

        rich_line = RichText()
        for text, style in line.pieces:
            rich_line.append(text, style=style or None)
        self._console.print(rich_line)

    def _fixable(self, diagnostic: Diagnostic) -> bool:
        fix = diagnostic.fix
        return fix is not None and (fix.is_safe or self.unsafe_fixes)

    def add(self, result: FileResult) -> None:
        if self.statistics:
            return
        findings = reported(result)
        if self.style == "grouped" and findings:
            self._print(Text(printable(result.path) + ":", style="bold underline"))
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
            self._print(line)
            if self.style == "full":
                self._frame(diagnostic)
        if self.style == "grouped" and findings:
            self._print()

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
        # Related locations in other modules (the chain through a helper, SPEC 2.6) get a
        # frame of their own after this one, in the order the chain gives.
        # So do related locations in other cells of the same notebook, a frame per cell.
        elsewhere: dict[str, dict[int, tuple[int, str, str]]] = {}
        cells: dict[int, dict[int, tuple[int, str, str]]] = {}
        for related in diagnostic.related:
            mark = (related.column, related.message, "yellow")
            if related.path != diagnostic.path:
                elsewhere.setdefault(related.path, {}).setdefault(related.line, mark)
            elif related.cell == diagnostic.cell:
                marks.setdefault(related.line, mark)
            elif related.cell is not None:
                cells.setdefault(related.cell, {}).setdefault(related.line, mark)
        self._print_frame(lines, marks)
        for cell, cell_marks in cells.items():
            other = self.cell_lines(diagnostic.path, cell) if self.cell_lines else None
            if other:
                self._print(Text(f"  --> {printable(diagnostic.path)}:cell {cell}", style="dim"))
                self._print_frame(other, cell_marks)
        for path, path_marks in elsewhere.items():
            other = self.source_lines(path) if self.source_lines else None
            if other:
                self._print(Text(f"  --> {path}", style="dim"))
                self._print_frame(other, path_marks)

    def _print_frame(self, lines: Sequence[str], marks: dict[int, tuple[int, str, str]]) -> None:
        shown: set[int] = set()
        for number in sorted(marks):
            for n in range(number - CONTEXT, number + CONTEXT + 1):
                if 1 <= n <= len(lines):
                    shown.add(n)
        width = len(str(max(shown))) if shown else 1
        previous = 0
        for n in sorted(shown):
            if previous and n > previous + 1:
                self._print(Text(" " * width + " ..", style="dim"))
            previous = n
            text = Text(f"{n:>{width}} | ", style="dim")
            text.append(printable(lines[n - 1].rstrip("\r\n").expandtabs()))
            self._print(text)
            if n in marks:
                column, label, style = marks[n]
                pointer = Text(" " * width + " | " + " " * (column - 1), style="dim")
                pointer.append("^ " + printable(label), style=style)
                self._print(pointer)
        self._print()

    def finish(self, summary: Summary) -> None:
        if self.quiet:
            return
        if self.statistics and summary.by_code:
            for row in statistics(summary):
                marker = "  [*]" if row["fixable"] else ""
                self._print(f"{row['count']:>6}  {row['code']}  {row['name']}{marker}")
        fixable = sum(summary.fixable.values())
        if fixable:
            self._print(Text(f"[*] {fixable} fixable with the --fix option.", style="cyan"))
        if summary.hidden_fixes:
            n = summary.hidden_fixes
            self._print(
                Text(
                    f"{n} fix{'es' if n != 1 else ''} available with --unsafe-fixes "
                    f"({'they' if n != 1 else 'it'} may change what the code does).",
                    style="dim",
                )
            )
        # A file that could not be checked (EXL999) is said after "could not check", not
        # counted as checked too.
        checked = max(0, summary.files - summary.skipped - summary.errors)
        where = f"{checked} file{'s' if checked != 1 else ''} checked"
        if summary.skipped:
            where += f", {summary.skipped} skipped"
        if summary.suppressed:
            where += f", {summary.suppressed} suppressed by noqa"
        if summary.baselined:
            where += f", {summary.baselined} in the baseline"
        if not summary.failed:
            self._print(Text(f"All checks passed ({where}).", style="green"))
            return
        parts = []
        if summary.diagnostics:
            n = summary.diagnostics
            parts.append(f"Found {n} problem{'s' if n != 1 else ''}")
        if summary.errors:
            n = summary.errors
            verb = "Could not check" if not parts else "could not check"
            parts.append(f"{verb} {n} file{'s' if n != 1 else ''}")
        self._print(Text(f"{'; '.join(parts)} ({where}).", style="bold red"))
