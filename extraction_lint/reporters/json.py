"""``--format json``: the shape of SPEC 4, written as results arrive."""

from __future__ import annotations

import json
from typing import TextIO

from extraction_lint import __version__
from extraction_lint.diagnostics import FileError, FileResult
from extraction_lint.reporters.base import Reporter, Summary, statistics


class JsonReporter(Reporter):
    """``{"version", "diagnostics", "errors", "summary"}``; diagnostics are streamed."""

    def __init__(self, stream: TextIO, *, statistics: bool = False) -> None:
        super().__init__(stream)
        self.statistics = statistics
        self._first = True
        self._errors: list[FileError] = []

    def start(self) -> None:
        self.stream.write(f'{{"version": {json.dumps(__version__)},\n "diagnostics": [')

    def add(self, result: FileResult) -> None:
        if result.error is not None:
            self._errors.append(result.error)
        for diagnostic in result.diagnostics:
            self.stream.write("\n  " if self._first else ",\n  ")
            self._first = False
            self.stream.write(json.dumps(diagnostic.to_dict()))

    def finish(self, summary: Summary) -> None:
        errors = [
            {"path": e.path, "message": e.message, "line": e.line}
            | ({"cell": e.cell} if e.cell is not None else {})
            for e in self._errors
        ]
        tail: dict[str, object] = {
            "errors": errors,
            "summary": {
                "files": summary.files,
                "diagnostics": summary.diagnostics,
                "errors": summary.errors,
                "suppressed": summary.suppressed,
                "skipped": summary.skipped,
                "by_code": dict(sorted(summary.by_code.items())),
                "baselined": summary.baselined,
                "fixable": sum(summary.fixable.values()),
            },
        }
        if self.statistics:
            tail["statistics"] = statistics(summary)
        self.stream.write("\n ],\n")
        body = json.dumps(tail, indent=1)
        self.stream.write(" " + body[1:].lstrip() + "\n")
