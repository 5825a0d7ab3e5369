"""The plain data a check produces: diagnostics, file errors and per-file results.

These cross process boundaries (worker processes, the result cache), so they hold only
strings and numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RelatedLocation:
    """A secondary location of a diagnostic (1-based line and column)."""

    path: str
    line: int
    column: int
    message: str
    #: In a notebook: the cell (numbered from 1) that ``line`` counts in.
    cell: int | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text from (line, column) up to (end_line, end_column), 1-based and end
    exclusive, by ``content`` (an insertion when the two positions are equal)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    #: In a notebook: the cell (numbered from 1) that the lines count in.
    cell: int | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """An automatic fix: what it does, and its edits (which never overlap).

    ``applicability`` is ``"safe"`` for a fix that keeps what the code does, ``"unsafe"``
    for one that may change it (adding an import of this package adds a runtime
    dependency): as in Ruff, unsafe fixes are applied only with ``--unsafe-fixes``.
    """

    message: str
    edits: tuple[Edit, ...]
    applicability: str = "safe"

    @property
    def is_safe(self) -> bool:
        """Whether ``--fix`` applies it without ``--unsafe-fixes``."""
        return self.applicability == "safe"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "message": self.message,
            "applicability": self.applicability,
            "edits": [_without_cell(asdict(e)) for e in self.edits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fix:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["message"],
            tuple(Edit(**e) for e in data["edits"]),
            data.get("applicability", "safe"),
        )


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: 1-based lines and columns, the end exclusive of the last character."""

    code: str
    name: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    related: tuple[RelatedLocation, ...] = ()
    fix: Fix | None = None
    #: In a notebook: the cell (numbered from 1) that ``line`` and ``end_line`` count in.
    cell: int | None = None
    #: Identifies the finding across unrelated edits of its file (see baseline.py).
    fingerprint: str = ""

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order of reporting within a run: path, position, code."""
        return (self.path, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC section 4."""
        data = _without_cell(asdict(self))
        data["related"] = [_without_cell(asdict(r)) for r in self.related]
        data["fix"] = self.fix.to_dict() if self.fix is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        """Inverse of :meth:`to_dict`."""
        related = tuple(RelatedLocation(**r) for r in data.get("related", ()))
        fix = Fix.from_dict(data["fix"]) if data.get("fix") else None
        fields = {k: v for k, v in data.items() if k not in {"related", "fix"}}
        return cls(**fields, related=related, fix=fix)


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be checked (reported as EXL999), with the reason."""

    path: str
    message: str
    line: int = 1
    column: int = 1
    #: In a notebook: the cell (numbered from 1) that ``line`` counts in.
    cell: int | None = None


def _without_cell(data: dict[str, Any]) -> dict[str, Any]:
    """Plain data, with ``cell`` only for positions in a notebook."""
    if data.get("cell", 0) is None:
        del data["cell"]
    return data


@dataclass(frozen=True, slots=True)
class FileResult:
    """What checking one file produced."""

    path: str
    diagnostics: tuple[Diagnostic, ...] = ()
    error: FileError | None = None
    #: The file was skipped by a ``# extraction-lint: skip-file`` directive.
    skipped: bool = False
    #: Findings that a noqa comment suppressed (counted, not reported).
    suppressed: int = 0
    #: The result depends on the run, not only on the file (the per-file time budget ran
    #: out): it is reported but never cached.
    transient: bool = False
    #: Other modules of the project whose code the result depends on (SPEC 2.6), as
    #: (absolute path, digest of its bytes): the cached result holds while they do.
    dependencies: tuple[tuple[str, str], ...] = ()
