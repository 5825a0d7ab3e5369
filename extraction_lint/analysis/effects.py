"""A module's functions as the project pass sees them: own effects and outgoing calls.

:func:`module_facts` reads one :class:`~extraction_lint.analysis.module.ModuleAnalysis`
with the same questions the rules ask (sinks, loaders, growth and flush sites, guards,
derivations), so a summary means exactly what the rules mean. :func:`call_target` tells
what a call names (SPEC 2.6 "Resolved call"); the checked module uses it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import libcst as cst

from extraction_lint.analysis.calls import is_loader, match_sink
from extraction_lint.analysis.dataflow import Dataflow, Input
from extraction_lint.analysis.model import CallSite, Loop, Scope
from extraction_lint.analysis.names import ImportMap, dotted_name
from extraction_lint.analysis.summary import (
    Accumulator,
    ArgFacts,
    Chain,
    ClassFacts,
    Edge,
    FunctionFacts,
    FunctionKind,
    Link,
    ModuleFacts,
    Summary,
    Target,
)

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis
    from extraction_lint.positions import Relocator

#: Where a node is: (line, column), 1-based, for modules other than the one checked.
Locate = Callable[[cst.CSTNode], tuple[int, int]]


def _read_method(node: cst.CSTNode) -> str:
    """The method of a whole read (``cur.fetchall()``: ``fetchall``); ``list`` for
    ``list(reader)``."""
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            return func.attr.value
        if isinstance(func, cst.Name):
            return func.value
    return ""


def qualified_name(scope: Scope) -> str:
    """``f``, ``C.m`` or ``f.g``: the scope's name within its module."""
    parts: list[str] = []
    current: Scope | None = scope
    while current is not None and current.parent is not None:
        parts.append(current.name)
        current = current.parent
    return ".".join(reversed(parts))


def function_kind(scope: Scope) -> FunctionKind:
    """How the function binds its first parameter when called."""
    if scope.enclosing_class is None:
        return "function"
    for decorator in scope.decorators:
        name = dotted_name(decorator.decorator)
        if name == "staticmethod":
            return "staticmethod"
        if name == "classmethod":
            return "classmethod"
    return "method"


def _nested_function(
    scope: Scope, name: str, children: Mapping[int, dict[str, Scope]]
) -> Scope | None:
    """The function ``name`` defined in ``scope`` or a function around it (not a class)."""
    current: Scope | None = scope
    while current is not None and current.kind == "function":
        found = children.get(id(current), {}).get(name)
        if found is not None and found.kind == "function":
            return found
        current = current.parent
        while current is not None and current.kind == "class":
            current = current.parent
    return None


def children_by_name(scopes: list[Scope]) -> dict[int, dict[str, Scope]]:
    """For each scope (by id), the functions and classes defined directly in it."""
    out: dict[int, dict[str, Scope]] = {}
    for scope in scopes:
        if scope.parent is not None and scope.kind != "module":
            out.setdefault(id(scope.parent), {})[scope.name] = scope
    return out


def call_target(
    call_site: CallSite,
    scope: Scope,
    names: ImportMap,
    children: Mapping[int, dict[str, Scope]],
    module_scope: Scope,
) -> tuple[Target, bool] | None:
    """What the call names, and whether it binds a receiver; None when it is not followed
    (another receiver, a value passed around, a constructor of a class)."""
    func = call_site.node.func
    top = children.get(id(module_scope), {})
    hidden = call_site.lambda_names
    if isinstance(func, cst.Name):
        name = func.value
        if name in hidden:
            return None  # ``lambda write: write(rows)``: the lambda's parameter
        nested = _nested_function(scope, name, children)
        if nested is not None:
            return Target("local", qualified_name(nested)), False
        kind, imported = name_binding(name, scope, names, top)
        if kind == "function":
            return Target("local", name), False
        if imported is not None:
            return Target("dotted", imported), False
        if kind == "unbound" and names.from_star(name):
            return Target("star", name), False
        return None  # a class (its constructor is not followed), a value
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    receiver = func.value
    owner = scope.enclosing_class
    if owner is not None:
        if isinstance(receiver, cst.Name) and receiver.value == scope.self_name:
            return Target("method", method, qualified_name(owner)), True
        if (
            isinstance(receiver, cst.Call)
            and isinstance(receiver.func, cst.Name)
            and receiver.func.value == "super"
        ):
            return Target("super", method, qualified_name(owner)), True
    dotted = dotted_name(receiver)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head in hidden:
        return None
    kind, imported = name_binding(head, scope, names, top)
    if kind == "class":
        return Target("dotted", f"{dotted}.{method}"), False
    if imported is not None:
        base = f"{imported}.{rest}" if rest else imported
        if base.endswith("."):
            return Target("dotted", f"{base}{method}"), False
        return Target("dotted", f"{base}.{method}"), False
    if kind == "unbound" and names.from_star(head):
        return Target("star", f"{dotted}.{method}"), False
    return None


