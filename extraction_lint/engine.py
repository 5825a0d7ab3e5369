"""The per-file engine: bytes in, a :class:`FileResult` out, never an exception.

Each file is decoded and checked for the skip directive. The interpreter's own parser
then checks its syntax (which also guards libcst's native parser against input nested
deeply enough to overflow its stack). The prefilter (prefilter.py) decides whether a rule
can fire; if so, the definitions that can matter are parsed once with libcst (sparse.py),
analysed once, and handed to every enabled rule. Positions are computed only for files
with findings. Nothing is kept between files.
"""

from __future__ import annotations

import _symtable
import ast
import contextlib
import functools
import io
import os
import stat
import sys
import tokenize
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from extraction_lint.analysis.outline import class_table
from extraction_lint.analysis.project import Project
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import Link
from extraction_lint.baseline import with_fingerprints
from extraction_lint.diagnostics import (
    Diagnostic,
    Edit,
    FileError,
    FileResult,
    Fix,
    RelatedLocation,
)
from extraction_lint.fixes import import_edit
from extraction_lint.options import CheckOptions
from extraction_lint.prefilter import Prefilter, Relevance
from extraction_lint.rules import FILE_NOT_CHECKED, RULES_BY_CODE, TREE_RULES, UNUSED_NOQA

__all__ = ["CheckOptions", "check_path", "check_source", "decode", "parse", "syntax_check"]
from extraction_lint.fallback import check_despite_libcst
from extraction_lint.rules.base import Finding, FixSpec

if TYPE_CHECKING:
    # libcst is imported when a file needs a tree, not to check one in which no rule can
    # fire (most files of a pre-commit run): its import is most of the start-up time.
    import libcst as cst
    from libcst.metadata import CodeRange

    from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.suppression import Noqa, find_noqa, has_skip_file, might_have_noqa

#: The syntax check runs under Python's default recursion limit, which makes the
#: interpreter's parser reject code nested deeply enough to overflow libcst's native parser
#: (a segmentation fault, not an exception). What passes it can still be deeper than the
#: default limit allows to walk, so the analysis runs under a higher one.
SYNTAX_CHECK_RECURSION_LIMIT = 1_000
#: A little lower, so that the symbol table gives up on nesting before ``ast.parse`` does.
QUICK_CHECK_RECURSION_LIMIT = 990
ANALYSIS_RECURSION_LIMIT = 20_000


@contextlib.contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


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
    except Exception as error:  # a bug must cost one file, not the run
        return _error(display, f"internal error while checking: {type(error).__name__}: {error}")


def _error(display: str, message: str, line: int = 1, column: int = 1) -> FileResult:
    return FileResult(path=display, error=FileError(display, message, line, column))


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


