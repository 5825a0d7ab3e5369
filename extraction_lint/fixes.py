"""Applying automatic fixes (``--fix``) and showing them (``--diff``)."""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

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
    merged = import_edit(text, spec.import_line) if spec.import_line is not None else None
    if merged is not None:
        edits.insert(0, merged)
    elif spec.import_line is not None:
        at = _import_insertion(lines, text)
        newline = "\r\n" if "\r\n" in text else "\n"
        content = spec.import_line + newline
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


def import_edit(text: str, import_line: str) -> Edit | None:
    """The edit that makes ``text`` import what ``import_line`` (``from M import N [as A]``)
    names, made by libcst's own import helper: merged into an existing ``from M import ...``
    when there is one, else a new line after the module's leading imports. None when
    libcst cannot parse the module or the import is there already."""
    match = _FROM_IMPORT.match(import_line)
    if match is None:
        return None
    return _import_edit(text, match["module"], match["name"], match["alias"])


@functools.lru_cache(maxsize=4)
def _import_edit(text: str, module: str, name: str, alias: str | None) -> Edit | None:
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    try:
        tree = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, module, name, alias)
    try:
        changed = AddImportsVisitor(context).transform_module(tree)
        new = changed.visit(_SortAddedName(module, name, alias)).code
    except (cst.CSTValidationError, RecursionError, ValueError):
        return None
    if new == text:
        return None
    start = 0
    limit = min(len(text), len(new))
    while start < limit and text[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and text[len(text) - 1 - end] == new[len(new) - 1 - end]:
        end += 1
    old_end = len(text) - end
    content = new[start : len(new) - end]
    starts = _line_starts(text)
    line, column = _position(starts, start)
    end_line, end_column = _position(starts, old_end)
    return Edit(line, column, end_line, end_column, content)


def _name_key(name: str) -> tuple[int, str]:
    """isort's (and Ruff's) order of imported names: constants, classes, the rest."""
    if len(name) > 1 and name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def _alias_name(alias: Any) -> str:
    import libcst as cst

    return cst.helpers.get_full_name_for_node(alias.name) or ""


def _added_name_transformer() -> type[Any]:
    import libcst as cst

    class SortAddedName(cst.CSTTransformer):
        """Moves a name that libcst added to an existing ``from M import ...`` to where
        isort would put it (at the end when the names are not sorted), keeping the
        statement's comma style."""

        def __init__(self, module: str, name: str, alias: str | None) -> None:
            super().__init__()
            self.module, self.name, self.alias = module, name, alias

        def leave_ImportFrom(
            self, original: cst.ImportFrom, updated: cst.ImportFrom
        ) -> cst.ImportFrom:
            names = updated.names
            if isinstance(names, cst.ImportStar) or updated.relative or updated.module is None:
                return updated
            if cst.helpers.get_full_name_for_node(updated.module) != self.module:
                return updated
            if len(names) < 2:
                return updated
            added = [
                a
                for a in names
                if _alias_name(a) == self.name
                and (a.evaluated_alias if a.asname else None) == self.alias
            ]
            if len(added) != 1:
                return updated
            new = added[0]
            others = [a for a in names if a is not new]
            keys = [_name_key(_alias_name(a)) for a in others]
            position = (
                bisect.bisect(keys, _name_key(self.name)) if keys == sorted(keys) else len(others)
            )
            ordered = [*others[:position], new, *others[position:]]
            # A separator between two of the names, else the line break after the
            # parenthesis (one name per line), else a space.
            separators = [a.comma for a in others[:-1] if isinstance(a.comma, cst.Comma)]
            between: cst.Comma
            if separators:
                between = separators[0]
            elif updated.lpar is not None and isinstance(
                updated.lpar.whitespace_after, cst.ParenthesizedWhitespace
            ):
                between = cst.Comma(whitespace_after=updated.lpar.whitespace_after)
            else:
                between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            last_comma = others[-1].comma
            rebuilt = [
                a.with_changes(comma=between if i < len(ordered) - 1 else last_comma)
                for i, a in enumerate(ordered)
            ]
            return updated.with_changes(names=rebuilt)

    return SortAddedName


def _SortAddedName(module: str, name: str, alias: str | None) -> Any:
    return _added_name_transformer()(module, name, alias)


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of an offset."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1