def name_binding(
    name: str, scope: Scope, names: ImportMap, top: Mapping[str, Scope]
) -> tuple[str, str | None]:
    """What a bare name used in ``scope`` stands for, by Python's scoping: ``("import",
    qualified name)`` when an import binds it (one made in the function or a function
    around it, else the module's last binding of the name); ``("function", None)`` /
    ``("class", None)`` for a module-level definition; ``("value", None)`` for any other
    binding (a parameter, an assignment, a loop or ``as`` target: a value passed around,
    not followed); ``("unbound", None)`` when nothing binds it (a star import may)."""
    for function in scope.enclosing_functions():
        if name in function.declared_outer:
            break
        imported = function.imports.get(name)
        if imported is not None:
            return "import", imported
        if function.binds_locally(name):
            return "value", None
    last = names.module_last.get(name)
    if last == "import":
        return "import", names.module_level[name]
    if last == "definition":
        defined = top.get(name)
        return (defined.kind, None) if defined is not None else ("value", None)
    return ("value", None) if last is not None else ("unbound", None)


def _argument_facts(
    flow: Dataflow,
    scope: Scope,
    node: cst.BaseExpression,
    at: int,
    rebound: Callable[[str, int], bool],
) -> ArgFacts:
    carried = frozenset(s.name for s in flow.carried(node, at) if isinstance(s, Input))
    local = scope.key_of(node)
    key = local
    if key is not None and (key not in carried or rebound(key, at)):
        key = None
    return ArgFacts(key=key, carried=carried, local=None if key is not None else local)


