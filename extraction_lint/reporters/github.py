"""``--format github``: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from extraction_lint.diagnostics import FileResult
from extraction_lint.reporters.base import Reporter, printable, reported


def _escape_data(text: str) -> str:
    text = printable(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    """``::error file=...,line=...,col=...,endLine=...,endColumn=...,title=CODE::message``."""

    def add(self, result: FileResult) -> None:
        for d in reported(result):
            properties = ",".join(
                (
                    f"file={_escape_property(d.path)}",
                    f"line={d.line}",
                    f"col={d.column}",
                    f"endLine={d.end_line}",
                    f"endColumn={d.end_column}",
                    f"title={_escape_property(d.code)}",
                )
            )
            # In a notebook, line and col count in the cell the message names.
            where = f"cell {d.cell}:{d.line}:{d.column}: " if d.cell is not None else ""
            text = _escape_data(where + d.code + " " + d.message)
            self.stream.write(f"::error {properties}::{text}\n")