class SourceError(Exception):
    """A file that cannot be turned into a module; the message says why."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def syntax_check(text: str, display: str) -> ast.Module:
    """Parse with the interpreter's parser; raise :class:`SourceError` on invalid code."""
    try:
        with warnings.catch_warnings(), _recursion_limit(SYNTAX_CHECK_RECURSION_LIMIT):
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
        with warnings.catch_warnings(), _recursion_limit(QUICK_CHECK_RECURSION_LIMIT):
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
    import libcst as cst

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise SourceError(
            f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1
        ) from None


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
    return Project(root, options.analysis)


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
    rules = [RULES_BY_CODE[c]() for c in sorted(options.enabled) if c in _TREE_CODES]
    want_unused_noqa = UNUSED_NOQA in options.enabled
    prefilter = _prefilter_for(options.analysis, options.enabled) if options.prefilter else None
    follows_imports = project.root is not None and path is not None
    try:
        if not rules:
            quick_syntax_check(text, display)
            return _suppress(text, display, [], want_unused_noqa, options.enabled)
        if prefilter is not None and not prefilter.text_may_match(text):
            # No rule can fire, unless through a project function the file calls.
            if not follows_imports:
                quick_syntax_check(text, display)
                return _suppress(text, display, [], want_unused_noqa, options.enabled)
            tree = syntax_check(text, display)
            if not _calls_may_matter(project, tree, text, path, display, names_triggers=False):
                return _suppress(text, display, [], want_unused_noqa, options.enabled)
            prefilter = None
        else:
            tree = syntax_check(text, display)
    except SourceError as error:
        return _error(display, error.message, error.line, error.column)
    source, outside = text, None
    if prefilter is not None:
        relevance = _relevance(prefilter, text, tree)
        if relevance is None:
            # A call of a function that loads or writes is a trigger (SPEC 2.6): of this
            # module, or of another module of the project.
            if not _calls_may_matter(project, tree, text, path, display, names_triggers=True):
                return _suppress(text, display, [], want_unused_noqa, options.enabled)
            relevance = None
            prefilter = None
        from extraction_lint.sparse import sparse_source

        sparse = sparse_source(text, tree, relevance) if relevance is not None else None
        if sparse is not None:
            source, outside = sparse.text, sparse.outside
    lines = statement_lines(tree)
    classes = class_table(tree) if outside is not None else None
    del tree  # the libcst tree is next: do not hold both
    try:
        # Only the code that can matter; the rest can only hold libcst parse errors, which
        # a file in which a rule can fire is then spared (a rarity: libcst parses all the
        # syntax of the interpreter it runs on).
        module = parse_checked(source)
    except SourceError as error:
        # Valid Python that libcst rejects (a legal mix of tabs and spaces, a construct it
        # does not know) is checked all the same (fallback.py).
        checked = check_despite_libcst(
            data, text, lambda b: _check_file(b, display, options, path, project)
        )
        if checked is not None:
            return checked
        # Valid Python that libcst cannot parse: checked all the same when no rule can
        # fire in it (so the result does not depend on the prefilter being on).
        if prefilter is not None or _may_match(options, text, syntax_check(text, display)):
            return _error(display, error.message, error.line, error.column)
        return _suppress(text, display, [], want_unused_noqa, options.enabled)
    from extraction_lint.analysis.module import ModuleAnalysis

    findings: list[Finding] = []
    with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
        analysis = ModuleAnalysis(
            module,
            options.analysis,
            outside,
            project=project,
            path=os.path.abspath(path) if path is not None else "",
            display=display,
            full_text=text,
            classes=classes,
        )
        for rule in rules:
            findings.extend(rule.check(analysis))
        diagnostics = _locate(analysis, findings, display, lines, text) if findings else []
    return _suppress(text, display, diagnostics, want_unused_noqa, options.enabled)


@functools.lru_cache(maxsize=8)
def _prefilter_for(settings: AnalysisSettings, enabled: frozenset[str]) -> Prefilter:
    return Prefilter(settings.catalog, enabled, settings.bounded_range_limit)


def _may_match(options: CheckOptions, text: str, tree: ast.Module) -> bool:
    with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return _prefilter_for(options.analysis, options.enabled).may_match(text, tree)


def _calls_may_matter(
    project: Project,
    tree: ast.Module,
    text: str,
    path: Path | None,
    display: str,
    *,
    names_triggers: bool,
) -> bool:
    """Whether the file calls a project function that may load or write (see
    :meth:`Project.calls_may_matter`): the prefilter's verdict does not hold then."""
    where = os.path.abspath(path) if path is not None else ""
    with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return project.calls_may_matter(tree, text, where, display, names_triggers=names_triggers)


def _relevance(prefilter: Prefilter, text: str, tree: ast.Module) -> Relevance | None:
    with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
        return prefilter.relevance(text, tree)


_TREE_CODES = frozenset(r.code for r in TREE_RULES)


def _positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Every node's range, from one code generation pass over the module.

    ``MetadataWrapper.resolve`` would also walk the whole tree once more for batchable
    providers, which position computing does not need; on a large file that walk costs as
    much as the positions themselves. The wrapper is the fallback should libcst change.
    """
    from libcst.metadata import MetadataWrapper, PositionProvider

    provider = PositionProvider()
    try:
        provider._gen_impl(module)
        return provider._computed  # type: ignore[return-value]
    except AttributeError:  # pragma: no cover - depends on libcst internals
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


@dataclass(frozen=True, slots=True)
class TopStatement:
    """Where a top-level statement of the interpreter's tree stands: its first line (a
    decorated definition's first decorator), its own line, its last line, and whether it
    is an import or the module's docstring (where a fix may add an import after it)."""

    first: int
    own: int
    end: int
    kind: str  # "import", "docstring" or "other"


