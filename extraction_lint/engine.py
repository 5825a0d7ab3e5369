"""The per-file engine: bytes in, a :class:`FileResult` out, never an exception.

The pipeline: decode and honour the skip directive; the interpreter's parser checks the
syntax (source.py); the prefilter (prefilter.py) decides, from what the enabled rules
declare they need, whether one can fire; if so, the definitions that can matter are
parsed once with libcst (sparse.py), analysed once, and handed to every enabled rule, on
a thread with a large stack and within the per-file time budget (budget.py); findings are
located (positions.py) and noqa comments applied (suppression.py). Nothing is kept
between files.
"""

from __future__ import annotations

import ast
import functools
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from extraction_lint.analysis.outline import class_table
from extraction_lint.analysis.project import Project, run_files_of
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.budget import run_bounded
from extraction_lint.diagnostics import FileError, FileResult
from extraction_lint.fallback import check_despite_libcst
from extraction_lint.options import CheckOptions
from extraction_lint.positions import diagnostics_of, statement_lines
from extraction_lint.prefilter import Prefilter, Relevance, import_statements
from extraction_lint.rules import RULES_BY_CODE, UNUSED_NOQA, tree_codes
from extraction_lint.rules.base import Finding, Rule
from extraction_lint.source import (
    ANALYSIS_RECURSION_LIMIT,
    SourceError,
    decode,
    for_libcst,
    parse,
    parse_checked,
    quick_syntax_check,
    recursion_limit,
    syntax_check,
)
from extraction_lint.suppression import apply_noqa, has_skip_file

if TYPE_CHECKING:
    # libcst is imported when a file needs a tree, not to check one in which no rule can
    # fire (most files of a pre-commit run): its import is most of the start-up time.
    from extraction_lint.analysis.model import OutsideFacts

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
    return check_source(data, display, options, path)


def check_source(
    data: bytes, display: str, options: CheckOptions, path: Path | None = None
) -> FileResult:
    """Check the source bytes of one file reported as ``display``; ``path``: where the file
    is, for following its imports into the project (SPEC 2.6)."""
    try:
        return _check(data, display, options, path)
    except RecursionError:
        return _error(display, "cannot check: code nested too deeply to analyse")
    except MemoryError:
        limit = options.file_memory
        message = "cannot check: ran out of memory while analysing this file"
        if limit:
            from extraction_lint.guardrails.units import format_bytes

            message += f" (per-file-memory is {format_bytes(limit)})"
        # Not cached: memory depends on the process and the setting, not on the file alone.
        return replace(_error(display, message), transient=True)
    except Exception as error:  # a bug must cost one file, not the run
        return _error(display, f"internal error while checking: {type(error).__name__}: {error}")


def _error(display: str, message: str, line: int = 1, column: int = 1) -> FileResult:
    return FileResult(path=display, error=FileError(display, message, line, column))


def project_for(options: CheckOptions) -> Project:
    """The project of this run (one per run and process: its modules are read once)."""
    if not options.run_id:
        return _new_project(options)
    key = (options.run_id, options.project_root, options.analysis)
    project = _PROJECTS.get(key)
    if project is None:
        _PROJECTS.clear()  # one run at a time
        project = _PROJECTS[key] = _new_project(options)
    return project


def _new_project(options: CheckOptions) -> Project:
    root = Path(options.project_root) if options.project_root is not None else None
    run_files = run_files_of(options.run_id) if options.run_id else ()
    return Project(root, options.analysis, run_files=run_files)


_PROJECTS: dict[tuple[str, str | None, AnalysisSettings], Project] = {}


def _check(data: bytes, display: str, options: CheckOptions, path: Path | None) -> FileResult:
    project = project_for(options)
    project.begin(None)
    try:
        result = _check_file(data, display, options, path, project)
    finally:
        used = project.end()
    if used and result.error is None:
        result = replace(result, dependencies=tuple(sorted(used.items())))
    return result