class _FunctionReader:
    """Builds the :class:`FunctionFacts` of one function scope."""

    def __init__(
        self,
        analysis: ModuleAnalysis,
        scope: Scope,
        link: Callable[[cst.CSTNode, str], Link],
        children: Mapping[int, dict[str, Scope]],
    ) -> None:
        self.analysis = analysis
        self.scope = scope
        self.link = link
        self.children = children
        direct = analysis.direct_materializations(scope)
        materialized = frozenset(m.node for m in direct)
        self.materialized = materialized
        #: Whole reads (``cur.fetchall()``, ``sdf.toPandas()``, ``list(reader)``): a source
        #: read whole, even where the source is what the caller passed.
        self.whole_reads = {id(m.node): m for m in direct if m.kind != "materialization"}
        calls = frozenset(c.node for c in scope.calls)
        self.flow = Dataflow(
            scope, analysis.resolve, frozenset(), materialized | calls, inputs=True
        )
        #: What a ``return`` hands back: a comprehension over an input is a
        #: materialisation of its own, not the input returned (SPEC 2.6).
        self.returned_flow = Dataflow(
            scope,
            analysis.resolve,
            frozenset(),
            materialized | calls,
            inputs=True,
            comprehensions=False,
        )
        #: The index of each call's edge (by the call node's id), once the edges are read.
        self._edge_at: dict[int, int] = {}
        self._bound_at: dict[str, list[int]] = {}
        # A name declared ``nonlocal`` (or ``global``) stays the outer variable when bound.
        outer = scope.declared_outer
        for assignment in scope.assignments:
            key = scope.key_of(assignment.target)
            if key is not None and assignment.operator == "=" and key not in outer:
                self._bound_at.setdefault(key, []).append(assignment.site.order)
        for key, order in scope.rebinds:
            if key not in outer:
                self._bound_at.setdefault(key, []).append(order)

    def rebound(self, key: str, at: int) -> bool:
        """Whether ``key`` is bound in the function before ``at`` (so it is no longer the
        caller's value)."""
        return any(order < at for order in self._bound_at.get(key, ()))

    def read(self, path: str) -> FunctionFacts:
        scope = self.scope
        node = scope.node
        assert isinstance(node, cst.FunctionDef)
        params = node.params
        positional = tuple(p.name.value for p in (*params.posonly_params, *params.params))
        keyword_only = tuple(p.name.value for p in params.kwonly_params)
        local = Summary()
        self._own_effects(local)
        edges = self._edges()
        accumulators = self._accumulators(edges) if edges and scope.returns else ()
        return FunctionFacts(
            path=path,
            qualname=qualified_name(scope),
            name=scope.name,
            kind=function_kind(scope),
            positional=positional,
            keyword_only=keyword_only,
            local=local,
            edges=edges,
            accumulators=accumulators,
        )

    def _accumulators(self, edges: list[Edge]) -> tuple[Accumulator, ...]:
        """The collections the function returns after an unbounded loop in which a call
        passes them (SPEC 2.6: a growth or a flush through a call); empty when no call
        does, and the function's own code tells (its helper, 2.4)."""
        analysis, scope = self.analysis, self.scope
        facts = analysis.direct_collections(scope)
        if not facts.bindings:
            return ()
        at_call = self._edge_at
        nested = self.children.get(id(scope), {})
        found: list[Accumulator] = []
        involved = False
        for key, bindings in facts.bindings.items():
            outer = [b for b in bindings if not b.assignment.site.unbounded_loops()]
            if not outer:
                continue
            loops: dict[int, Loop] = {}
            passing: list[tuple[Loop, int]] = []
            for growth in facts.growths.get(key, ()):
                loop = growth.site.outermost_unbounded_loop()
                if loop is not None:
                    loops[id(loop)] = loop
            for call in scope.calls:
                index = at_call.get(id(call.node))
                loop = call.site.outermost_unbounded_loop()
                if index is None or loop is None:
                    continue
                func = call.node.func
                closure = isinstance(func, cst.Name) and func.value in nested
                if closure or any(scope.key_of(a.value) == key for a in call.node.args):
                    loops[id(loop)] = loop
                    passing.append((loop, index))
            for loop in sorted(loops.values(), key=lambda item: item.start):
                binding = next(
                    (b for b in reversed(outer) if b.assignment.site.order < loop.start), None
                )
                if binding is None:
                    continue
                sources = frozenset({binding.assignment})
                flow = Dataflow(scope, analysis.resolve, sources, frozenset(), comprehensions=False)
                if not any(
                    r.site.order > loop.end
                    and binding.assignment in flow.carried(r.value, r.site.order)
                    for r in scope.returns
                ):
                    continue
                through = tuple(index for where, index in passing if where is loop)
                involved = involved or bool(through)
                grown = tuple(
                    self.link(g.node, f"`{key}` grows here")
                    for g in facts.growths.get(key, ())
                    if loop.contains(g.site.order)
                )
                found.append(
                    Accumulator(
                        key,
                        analysis.describe_loop(loop),
                        grown,
                        any(loop.contains(f.site.order) for f in facts.flushes.get(key, ())),
                        through,
                    )
                )
        return tuple(found) if involved else ()

    def _own_effects(self, local: Summary) -> None:
        analysis, scope, link = self.analysis, self.scope, self.link
        catalog = analysis.catalog
        for call in scope.calls:
            if (
                local.loads is None
                and is_loader(call, catalog)
                and not analysis.is_round_trip(call, scope)
            ):
                local.loads = (link(call.node, f"`{scope.name}()` loads here"),)
            if (
                local.writes is None
                and match_sink(call, catalog) is not None
                and analysis.loads_or_writes(call, scope)
            ):
                local.writes = (link(call.node, f"`{scope.name}()` writes here"),)
        for sink in analysis.direct_sinks(scope):
            at = sink.call.site.order
            for data in sink.data:
                for source in self.flow.carried(data, at):
                    if isinstance(source, Input) and source.name not in local.writes_inputs:
                        written = (link(sink.call.node, f"`{source.name}` is written here"),)
                        local.writes_inputs[source.name] = (written, sink.conditional)
                        local.written_with[source.name] = sink.spelled
                        if local.writes is None and not sink.conditional:
                            local.writes = written
        facts = analysis.direct_collections(scope)
        for key, growths in facts.growths.items():
            for growth in growths:
                if not self.rebound(key, growth.site.order) and key not in local.grows_inputs:
                    local.grows_inputs[key] = (link(growth.node, f"`{key}` grows here"),)
        for key, flushes in facts.flushes.items():
            # Re-binding a parameter leaves the caller's collection as it was; re-binding a
            # ``nonlocal`` name to an empty container empties the enclosing function's.
            fresh = (
                set()
                if key in scope.declared_outer
                else {b.assignment.site.order for b in facts.bindings.get(key, ())}
            )
            if any(
                f.site.order not in fresh and not self.rebound(key, f.site.order) for f in flushes
            ):
                local.flushes_inputs.add(key)
        if scope.is_generator:
            # ``for r in rows: yield tuple(r)``: the generator the call makes holds the whole
            # of ``rows`` as it iterates, as ``return [tuple(r) for r in rows]`` would.
            for loop in scope.loops:
                if isinstance(loop.node, cst.For):
                    carried = self.flow.carried(loop.node.iter, loop.start)
                    local.returns_inputs |= {s.name for s in carried if isinstance(s, Input)}
        for ret in scope.returns:
            carried = self.returned_flow.carried(ret.value, ret.site.order)
            # What the caller passed, returned whole or through a derivation (SPEC 2.1: a
            # comprehension over it is not one, but a materialisation of its own).
            local.returns_inputs |= {s.name for s in carried if isinstance(s, Input)}
            # ``return [tuple(r) for r in rows]`` is a materialisation of its own, and holds
            # the whole of ``rows`` to be made: the call's result carries the argument too.
            local.returns_inputs |= {
                s.name
                for s in self.flow.iterated(ret.value, ret.site.order)
                if isinstance(s, Input)
            }
            if local.returns_materialization is not None:
                continue
            for source in carried:
                # ``return [load(p) for p in paths]`` and a whole read of a source the
                # caller passed (``return cur.fetchall()``) are materialisations (SPEC 2.6).
                read = self.whole_reads.get(id(source))
                if read is not None or source in self.materialized:
                    assert isinstance(source, cst.CSTNode)
                    local.returns_materialization = (
                        link(source, f"`{scope.name}()` returns this whole"),
                    )
                    local.returns_read = "" if read is None else _read_method(read.node)
                    break
        helper = analysis.helper_of(scope)
        accumulation = helper.accumulation if helper is not None else None
        if accumulation is not None:
            chain: Chain = tuple(
                link(g.node, f"`{accumulation.key}` grows here") for g in accumulation.growths
            )
            local.returns_accumulation = (
                accumulation.key,
                analysis.describe_loop(accumulation.loop),
                chain,
            )
        guards = analysis.function_guard_calls(scope)
        if guards.heartbeat is not None:
            local.heartbeat = (link(guards.heartbeat, f"`{scope.name}()` reports progress here"),)
        if guards.memory is not None:
            local.memory = (link(guards.memory, f"`{scope.name}()` checks memory here"),)
        if guards.stall is not None:
            local.stall = (link(guards.stall, f"`{scope.name}()` guards against stalls here"),)

    def _edges(self) -> list[Edge]:
        analysis, scope = self.analysis, self.scope
        imports = analysis.imports
        module_scope = analysis.scopes[0]
        edges: list[Edge] = []
        sink_data: dict[int, bool] = {}
        sink_with: dict[int, str] = {}
        for sink in analysis.direct_sinks(scope):
            at = sink.call.site.order
            for data in sink.data:
                for source in self.flow.carried(data, at):
                    if isinstance(source, cst.Call):
                        sink_data[id(source)] = sink.conditional and sink_data.get(id(source), True)
                        sink_with.setdefault(id(source), sink.spelled)
        returned: set[int] = set()
        for ret in scope.returns:
            for source in self.returned_flow.carried(ret.value, ret.site.order):
                if isinstance(source, cst.Call):
                    returned.add(id(source))
        for call in scope.calls:
            found = call_target(call, scope, imports, self.children, module_scope)
            if found is None:
                continue
            target, bound = found
            at = call.site.order
            positional: list[ArgFacts] = []
            keywords: dict[str, ArgFacts] = {}
            starred = False
            for arg in call.node.args:
                if arg.star:
                    starred = True
                    continue
                facts = _argument_facts(self.flow, scope, arg.value, at, self.rebound)
                if arg.keyword is not None:
                    keywords[arg.keyword.value] = facts
                elif not starred:
                    positional.append(facts)
            label = analysis.code(call.node.func)
            self._edge_at[id(call.node)] = len(edges)
            edges.append(
                Edge(
                    target=target,
                    link=self.link(call.node, f"`{scope.name}()` calls `{label}()` here"),
                    bound=bound,
                    positional=tuple(positional),
                    keywords=keywords,
                    starred=starred,
                    returned=id(call.node) in returned,
                    to_sink=id(call.node) in sink_data,
                    to_sink_conditional=sink_data.get(id(call.node), False),
                    to_sink_with=sink_with.get(id(call.node), ""),
                    in_except=call.site.except_depth > 0,
                    label=label,
                )
            )
        return edges


