"""Where findings are: line and column ranges of libcst nodes, and the diagnostics built
from a rule's findings.

Positions are computed only for files with findings, and then only for the top-level
statements that hold them, generated alone from the line the interpreter's tree gives.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from extraction_lint.diagnostics import Diagnostic, RelatedLocation
from extraction_lint.fixes import fix_edits
from extraction_lint.rules import RULES_BY_CODE

if TYPE_CHECKING:
    # libcst is imported when a file needs a tree (see engine.py).
    import libcst as cst
    from libcst.metadata import CodeRange

    from extraction_lint.analysis.model import Scope
    from extraction_lint.analysis.module import ModuleAnalysis
    from extraction_lint.analysis.summary import Link
    from extraction_lint.rules.base import Finding

__all__ = [
    "NodeLocator",
    "Relocator",
    "TopStatement",
    "diagnostics_of",
    "module_positions",
    "statement_lines",
    "statement_positions",
]


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


def module_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
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


def statement_positions(
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


class Relocator:
    """Positions of the nodes of a module read for its summaries, computed only when a
    finding shows one of them: the module's text is kept, not its tree.

    While the tree lives, :meth:`number` numbers a node. The first :meth:`position` asked
    later parses the text again, walks it as the analysis did (the nodes a finding can
    point at come in the same order from the same text) and generates the whole module's
    positions once; the tree goes again right after.
    """

    def __init__(self, source: str, analysis: ModuleAnalysis) -> None:
        self._source = source
        self._analysis: ModuleAnalysis | None = analysis
        self._order: dict[int, int] | None = None
        self._positions: list[tuple[int, int]] | None = None

    def number(self, node: cst.CSTNode) -> int | None:
        """The number of ``node`` (of the tree being read), for :meth:`position` once the
        tree is gone; None for a node the walk does not number (the caller places it)."""
        if self._analysis is None:
            return None
        if self._order is None:
            nodes = self._analysis.numbered_nodes()
            self._order = {id(node): i for i, node in enumerate(nodes)}
        return self._order.get(id(node))

    def done(self) -> None:
        """The tree is gone: node identities mean nothing from here on."""
        self._analysis = None
        self._order = None

    def position(self, index: int) -> tuple[int, int]:
        """(line, column) of the node numbered ``index``."""
        if self._positions is None:
            self._positions = self._compute()
            self._source = ""
        if index < len(self._positions):
            return self._positions[index]
        return (1, 1)

    def _compute(self) -> list[tuple[int, int]]:
        from extraction_lint.analysis.collector import Collector
        from extraction_lint.source import (
            ANALYSIS_RECURSION_LIMIT,
            SourceError,
            parse_checked,
            recursion_limit,
        )

        try:
            with recursion_limit(ANALYSIS_RECURSION_LIMIT):
                module = parse_checked(self._source)
                collector = Collector(module)
                collector.walk_module(module)
                nodes = numbered_nodes(collector.top_of, collector.scopes)
                positions = module_positions(module)
        except (SourceError, RecursionError):
            return []
        found = []
        for node in nodes:
            where = positions.get(node)
            found.append((1, 1) if where is None else (where.start.line, where.start.column + 1))
        return found


def numbered_nodes(top_of: Mapping[int, int], scopes: Iterable[Scope]) -> list[cst.CSTNode]:
    """The nodes a finding can point at, in the order the walk met them (the order of the
    collector's ``top_of``)."""
    by_id: dict[int, cst.CSTNode] = {}
    for scope in scopes:
        for call in scope.calls:
            by_id[id(call.node)] = call.node
        for loop in scope.loops:
            by_id[id(loop.node)] = loop.node
        for assignment in scope.assignments:
            by_id[id(assignment.statement)] = assignment.statement
        for expression in (*scope.comprehensions, *scope.starred_displays):
            by_id[id(expression.node)] = expression.node
    return [by_id[key] for key in top_of if key in by_id]


class NodeLocator:
    """(line, column) of nodes of a module, each computed from its top-level statement
    alone (see :func:`statement_positions`), the whole module only where that fails."""

    def __init__(self, analysis: ModuleAnalysis, lines: list[TopStatement]) -> None:
        self._analysis = analysis
        self._lines = lines
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._done: set[int] = set()
        self._whole: Mapping[cst.CSTNode, CodeRange] | None = None

    def __call__(self, node: cst.CSTNode) -> tuple[int, int]:
        where = self._computed.get(node)
        if where is None and self._whole is None:
            index = self._analysis.top_level_index(node)
            if index is not None and index not in self._done:
                self._done.add(index)
                try:
                    found = statement_positions(self._analysis.module, [index], self._lines)
                except (AttributeError, KeyError, TypeError):  # libcst internals changed
                    found = None
                if found is not None:
                    self._computed.update(found)
                where = self._computed.get(node)
            if where is None:
                self._whole = module_positions(self._analysis.module)
        if where is None and self._whole is not None:
            where = self._whole.get(node)
        if where is None:
            return (1, 1)
        return (where.start.line, where.start.column + 1)


def _positions_for(
    analysis: ModuleAnalysis,
    findings: list[Finding],
    lines: list[TopStatement],
    chain_nodes: list[cst.CSTNode],
) -> Mapping[cst.CSTNode, CodeRange]:
    nodes: list[cst.CSTNode] = []
    for f in findings:
        nodes.extend((f.node, *(r.node for r in f.related)))
        nodes.extend(n for n in (f.end_node, f.fix.node if f.fix else None) if n is not None)
        nodes.extend(n for n, _ in (f.fix.more if f.fix else ()))
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
            needed = [i for i in indexes if i is not None]
            positions = statement_positions(analysis.module, needed, lines)
        except (AttributeError, KeyError, TypeError):  # libcst internals changed
            positions = None
    if positions is None or any(n not in positions for n in nodes):
        positions = module_positions(analysis.module)
    return positions


def diagnostics_of(
    analysis: ModuleAnalysis,
    findings: list[Finding],
    display: str,
    lines: list[TopStatement],
    text: str,
) -> list[Diagnostic]:
    """The diagnostics of ``findings`` (one per code, position and message), located."""
    if not findings:
        return []
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
        if link.node is not None and link.locator is None
    ]
    positions = _positions_for(analysis, findings, lines, chain_nodes)
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
                fix=fix_edits(finding.fix, positions, lines, text) if finding.fix else None,
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
        if link.node is not None and link.locator is None:
            where = positions[link.node].start
            location = RelatedLocation(display, where.line, where.column + 1, link.message)
        else:
            line, column = link.position()
            location = RelatedLocation(link.path, line, column, link.message)
        if location not in related:
            related.append(location)


def _chain_of(analysis: ModuleAnalysis, node: cst.CSTNode) -> tuple[Link, ...]:
    """The links that explain ``node`` through project functions, minus the call itself
    when it is the node (its own location is already reported)."""
    chain = analysis.chains.get(id(node), ())
    return tuple(link for link in chain if link.node is not node)
