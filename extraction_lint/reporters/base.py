"""What every reporter shares: the streaming interface and the run's summary."""

from __future__ import annotations

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

    def add(self, result: FileResult) -> None:
        """Count one file's result."""
        self.files += 1
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
