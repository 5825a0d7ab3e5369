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


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text from (line, column) up to (end_line, end_column), 1-based and end
    exclusive, by ``content`` (an insertion when the two positions are equal)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    """An automatic fix: what it does, and its edits (which never overlap)."""

    message: str
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {"message": self.message, "edits": [asdict(e) for e in self.edits]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fix:
        """Inverse of :meth:`to_dict`."""
        return cls(data["message"], tuple(Edit(**e) for e in data["edits"]))


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

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order of reporting within a run: path, position, code."""
        return (self.path, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC section 4."""
        data = asdict(self)
        data["related"] = [asdict(r) for r in self.related]
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
