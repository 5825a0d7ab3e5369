"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning reads it, results streamed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from extraction_lint import __version__
from extraction_lint.baseline import location_fingerprint
from extraction_lint.diagnostics import Diagnostic, FileError, FileResult
from extraction_lint.reporters.base import (
    REPOSITORY_URL,
    NotebookPositions,
    Reporter,
    Summary,
    reported,
    rule_url,
)
from extraction_lint.rules import ALL_RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
#: The name of our fingerprint in ``partialFingerprints`` (versioned, as SARIF advises).
FINGERPRINT_KEY = "extractionLint/v1"
#: Lines around a finding in ``contextRegion`` (``--show-source``).
CONTEXT_LINES = 2

SourceLines = Callable[[str], list[str] | None]


def artifact_location(path: str) -> dict[str, str]:
    """A relative, percent-encoded URI under ``%SRCROOT%``, or an absolute ``file:`` URI."""
    # A name that is not UTF-8 (kept as surrogate escapes) is percent-encoded byte by byte.
    raw = path.encode("utf-8", "surrogateescape")
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + quote(raw)}
    return {"uri": quote(raw), "uriBaseId": SRCROOT}


def _region(
    line: int, column: int, end_line: int | None = None, end_column: int | None = None
) -> dict[str, int]:
    region = {"startLine": line, "startColumn": column}
    if end_line is not None and end_column is not None and (end_line, end_column) > (line, column):
        region.update(endLine=end_line, endColumn=end_column)
    return region


def rule_descriptor(rule: type[Any]) -> dict[str, Any]:
    """The ``reportingDescriptor`` of one rule, with its page as help."""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what_it_does.split())},
        "help": {"text": rule.documentation(), "markdown": rule.documentation()},
        "helpUri": rule_url(rule.code),
        "defaultConfiguration": {"level": "error", "enabled": rule.default_enabled},
        "properties": {"tags": ["extraction-lint"]},
    }


class SarifReporter(Reporter):
    """One run, every rule described, one result per finding or unchecked file."""

    def __init__(
        self, stream: TextIO, *, root: Path, source_lines: SourceLines | None = None
    ) -> None:
        super().__init__(stream)
        #: With ``--show-source``: each region gets its snippet and a context region.
        self._source_lines = source_lines
        self._first = True
        self._index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
        self._errors: list[FileError] = []
        self._root = root
        self._notebooks = NotebookPositions(str(root))

    def start(self) -> None:
        head = {
            "$schema": SCHEMA,
            "version": "2.1.0",
        }
        driver = {
            "name": "extraction-lint",
            "informationUri": REPOSITORY_URL,
            "semanticVersion": __version__,
            "version": __version__,
            "rules": [rule_descriptor(rule) for rule in ALL_RULES],
        }
        self.stream.write(json.dumps(head)[:-1])
        self.stream.write(', "runs": [{"tool": {"driver": ' + json.dumps(driver) + "}")
        bases = {SRCROOT: {"uri": self._root.resolve().as_uri() + "/"}}
        self.stream.write(', "originalUriBaseIds": ' + json.dumps(bases))
        self.stream.write(', "results": [')

    def _result(self, diagnostic: Diagnostic) -> dict[str, Any]:
        d, cell = diagnostic, diagnostic.cell
        # In a notebook the region is in the file's own lines (where the JSON string of
        # the flagged source line stands); the cell and its lines go in the properties.
        start = self._notebooks.locate(d.path, cell, d.line, d.column)
        end = self._notebooks.locate(d.path, cell, d.end_line, d.end_column)
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": artifact_location(d.path),
                "region": _region(*start, *end),
            }
        }
        if cell is not None:
            location["properties"] = {"cell": cell, "cellLine": d.line, "cellColumn": d.column}
        elif self._source_lines is not None:
            self._add_snippets(location["physicalLocation"], diagnostic)
        result: dict[str, Any] = {
            "ruleId": diagnostic.code,
            "ruleIndex": self._index[diagnostic.code],
            "level": "error",
            "message": {"text": diagnostic.message},
            "locations": [location],
        }
        if diagnostic.fingerprint:
            result["partialFingerprints"] = {
                FINGERPRINT_KEY: location_fingerprint(diagnostic.path, diagnostic)
            }
        if diagnostic.fix is not None:
            result["properties"] = {"fixApplicability": diagnostic.fix.applicability}
        if diagnostic.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "message": {"text": r.message},
                    "physicalLocation": {
                        "artifactLocation": artifact_location(r.path),
                        "region": _region(
                            *self._notebooks.locate(r.path, r.cell, r.line, r.column)
                        ),
                    },
                }
                | (
                    {"properties": {"cell": r.cell, "cellLine": r.line, "cellColumn": r.column}}
                    if r.cell is not None
                    else {}
                )
                for i, r in enumerate(diagnostic.related, start=1)
            ]
        return result

    def _add_snippets(self, physical: dict[str, Any], diagnostic: Diagnostic) -> None:
        assert self._source_lines is not None
        lines = self._source_lines(diagnostic.path)
        if not lines or not 1 <= diagnostic.line <= len(lines):
            return
        last = min(max(diagnostic.end_line, diagnostic.line), len(lines))
        physical["region"]["snippet"] = {"text": "\n".join(lines[diagnostic.line - 1 : last])}
        first, end = max(1, diagnostic.line - CONTEXT_LINES), min(len(lines), last + CONTEXT_LINES)
        physical["contextRegion"] = {
            "startLine": first,
            "endLine": end,
            "snippet": {"text": "\n".join(lines[first - 1 : end])},
        }

    def add(self, result: FileResult) -> None:
        if result.error is not None:
            self._errors.append(result.error)
        for diagnostic in reported(result):
            self.stream.write("\n  " if self._first else ",\n  ")
            self._first = False
            self.stream.write(json.dumps(self._result(diagnostic)))

    def finish(self, summary: Summary) -> None:
        notifications = [
            {
                "level": "error",
                "message": {"text": f"{e.path}: {e.message}"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": artifact_location(e.path)}}
                ],
            }
            for e in self._errors
        ]
        invocation = {
            "executionSuccessful": True,
            "toolExecutionNotifications": notifications,
        }
        self.stream.write("\n], " + '"invocations": [' + json.dumps(invocation) + "]}]}\n")
