"""From bytes to a syntax-checked module: decoding (PEP 263), the interpreter's verdict on
the syntax, and libcst's parse of what it accepted."""

from __future__ import annotations

import _symtable
import ast
import codecs
import contextlib
import io
import re
import sys
import tokenize
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst

__all__ = [
    "ANALYSIS_RECURSION_LIMIT",
    "SourceError",
    "decode",
    "for_libcst",
    "parse",
    "parse_checked",
    "quick_syntax_check",
    "recursion_limit",
    "syntax_check",
]

#: The syntax check runs under Python's default recursion limit, which makes the
#: interpreter's parser reject code nested deeply enough to overflow libcst's native parser
#: (a segmentation fault, not an exception). What passes it can still be deeper than the
#: default limit allows to walk, so the analysis runs under a higher one.
SYNTAX_CHECK_RECURSION_LIMIT = 1_000
#: A little lower, so that the symbol table gives up on nesting before ``ast.parse`` does.
QUICK_CHECK_RECURSION_LIMIT = 990
ANALYSIS_RECURSION_LIMIT = 20_000


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Run the block under the interpreter recursion limit ``limit``."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


class SourceError(Exception):
    """A file that cannot be turned into a module; the message says why."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def decode(data: bytes) -> str:
    """Decode source bytes by their BOM or coding cookie (PEP 263); UTF-8 by default.

    Raises :class:`SourceError` with a readable reason: an unknown codec, a codec that is
    not a text encoding (``hex``, ``zlib``), or bytes the codec refuses (``punycode``).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot decode: {error.msg if error.msg else error}") from None
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise SourceError(
            f"cannot decode: unknown encoding {encoding!r} in the coding declaration"
        ) from None
    if not getattr(codec, "_is_text_encoding", True):
        raise SourceError(
            f"cannot decode: {encoding!r} (the coding declaration) is not a text encoding"
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start : error.start + 1].hex()
        raise SourceError(
            f"cannot decode as {encoding}: invalid byte 0x{byte} on line {line}", line
        ) from None
    except (UnicodeError, LookupError, ValueError, TypeError) as error:
        # Codecs that fail otherwise (``punycode``, ``idna``), whatever they raise.
        raise SourceError(f"cannot decode as {encoding}: {error}") from None


def syntax_check(text: str, display: str) -> ast.Module:
    """Parse with the interpreter's parser; raise :class:`SourceError` on invalid code."""
    try:
        with warnings.catch_warnings(), recursion_limit(SYNTAX_CHECK_RECURSION_LIMIT):
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=display)
    except SyntaxError as error:
        raise SourceError(
            f"cannot parse: {error.msg}", error.lineno or 1, error.offset or 1
        ) from None
    except (RecursionError, MemoryError):
        raise SourceError("cannot parse: code nested too deeply") from None
    except ValueError as error:  # null bytes
        raise SourceError(f"cannot parse: {error}") from None


def quick_syntax_check(text: str, display: str) -> None:
    """:func:`syntax_check`'s verdict, for a file whose tree is not needed.

    The interpreter's parser builds its tree in C either way; turning it into Python
    objects is most of the cost of ``ast.parse``. Building the symbol table from the C tree
    instead takes 60% of the time. The symbol table refuses more (``nonlocal`` at module
    level, a too deep nesting under its lower limit), so whatever it refuses is decided by
    :func:`syntax_check`: the verdict is always the one ``ast.parse`` gives.
    """
    try:
        with warnings.catch_warnings(), recursion_limit(QUICK_CHECK_RECURSION_LIMIT):
            warnings.simplefilter("ignore")
            _symtable.symtable(text, display, "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        syntax_check(text, display)


def parse(text: str, display: str) -> cst.Module:
    """The libcst module of ``text``; raises :class:`SourceError` on anything unparsable."""
    syntax_check(text, display)
    return parse_checked(text)


def parse_checked(text: str) -> cst.Module:
    """The libcst module of ``text``, which :func:`syntax_check` has accepted."""
    import libcst as cst  # here, not at start-up (see engine.py)

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise SourceError(
            f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1
        ) from None


# --- What libcst's native parser is given ---------------------------------------------------

#: The longest flat chain (``and``/``or`` operands, parts of a dotted import) handed to
#: libcst. Its parser recurses once per operand (about 1 KiB of stack each, so a main
#: thread's 8 MiB overflow near 8,000: a segmentation fault); the check runs on a thread
#: whose stack holds 50 times this (see :mod:`extraction_lint.budget`), and the parse of
#: a chain this long takes seconds.
MAX_CHAIN = 10_000
#: libcst refuses an implicit concatenation of more than about 3,000 string literals (a
#: parse error, for valid code): the parts after the first of a longer one are blanked.
MAX_STRING_PARTS = 1_000

_BOOLEAN_WORD = re.compile(r"\b(?:and|or)\b")
_STRING_TOKENS = frozenset({tokenize.STRING})
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_SKIPPED_BETWEEN_PARTS = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE})


