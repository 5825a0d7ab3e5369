"""What every reporter shares: the streaming interface and the run's summary."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from extraction_lint.diagnostics import Diagnostic, FileError, FileResult
from extraction_lint.rules import FILE_NOT_CHECKED, RULES_BY_CODE


@dataclass
class Summary:
    """Counts over a run: kept while results stream past, nothing per file."""

    files: int = 0
    diagnostics: int = 0
    errors: int = 0
    suppressed: int = 0
    skipped: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    files_with_findings: int = 0
    #: Findings a baseline accepted (not reported).
    baselined: int = 0
    #: Reported findings whose fix ``--fix`` would apply, by code.
    fixable: Counter[str] = field(default_factory=Counter)
    #: Reported findings with a fix that only ``--unsafe-fixes`` applies.
    hidden_fixes: int = 0

    def add(self, result: FileResult, *, unsafe_fixes: bool = False) -> None:
        """Count one file's result."""
        self.files += 1
        for d in result.diagnostics:
            if d.fix is None:
                continue
            if d.fix.is_safe or unsafe_fixes:
                self.fixable[d.code] += 1
            else:
                self.hidden_fixes += 1
        self.suppressed += result.suppressed
        if result.skipped:
            self.skipped += 1
        if result.error is not None:
            self.errors += 1
            self.by_code[FILE_NOT_CHECKED] += 1
        if result.diagnostics:
            self.files_with_findings += 1
            self.diagnostics += len(result.diagnostics)
            self.by_code.update(d.code for d in result.diagnostics)

    @property
    def failed(self) -> bool:
        """Findings or files that could not be checked (exit status 1)."""
        return bool(self.diagnostics or self.errors)


#: The project's repository (SARIF ``informationUri``); not the package index, where the
#: name ``extraction-lint`` belongs to another project.
REPOSITORY_URL = "https://github.com/extraction-lint/extraction-lint"
#: Where each rule's page is published (``rules/CODE.md`` of the repository).
RULES_URL = f"{REPOSITORY_URL}/blob/main/rules/"


def rule_url(code: str) -> str:
    """The address of a rule's page (SARIF ``helpUri``, ``--explain``, ``--list-rules``)."""
    return f"{RULES_URL}{code}.md"


def statistics(summary: Summary) -> list[dict[str, object]]:
    """Counts per code, most frequent first, as Ruff's ``--statistics`` gives them."""
    return [
        {
            "code": code,
            "name": RULES_BY_CODE[code].name,
            "count": count,
            "fixable": summary.fixable.get(code, 0),
        }
        for code, count in sorted(summary.by_code.items(), key=lambda item: (-item[1], item[0]))
    ]


def printable(text: str) -> str:
    """``text`` as a terminal or a UTF-8 file can show it: control characters (escape
    sequences from the linted source) and bytes of a file name that are not UTF-8 written
    as ``\\xNN`` escapes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        point = ord(char)
        if 0xDC80 <= point <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{point - 0xDC00:02x}")
        elif char == "\t" or char.isprintable():
            out.append(char)
        elif 0xD800 <= point <= 0xDFFF:
            out.append(f"\\u{point:04x}")
        elif point < 0x100:
            out.append(f"\\x{point:02x}")
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def error_as_diagnostic(error: FileError) -> Diagnostic:
    """A file that could not be checked, as an EXL999 diagnostic for line-based formats."""
    return Diagnostic(
        code=FILE_NOT_CHECKED,
        name=RULES_BY_CODE[FILE_NOT_CHECKED].name,
        path=error.path,
        line=error.line,
        column=error.column,
        end_line=error.line,
        end_column=error.column,
        message=error.message,
        cell=error.cell,
    )


def position(diagnostic: Diagnostic) -> str:
    """``line:col``, or ``cell N:line:col`` in a notebook (Ruff's form)."""
    where = f"{diagnostic.line}:{diagnostic.column}"
    return where if diagnostic.cell is None else f"cell {diagnostic.cell}:{where}"


def reported(result: FileResult) -> list[Diagnostic]:
    """A file's diagnostics, with its error (if any) first as EXL999."""
    out = [error_as_diagnostic(result.error)] if result.error is not None else []
    out.extend(result.diagnostics)
    return out


class Reporter:
    """Receives results as files finish and writes a report to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self) -> None:
        """Called once before the first result."""

    def add(self, result: FileResult) -> None:
        """Called once per file, in the run's deterministic order."""
        raise NotImplementedError

    def finish(self, summary: Summary) -> None:
        """Called once after the last result."""


class NotebookPositions:
    """Positions in a notebook's own text for the diagnostics of one file: formats whose
    lines are the file's (SARIF regions, GitHub annotations) point at the JSON line that
    holds the flagged source line; other formats keep the cell's lines."""

    def __init__(self, root: str | None = None) -> None:
        self._root = root
        self._path: str | None = None
        self._positions: object = None

    def locate(self, path: str, cell: int | None, line: int, column: int) -> tuple[int, int]:
        """The file's ``(line, column)``; the cell's own when the file cannot be read."""
        if cell is None:
            return line, column
        from extraction_lint.notebook import FilePositions

        if path != self._path:
            self._path = path
            full = path if self._root is None else os.path.join(self._root, path)
            self._positions = FilePositions.of_file(full)
        positions = self._positions
        if isinstance(positions, FilePositions):
            found = positions.locate(cell, line, column)
            if found is not None:
                return found
        return line, column
