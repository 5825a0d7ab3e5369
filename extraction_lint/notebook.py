"""Jupyter notebooks (SPEC 3): the code cells of a ``.ipynb`` checked as one module.

The code cells are joined in order into one Python module, line for line, so that every
line of the module is one line of one cell: the engine, noqa comments and fixes work on
it as on any file, and positions are mapped back to ``(cell, line)`` afterwards. Cells are
numbered from 1 among all the notebook's cells, as Jupyter and Ruff show them.

IPython syntax is left out without moving a line: a line magic or shell escape (``%``,
``!``, ``?`` help) becomes ``pass`` at its indentation (``x = !ls`` becomes ``x = ...``),
and its continuation lines become blank; a cell magic (``%%bash``) leaves its cell out,
unless it runs its body as Python (``%%time``, ``%%capture``...), when only its first line
is blanked.

``--fix`` and ``--add-noqa`` write a notebook back by replacing, in the original text,
only the JSON values of the cells whose source changed: indentation, key order, escapes,
outputs and the trailing newline stay as they were. For formats that count the file's own
lines (SARIF, GitHub annotations), :class:`FilePositions` finds where a cell's line stands
in the notebook's JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from extraction_lint.diagnostics import Diagnostic, Edit, FileError, FileResult, Fix
from extraction_lint.discovery import NOTEBOOK_SUFFIX, is_notebook

__all__ = ["NOTEBOOK_SUFFIX", "check_notebook", "is_notebook"]


#: Cell magics whose body is Python run by IPython (the rest hold other languages).
PYTHON_CELL_MAGICS = frozenset(
    {"time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy"}
)

_NEWLINE = re.compile(r"\r\n|\r|\n")
_ASSIGNED_ESCAPE = re.compile(r"(?P<target>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)[%!]")
_HELP = re.compile(r"\?{1,2}[A-Za-z_]|[A-Za-z_][\w.]*\?{1,2}\s*\Z")


class NotebookError(Exception):
    """A file that is not a notebook this tool can read; the message says why."""


@dataclass(frozen=True, slots=True)
class CodeCell:
    """A code cell: its number among all cells (from 1), its position in ``cells`` (from
    0), and its source as the notebook holds it."""

    number: int
    position: int
    source: str


@dataclass(frozen=True, slots=True)
class CellLines:
    """Where a cell's lines stand in the module: module lines ``first .. first+count-1``."""

    number: int
    first: int
    count: int


@dataclass(frozen=True)
class NotebookModule:
    """The module made of a notebook's code cells, and the map back to the cells."""

    text: str
    cells: tuple[CellLines, ...]
    #: Module lines that hold IPython syntax in the cell (a fix must not touch them).
    escaped: frozenset[int]

    def locate(self, line: int) -> tuple[int, int]:
        """``(cell number, line in the cell)`` of a module line (1-based)."""
        if not self.cells:
            return 1, line
        found = self.cells[0]
        for cell in self.cells:
            if cell.first > line:
                break
            found = cell
        return found.number, line - found.first + 1

    def cell(self, number: int) -> CellLines | None:
        """The lines of the cell numbered ``number``, if it is in the module."""
        return next((c for c in self.cells if c.number == number), None)


# --- reading ---------------------------------------------------------------------------------