def module_facts(
    analysis: ModuleAnalysis,
    path: str,
    display: str,
    digest: str,
    locate: Locate | None,
    *,
    lazy: bool = False,
    deferred: bool = False,
    relocator: Relocator | None = None,
) -> ModuleFacts:
    """The functions, classes and imports of an analysed module.

    ``locate``: positions of nodes, for a module other than the one being checked; None
    for the checked module itself, whose links keep their nodes. ``lazy``: read each
    function when it is first asked for (the tree then stays alive as long as the facts).
    ``deferred``: ask ``locate`` only when a link's position is needed. ``relocator``:
    positions computed only when a link is shown, from the module's text (``locate`` for
    the nodes it does not number).
    """
    scopes = analysis.scopes
    children = children_by_name(scopes)

    def link(node: cst.CSTNode, message: str) -> Link:
        if locate is None:
            return Link(message, display, node=node)
        if deferred:
            return Link(message, display, node=node, locator=locate)
        if relocator is not None:
            number = relocator.number(node)
            if number is not None:
                return Link(message, display, relocator=relocator, number=number)
        line, column = locate(node)
        return Link(message, display, line, column)

    functions: dict[str, FunctionFacts] = {}
    classes: dict[str, ClassFacts] = {}
    by_name: dict[str, Scope] = {}
    for scope in scopes:
        if scope.kind == "function":
            by_name[qualified_name(scope)] = scope
        elif scope.kind == "class":
            node = scope.node
            assert isinstance(node, cst.ClassDef)
            bases = tuple(
                name
                for arg in node.bases
                if arg.keyword is None
                if (name := dotted_name(arg.value)) is not None
            )
            methods = {
                name: qualified_name(child)
                for name, child in children.get(id(scope), {}).items()
                if child.kind == "function"
            }
            classes[qualified_name(scope)] = ClassFacts(qualified_name(scope), methods, bases)
    top_level = {
        name: ("function" if child.kind == "function" else "class", name)
        for name, child in children.get(id(scopes[0]), {}).items()
    }
    facts = ModuleFacts(
        path=path,
        display=display,
        digest=digest,
        functions=functions,
        classes=classes,
        top_level=top_level,
        imports=dict(analysis.imports.imports),
        stars=tuple(analysis.imports.stars),
    )

    def read(qualname: str) -> FunctionFacts | None:
        scope = by_name.get(qualname)
        if scope is None:
            return None
        function = _FunctionReader(analysis, scope, link, children).read(path)
        function.module = facts
        return function

    if lazy:
        facts.factory = read
    else:
        for qualname in by_name:
            function = read(qualname)
            if function is not None:
                functions[qualname] = function
    return facts
