"""The analysis of one module: the facts of one walk, and the answers the rules ask for.

Rules receive a :class:`ModuleAnalysis` and ask it questions in the words of SPEC 2.1
(accumulations, materialisations, accumulating helpers, sinks, extraction loops and their
guards). Each answer is computed once, on first use, and shared by every rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import libcst as cst
from libcst.metadata import CodeRange

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
from extraction_lint.analysis.dataflow import Dataflow, Source, unpacked_keys
from extraction_lint.analysis.effects import (
    call_target,
    children_by_name,
    module_facts,
    qualified_name,
)
from extraction_lint.analysis.facts import is_bound_to_serialized, is_serialized
from extraction_lint.analysis.guards import FunctionGuardCalls, GuardFacts, LoopGuards
from extraction_lint.analysis.loops import BoundedLoops, module_constants, mutated_names
from extraction_lint.analysis.model import (
    Assignment,
    CallSite,
    Expression,
    Loop,
    OutsideFacts,
    Scope,
    Site,
)
from extraction_lint.analysis.outline import (
    GROWS,
    GUARDS,
    LOADS_OR_WRITES,
    MATERIALIZES,
    RETURNS,
    WRITES,
)
from extraction_lint.analysis.project import Project
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import (
    Chain,
    ClassFacts,
    FunctionFacts,
    Link,
    ModuleFacts,
    Summary,
    Target,
)


def _is_stub(scope: Scope) -> bool:
    """``def name(): pass``: how sparse.py leaves a definition out (or a function that does
    nothing, which reads the same either way)."""
    node = scope.node
    return (
        isinstance(node, cst.FunctionDef)
        and not node.params.params
        and isinstance(node.body, cst.SimpleStatementSuite)
        and len(node.body.body) == 1
        and isinstance(node.body.body[0], cst.Pass)
    )


#: What a question about a call is about, in outline flags (see outline.py).
NEED_IO = frozenset({LOADS_OR_WRITES})
NEED_WRITES = frozenset({WRITES})
NEED_GROWTH = frozenset({GROWS})
NEED_GUARDS = frozenset({GUARDS})
NEED_RETURN = frozenset({RETURNS})
NEED_MATERIALIZATION = frozenset({MATERIALIZES})

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
    #: For the call of a project function that returns a whole read: the method that
    #: reads there (``fetchall``, ``toPandas``...; ``list`` for a reader's rows).
    read: str = ""
    #: The call of a project function that returns a materialisation (or a whole read).
    helper: bool = False


@dataclass(frozen=True, slots=True)
class Helper:
    """A function that returns a collection it accumulated in an unbounded loop (EXL003).

    ``scope`` and ``accumulation`` are set for a helper of the module being checked; a
    helper found through the project's summaries has its name, collection, loop and chain.
    """

    scope: Scope | None
    accumulation: Accumulation | None
    name: str = ""
    key: str = ""
    loop: str = ""
    chain: Chain = ()


@dataclass(frozen=True, slots=True)
class CallEffect:
    """A call of a project function, with the function's summary."""

    call: CallSite
    function: FunctionFacts
    summary: Summary
    target: Target
    bound: bool
    #: The link that stands for the call itself, first of every chain through it.
    link: Link = field(compare=False)


@dataclass(frozen=True, slots=True)
class HelperCall:
    """A call of an accumulating helper, made outside every unbounded loop."""

    call: CallSite
    helper: Helper


#: The whole reads a project function may return that are lists of records (what
#: ``x.execute(sql, rows)`` writes many of): ``cur.fetchall()``, ``list(reader)``.
RECORD_LIST_READS = frozenset({"fetchall", "list"})


