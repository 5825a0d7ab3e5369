"""Applying automatic fixes (``--fix``) and showing them (``--diff``)."""

from __future__ import annotations

import ast
import bisect
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


def _import_insertion(lines: Sequence[TopStatement], text: str) -> tuple[Edit, bool]:
    """Where a fix adds an import line, as libcst's and isort's import helpers place it:
    after the module's leading imports (those before its first other statement, the
    docstring aside), else after the docstring, else before the first statement; and
    whether a blank line must follow it (code right after it, not an import)."""
    index = 1 if lines and lines[0].kind == "docstring" else 0
    anchor = lines[0] if index else None
    while index < len(lines) and lines[index].kind == "import":
        anchor = lines[index]
        index += 1
    if anchor is not None:
        line = anchor.end + 1
    elif lines:
        line = lines[0].first
    else:
        line = text.count("\n") + 1
    following = lines[index] if index < len(lines) else None
    blank_after = following is not None and following.first == line and following.kind != "import"
    return Edit(line, 1, line, 1, ""), blank_after


def fix_edits(
    spec: FixSpec,
    positions: Mapping[cst.CSTNode, CodeRange],
    lines: Sequence[TopStatement],
    text: str,
) -> Fix:
    """The :class:`Fix` a rule's :class:`FixSpec` describes, as edits of ``text``: the
    node's replacement, and the import it needs among the module's imports (merged into
    an existing ``from M import ...`` when there is one)."""
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
    merged = None
    if spec.import_line is not None:
        imports = [(s.first, s.end) for s in lines if s.kind == "import"]
        merged = import_edit(text, spec.import_line, imports)
    if merged is not None:
        edits.insert(0, merged)
    elif spec.import_line is not None:
        at, blank_after = _import_insertion(lines, text)
        newline = "\r\n" if "\r\n" in text else "\n"
        content = spec.import_line + newline + (newline if blank_after else "")
        if at.line > text.count("\n") + 1 or (at.line == text.count("\n") + 1 and text):
            content = (newline if not text.endswith(("\n", "\r")) else "") + content
        edits.insert(0, replace(at, content=content))
    return Fix(spec.message, tuple(edits), spec.applicability)


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
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


_FROM_IMPORT = re.compile(
    r"from\s+(?P<module>[\w.]+)\s+import\s+(?P<name>\w+)(?:\s+as\s+(?P<alias>\w+))?\s*\Z"
)


def import_edit(text: str, import_line: str, imports: Sequence[tuple[int, int]]) -> Edit | None:
    """The edit that adds the name ``import_line`` (``from M import N [as A]``) imports to
    an existing top-level ``from M import ...`` of ``text``, where isort would put it (at
    the end when the names are not sorted), in the statement's layout (one name per line
    stays one name per line). None when there is no such statement to merge into.

    ``imports`` are the (first, last) lines of the module's top-level import statements.
    The statements are read with the interpreter's parser, one by one: no tree of the
    whole module is built again.
    """
    match = _FROM_IMPORT.match(import_line)
    if match is None:
        return None
    lines = text.splitlines(keepends=True)
    for first, last in reversed(imports):
        snippet = "".join(lines[first - 1 : last])
        try:
            tree = ast.parse(snippet)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if len(tree.body) != 1:
            continue
        statement = tree.body[0]
        if not (
            isinstance(statement, ast.ImportFrom)
            and statement.level == 0
            and statement.module == match["module"]
            and statement.names[0].name != "*"
        ):
            continue
        return _merged_name(lines, first, statement, match["name"], match["alias"])
    return None


def _merged_name(
    lines: list[str], first: int, statement: ast.ImportFrom, name: str, alias: str | None
) -> Edit:
    names = statement.names
    keys = [_name_key(a.name) for a in names]
    position = bisect.bisect(keys, _name_key(name)) if keys == sorted(keys) else len(names)
    added = f"{name} as {alias}" if alias else name
    one_per_line = len({a.lineno for a in names}) == len(names) and names[0].lineno > 1
    if position < len(names):  # before a name
        at = names[position]
        line, offset = at.lineno, at.col_offset
        if one_per_line:
            indent = _character_column(lines[first + line - 2], offset) - 1
            content = f"{added},{_newline(lines)}{' ' * indent}"
        else:
            content = f"{added}, "
    else:  # after the last name
        at = names[-1]
        line, offset = at.end_lineno or at.lineno, at.end_col_offset or 0
        if one_per_line:
            start = names[-1]
            indent = _character_column(lines[first + start.lineno - 2], start.col_offset) - 1
            content = f",{_newline(lines)}{' ' * indent}{added}"
        else:
            content = f", {added}"
    number = first + line - 1
    column = _character_column(lines[number - 1], offset)
    return Edit(number, column, number, column, content)


def _newline(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _character_column(line: str, byte_offset: int) -> int:
    """The 1-based character column of a UTF-8 byte offset in ``line`` (ast counts bytes)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


def _name_key(name: str) -> tuple[int, str]:
    """isort's (and Ruff's) order of imported names: constants, classes, the rest."""
    if len(name) > 1 and name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of an offset."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1