def statement_lines(tree: ast.Module) -> list[TopStatement]:
    """The :class:`TopStatement` of each top-level statement, in order."""
    lines = []
    for index, statement in enumerate(tree.body):
        decorators = getattr(statement, "decorator_list", None)
        first = decorators[0].lineno if decorators else statement.lineno
        if isinstance(statement, ast.Import | ast.ImportFrom):
            kind = "import"
        elif (
            index == 0
            and isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            kind = "docstring"
        else:
            kind = "other"
        end = statement.end_lineno or statement.lineno
        lines.append(TopStatement(first, statement.lineno, end, kind))
    return lines


def _import_insertion(lines: list[TopStatement], text: str) -> tuple[Edit, bool]:
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


def _statement_positions(
    module: cst.Module, needed: Iterable[int], lines: list[TopStatement]
) -> Mapping[cst.CSTNode, CodeRange] | None:
    """Ranges of the nodes of the ``needed`` top-level statements only.

    Each statement is generated alone, starting from the line where its leading comments
    begin; where that is comes from the interpreter's tree. None when the two trees do not
    line up (the caller then computes positions for the whole module).
    """
    import libcst as cst
    from libcst.metadata import PositionProvider
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    starts: list[tuple[int, int]] = []
    consumed = 0
    for statement in module.body:
        if consumed >= len(lines):
            return None
        starts.append((lines[consumed].first, lines[consumed].own))
        consumed += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    if consumed != len(lines):
        return None
    provider = PositionProvider()
    for index in sorted(set(needed)):
        statement = module.body[index]
        first, own = starts[index]
        leading = len(statement.leading_lines)
        if isinstance(statement, cst.FunctionDef | cst.ClassDef) and statement.decorators:
            leading += len(statement.decorators[0].leading_lines)
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=provider,
            line=first - leading,
        )
        statement._codegen(state)
        computed = cast("CodeRange", provider._computed[statement])
        if computed.start.line not in (first, own):
            return None
    return provider._computed  # type: ignore[return-value]


def _fix(
    spec: FixSpec, positions: Mapping[cst.CSTNode, CodeRange], lines: list[TopStatement], text: str
) -> Fix:
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


def _locate(
    analysis: ModuleAnalysis,
    findings: list[Finding],
    display: str,
    lines: list[TopStatement],
    text: str,
) -> list[Diagnostic]:
    module = analysis.module
    nodes: list[cst.CSTNode] = []
    # The chains through project functions (SPEC 2.6): after the node they explain.
    chains = {
        id(f): [_chain_of(analysis, n) for n in (f.node, *(r.node for r in f.related))]
        for f in findings
    }
    chain_nodes = [
        link.node
        for f in findings
        for chain in chains[id(f)]
        for link in chain
        if link.node is not None
    ]
    for f in findings:
        nodes.extend((f.node, *(r.node for r in f.related)))
        nodes.extend(n for n in (f.end_node, f.fix.node if f.fix else None) if n is not None)
    nodes.extend(chain_nodes)
    # Findings and related locations point at nodes the analysis knows the statement of;
    # end nodes and fix nodes lie in the same statement as their finding.
    indexes = [
        analysis.top_level_index(n)
        for f in findings
        for n in (f.node, *(r.node for r in f.related))
    ]
    indexes.extend(analysis.top_level_index(n) for n in chain_nodes)
    positions: Mapping[cst.CSTNode, CodeRange] | None = None
    if None not in indexes:
        try:
            positions = _statement_positions(module, [i for i in indexes if i is not None], lines)
        except (AttributeError, KeyError, TypeError):  # libcst internals changed
            positions = None
    if positions is None or any(n not in positions for n in nodes):
        positions = _positions(module)
    out: list[Diagnostic] = []
    seen: set[tuple[str, int, int, str]] = set()
    for finding in findings:
        start = positions[finding.node].start
        end = positions[finding.end_node or finding.node].end
        key = (finding.code, start.line, start.column, finding.message)
        if key in seen:
            continue
        seen.add(key)
        related_list: list[RelatedLocation] = []
        own_chain, *related_chains = chains[id(finding)]
        _add_chain(related_list, own_chain, positions, display)
        for r, chain in zip(finding.related, related_chains, strict=True):
            where = positions[r.node].start
            related_list.append(RelatedLocation(display, where.line, where.column + 1, r.message))
            _add_chain(related_list, chain, positions, display)
        related = tuple(related_list)
        out.append(
            Diagnostic(
                code=finding.code,
                name=RULES_BY_CODE[finding.code].name,
                path=display,
                line=start.line,
                column=start.column + 1,
                end_line=end.line,
                end_column=end.column + 1,
                message=finding.message,
                related=related,
                fix=_fix(finding.fix, positions, lines, text) if finding.fix else None,
            )
        )
    return out