class ModuleAnalysis:
    """Everything the rules know about one parsed module."""

    def __init__(
        self,
        module: cst.Module,
        settings: AnalysisSettings | None = None,
        outside: OutsideFacts | None = None,
        *,
        project: Project | None = None,
        path: str = "",
        display: str = "",
        full_text: str | None = None,
        classes: dict[str, ClassFacts] | None = None,
    ) -> None:
        """``outside``: the module-wide facts of code left out of ``module`` (see
        :mod:`extraction_lint.sparse`); ``full_text`` is then the whole module's text.
        ``classes``: the classes of the whole module (their methods and bases), for
        resolving methods. ``project``: where calls are followed (SPEC 2.6; without
        one, calls of functions of this module only); ``path``: this module's absolute
        path, ``display`` the path it is reported under."""
        self.module = module
        self.settings = settings or AnalysisSettings()
        self.project = project if project is not None else Project(None, self.settings)
        self.path = path
        self.display = display
        self._full_text = full_text if outside is not None else None
        #: The module's text as written (where its calls sit is read from its outline).
        self._text = full_text
        #: The module's classes from the interpreter's tree (whole, when ``outside``).
        self._classes = classes
        #: Chains of the nodes whose meaning comes from a project function (a call that
        #: writes, grows or guards; a loop that loads through a call), by node id.
        self.chains: dict[int, Chain] = {}
        self._effects: dict[int, CallEffect | None] = {}
        self._refs: dict[int, tuple[tuple[str, str], Target, bool] | None] = {}
        self._own_facts: ModuleFacts | None = None
        self._called_only_in_loops: dict[int, bool] = {}
        #: Facts read from other parses of this module's text (see :meth:`_sparse_facts`).
        self._parts: list[ModuleFacts] = []
        self._part_analyses: list[ModuleAnalysis] = []
        collector = Collector(module)
        collector.walk_module(module)
        self._top_of = collector.top_of
        self.scopes = collector.scopes
        self.imports = collector.imports
        outside = outside or OutsideFacts()
        #: What the code left out of ``module`` adds (its calls decide SPEC 2.5 exemptions).
        self.outside = outside
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
        imported = None
        if self.project.root is not None and path:
            counts = collector.module_binding_counts

            def imported(name: str) -> str | None:
                return self._imported_constant(name, counts, outside.mutated)

        self.bounded = BoundedLoops(
            self.imports, constants, self.settings.bounded_range_limit, imported
        )
        for scope in self.scopes:
            for loop in scope.loops:
                node = loop.node
                loop.bounded = isinstance(node, cst.For) and self.bounded.is_bounded_iterable(
                    node.iter, scope
                )
        self._collections: dict[int, CollectionFacts] = {}
        self._code: dict[int, str] = {}
        self._direct_collections: dict[int, CollectionFacts] = {}
        self._dataflows: dict[int, Dataflow] = {}
        self._sinks: dict[int, list[SinkCall]] = {}

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force."""
        return self.settings.catalog

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a name or attribute chain (see :class:`ImportMap`)."""
        return self.imports.resolve(node)

    def numbered_nodes(self) -> list[cst.CSTNode]:
        """The nodes a finding can point at, in the order of the walk
        (:func:`extraction_lint.positions.numbered_nodes`)."""
        from extraction_lint.positions import numbered_nodes

        return numbered_nodes(self._top_of, self.scopes)

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

    def direct_collections(self, scope: Scope) -> CollectionFacts:
        """Bindings, growth and flush sites of the collections of ``scope``, in its own code."""
        facts = self._direct_collections.get(id(scope))
        if facts is None:
            facts = self._direct_collections[id(scope)] = CollectionFacts(scope, self.resolve)
        return facts

    def collections(self, scope: Scope) -> CollectionFacts:
        """Bindings, growth and flush sites of the collections of ``scope``, calls of
        project functions that grow or flush them included (SPEC 2.6)."""
        facts = self._collections.get(id(scope))
        if facts is not None:
            return facts
        facts = CollectionFacts(scope, self.resolve)
        self._collections[id(scope)] = facts
        if not facts.bindings:
            return facts
        nested = self._children.get(id(scope), {})
        for call in scope.calls:
            func = call.node.func
            closure = isinstance(func, cst.Name) and func.value in nested
            if not closure and not any(
                scope.key_of(a.value) in facts.bindings for a in call.node.args
            ):
                continue
            effect = self.call_effect(call, scope, NEED_GROWTH)
            if effect is None:
                continue
            summary = effect.summary
            for name, chain in summary.grows_inputs.items():
                key = self._argument_key(effect, name, scope)
                if key in facts.bindings:
                    facts.note_growth(key, call.node, call.site)
                    self.chains.setdefault(id(call.node), (effect.link, *chain))
            for name in summary.flushes_inputs:
                key = self._argument_key(effect, name, scope)
                if key in facts.bindings:
                    facts.note_flush(key, call.site)
        return facts

    def accumulations(self, scope: Scope) -> list[Accumulation]:
        """Collections of ``scope`` that grow unflushed in an unbounded loop."""
        return self.collections(scope).accumulations()

    def direct_sinks(self, scope: Scope) -> list[SinkCall]:
        """The bulk writes of ``scope``'s own code, in source order."""
        return self._sinks_by_scope.get(id(scope), [])

    def sinks(self, scope: Scope) -> list[SinkCall]:
        """The bulk writes of ``scope``, in source order: its own, and calls of project
        functions that write what is passed to them (SPEC 2.6 "Effect at a call site")."""
        found = self._sinks.get(id(scope))
        if found is not None:
            return found
        direct = self.direct_sinks(scope)
        through: list[SinkCall] = []
        nested = self._children.get(id(scope), {})
        bound: frozenset[str] | None = None
        for call in scope.calls:
            func = call.node.func
            if isinstance(func, cst.Name) and func.value in nested:
                pass  # a closure writes its enclosing function's names, passed or not
            elif not call.node.args:
                continue
            else:
                if bound is None:
                    bound = self._bound_keys(scope)
                if not any(_may_carry(a.value, scope, bound) for a in call.node.args):
                    continue  # literals and names the scope never binds carry nothing
            effect = self.call_effect(call, scope, NEED_WRITES)
            if effect is None or not effect.summary.writes_inputs:
                continue
            summary = effect.summary
            written: list[tuple[str, cst.BaseExpression]] = []
            for name in summary.writes_inputs:
                node = self._argument_node(effect, name)
                if node is not None:
                    written.append((name, node))
            if not written:
                continue
            # The chain shown is the one of the argument that carries what the scope
            # tracks (``save_frame(frame, path)`` writes ``frame``, and ``path`` too).
            shown = written[0][0]
            if len(written) > 1:
                flow = self.dataflow(scope)
                at = call.site.order
                shown = next(
                    (n for n, node in written if flow.carried(node, at)),
                    next((n for n, _ in written if not summary.writes_inputs[n][1]), shown),
                )
            chain, _ = summary.writes_inputs[shown]
            conditional = all(summary.writes_inputs[n][1] for n, _ in written)
            through.append(
                SinkCall(
                    call,
                    effect.function.name,
                    tuple(node for _, node in written),
                    conditional=conditional,
                    inner=summary.written_with.get(shown, ""),
                    helper=True,
                )
            )
            self.chains.setdefault(id(call.node), (effect.link, *chain))
        if through:
            # A project function named like a catalogue sink method (``db.insert_many(...)``)
            # is one sink: the call of it, with its chain.
            helpers = {id(s.call.node) for s in through}
            direct = [s for s in direct if id(s.call.node) not in helpers]
        found = sorted([*direct, *through], key=lambda s: s.call.site.order) if through else direct
        self._sinks[id(scope)] = found
        return found

    def _bound_keys(self, scope: Scope) -> frozenset[str]:
        """The names (and ``self.attr``) that ``scope`` binds by assignment, unpacking
        included: the only ones that can carry what a rule tracks there (a collection, a
        materialisation, a helper's result; :class:`Dataflow`)."""
        keys: set[str] = set()
        for assignment in scope.assignments:
            target = assignment.target
            key = scope.key_of(target)
            if key is not None:
                keys.add(key)
            elif isinstance(target, cst.Tuple | cst.List):
                keys.update(unpacked_keys(target, scope))
        return frozenset(keys)

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
            flow = Dataflow(
                scope,
                self.resolve,
                bindings,
                frozenset(nodes),
                call_passes=lambda call: self._passed_through(call, scope),
            )
            self._dataflows[id(scope)] = flow
        return flow

    def iterated(self, scope: Scope, node: cst.BaseExpression, at: int) -> frozenset[Source]:
        """What a comprehension or generator expression of ``scope`` (or ``list(...)``-like
        call of one), evaluated at ``at``, iterates over of what the rules track: the
        accumulations, materialisations and helper results it takes its items from, held
        whole before it runs (so a generator in its place would not stream them)."""
        flow = self.dataflow(scope)
        if isinstance(node, cst.Call) and len(node.args) == 1:
            node = node.args[0].value  # ``list(f(r) for r in rows)``
            if not isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp):
                return flow.carried(node, at)  # ``list(latest.values())``: what it copies
        return flow.iterated(node, at)

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
        """Materialisations of unbounded sources in ``scope`` that are not per-item (SPEC
        2.3), calls of project functions that return one included (SPEC 2.6)."""
        found = self.direct_materializations(scope)
        extra: list[Materialization] = []
        for call in scope.calls:
            if self._is_per_item(call.site, scope):
                continue
            effect = self.call_effect(call, scope, NEED_MATERIALIZATION)
            if effect is not None and effect.summary.returns_materialization is not None:
                read = effect.summary.returns_read
                extra.append(Materialization(call.node, call.site, read=read, helper=True))
                chain = effect.summary.returns_materialization
                self.chains.setdefault(id(call.node), (effect.link, *chain))
        return [*found, *extra] if extra else found

    def direct_materializations(self, scope: Scope) -> list[Materialization]:
        """Materialisations of unbounded sources in ``scope``'s own code, not per-item."""
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
                node = candidate.node
                # ``list(csv.reader(fh))``: every row of a reader, which could be iterated.
                reads = (
                    isinstance(node, cst.Call)
                    and len(node.args) == 1
                    and self._makes_reader(node.args[0].value)
                )
                kind: MaterializationKind = "reader" if reads else "materialization"
                found.append(Materialization(node, candidate.site, kind))
        for call in scope.calls:
            read = self._whole_read_kind(call, scope)
            if read is not None and not self._is_per_item(call.site, scope):
                found.append(Materialization(call.node, call.site, read))
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
        return self._helpers(direct=False)

    @cached_property
    def _direct_helpers(self) -> dict[tuple[int, str], Helper]:
        return self._helpers(direct=True)

    def helper_of(self, scope: Scope) -> Helper | None:
        """The accumulation ``scope`` returns, as its own code shows (for its summary)."""
        if scope.parent is None:
            return None
        helper = self._direct_helpers.get((id(scope.parent), scope.name))
        return helper if helper is not None and helper.scope is scope else None

    def _helpers(self, *, direct: bool) -> dict[tuple[int, str], Helper]:
        out: dict[tuple[int, str], Helper] = {}
        for scope in self.scopes:
            if scope.kind != "function" or scope.parent is None or not scope.returns:
                continue
            facts = self.direct_collections(scope) if direct else self.collections(scope)
            accumulations = facts.accumulations()
            if not accumulations:
                continue
            flow = Dataflow(
                scope,
                self.resolve,
                frozenset(a.binding.assignment for a in accumulations),
                frozenset(),
                comprehensions=False,  # what it returns (SPEC 2.4): not a comprehension of it
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
        found: list[HelperCall] = []
        for call in scope.calls:
            if call.site.unbounded_loops():
                continue
            helper = self._called_helper(call.node, scope)
            if helper is None:
                helper = self._project_helper(call, scope)
            if helper is not None:
                found.append(HelperCall(call, helper))
        return found

    def _project_helper(self, call: CallSite, scope: Scope) -> Helper | None:
        """A call of a project function that returns an accumulation (SPEC 2.6: EXL003
        finds helpers anywhere in the project)."""
        effect = self.call_effect(call, scope, NEED_GROWTH)
        if effect is None or effect.summary.returns_accumulation is None:
            return None
        key, loop, chain = effect.summary.returns_accumulation
        self.chains.setdefault(id(call.node), (effect.link, *chain))
        return Helper(None, None, effect.function.name, key, loop, chain)

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
        through: list[tuple[CallSite, Scope, Loop]] = []
        for scope in self.scopes:
            for call in scope.calls:
                site = call.site
                loops = list(site.loops)
                if site.header_of is not None:
                    loops.append(site.header_of)
                outermost = next((loop for loop in loops if not loop.bounded), None)
                if outermost is None:
                    continue
                if self.loads_or_writes(call, scope):
                    found.setdefault(id(outermost), outermost)
                else:
                    through.append((call, scope, outermost))
        for call, scope, outermost in through:
            if id(outermost) in found:
                continue
            effect = self.call_effect(call, scope, NEED_IO)
            if effect is None:
                continue
            chain = effect.summary.loads or effect.summary.writes
            if chain is not None:
                found[id(outermost)] = outermost
                self.chains.setdefault(id(outermost.node), (effect.link, *chain))
        return sorted(found.values(), key=lambda loop: loop.start)

    def is_round_trip(self, call: CallSite, scope: Scope) -> bool:
        """``pickle.loads(pickle.dumps(x))``: a copy, not a load."""
        return self._is_round_trip(call, scope)

    def loads_or_writes(self, call: CallSite, scope: Scope) -> bool:
        """Whether the call itself is a loader or a sink (SPEC 2.1)."""
        return self._loads_or_writes(call, scope)

    def _loads_or_writes(self, call: CallSite, scope: Scope) -> bool:
        if is_loader(call, self.catalog):
            return not self._is_round_trip(call, scope)
        sink = match_sink(call, self.catalog)
        if sink is None:
            return False
        if not sink.conditional:
            return True
        # ``x.execute(sql, c)`` writes many records only when ``c`` is a list of them: a
        # collection of the scope, or one built in the call (``[dict(...) for r in rs]``).
        facts = self.collections(scope)
        return any(
            self._builds_records(d)
            or ((key := scope.key_of(d)) is not None and facts.is_sequence(key))
            for d in sink.data
        )

    def writes_sequence(self, scope: Scope, source: Source) -> bool:
        """Whether ``source`` is a list of records, as ``x.execute(sql, rows)`` needs."""
        if isinstance(source, Assignment):
            if is_new_sequence(source.value, self.resolve):
                return True
            # ``rows = read_all(cur)``: what the call returns.
            return isinstance(source.value, cst.Call) and self.writes_sequence(scope, source.value)
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
            if helper is not None and helper.accumulation is not None:
                return is_new_sequence(helper.accumulation.binding.assignment.value, self.resolve)
            # A project function that returns a whole read of rows (SPEC 2.6): not any
            # materialisation, a dict of one row's parameters is one too.
            for call in scope.calls:
                if call.node is source:
                    effect = self.call_effect(call, scope, NEED_MATERIALIZATION)
                    return (
                        effect is not None
                        and effect.summary.returns_materialization is not None
                        and effect.summary.returns_read in RECORD_LIST_READS
                    )
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
        """The heartbeat, memory and stall protections of an extraction loop, calls of
        project functions that provide them included (SPEC 2.6)."""
        guards = self._guards.loop_guards(loop)
        if guards.heartbeat and guards.memory and guards.stall:
            return guards
        heartbeat, memory, stall = guards.heartbeat, guards.memory, guards.stall
        scope = loop.scope
        for call in self._guards.calls_in(loop):
            effect = self.call_effect(call, scope, NEED_GUARDS)
            if effect is None:
                continue
            summary = effect.summary
            if summary.heartbeat is not None and call.site.except_depth <= loop.except_depth:
                heartbeat = True
            memory = memory or summary.memory is not None
            stall = stall or summary.stall is not None
        return LoopGuards(heartbeat=heartbeat, memory=memory, stall=stall)

    def function_guard_calls(self, scope: Scope) -> FunctionGuardCalls:
        """What ``scope``'s own body does that guards a loop calling it (SPEC 2.6)."""
        return self._guards.function_guard_calls(scope)

    # --- SPEC 2.6: calls of project functions ----------------------------------------------

    @cached_property
    def _children(self) -> dict[int, dict[str, Scope]]:
        return children_by_name(self.scopes)

    def look_for_callers(self, scopes: Iterable[Scope]) -> None:
        """Read the run's files once for the names of the functions ``scopes`` whose
        callers :meth:`called_only_in_loops` may ask for."""
        if self.project.root is not None and self.project.run_files:
            self.project.look_for_callers({s.name for s in scopes if s.kind == "function"})

    def called_only_in_loops(self, scope: Scope) -> bool:
        """Whether the project calls the function ``scope`` only from inside extraction
        loops: in this module and in the other modules of the run (SPEC 2.5;
        :meth:`Project.called_only_in_loops`, which reads where each call sits from the
        modules' outlines, this one's made from the text checked). Asked only of a
        function whose loop a guard rule would report: it may read the run's files for the
        function's name."""
        if scope.kind != "function":
            return False
        key = id(scope)
        known = self._called_only_in_loops.get(key)
        if known is None:
            from extraction_lint.analysis.effects import qualified_name

            project = self.project
            text = self._text if self._text is not None else self.module.code
            project.outline_of_text(self.path, text, self.display)
            self.own_facts()  # the module's names, as resolution sees them
            known = project.called_only_in_loops((self.path, qualified_name(scope)))
            self._called_only_in_loops[key] = known
        return known

    def _imported_constant(
        self,
        name: str,
        counts: dict[str, int],
        mutated_elsewhere: frozenset[str],
    ) -> str | None:
        """The kind of display (``"dict"``, ``"display"``) that ``name``, bound only by a
        module-level import of this module and never changed here, is a constant of in the
        project module it comes from (SPEC 2.1 "Bounded loop", 2.6); None otherwise."""
        imports = self.imports
        qualified = imports.module_level.get(name)
        if qualified is None or imports.module_last.get(name) != "import" or name in counts:
            return None
        if name in mutated_names(self.scopes) | mutated_elsewhere:
            return None
        names = ModuleFacts(self.path, self.display, "", {}, {}, {}, dict(imports.module_level))
        return self.project.imported_constant(qualified, names)

    def own_facts(self) -> ModuleFacts:
        """This module's functions as the project sees them (each read on first use)."""
        if self._own_facts is None:
            facts = module_facts(self, self.path, self.display, "", None, lazy=True)
            if self._full_text is not None:
                # Part of the module was left out (sparse.py): a function left out, or a
                # class, is read from the whole text, and only then.
                self._sparse_facts(facts, self._full_text)
            self._own_facts = facts
            self.project.set_checked(facts)
        return self._own_facts

    def release(self) -> None:
        """Drop everything the analysis holds, once the file is checked (it is not used
        after). Its tables hold methods bound to it and the facts read from it hold it
        back, so its tree would otherwise live until the garbage collector finds the
        cycles: rescanning them is most of the collector's time on a large run."""
        for facts in (self._own_facts, *self._parts):
            if facts is not None:
                facts.release()
        for part in self._part_analyses:
            part.release()
        for scope in self.scopes:
            scope.release()
        vars(self).clear()

    def _left_out(self, qualname: str) -> bool:
        """Whether this module's function ``qualname`` was left out of the tree (sparse.py):
        what it may do is then known from the module's outline, as for another module's."""
        if self._full_text is None:
            return False
        scope = self._functions_by_name.get(qualname)
        if scope is not None and not _is_stub(scope):
            return False
        self.project.outline_of_text(self.path, self._full_text, self.display)
        return True

    @cached_property
    def _functions_by_name(self) -> dict[str, Scope]:
        return {qualified_name(s): s for s in self.scopes if s.kind == "function"}

    def _sparse_facts(self, facts: ModuleFacts, text: str) -> None:
        sparse_read = facts.factory
        whole: list[ModuleFacts] = []
        #: For each function left out and read since, the facts of the part of the module
        #: it was read from.
        parts: dict[str, ModuleFacts] = {}

        def whole_facts() -> ModuleFacts:
            if not whole:
                whole.append(self._full_facts(text))
                self._parts.append(whole[0])
            return whole[0]

        def read(qualname: str) -> FunctionFacts | None:
            if not self._left_out(qualname) and sparse_read is not None:
                return sparse_read(qualname)
            # Left out: its outline says whether its summary can say anything (as for a
            # function of another module); only then is it parsed, with the functions of
            # the module it may call (and nothing else of the module).
            if not self.project.flags((self.path, qualname)):
                return None
            part = parts.get(qualname)
            if part is None:
                # At once, everything of the module that the code kept may reach: one parse.
                roots = {qualname}
                if not parts:
                    roots.update(q for q, s in self._functions_by_name.items() if not _is_stub(s))
                reached = self.project.reached_in_module(self.path, roots)
                # What the tree holds already is read from it.
                group = frozenset(q for q in reached if q not in parts and self._left_out(q))
                part = self._full_facts(text, group)
                self._parts.append(part)
                for name in group:
                    parts.setdefault(name, part)
            function = part.function(qualname)
            if function is not None:
                function.module = facts
            return function

        facts.factory = read
        stubbed_classes = [
            name for name, cls in facts.classes.items() if not cls.methods and not cls.bases
        ]
        if stubbed_classes:
            # The interpreter's tree of the whole module has them (the engine passes its
            # class table); without it, the rest of the module is parsed.
            full_classes = self._classes if self._classes is not None else whole_facts().classes
            for name in stubbed_classes:
                if name in full_classes:
                    facts.classes[name] = full_classes[name]

    def _full_facts(self, text: str, only: frozenset[str] | None = None) -> ModuleFacts:
        """Facts from the whole text, for an analysis of part of the module (sparse);
        ``only``: of these functions (qualified names) only."""
        from extraction_lint.positions import module_positions as _positions

        # Only the definitions whose summaries can say anything (project.py).
        source, outside, names = text, None, None
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            pass
        else:
            source, outside, names = self.project.summary_source(
                text, tree, self.path, self.display, only
            )
            del tree
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            return module_facts(self, self.path, self.display, "", None, lazy=True)
        analysis = ModuleAnalysis(module, self.settings, outside)
        self._part_analyses.append(analysis)
        computed: list[Mapping[cst.CSTNode, CodeRange]] = []

        def locate(node: cst.CSTNode) -> tuple[int, int]:
            # Positions only when a finding shows the link (the tree lives as long as the
            # check of this file).
            if not computed:
                computed.append(_positions(module))
            where = computed[0].get(node)
            return (1, 1) if where is None else (where.start.line, where.start.column + 1)

        facts = module_facts(
            analysis, self.path, self.display, "", locate, lazy=True, deferred=True
        )
        if names is not None:
            facts.classes = dict(names.classes)
            facts.top_level = dict(names.top_level)
        return facts

    def call_effect(self, call: CallSite, scope: Scope, need: frozenset[str]) -> CallEffect | None:
        """The summary of the project function ``call`` calls, if it is one (SPEC 2.6
        "Resolved call") and its summary says anything. ``need``: what the question is
        about (outline flags): a function of another module whose outline says it can do
        none of it is not read."""
        key = id(call.node)
        if key in self._effects:
            return self._effects[key]
        found = self._call_ref(call, scope)
        if found is None:
            self._effects[key] = None
            return None
        ref, target, bound = found
        own = self.own_facts()
        outlined = ref[0] != own.path or self._left_out(ref[1])
        if outlined and not (self.project.flags(ref) & need):
            return None  # not asked again for this need; another need may read it
        effect: CallEffect | None = None
        function = self.project.function(ref, own)
        if function is not None:
            summary = self.project.summary(function)
            if not summary.is_empty():
                label = self.code(call.node.func)
                link = Link(f"calls `{label}()`", self.display, node=call.node)
                effect = CallEffect(call, function, summary, target, bound, link)
        self._effects[key] = effect
        return effect

    def may_have_effect(self, call: CallSite, scope: Scope, need: frozenset[str]) -> bool:
        """Whether :meth:`call_effect` can find anything for ``need``, by the outlines
        alone: no module is read for the question."""
        key = id(call.node)
        if key in self._effects:
            return self._effects[key] is not None
        found = self._call_ref(call, scope)
        if found is None:
            return False
        path, qualname = found[0]
        outline = self.project.outline(path)
        if outline is None or qualname not in outline.functions:
            return True  # not outlined: only its summary can tell
        return bool(self.project.flags(found[0]) & need)

    def may_materialize(self, scope: Scope) -> bool:
        """Whether :meth:`materializations` can find anything in ``scope``: a
        materialisation of its own, or a call of a project function whose outline may
        return one (cheap: no module is read)."""
        if self.direct_materializations(scope):
            return True
        return any(
            not self._is_per_item(call.site, scope)
            and self.may_have_effect(call, scope, NEED_MATERIALIZATION)
            for call in scope.calls
        )

    def _call_ref(
        self, call: CallSite, scope: Scope
    ) -> tuple[tuple[str, str], Target, bool] | None:
        """What ``call`` resolves to (see :meth:`_resolve_call`), resolved once per call."""
        key = id(call.node)
        if key not in self._refs:
            self._refs[key] = self._resolve_call(call, scope)
        return self._refs[key]

    def _resolve_call(
        self, call: CallSite, scope: Scope
    ) -> tuple[tuple[str, str], Target, bool] | None:
        found = call_target(call, scope, self.imports, self._children, self.scopes[0])
        if found is None:
            return None
        target, bound = found
        ref = self.project.resolve_ref(target, self.own_facts())
        if ref is None:
            return None
        return ref, target, bound

    def _argument_node(self, effect: CallEffect, name: str) -> cst.BaseExpression | None:
        """The expression the call passes for the input ``name`` of the callee."""
        function = effect.function
        node = effect.call.node
        if name in function.positional or name in function.keyword_only:
            position = function.parameter_position(name, effect.bound)
            positional: list[cst.BaseExpression] = []
            for arg in node.args:
                if arg.star:
                    if arg.star == "*":
                        positional = []  # positions past ``*args`` are unknown
                        break
                    continue
                if arg.keyword is None:
                    positional.append(arg.value)
            if position is not None and position < len(positional):
                return positional[position]
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == name:
                    return arg.value
            return None
        if effect.target.kind == "local" and "." in function.qualname:
            return cst.Name(name)  # a closure's name: the caller's own
        return None

    def _argument_key(self, effect: CallEffect, name: str, scope: Scope) -> str | None:
        node = self._argument_node(effect, name)
        return scope.key_of(node) if node is not None else None

    def _passed_through(self, node: cst.Call, scope: Scope) -> Iterable[cst.BaseExpression] | None:
        """The arguments a call of a project function returns (``rows = transform(rows)``)."""
        call = self._call_sites.get(id(node))
        if call is None:
            return None
        effect = self.call_effect(call, scope, NEED_RETURN)
        if effect is None or not effect.summary.returns_inputs:
            return None
        passed = [self._argument_node(effect, n) for n in effect.summary.returns_inputs]
        return [p for p in passed if p is not None]

    @cached_property
    def _call_sites(self) -> dict[int, CallSite]:
        return {id(c.node): c for scope in self.scopes for c in scope.calls}

    def describe_loop(self, loop: Loop, limit: int = 60) -> str:
        """``for path in paths`` / ``while True``, shortened to ``limit`` characters."""
        node = loop.node
        if isinstance(node, cst.For):
            prefix = "async for" if node.asynchronous is not None else "for"
            text = f"{prefix} {self.code(node.target)} in {self.code(node.iter)}"
        else:
            text = f"while {self.code(node.test)}"
        return text if len(text) <= limit else text[: limit - 3] + "..."


#: Expressions that carry no data of the scope.
_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary)


def _may_carry(node: cst.BaseExpression, scope: Scope, bound: frozenset[str]) -> bool:
    """Whether an argument can carry a source of ``scope`` (:meth:`Dataflow.carried`): not
    a literal, not a name (or an attribute of one) that the scope never binds."""
    while True:
        if isinstance(node, _LITERALS):
            return False
        key = scope.key_of(node)
        if key is not None:
            return key in bound
        if isinstance(node, cst.Attribute):
            node = node.value  # ``x.attr`` carries what ``x`` carries
            continue
        return True
