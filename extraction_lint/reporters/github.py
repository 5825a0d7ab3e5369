"""``--format github``: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from typing import TextIO

from extraction_lint.diagnostics import FileResult
from extraction_lint.reporters.base import NotebookPositions, Reporter, printable, reported


def _escape_data(text: str) -> str:
    text = printable(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    """``::error file=...,line=...,col=...,endLine=...,endColumn=...,title=CODE::message``."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._notebooks = NotebookPositions()

    def add(self, result: FileResult) -> None:
        for d in reported(result):
            # In a notebook the annotation goes on the JSON line that holds the flagged
            # source line; the message names the cell and its line.
            line, column = self._notebooks.locate(d.path, d.cell, d.line, d.column)
            end_line, end_column = self._notebooks.locate(d.path, d.cell, d.end_line, d.end_column)
            properties = ",".join(
                (
                    f"file={_escape_property(d.path)}",
                    f"line={line}",
                    f"col={column}",
                    f"endLine={end_line}",
                    f"endColumn={end_column}",
                    f"title={_escape_property(d.code)}",
                )
            )
            where = f"cell {d.cell}:{d.line}:{d.column}: " if d.cell is not None else ""
            # An annotation has one location: the chain through helpers of other modules
            # (SPEC 2.6) is named in the message.
            through = [f"{r.path}:{r.line}:{r.column}" for r in d.related if r.path != d.path]
            message = d.message + (f" (through {', '.join(through)})" if through else "")
            text = _escape_data(where + d.code + " " + message)
            self.stream.write(f"::error {properties}::{text}\n")