def load(data: bytes) -> dict[str, Any]:
    """The notebook's JSON; raises :class:`NotebookError` for anything that is not one."""
    try:
        notebook = json.loads(data)
    except UnicodeDecodeError as error:
        raise NotebookError(f"cannot read notebook: not UTF-8 JSON ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"cannot read notebook: invalid JSON: {error.msg} (line {error.lineno}, "
            f"column {error.colno})"
        ) from None
    except RecursionError:
        raise NotebookError("cannot read notebook: JSON nested too deeply") from None
    if not isinstance(notebook, dict):
        raise NotebookError("cannot read notebook: the top level is not a JSON object")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        if "worksheets" in notebook:
            raise NotebookError("cannot read notebook: nbformat 3 is not supported (convert it)")
        raise NotebookError("cannot read notebook: no `cells` list")
    return notebook


def code_cells(notebook: dict[str, Any]) -> list[CodeCell]:
    """The code cells of a loaded notebook, validated."""
    out = []
    for position, cell in enumerate(notebook["cells"]):
        number = position + 1
        if not isinstance(cell, dict):
            raise NotebookError(f"cannot read notebook: cell {number} is not a JSON object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            text = "".join(source)
        elif isinstance(source, str):
            text = source
        else:
            raise NotebookError(
                f"cannot read notebook: cell {number}: `source` must be a string or a list "
                "of strings"
            )
        out.append(CodeCell(number, position, text))
    return out


def is_python(notebook: dict[str, Any]) -> bool:
    """Whether the notebook's kernel runs Python (a notebook that does not say is)."""
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            return value[field].lower() == "python"
    return True


def split_lines(text: str) -> list[str]:
    """Lines without their breaks, counted as Python counts them (``\\r\\n``, ``\\r``, ``\\n``)."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --- IPython syntax --------------------------------------------------------------------------


class _Scanner:
    """Whether a line starts a new statement: not inside brackets or a string that an
    earlier line opened. A rough tokenizer; good enough to tell ``% b`` continuing an
    expression from a ``%magic``."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None  # an open triple-quoted string
        self.continued = False  # the previous line ended with a backslash

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            if self.quote is not None:
                end = line.find(self.quote, i)
                while end > 0 and line[end - 1] == "\\":
                    end = line.find(self.quote, end + 1)
                if end < 0:
                    break
                i = end + 3
                self.quote = None
                continue
            c = line[i]
            if c == "#":
                break
            if c in "\"'":
                if line.startswith(c * 3, i):
                    self.quote = c * 3
                    i += 3
                    continue
                i += 1
                while i < n and line[i] != c:
                    i += 2 if line[i] == "\\" else 1
                i += 1
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.continued = line.endswith("\\") and self.quote is None


def _escape_replacement(line: str) -> str | None:
    """The Python that stands for an IPython line, or None when it is plain Python."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith(("%", "!")) or _HELP.match(stripped):
        return indent + "pass"
    assigned = _ASSIGNED_ESCAPE.match(stripped)
    if assigned:
        return indent + assigned.group("target") + "..."
    return None


def python_lines(source: str) -> tuple[list[str], set[int]]:
    """A cell's lines with IPython syntax replaced, and the (0-based) lines replaced.

    A cell magic that does not run Python leaves the whole cell out: no lines.
    """
    lines = split_lines(source)
    replaced: set[int] = set()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(maxsplit=1)
        if not name or name[0] not in PYTHON_CELL_MAGICS:
            return [], set()
        lines[first] = ""
        replaced.add(first)
    scanner = _Scanner()
    continuing = False
    for index, line in enumerate(lines):
        if continuing:
            # The continuation of an escape ended by a backslash.
            continuing = line.endswith("\\")
            lines[index] = ""
            replaced.add(index)
            continue
        if scanner.at_statement_start():
            replacement = _escape_replacement(line)
            if replacement is not None:
                continuing = line.endswith("\\")
                lines[index] = replacement
                replaced.add(index)
                continue
        scanner.feed(line)
    return lines, replaced


def module_of(cells: Sequence[CodeCell]) -> NotebookModule:
    """The module of a notebook's code cells."""
    parts: list[str] = []
    spans: list[CellLines] = []
    escaped: set[int] = set()
    line = 1
    for cell in cells:
        lines, replaced = python_lines(cell.source)
        if not lines:
            continue
        spans.append(CellLines(cell.number, line, len(lines)))
        escaped.update(line + i for i in replaced)
        parts.extend(lines)
        line += len(lines)
    text = "\n".join(parts) + "\n" if parts else ""
    return NotebookModule(text, tuple(spans), frozenset(escaped))


# --- checking --------------------------------------------------------------------------------


def check_notebook(data: bytes, display: str, check: Callable[[bytes], FileResult]) -> FileResult:
    """Check a notebook's code cells as one module with ``check(source_bytes)`` (the
    engine), and report positions in cells."""
    try:
        notebook = load(data)
        cells = code_cells(notebook)
    except NotebookError as error:
        return FileResult(path=display, error=FileError(display, str(error)))
    if not is_python(notebook):
        return FileResult(path=display)
    module = module_of(cells)
    result = check(module.text.encode("utf-8"))
    return in_cells(result, module)


def in_cells(result: FileResult, module: NotebookModule) -> FileResult:
    """A result on the module, with every position moved to its cell."""
    error = result.error
    if error is not None:
        cell, line = module.locate(error.line)
        error = replace(error, line=line, cell=cell)
    diagnostics = tuple(_diagnostic_in_cells(d, module) for d in result.diagnostics)
    return replace(result, diagnostics=diagnostics, error=error)


def _diagnostic_in_cells(diagnostic: Diagnostic, module: NotebookModule) -> Diagnostic:
    cell, line = module.locate(diagnostic.line)
    end_cell, end_line = module.locate(diagnostic.end_line)
    end_column = diagnostic.end_column
    if end_cell != cell:  # never for one statement; keep the range inside its cell
        span = module.cell(cell)
        end_line = span.count if span is not None else line
        end_column = 1
    # Related locations in other modules (a helper's line, SPEC 2.6) stay as they are.
    related = tuple(
        replace(r, line=where[1], cell=where[0]) if r.path == diagnostic.path else r
        for r in diagnostic.related
        for where in (module.locate(r.line),)
    )
    fix = diagnostic.fix
    if fix is not None:
        fix = _fix_in_cells(fix, module)
    return replace(
        diagnostic,
        line=line,
        end_line=end_line,
        end_column=end_column,
        cell=cell,
        related=related,
        fix=fix,
    )


def _fix_in_cells(fix: Fix, module: NotebookModule) -> Fix | None:
    """A fix's edits moved to cells; None when an edit touches IPython syntax or spans
    two cells (there is no safe way to write that back)."""
    edits = []
    for edit in fix.edits:
        start, end = (edit.line, edit.column), (edit.end_line, edit.end_column)
        inserts_before_line = start == end and edit.column == 1
        touched = () if inserts_before_line else range(edit.line, edit.end_line + 1)
        if any(n in module.escaped for n in touched):
            return None
        last = module.cells[-1] if module.cells else None
        if last is not None and edit.line >= last.first + last.count:
            # Past the last line: the end of the last cell.
            line = edit.line - last.first + 1
            edits.append(replace(edit, line=line, end_line=line, cell=last.number))
            continue
        cell, line = module.locate(edit.line)
        end_cell, end_line = module.locate(edit.end_line)
        if end_cell != cell:
            return None
        content = edit.content
        if inserts_before_line and line == 1 and content[:1] in {"\n", "\r"}:
            # A line set off from the code before it: a cell is set off already.
            content = content[2:] if content.startswith("\r\n") else content[1:]
        edits.append(replace(edit, line=line, end_line=end_line, cell=cell, content=content))
    return replace(fix, edits=tuple(edits))


# --- source lines for --show-source ----------------------------------------------------------


def cell_source_lines(data: bytes, number: int) -> list[str] | None:
    """The lines of cell ``number`` as the notebook holds them; None if there is none."""
    try:
        notebook = load(data)
        cells = code_cells(notebook)
    except NotebookError:
        return None
    for cell in cells:
        if cell.number == number:
            return split_lines(cell.source)
    return None


# --- positions in the notebook's own text (SARIF, GitHub annotations) ----------------------


class FilePositions:
    """Where the lines of a notebook's cells stand in its JSON text, for formats whose
    positions are the file's own lines (a SARIF region, a GitHub annotation)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans = source_spans(text)
        self.ascii_only = text.isascii() and "\\u" in text
        self._cells: dict[int, tuple[list[tuple[int, str]], list[int]]] = {}

    @classmethod
    def of_file(cls, path: str) -> FilePositions | None:
        """The positions of the notebook at ``path``; None when it cannot be read."""
        try:
            with open(path, "rb") as handle:
                return cls(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, IndexError, RecursionError):
            return None  # changed since it was checked, or unreadable: the cell's positions

    def _cell(self, number: int) -> tuple[list[tuple[int, str]], list[int]] | None:
        """The cell's JSON strings (where each starts, what it holds) and the offsets in
        its source where its lines start."""
        if number in self._cells:
            return self._cells[number]
        span = self.spans.get(number - 1)
        if span is None:
            return None
        start, end = span
        if self.text.startswith('"', start):
            pieces = [(start, end)]
        else:
            pieces = list(_elements(self.text, start, json.JSONDecoder()))
        strings = [(s, json.loads(self.text[s:e])) for s, e in pieces]
        if not all(isinstance(value, str) for _, value in strings):
            return None
        source = "".join(value for _, value in strings)
        starts = [0, *(m.end() for m in _NEWLINE.finditer(source))]
        self._cells[number] = (strings, starts)
        return self._cells[number]

    def locate(self, cell: int, line: int, column: int) -> tuple[int, int] | None:
        """The file's ``(line, column)`` (1-based) of a position in a cell."""
        found = self._cell(cell)
        if found is None:
            return None
        strings, starts = found
        if not 1 <= line <= len(starts):
            return None
        offset = starts[line - 1] + column - 1
        consumed = 0
        for index, (position, value) in enumerate(strings):
            # An offset where one string ends and the next begins is the next one's start
            # (a line's first column), unless no string follows.
            if offset < consumed + len(value) or (
                offset == consumed + len(value) and index == len(strings) - 1
            ):
                inside = value[: offset - consumed]
                escaped = json.dumps(inside, ensure_ascii=self.ascii_only)[1:-1]
                at = position + 1 + len(escaped)
                line_start = self.text.rfind("\n", 0, at) + 1
                return self.text.count("\n", 0, at) + 1, at - line_start + 1
            consumed += len(value)
        return None


# --- writing fixes back ----------------------------------------------------------------------


def fixed_notebook(data: bytes, fixes: Iterable[Fix]) -> tuple[bytes | None, int]:
    """The notebook with ``fixes`` (in cell positions) applied, and how many went in.

    Only the ``source`` values of the changed cells are rewritten in the original bytes;
    None when nothing changed.
    """
    from extraction_lint.fixes import apply_fixes

    try:
        notebook = load(data)
        cells = {c.number: c for c in code_cells(notebook)}
    except NotebookError:
        return None, 0
    accepted: dict[int, list[Fix]] = {number: [] for number in cells}
    applied = 0
    for fix in fixes:
        # A fix may edit several cells (an import in the first, the loop in another): all
        # of its parts go in, or none. Identical edits of two fixes (the same import) are
        # made once, as in a file.
        parts: dict[int, list[Edit]] = {}
        for edit in fix.edits:
            if edit.cell is None or edit.cell not in cells:
                break
            parts.setdefault(edit.cell, []).append(edit)
        else:
            pieces = {
                number: _at_end_of(cells[number].source, replace(fix, edits=tuple(edits)))
                for number, edits in parts.items()
            }
            if all(
                apply_fixes(cells[n].source, [*accepted[n], piece]).applied == len(accepted[n]) + 1
                for n, piece in pieces.items()
            ):
                for number, piece in pieces.items():
                    accepted[number].append(piece)
                applied += 1
    sources = {
        number: apply_fixes(cells[number].source, chosen).text
        for number, chosen in accepted.items()
        if chosen
    }
    new = rewrite_cells(data, sources)
    return (new, applied) if new is not None else (None, 0)


def noqa_notebook(
    data: bytes, diagnostics: Iterable[Diagnostic]
) -> tuple[bytes | None, int, list[tuple[int, int, str]]]:
    """``--add-noqa`` for a notebook: the comments added on the lines of the cells (only
    those cells' sources rewritten), how many codes went in, and the ``(cell, line,
    reason)`` of lines that cannot hold a comment."""
    from extraction_lint.add_noqa import add_noqa

    try:
        cells = {c.number: c for c in code_cells(load(data))}
    except NotebookError:
        return None, 0, []
    by_cell: dict[int, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.cell in cells:
            by_cell.setdefault(diagnostic.cell, []).append(diagnostic)
    sources: dict[int, str] = {}
    added = 0
    refused: list[tuple[int, int, str]] = []
    for number, found in by_cell.items():
        edits = add_noqa(cells[number].source, found)
        added += edits.added
        refused.extend((number, line, reason) for line, reason in edits.refused)
        if edits.added:
            sources[number] = edits.text
    return rewrite_cells(data, sources), added, refused


def rewrite_cells(data: bytes, sources: Mapping[int, str]) -> bytes | None:
    """The notebook's bytes with the source of each cell numbered in ``sources`` replaced,
    and nothing else touched; None when nothing changes."""
    try:
        text = data.decode("utf-8")
        cells = {c.number: c for c in code_cells(load(data))}
    except (NotebookError, UnicodeDecodeError):
        return None
    replacements = {
        cells[number].position: source
        for number, source in sources.items()
        if number in cells and source != cells[number].source
    }
    if not replacements:
        return None
    spans = source_spans(text)
    out = text
    for position in sorted(replacements, reverse=True):
        span = spans.get(position)
        if span is None:
            return None
        start, end = span
        out = out[:start] + _source_json(text, start, end, replacements[position]) + out[end:]
    return out.encode("utf-8")


def _at_end_of(source: str, fix: Fix) -> Fix:
    """``fix`` with a line it inserts past the end of a cell whose last line has no line
    break (as Jupyter saves them) put on a line of its own, the cell still ending without
    one."""
    if source.endswith(("\n", "\r")) or not source:
        return fix
    past = len(split_lines(source)) + 1
    edits = tuple(
        replace(e, content="\n" + e.content.rstrip("\r\n"))
        if e.line >= past and (e.line, e.column) == (e.end_line, e.end_column)
        else e
        for e in fix.edits
    )
    return replace(fix, edits=edits)


def cell_diff(path: str, before: bytes, after: bytes) -> str:
    """The changed cells as unified diffs, each headed ``path:cell N`` (as Ruff shows them)."""
    from extraction_lint.fixes import unified_diff

    old = {c.number: c.source for c in code_cells(load(before))}
    out = []
    for cell in code_cells(load(after)):
        if old.get(cell.number, cell.source) != cell.source:
            out.append(unified_diff(f"{path}:cell {cell.number}", old[cell.number], cell.source))
    return "".join(out)


def _source_json(text: str, start: int, end: int, source: str) -> str:
    """``source`` as a JSON value laid out as the one at ``text[start:end]``: a string, or a
    list of lines with the same separators, escaping non-ASCII text as the file does."""
    ascii_only = text.isascii() and "\\u" in text
    original = text[start:end]
    if original.startswith('"'):
        return json.dumps(source, ensure_ascii=ascii_only)
    items = [json.dumps(line, ensure_ascii=ascii_only) for line in source.splitlines(True)]
    if not items:
        return "[]"
    elements = list(_elements(original, 0, json.JSONDecoder()))
    if elements:
        opening = original[1 : elements[0][0]]
        closing = original[elements[-1][1] : -1]
        if len(elements) >= 2:
            separator = original[elements[0][1] : elements[1][0]]
        else:
            separator = "," + opening if opening.strip() == "" and opening else ", "
    else:
        # An empty list shows no layout: nbformat's, one line per item, indented one step
        # more than the ``"source"`` key (three steps deep).
        line_start = text.rfind("\n", 0, start) + 1
        key_indent = len(text[line_start:start]) - len(text[line_start:start].lstrip(" "))
        step = max(1, key_indent // 3)
        opening = "\n" + " " * (key_indent + step)
        separator = "," + opening
        closing = "\n" + " " * key_indent
    return "[" + opening + separator.join(items) + closing + "]"


def source_spans(text: str) -> dict[int, tuple[int, int]]:
    """Where each cell's ``source`` value lies in the notebook's text: cell position ->
    (start, end) character offsets."""
    decoder = json.JSONDecoder()
    spans: dict[int, tuple[int, int]] = {}
    i = _skip_space(text, 0)
    if text[i : i + 1] != "{":
        return spans
    for key, start, _ in _members(text, i, decoder):
        if key != "cells":
            continue
        j = _skip_space(text, start)
        if text[j : j + 1] != "[":
            return spans
        for position, (cell_start, _) in enumerate(_elements(text, j, decoder)):
            if text[cell_start : cell_start + 1] != "{":
                continue
            for cell_key, value_start, value_end in _members(text, cell_start, decoder):
                if cell_key == "source":
                    spans[position] = (value_start, value_end)
        break
    return spans


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _members(text: str, i: int, decoder: json.JSONDecoder) -> Iterable[tuple[str, int, int]]:
    """``(key, value start, value end)`` of each member of the object at ``i``."""
    from json.decoder import scanstring  # type: ignore[attr-defined]

    i = _skip_space(text, i + 1)
    if text[i : i + 1] == "}":
        return
    while True:
        key, i = scanstring(text, i + 1)
        i = _skip_space(text, i)
        i = _skip_space(text, i + 1)  # the colon
        _, end = decoder.raw_decode(text, i)
        yield key, i, end
        i = _skip_space(text, end)
        if text[i : i + 1] != ",":
            return
        i = _skip_space(text, i + 1)


def _elements(text: str, i: int, decoder: json.JSONDecoder) -> Iterable[tuple[int, int]]:
    """``(start, end)`` of each element of the array at ``i``."""
    i = _skip_space(text, i + 1)
    if text[i : i + 1] == "]":
        return
    while True:
        _, end = decoder.raw_decode(text, i)
        yield i, end
        i = _skip_space(text, end)
        if text[i : i + 1] != ",":
            return
        i = _skip_space(text, i + 1)