def for_libcst(source: str, imports: Iterable[ast.Import | ast.ImportFrom]) -> str:
    """``source`` as libcst's parser can take it, or :class:`SourceError` when it cannot.

    Refuses a flat chain longer than :data:`MAX_CHAIN` (``imports``: the import statements
    of the file, from the interpreter's tree); shortens implicit concatenations of more than
    :data:`MAX_STRING_PARTS` string literals to their first literal, keeping every other
    line and column where it is. Both tests start with a count over the text, so an
    ordinary file costs next to nothing.
    """
    for statement in imports:
        names = [alias.name for alias in statement.names]
        if isinstance(statement, ast.ImportFrom) and statement.module:
            names.append(statement.module)
        for name in names:
            parts = name.count(".") + 1
            if parts > MAX_CHAIN:
                raise SourceError(
                    f"cannot check: a dotted name of {parts} parts (at most {MAX_CHAIN} can be "
                    "analysed)",
                    statement.lineno,
                    statement.col_offset + 1,
                )
    if len(_BOOLEAN_WORD.findall(source)) >= MAX_CHAIN:
        _refuse_long_boolean_chains(source)
    if source.count('"') + source.count("'") >= 2 * MAX_STRING_PARTS:
        source = _shorten_concatenations(source)
    return source


def _refuse_long_boolean_chains(source: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and len(node.values) > MAX_CHAIN:
            word = "and" if isinstance(node.op, ast.And) else "or"
            raise SourceError(
                f"cannot check: a chain of {len(node.values)} `{word}` operands (at most "
                f"{MAX_CHAIN} can be analysed)",
                node.lineno,
                node.col_offset + 1,
            )


def _shorten_concatenations(source: str) -> str:
    """Blank the literals after the first of each too long implicit concatenation."""
    runs: list[list[tuple[tuple[int, int], tuple[int, int]]]] = []
    run: list[tuple[tuple[int, int], tuple[int, int]]] = []
    depth = 0  # brackets
    fstring_start: tuple[int, int] | None = None
    fstring_depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = token.type
            if _FSTRING_START is not None and kind == _FSTRING_START:
                if fstring_depth == 0:
                    fstring_start = token.start
                fstring_depth += 1
                continue
            if fstring_depth:
                if kind == _FSTRING_END:
                    fstring_depth -= 1
                    if fstring_depth == 0 and fstring_start is not None:
                        run.append((fstring_start, token.end))
                continue
            if kind in _STRING_TOKENS:
                run.append((token.start, token.end))
                continue
            if kind in _SKIPPED_BETWEEN_PARTS and (depth or kind == tokenize.COMMENT):
                continue
            if len(run) > MAX_STRING_PARTS:
                runs.append(run)
            run = []
            if kind == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        return source  # the syntax check has accepted it: leave it to libcst
    if len(run) > MAX_STRING_PARTS:
        runs.append(run)
    if not runs:
        return source
    lines = source.splitlines(keepends=True)
    for parts in runs:
        for (start_line, start_column), (end_line, end_column) in parts[1:]:
            if start_line != end_line:
                continue  # a literal over several lines: kept (blank lines would end it)
            line = lines[start_line - 1]
            lines[start_line - 1] = (
                line[:start_column] + " " * (end_column - start_column) + line[end_column:]
            )
    return "".join(lines)