def _add_chain(
    related: list[RelatedLocation],
    chain: tuple[Link, ...],
    positions: Mapping[cst.CSTNode, CodeRange],
    display: str,
) -> None:
    """Append the locations of ``chain`` that are not there yet."""
    for link in chain:
        if link.node is not None:
            where = positions[link.node].start
            location = RelatedLocation(display, where.line, where.column + 1, link.message)
        else:
            location = RelatedLocation(link.path, link.line, link.column, link.message)
        if location not in related:
            related.append(location)


def _chain_of(analysis: ModuleAnalysis, node: cst.CSTNode) -> tuple[Link, ...]:
    """The links that explain ``node`` through project functions, minus the call itself
    when it is the node (its own location is already reported)."""
    chain = analysis.chains.get(id(node), ())
    return tuple(link for link in chain if link.node is not node)


def _codes_text(codes: list[str]) -> str:
    return ("code " if len(codes) == 1 else "codes ") + ", ".join(codes)


def _noqa_problems(comment: Noqa, used: set[str], enabled: frozenset[str]) -> str:
    """What is wrong with the extraction-lint codes of one noqa comment ('' if nothing)."""
    if comment.is_empty:
        return "`# noqa:` names no rule code, so it suppresses nothing; write `# noqa: EXL001`"
    codes = comment.own_codes
    unknown = [c for c in codes if c not in RULES_BY_CODE]
    unsuppressible = [c for c in codes if c == FILE_NOT_CHECKED]
    judged = [
        c
        for c in codes
        if c in RULES_BY_CODE and c not in used and c not in {FILE_NOT_CHECKED, UNUSED_NOQA}
    ]
    disabled = [c for c in judged if c not in enabled]
    unused = [c for c in judged if c in enabled]
    problems = []
    if unused:
        problems.append(
            f"unused `noqa` {_codes_text(unused)}: nothing on this line is reported as "
            f"{', '.join(unused)}; remove {'it' if len(unused) == 1 else 'them'} from the comment"
        )
    if disabled:
        problems.append(
            f"`noqa` names {_codes_text(disabled)} of "
            f"{'a rule' if len(disabled) == 1 else 'rules'} not enabled in this run, so it "
            "cannot tell whether the comment is still needed"
        )
    if unknown:
        problems.append(
            f"`noqa` names unknown {_codes_text(unknown)} (a noqa comment takes full rule "
            "codes, not prefixes)"
        )
    if unsuppressible:
        problems.append("EXL999 cannot be suppressed: fix the file so that it can be checked")
    return "; ".join(problems)


def _suppress(
    text: str,
    display: str,
    diagnostics: list[Diagnostic],
    want_unused_noqa: bool,
    enabled: frozenset[str],
) -> FileResult:
    if not diagnostics and not want_unused_noqa:
        return FileResult(path=display)
    noqa = find_noqa(text) if might_have_noqa(text) else {}
    kept: list[Diagnostic] = []
    used: dict[int, set[str]] = {}
    suppressed = 0
    for diagnostic in diagnostics:
        comment = noqa.get(diagnostic.line)
        if comment is not None and comment.suppresses(diagnostic.code):
            used.setdefault(diagnostic.line, set()).add(diagnostic.code)
            suppressed += 1
        else:
            kept.append(diagnostic)
    if want_unused_noqa:
        for line, comment in noqa.items():
            message = _noqa_problems(comment, used.get(line, set()), enabled)
            if message:
                kept.append(
                    Diagnostic(
                        code=UNUSED_NOQA,
                        name=RULES_BY_CODE[UNUSED_NOQA].name,
                        path=display,
                        line=line,
                        column=comment.column,
                        end_line=line,
                        end_column=comment.column + 6,
                        message=message,
                    )
                )
    kept.sort(key=Diagnostic.sort_key)
    return FileResult(
        path=display, diagnostics=tuple(with_fingerprints(kept, text)), suppressed=suppressed
    )
