"""From bytes to a syntax-checked module: decoding (PEP 263), the interpreter's verdict on
the syntax, and libcst's parse of what it accepted."""

from __future__ import annotations

import _symtable
import ast
import contextlib
import io
import sys
import tokenize
import warnings
from collections.abc import Iterator

import libcst as cst

__all__ = [
    "ANALYSIS_RECURSION_LIMIT",
    "SourceError",
    "decode",
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

    Raises :class:`SourceError` with a readable reason.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot decode: {error}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start : error.start + 1].hex()
        raise SourceError(
            f"cannot decode as {encoding}: invalid byte 0x{byte} on line {line}", line
        ) from None
    except LookupError:
        raise SourceError(f"cannot decode: unknown encoding {encoding!r}") from None


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
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise SourceError(
            f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1
        ) from None
