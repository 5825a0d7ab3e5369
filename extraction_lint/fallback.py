"""Valid files that libcst cannot parse are checked all the same (SPEC 2, EXL999).

A file the running interpreter compiles is valid: it is checked, never EXL999, whatever a
parser library thinks of it. Two fallbacks, tried in turn when libcst rejects such a file:

1. **Tabs.** The interpreter reads a tab in indentation as a move to the next multiple of 8
   columns, and accepts a file as long as the blocks are consistent that way; libcst's
   tokenizer rejects some of those files (``def f():\\n\\t with x:\\n\\t\\t pass``). Such a
   file is checked as the text with the indentation of each line expanded the interpreter's
   way, which has the same structure, with every position of the result mapped back to the
   columns of the original line. Only leading whitespace is expanded, and not on lines that
   start inside a string literal (their whitespace is the string's content); what lies
   after it is unchanged, so a column past the indentation moves by the difference in its
   length.
2. **Other libcst gaps** (rare constructs its parser does not know): the top-level
   statements that libcst cannot parse on their own are blanked (their lines kept, empty),
   and the rest of the file is checked. Findings inside a blanked statement are not seen.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, replace

from extraction_lint.diagnostics import Diagnostic, Edit, FileResult, Fix

#: The interpreter's tab stops in indentation.
TAB_SIZE = 8


@dataclass(frozen=True, slots=True)
class ExpandedLine:
    """A line whose indentation was expanded: the original and the expanded prefix."""

    original: str
    expanded: str

    def original_column(self, column: int) -> int:
        """The 1-based column in the original line of a 1-based column in the expanded one."""
        index = column - 1
        if index >= len(self.expanded):
            return index - len(self.expanded) + len(self.original) + 1
        width = 0
        for position, char in enumerate(self.original):
            width = (width // TAB_SIZE + 1) * TAB_SIZE if char == "\t" else width + 1
            if width > index:
                return position + 1
        return len(self.original) + 1


@dataclass(frozen=True, slots=True)
class Expansion:
    """A text with its indentation expanded, and how to map its columns back."""

    text: str
    lines: dict[int, ExpandedLine]

    def column(self, line: int, column: int) -> int:
        """The original column of (``line``, ``column``) of the expanded text."""
        expanded = self.lines.get(line)
        return column if expanded is None else expanded.original_column(column)


def _lines_inside_tokens(text: str) -> set[int]:
    """Lines (1-based) that start inside a token, such as a triple-quoted string."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            start, end = token.start[0], token.end[0]
            if end > start:
                inside.update(range(start + 1, end + 1))
    except (tokenize.TokenError, SyntaxError):
        return set()
    return inside


def expand_indentation(text: str) -> Expansion | None:
    """``text`` with tabs in the indentation of its lines expanded; None when it has none."""
    if "\t" not in text:
        return None
    lines = text.splitlines(keepends=True)
    inside = _lines_inside_tokens(text)
    expanded_lines: dict[int, ExpandedLine] = {}
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        body = line.lstrip(" \t")
        prefix = line[: len(line) - len(body)]
        if "\t" in prefix and number not in inside:
            spaces = prefix.expandtabs(TAB_SIZE)
            expanded_lines[number] = ExpandedLine(prefix, spaces)
            line = spaces + body
        out.append(line)
    if not expanded_lines:
        return None
    return Expansion("".join(out), expanded_lines)


def _edit(expansion: Expansion, edit: Edit) -> Edit:
    return replace(
        edit,
        column=expansion.column(edit.line, edit.column),
        end_column=expansion.column(edit.end_line, edit.end_column),
    )


def _diagnostic(expansion: Expansion, diagnostic: Diagnostic) -> Diagnostic:
    fix = diagnostic.fix
    return replace(
        diagnostic,
        column=expansion.column(diagnostic.line, diagnostic.column),
        end_column=expansion.column(diagnostic.end_line, diagnostic.end_column),
        related=tuple(
            replace(r, column=expansion.column(r.line, r.column)) for r in diagnostic.related
        ),
        fix=None
        if fix is None
        else Fix(fix.message, tuple(_edit(expansion, e) for e in fix.edits)),
    )


def map_back(expansion: Expansion, result: FileResult) -> FileResult:
    """A result of the expanded text with its positions in the original's columns."""
    return replace(result, diagnostics=tuple(_diagnostic(expansion, d) for d in result.diagnostics))


def check_expanded(
    data: bytes, text: str, check: Callable[[bytes], FileResult]
) -> FileResult | None:
    """Check ``text`` (decoded from ``data``) as its indentation expanded, with ``check``
    (bytes in, result out); None when it has no tab to expand or the expanded text cannot be
    checked either (the caller then reports its own error)."""
    expansion = expand_indentation(text)
    if expansion is None:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        encoded = expansion.text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeError):
        return None
    result = check(encoded)
    if result.error is not None:
        return None
    return map_back(expansion, result)


def blank_unparsable_statements(text: str) -> str | None:
    """``text`` with every top-level statement that libcst cannot parse on its own replaced
    by empty lines; None when there is none (or ``text`` is not valid Python)."""
    import libcst as cst

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = text.splitlines(keepends=True)
    failing: list[tuple[int, int]] = []
    for statement in tree.body:
        decorators = getattr(statement, "decorator_list", None)
        first = decorators[0].lineno if decorators else statement.lineno
        end = statement.end_lineno or statement.lineno
        try:
            cst.parse_module("".join(lines[first - 1 : end]))
        except RecursionError:
            return None
        except Exception:  # whatever libcst raises, the statement is a gap
            failing.append((first, end))
    if not failing:
        return None
    for first, end in failing:
        for index in range(first - 1, end):
            line = lines[index]
            lines[index] = line[len(line.rstrip("\r\n")) :]
    return "".join(lines)


def check_parsable_part(
    data: bytes, text: str, check: Callable[[bytes], FileResult]
) -> FileResult | None:
    """Check ``text`` (decoded from ``data``) with its unparsable top-level statements
    blanked; None when there is none or the rest cannot be checked either."""
    blanked = blank_unparsable_statements(text)
    if blanked is None:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        encoded = blanked.encode(encoding)
    except (SyntaxError, LookupError, UnicodeError):
        return None
    result = check(encoded)
    return None if result.error is not None else result


def check_despite_libcst(
    data: bytes, text: str, check: Callable[[bytes], FileResult]
) -> FileResult | None:
    """The result of a valid ``text`` that libcst rejected, by the fallbacks above in turn;
    None when neither applies (the caller then reports its own error)."""
    return check_expanded(data, text, check) or check_parsable_part(data, text, check)