def _check_file(
    data: bytes, display: str, options: CheckOptions, path: Path | None, project: Project
) -> FileResult:
    try:
        text = decode(data)
    except SourceError as error:
        return _error(display, error.message, error.line, error.column)
    if has_skip_file(text):
        return FileResult(path=display, skipped=True)
    classes = tuple(RULES_BY_CODE[c] for c in sorted(options.enabled & tree_codes()))
    rules = [rule() for rule in classes]
    want_unused_noqa = UNUSED_NOQA in options.enabled
    prefilter = _prefilter_for(options.analysis, classes) if options.prefilter else None
    if prefilter is not None and prefilter.skips_nothing:
        prefilter = None  # a rule that does not say what it needs is run on every file
    follows_imports = project.root is not None and path is not None
    try:
        if not rules:
            quick_syntax_check(text, display)
            return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
        names_triggers = True
        if prefilter is not None and not prefilter.text_may_match(text):
            # No rule can fire, unless through a project function the file calls.
            if not follows_imports:
                quick_syntax_check(text, display)
                return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
            # Then one of another module that may load or write is called: by the outline
            # of these very bytes when another file's calls had it read (they parse, then),
            # else by the calls of the names it imports, found in the text.
            where = os.path.abspath(path) if path is not None else ""
            outline = project.outlined_from(where, text)
            if outline is not None:
                if not project.calls_that_load_or_write(outline):
                    return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
                tree = syntax_check(text, display)
            else:
                tree = syntax_check(text, display)
                if not _imported_calls_that_matter(project, tree, text, path, display):
                    return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
            names_triggers = False
        else:
            tree = syntax_check(text, display)
    except SourceError as error:
        return _error(display, error.message, error.line, error.column)
    source: str = text
    outside: OutsideFacts | None = None
    relevance: Relevance | None = None
    if prefilter is not None:
        # A call of a project function that loads, writes, grows or materialises is a
        # trigger (SPEC 2.6): judged where it is made, as a loader's or a sink's call, and
        # where the rules look, with the file's own triggers.
        calls = _call_flags(project, tree, text, path, display)
        may_match = False
        if names_triggers or calls:
            may_match, relevance = _scan(prefilter, text, tree, calls)
        if not may_match:
            return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
    if relevance is not None and not relevance.keep_all:
        from extraction_lint.sparse import sparse_source

        sparse = sparse_source(text, tree, relevance)
        if sparse is not None:
            source, outside = sparse.text, sparse.outside
    lines = statement_lines(tree)
    imports = relevance.imports if relevance is not None else tuple(import_statements(tree))
    classes_of = class_table(tree) if outside is not None else None
    del tree  # the libcst tree is next: do not hold both
    prefiltered = relevance is not None and not relevance.keep_all

    def analyse() -> FileResult:
        try:
            # Only the code that can matter; the rest can only hold libcst parse errors,
            # which a file in which a rule can fire is then spared (a rarity: libcst parses
            # all the syntax of the interpreter it runs on).
            with recursion_limit(ANALYSIS_RECURSION_LIMIT):
                module = parse_checked(for_libcst(source, imports))
        except SourceError as error:
            # Valid Python that libcst rejects (a legal mix of tabs and spaces, a construct
            # it does not know) is checked all the same (fallback.py).
            checked = check_despite_libcst(
                data, text, lambda b: _check_file(b, display, options, path, project)
            )
            if checked is not None:
                return checked
            # Valid Python that libcst cannot parse: checked all the same when no rule can
            # fire in it (so the result does not depend on the prefilter being on).
            if prefiltered or _may_match(options, text, syntax_check(text, display)):
                return _error(display, error.message, error.line, error.column)
            return apply_noqa(text, display, [], want_unused_noqa, options.enabled)
        from extraction_lint.analysis.module import ModuleAnalysis

        findings: list[Finding] = []
        with recursion_limit(ANALYSIS_RECURSION_LIMIT):
            analysis = ModuleAnalysis(
                module,
                options.analysis,
                outside,
                project=project,
                path=os.path.abspath(path) if path is not None else "",
                display=display,
                full_text=text,
                classes=classes_of,
            )
            for rule in rules:
                findings.extend(rule.check(analysis))
            diagnostics = diagnostics_of(analysis, findings, display, lines, text)
            analysis.release()
        return apply_noqa(text, display, diagnostics, want_unused_noqa, options.enabled)

    finished, result = run_bounded(analyse, options.file_timeout)
    if not finished or result is None:
        message = (
            f"cannot check: not finished within the per-file time budget of "
            f"{options.file_timeout:g} s (per-file-timeout)"
        )
        return replace(_error(display, message), transient=True)
    return result


@functools.lru_cache(maxsize=8)
def _prefilter_for(settings: AnalysisSettings, rules: tuple[type[Rule], ...]) -> Prefilter:
    return Prefilter(settings.catalog, [r.code for r in rules], settings.bounded_range_limit)


def _may_match(options: CheckOptions, text: str, tree: ast.Module) -> bool:
    classes = tuple(RULES_BY_CODE[c] for c in sorted(options.enabled & tree_codes()))
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return _prefilter_for(options.analysis, classes).may_match(text, tree)


def _imported_calls_that_matter(
    project: Project, tree: ast.Module, text: str, path: Path | None, display: str
) -> list[int]:
    """The lines where the file calls another module's function that may load or write
    (see :meth:`Project.imported_calls_that_matter`): the prefilter's verdict does not
    hold then."""
    where = os.path.abspath(path) if path is not None else ""
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return project.imported_calls_that_matter(tree, text, where, display)


def _call_flags(
    project: Project, tree: ast.Module, text: str, path: Path | None, display: str
) -> dict[int, frozenset[str]]:
    """Line -> what the project functions the file calls there may do (see
    :meth:`Project.call_flags`)."""
    where = os.path.abspath(path) if path is not None else ""
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return project.call_flags(tree, text, where, display)


def _scan(
    prefilter: Prefilter,
    text: str,
    tree: ast.Module,
    project_calls: dict[int, frozenset[str]] | None = None,
) -> tuple[bool, Relevance]:
    """The prefilter's verdict, and where the rules can look in any case."""
    if prefilter.skips_nothing:
        return True, Relevance([], frozenset(), (), keep_all=True)
    with recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return prefilter.scan(text, tree, project_calls)
