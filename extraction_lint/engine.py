"""The per-file engine: bytes in, a :class:`FileResult` out, never an exception.

The pipeline: decode and honour the skip directive; the interpreter's parser checks the
syntax (source.py); the prefilter (prefilter.py) decides whether a rule can fire; if so,
the definitions that can matter are parsed once with libcst (sparse.py), analysed once,
and handed to every enabled rule; findings are located (positions.py) and noqa comments
applied (suppression.py). Nothing is kept between files.
"""

from __future__ import annotations

import ast
import functools
import stat
from pathlib import Path

from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.diagnostics import FileError, FileResult
from extraction_lint.options import CheckOptions
from extraction_lint.positions import diagnostics_of, statement_lines
from extraction_lint.prefilter import Prefilter, Relevance
from extraction_lint.rules import RULES_BY_CODE, TREE_RULES, UNUSED_NOQA
from extraction_lint.rules.base import Finding
from extraction_lint.source import (
    ANALYSIS_RECURSION_LIMIT,
    SourceError,
    decode,
    parse,
    parse_checked,
    quick_syntax_check,
    recursion_limit,
    syntax_check,
)
from extraction_lint.sparse import sparse_source
from extraction_lint.suppression import apply_noqa, has_skip_file

__all__ = [
    "CheckOptions",
    "SourceError",
    "check_path",
    "check_source",
    "decode",
    "parse",
    "quick_syntax_check",
    "syntax_check",
]


_TREE_CODES = frozenset(r.code for r in TREE_RULES)


def check_path(path: Path, display: str, options: CheckOptions) -> FileResult:
    """Read and check one file."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            # A FIFO or a device would block the read or never end.
            return _error(display, "cannot read: not a regular file")
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return _error(display, f"cannot read: {reason}")
    return check_source(data, display, options)


def check_source(data: bytes, display: str, options: CheckOptions) -> FileResult:
    """Check the source bytes of one file reported as ``display``."""
    try:
        return _check(data, display, options)
    except RecursionError:
        return _error(display, "cannot check: code nested too deeply to analyse")
    except Exception as error:  # a bug must cost one file, not the run
        return _error(display, f"internal error while checking: {type(error).__name__}: {error}")


def _error(display: str, message: str, line: int = 1, column: int = 1) -> FileResult:
    return FileResult(path=display, error=FileError(display, message, line, column))


def _check(data: bytes, display: str, options: CheckOptions) -> FileResult:
    try:
        text = decode(data)
    except SourceError as error:
        return _error(display, error.message, error.line, error.column)
    if has_skip_file(text):
        return FileResult(path=display, skipped=True)
    rules = [RULES_BY_CODE[c]() for c in sorted(options.enabled) if c in _TREE_CODES]
    want_unused_noqa = UNUSED_NOQA in options.enabled
    prefilter = _prefilter_for(options.analysis, options.enabled) if options.prefilter else None
    try:
        if not rules or (prefilter is not None and not prefilter.text_may_match(text)):
            # No rule can fire: nothing to find, and nothing for a noqa comment to suppress.
            quick_syntax_check(text, display)
            return apply_noqa(text, display, [], want_unused_noqa)
        tree = syntax_check(text, display)
    except SourceError as error:
        return _error(display, error.message, error.line, error.column)
    source, outside = text, None
    if prefilter is not None:
        relevance = _relevance(prefilter, text, tree)
        if relevance is None:
            return apply_noqa(text, display, [], want_unused_noqa)
        sparse = sparse_source(text, tree, relevance)
        if sparse is not None:
            source, outside = sparse.text, sparse.outside
    lines = statement_lines(tree)
    del tree  # the libcst tree is next: do not hold both
    try:
        # Only the code that can matter; the rest can only hold libcst parse errors, which
        # a file in which a rule can fire is then spared (a rarity: libcst parses all the
        # syntax of the interpreter it runs on).
        module = parse_checked(source)
    except SourceError as error:
        # Valid Python that libcst cannot parse: checked all the same when no rule can
        # fire in it (so the result does not depend on the prefilter being on).
        if prefilter is not None or _may_match(options, text, syntax_check(text, display)):
            return _error(display, error.message, error.line, error.column)
        return apply_noqa(text, display, [], want_unused_noqa)
    findings: list[Finding] = []
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        analysis = ModuleAnalysis(module, options.analysis, outside)
        for rule in rules:
            findings.extend(rule.check(analysis))
        diagnostics = diagnostics_of(analysis, findings, display, lines, text)
    return apply_noqa(text, display, diagnostics, want_unused_noqa)


@functools.lru_cache(maxsize=8)
def _prefilter_for(settings: AnalysisSettings, enabled: frozenset[str]) -> Prefilter:
    return Prefilter(settings.catalog, enabled, settings.bounded_range_limit)


def _may_match(options: CheckOptions, text: str, tree: ast.Module) -> bool:
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return _prefilter_for(options.analysis, options.enabled).may_match(text, tree)


def _relevance(prefilter: Prefilter, text: str, tree: ast.Module) -> Relevance | None:
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return prefilter.relevance(text, tree)
