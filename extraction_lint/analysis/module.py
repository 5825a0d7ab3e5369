"""The analysis of one module: the facts of one walk, and the answers the rules ask for.

Rules receive a :class:`ModuleAnalysis` and ask it questions in the words of SPEC 2.1
(accumulations, materialisations, accumulating helpers, sinks, extraction loops and their
guards). Each answer is computed once, on first use, and shared by every rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import libcst as cst

from extraction_lint.analysis.calls import SinkCall, is_loader, match_sink
from extraction_lint.analysis.catalog import (
    CURSOR_METHODS,
    DRIVER_PULL_METHODS,
    MATERIALIZING_CALLS,
    READER_FACTORIES,
    RECORD_LIST_BUILDERS,
    RECORD_LIST_METHODS,
    RECORDS_ORIENT_METHOD,
    WHOLE_READ_METHODS,
    Catalog,
)
from extraction_lint.analysis.collections import (
    Accumulation,
    CollectionFacts,
    is_new_sequence,
)
from extraction_lint.analysis.collector import Collector
from extraction_lint.analysis.dataflow import Dataflow, Source
from extraction_lint.analysis.facts import is_bound_to_serialized, is_serialized
from extraction_lint.analysis.guards import GuardFacts, LoopGuards
from extraction_lint.analysis.loops import BoundedLoops, module_constants
from extraction_lint.analysis.model import (
    Assignment,
    CallSite,
    Expression,
    Loop,
    OutsideFacts,
    Scope,
    Site,
)
from extraction_lint.analysis.settings import AnalysisSettings

#: What a materialisation is (SPEC 2.3): a comprehension, ``list(...)``-like call or
#: ``[*...]`` over an unbounded source; a whole read (``fetchall()``); a distributed engine's
#: pull to the driver (``toPandas()``, ``collect()``, ``compute()``); ``list(reader)`` of a
#: csv reader or a cursor.
MaterializationKind = Literal["materialization", "whole-read", "driver-pull", "reader"]


@dataclass(frozen=True, slots=True)
class Materialization:
    """A value that holds an unbounded source whole (SPEC 2.3)."""

    node: cst.BaseExpression
    site: Site
    kind: MaterializationKind = "materialization"


@dataclass(frozen=True, slots=True)
class Helper:
    """A function that returns a collection it accumulated in an unbounded loop (EXL003)."""

    scope: Scope
    accumulation: Accumulation


@dataclass(frozen=True, slots=True)
class HelperCall:
    """A call of an accumulating helper, made outside every unbounded loop."""

    call: CallSite
    helper: Helper


class ModuleAnalysis:
    """Everything the rules know about one parsed module."""

    def __init__(
        self,
        module: cst.Module,
        settings: AnalysisSettings | None = None,
        outside: OutsideFacts | None = None,
    ) -> None:
        """``outside``: the module-wide facts of code left out of ``module`` (see
        :mod:`extraction_lint.sparse`)."""
        self.module = module
        self.settings = settings or AnalysisSettings()
        collector = Collector(module)
        collector.walk_module(module)
        self._top_of = collector.top_of
        self.scopes = collector.scopes
        self.imports = collector.imports
        outside = outside or OutsideFacts()
        self.imports.imports.update(outside.imports)
        self.imports.bound.update(outside.bound)
        for scope in self.scopes:
            for call in scope.calls:
                func = call.node.func
                call.qualname = self.imports.resolve(func)
                if isinstance(func, cst.Attribute):
                    call.method = func.attr.value
        constants = module_constants(
            collector.module_scope, collector.module_binding_counts, self.scopes, outside.mutated
        )
        self.bounded = BoundedLoops(self.imports, constants, self.settings.bounded_range_limit)
        for scope in self.scopes:
            for loop in scope.loops:
                node = loop.node
                loop.bounded = isinstance(node, cst.For) and self.bounded.is_bounded_iterable(
                    node.iter, scope
                )
        self._collections: dict[int, CollectionFacts] = {}
        self._code: dict[int, str] = {}
        self._dataflows: dict[int, Dataflow] = {}

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force."""
        return self.settings.catalog

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a name or attribute chain (see :class:`ImportMap`)."""
        return self.imports.resolve(node)

    def top_level_index(self, node: cst.CSTNode) -> int | None:
        """The index in ``module.body`` of the statement that holds ``node`` (for the nodes
        findings point at: calls, loops, assignments, comprehensions, displays)."""
        return self._top_of.get(id(node))

    def code(self, node: cst.CSTNode) -> str:
        """The source text of a node, on one line (generated once per node: every guard
        rule quotes the same loop)."""
        text = self._code.get(id(node))
        if text is None:
            text = self._code[id(node)] = " ".join(self.module.code_for_node(node).split())
        return text

    # --- collections and data ------------------------------------------------------------

    def collections(self, scope: Scope) -> CollectionFacts:
        """Bindings, growth and flush sites of the collections of ``scope``."""
        facts = self._collections.get(id(scope))
        if facts is None:
            facts = self._collections[id(scope)] = CollectionFacts(scope, self.resolve)
        return facts

    def accumulations(self, scope: Scope) -> list[Accumulation]:
        """Collections of ``scope`` that grow unflushed in an unbounded loop."""
        return self.collections(scope).accumulations()

    def sinks(self, scope: Scope) -> list[SinkCall]:
        """The bulk writes of ``scope``, in source order."""
        return self._sinks_by_scope.get(id(scope), [])

    @cached_property
    def _sinks_by_scope(self) -> dict[int, list[SinkCall]]:
        out: dict[int, list[SinkCall]] = {}
        for scope in self.scopes:
            found = [s for c in scope.calls if (s := match_sink(c, self.catalog)) is not None]
            if found:
                out[id(scope)] = found
        return out

    def dataflow(self, scope: Scope) -> Dataflow:
        """Which accumulations, materialisations and helper results each expression carries."""
        flow = self._dataflows.get(id(scope))
        if flow is None:
            bindings = frozenset(a.binding.assignment for a in self.accumulations(scope))
            nodes: set[cst.CSTNode] = {m.node for m in self.materializations(scope)}
            nodes.update(h.call.node for h in self.helper_calls(scope))
            flow = Dataflow(scope, self.resolve, bindings, frozenset(nodes))
            self._dataflows[id(scope)] = flow
        return flow

    # --- EXL002: materialisations --------------------------------------------------------

    def _is_unbounded_clause(self, clause: cst.CompFor, scope: Scope) -> bool:
        return not self.bounded.is_bounded_iterable(clause.iter, scope)

    def _iterates_unbounded(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A comprehension with an unbounded ``for`` clause, or a call that is not bounded."""
        if isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp):
            clause: cst.CompFor | None = node.for_in
            while clause is not None:
                if self._is_unbounded_clause(clause, scope):
                    return True
                clause = clause.inner_for_in
            return False
        if isinstance(node, cst.Call):
            return not self.bounded.is_bounded_iterable(node, scope)
        return False

    def _is_per_item(self, site: Site, scope: Scope) -> bool:
        """Inside an unbounded loop or, for EXL002, an unbounded comprehension clause."""
        return bool(site.unbounded_loops()) or any(
            self._is_unbounded_clause(c, scope) for c in site.comp_clauses
        )

    def materializations(self, scope: Scope) -> list[Materialization]:
        """Materialisations of unbounded sources in ``scope`` that are not per-item (SPEC 2.3)."""
        found: list[Materialization] = []
        candidates: list[Expression] = [
            c
            for c in scope.comprehensions
            if not isinstance(c.node, cst.GeneratorExp) and self._iterates_unbounded(c.node, scope)
        ]
        for call in scope.calls:
            if call.qualname not in MATERIALIZING_CALLS:
                continue
            positional = [a for a in call.node.args if a.keyword is None]
            if (
                len(positional) == 1
                and not positional[0].star
                and isinstance(positional[0].value, cst.Call | cst.GeneratorExp)
                and self._iterates_unbounded(positional[0].value, scope)
            ):
                candidates.append(Expression(call.node, call.site))
        for display in scope.starred_displays:
            assert isinstance(display.node, cst.List)
            if any(
                isinstance(e, cst.StarredElement)
                and isinstance(e.value, cst.Call | cst.GeneratorExp)
                and self._iterates_unbounded(e.value, scope)
                for e in display.node.elements
            ):
                candidates.append(display)
        for candidate in candidates:
            if not self._is_per_item(candidate.site, scope):
                found.append(Materialization(candidate.node, candidate.site))
        for call in scope.calls:
            kind = self._whole_read_kind(call, scope)
            if kind is not None and not self._is_per_item(call.site, scope):
                found.append(Materialization(call.node, call.site, kind))
        return found

    def _whole_read_kind(self, call: CallSite, scope: Scope) -> MaterializationKind | None:
        """Whether ``call`` reads a source whole (SPEC 2.3 "Whole reads"), and how."""
        method = call.method
        if method in WHOLE_READ_METHODS:
            return "whole-read"
        if method in DRIVER_PULL_METHODS:
            receiver = call.receiver
            if call.node.args or (
                isinstance(receiver, cst.Name) and receiver.value in self.imports.imports
            ):
                return None  # ``gc.collect()``, ``dask.compute(x)``: not a frame's pull
            return "driver-pull"
        if call.qualname in MATERIALIZING_CALLS:
            positional = [a for a in call.node.args if a.keyword is None]
            if len(positional) == 1 and not positional[0].star:
                key = scope.key_of(positional[0].value)
                if key is not None and self._is_reader(key, scope, call.site.order):
                    return "reader"
        return None

    def _is_reader(self, key: str, scope: Scope, at: int) -> bool:
        """``key`` is bound, where it is used at ``at``, to a csv reader or a cursor: its
        bindings in ``scope`` (assignments and ``with ... as``) before ``at`` are all such."""
        values = [
            a.value
            for a in scope.assignments
            if a.site.order < at and scope.key_of(a.target) == key
        ]
        values += [
            w.expr
            for w in scope.with_items
            if w.target is not None and w.site.order < at and scope.key_of(w.target) == key
        ]
        return bool(values) and all(self._makes_reader(v) for v in values)

    def _makes_reader(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        if self.resolve(node.func) in READER_FACTORIES:
            return True
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value in CURSOR_METHODS

    # --- EXL003: accumulating helpers ------------------------------------------------------

    @cached_property
    def helpers(self) -> dict[tuple[int, str], Helper]:
        """Accumulating helpers by (id of the scope that defines them, name)."""
        out: dict[tuple[int, str], Helper] = {}
        for scope in self.scopes:
            if scope.kind != "function" or scope.parent is None or not scope.returns:
                continue
            accumulations = self.accumulations(scope)
            if not accumulations:
                continue
            flow = Dataflow(
                scope,
                self.resolve,
                frozenset(a.binding.assignment for a in accumulations),
                frozenset(),
            )
            for accumulation in accumulations:
                if any(
                    r.site.order > accumulation.loop.end
                    and accumulation.binding.assignment in flow.carried(r.value, r.site.order)
                    for r in scope.returns
                ):
                    out[(id(scope.parent), scope.name)] = Helper(scope, accumulation)
                    break
        return out

    def helper_calls(self, scope: Scope) -> list[HelperCall]:
        """Calls in ``scope`` of accumulating helpers, outside every unbounded loop."""
        helpers = self.helpers
        if not helpers:
            return []
        found: list[HelperCall] = []
        for call in scope.calls:
            if call.site.unbounded_loops():
                continue
            helper = self._called_helper(call.node, scope)
            if helper is not None:
                found.append(HelperCall(call, helper))
        return found

    def _called_helper(self, node: cst.Call, scope: Scope) -> Helper | None:
        func = node.func
        helpers = self.helpers
        if isinstance(func, cst.Name):
            if func.value in self.imports.imports:
                return None
            outer: Scope | None = scope
            while outer is not None:
                if outer.kind != "class":
                    helper = helpers.get((id(outer), func.value))
                    if helper is not None:
                        return helper
                outer = outer.parent
            return None
        owner = scope.enclosing_class
        if (
            owner is not None
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == scope.self_name
        ):
            return helpers.get((id(owner), func.attr.value))
        return None

    # --- EXL101-EXL103: extraction loops ---------------------------------------------------

    @cached_property
    def extraction_loops(self) -> list[Loop]:
        """The outermost unbounded loops that call a loader or a sink (SPEC 2.1), in order."""
        found: dict[int, Loop] = {}
        for scope in self.scopes:
            for call in scope.calls:
                if not self._loads_or_writes(call, scope):
                    continue
                site = call.site
                loops = list(site.loops)
                if site.header_of is not None:
                    loops.append(site.header_of)
                outermost = next((loop for loop in loops if not loop.bounded), None)
                if outermost is not None:
                    found.setdefault(id(outermost), outermost)
        return sorted(found.values(), key=lambda loop: loop.start)

    def _loads_or_writes(self, call: CallSite, scope: Scope) -> bool:
        if is_loader(call, self.catalog):
            return not self._is_round_trip(call, scope)
        sink = match_sink(call, self.catalog)
        if sink is None:
            return False
        if not sink.conditional:
            return True
        # ``x.execute(sql, c)`` writes many records only when ``c`` is a list of them.
        facts = self.collections(scope)
        return any(
            (key := scope.key_of(d)) is not None and facts.is_sequence(key) for d in sink.data
        )

    def writes_sequence(self, scope: Scope, source: Source) -> bool:
        """Whether ``source`` is a list of records, as ``x.execute(sql, rows)`` needs."""
        if isinstance(source, Assignment):
            return is_new_sequence(source.value, self.resolve)
        if isinstance(source, cst.ListComp | cst.List):
            return True
        if isinstance(source, cst.Call):
            name = self.resolve(source.func)
            if name in {"list", "sorted"}:
                return True
            func = source.func
            if isinstance(func, cst.Attribute) and func.attr.value == "fetchall":
                return True  # a list of rows
            helper = self._called_helper(source, scope)
            if helper is not None:
                return is_new_sequence(helper.accumulation.binding.assignment.value, self.resolve)
        return False

    def carried_by_sink(self, scope: Scope, sink: SinkCall) -> set[Source]:
        """The sources whose data ``sink`` writes (only lists of records for ``execute``)."""
        flow = self.dataflow(scope)
        at = sink.call.site.order
        carried: set[Source] = set()
        for data in sink.data:
            sources = flow.carried(data, at)
            if sink.conditional and not self._builds_records(data):
                sources = frozenset(s for s in sources if self.writes_sequence(scope, s))
            carried |= sources
        return carried

    def _builds_records(self, node: cst.BaseExpression) -> bool:
        """A list of records built here from whatever it derives from: ``list(c)``,
        ``sorted(c)``, ``[*c]``, ``df.to_dict("records")``, ``a.tolist()``..."""
        if isinstance(node, cst.ListComp):
            return True
        if isinstance(node, cst.List):
            return any(isinstance(e, cst.StarredElement) for e in node.elements)
        if not isinstance(node, cst.Call):
            return False
        if self.resolve(node.func) in RECORD_LIST_BUILDERS:
            return True
        func = node.func
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        if method == RECORDS_ORIENT_METHOD:
            first = node.args[0].value if node.args else None
            return isinstance(first, cst.SimpleString) and first.evaluated_value == "records"
        return method in RECORD_LIST_METHODS

    def _is_round_trip(self, call: CallSite, scope: Scope) -> bool:
        """``pickle.loads(pickle.dumps(x))``, directly or through a name bound to the dump."""
        args = call.node.args
        if not args:
            return False
        data = args[0].value
        if isinstance(data, cst.Call):
            return is_serialized(self.resolve(data.func))
        key = scope.key_of(data)
        if key is None or key in scope.other_bindings:
            return False
        return is_bound_to_serialized(
            self.resolve(a.value.func) if isinstance(a.value, cst.Call) else None
            for a in scope.assignments
            if scope.key_of(a.target) == key
        )

    @cached_property
    def _guards(self) -> GuardFacts:
        return GuardFacts(self.scopes, self.resolve, self.catalog)

    def loop_guards(self, loop: Loop) -> LoopGuards:
        """The heartbeat, memory and stall protections of an extraction loop."""
        return self._guards.loop_guards(loop)

    def describe_loop(self, loop: Loop, limit: int = 60) -> str:
        """``for path in paths`` / ``while True``, shortened to ``limit`` characters."""
        node = loop.node
        if isinstance(node, cst.For):
            prefix = "async for" if node.asynchronous is not None else "for"
            text = f"{prefix} {self.code(node.target)} in {self.code(node.iter)}"
        else:
            text = f"while {self.code(node.test)}"
        return text if len(text) <= limit else text[: limit - 3] + "..."
