"""Applying automatic fixes (``--fix``) and showing them (``--diff``)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from extraction_lint.diagnostics import Edit, Fix

if TYPE_CHECKING:
    import libcst as cst
    from libcst.metadata import CodeRange

    from extraction_lint.positions import TopStatement
    from extraction_lint.rules.base import FixSpec

#: Line breaks as libcst counts them, so that fix positions match.
_NEWLINE = re.compile(r"\r\n?|\n")


def _import_insertion(lines: Sequence[TopStatement], text: str) -> Edit:
    """Where a fix adds an import line: after the last top-level import, else after the
    docstring, else before the first statement."""
    anchors = [s for s in lines if s.kind in {"import", "docstring"}]
    if anchors:
        line = max(s.end for s in anchors) + 1
    elif lines:
        line = lines[0].first
    else:
        line = text.count("\n") + 1
    return Edit(line, 1, line, 1, "")


def fix_edits(
    spec: FixSpec,
    positions: Mapping[cst.CSTNode, CodeRange],
    lines: Sequence[TopStatement],
    text: str,
) -> Fix:
    """The :class:`Fix` a rule's :class:`FixSpec` describes, as edits of ``text``: the
    node's replacement, and the import it needs among the module's imports."""
    where = positions[spec.node]
    edits = [
        Edit(
            where.start.line,
            where.start.column + 1,
            where.end.line,
            where.end.column + 1,
            spec.replacement,
        )
    ]
    if spec.import_line is not None:
        at = _import_insertion(lines, text)
        newline = "\r\n" if "\r\n" in text else "\n"
        content = spec.import_line + newline
        if at.line > text.count("\n") + 1 or (at.line == text.count("\n") + 1 and text):
            content = (newline if not text.endswith(("\n", "\r")) else "") + content
        edits.insert(0, replace(at, content=content))
    return Fix(spec.message, tuple(edits))


@dataclass(frozen=True)
class Fixed:
    """The text after fixing, and how many fixes went in."""

    text: str
    applied: int


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line > len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def apply_fixes(text: str, fixes: Iterable[Fix]) -> Fixed:
    """Apply every fix whose edits do not overlap a fix applied before it.

    Identical edits of several fixes (the same import added twice) are made once.
    """
    starts = _line_starts(text)
    taken: list[tuple[int, int, str]] = []  # (start, end, content) of accepted edits
    applied = 0
    for fix in fixes:
        spans = [
            (
                _offset(starts, text, e.line, e.column),
                _offset(starts, text, e.end_line, e.end_column),
                e.content,
            )
            for e in fix.edits
        ]
        new = [span for span in spans if span not in taken]
        if any(_overlaps(span, other) for span in new for other in taken):
            continue
        taken.extend(new)
        applied += 1
    out = text
    for start, end, content in sorted(taken, key=lambda s: (s[0], s[1]), reverse=True):
        out = out[:start] + content + out[end:]
    return Fixed(out, applied)


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    """Whether two edits touch the same text (two insertions never do)."""
    (a_start, a_end, _), (b_start, b_end, _) = a, b
    if a_start == a_end and b_start == b_end:
        return False
    if a_start == a_end:
        return b_start < a_start < b_end
    if b_start == b_end:
        return a_start < b_start < a_end
    return a_start < b_end and b_start < a_end


def unified_diff(path: str, before: str, after: str) -> str:
    """The change as a unified diff, as ``git diff`` would show it."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
