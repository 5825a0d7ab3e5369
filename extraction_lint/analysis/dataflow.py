"""Which sources of data an expression carries (SPEC 2.1 "Derivation").

A *source* is what a rule tracks: the binding of an accumulated collection (the
``rows = []`` whose collection grows unbounded), a materialisation (EXL002) or the call of
an accumulating helper (EXL003). A value built whole from a source carries it:
``pd.DataFrame(rows)``, ``np.array(rows)``, ``list(rows)``, ``d = rows``, any method call
on it (``df.sort_values(...)``), a subscript of it (``rows[i:j]``, ``df[mask]``,
``by_kind["a"]``: the whole was held to take it), a display that holds it
(``{"rows": rows}``).

A comprehension or generator expression carries what its ``for`` clauses iterate
(``(tuple(r) for r in rows)`` written by a sink writes ``rows``, SPEC 2.6): to a sink it is
the source, passed on item by item. It is not a derivation to *return* (a function that
returns ``[f(r) for r in rows]`` returns a materialisation of its own, SPEC 2.6), so the
flows that read returns leave it out (``comprehensions=False``).

A name carries what its *reaching* binding carries: the last binding of the name, in
source order, before the place where it is used. So ``rows = fetch()`` after the loop
that grew ``rows`` means a later ``executemany(SQL, rows)`` writes the fetched rows, not
the accumulated ones; a loop target, an unpacking or ``del rows`` in between means it
carries nothing known. Branches are not told apart: the last binding in source order
wins.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import libcst as cst

from extraction_lint.analysis.catalog import DERIVATION_CALLS
from extraction_lint.analysis.model import Assignment, Scope


@dataclass(frozen=True, slots=True)
class Input:
    """A name used with no binding before it in its scope: a parameter, or a name of an
    enclosing function (SPEC 2.6 tracks what a function does to its inputs)."""

    name: str


#: A source: an accumulated collection's binding, a materialisation / helper call node, or
#: an input of the function.
Source = Assignment | cst.CSTNode | Input
Resolve = Callable[[cst.BaseExpression], str | None]
#: The arguments of a call whose data its result carries (a project function that returns
#: its parameter: ``rows = transform(rows)``), or None when the call is not such a one.
CallPasses = Callable[[cst.Call], Iterable[cst.BaseExpression] | None]

_EMPTY: frozenset[Source] = frozenset()
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
#: Keyword arguments of derivation calls that carry the data (``pd.DataFrame(data=rows)``).
_DATA_KEYWORDS = frozenset({"data", "objs", "arrays", "tup", "mapping", "iterable"})


def _derivation_arguments(call: cst.Call) -> Iterable[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value in _DATA_KEYWORDS:
            yield arg.value


class Dataflow:
    """Answers ``carried(expr, at)`` for the expressions of one scope."""

    def __init__(
        self,
        scope: Scope,
        resolve: Resolve,
        source_bindings: frozenset[Assignment],
        source_nodes: frozenset[cst.CSTNode],
        *,
        inputs: bool = False,
        comprehensions: bool = True,
        call_passes: CallPasses | None = None,
    ) -> None:
        """``inputs``: a name with no binding before its use carries :class:`Input`.
        ``comprehensions``: a comprehension or generator carries what it iterates (what a
        sink writes; not what a function returns). ``call_passes``: derivations through
        calls of project functions."""
        self._scope = scope
        self._inputs = inputs
        self._comprehensions = comprehensions
        self._call_passes = call_passes
        self._resolve = resolve
        self._source_bindings = source_bindings
        self._source_nodes = source_nodes
        self._memo: dict[tuple[str, int], frozenset[Source]] = {}
        # For each key, its bindings in source order: a plain assignment, or None for a
        # binding of another kind (loop target, unpacking, ``as``, ``del``).
        events: dict[str, list[tuple[int, Assignment | None]]] = {}
        key_of = scope.key_of
        for assignment in scope.assignments:
            if assignment.operator == "=":
                key = key_of(assignment.target)
                if key is not None:
                    events.setdefault(key, []).append((assignment.site.order, assignment))
        # ``a, b = helper()``: tuple unpacking of a tainted value taints each name (SPEC 2.1).
        # The names' own re-binding events come first, so this binding is the one that reaches.
        for assignment in scope.assignments:
            if assignment.operator == "=" and isinstance(assignment.target, cst.Tuple | cst.List):
                for key in unpacked_keys(assignment.target, scope):
                    events.setdefault(key, []).append((assignment.site.order, assignment))
        for key, order in scope.rebinds:
            events.setdefault(key, []).append((order, None))
        for deletion in scope.deletions:
            key = key_of(deletion.target)
            if key is not None:
                events.setdefault(key, []).append((deletion.site.order, None))
        self._orders: dict[str, list[int]] = {}
        self._bindings: dict[str, list[Assignment | None]] = {}
        for key, items in events.items():
            items.sort(key=lambda item: item[0])
            self._orders[key] = [order for order, _ in items]
            self._bindings[key] = [binding for _, binding in items]

    def _name(self, key: str, at: int) -> frozenset[Source]:
        """What ``key`` carries where it is used at order ``at``."""
        memo = self._memo.get((key, at))
        if memo is not None:
            return memo
        result = _EMPTY
        orders = self._orders.get(key)
        index = bisect.bisect_left(orders, at) - 1 if orders else -1
        if index < 0 and self._inputs:
            result = frozenset({Input(key)})
        elif orders and index >= 0:
            binding = self._bindings[key][index]
            if binding is None:
                result = _EMPTY
            elif binding in self._source_bindings:
                result = frozenset({binding})
            else:
                # ``d = rows``, ``df = pd.DataFrame(rows)``, ``c = c + [x]``: what the
                # value carried where it was evaluated.
                assert orders is not None
                result = self.carried(binding.value, orders[index])
        self._memo[(key, at)] = result
        return result

    def carried(self, node: cst.BaseExpression, at: int) -> frozenset[Source]:
        """The sources whose whole data ``node``, evaluated at order ``at``, carries."""
        key = self._scope.key_of(node)
        if key is not None:
            return self._name(key, at)
        own: frozenset[Source] = frozenset({node}) if node in self._source_nodes else _EMPTY
        return own | self._derived(node, at)

    def _derived(self, node: cst.BaseExpression, at: int) -> frozenset[Source]:
        """What ``node`` carries from its parts (a materialisation is also a derivation:
        ``list(rows.values())`` carries ``rows``)."""
        if isinstance(node, cst.Call):
            func = node.func
            if self._resolve(func) in DERIVATION_CALLS:
                return self._union(_derivation_arguments(node), at)
            if self._call_passes is not None:
                passed = self._call_passes(node)
                if passed is not None:
                    return self._union(passed, at)
            if isinstance(func, cst.Attribute):
                return self.carried(func.value, at)
            return _EMPTY
        if self._comprehensions and isinstance(node, _COMPREHENSIONS):
            return self.iterated(node, at)
        if isinstance(node, cst.Attribute | cst.Subscript):
            return self.carried(node.value, at)
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            return self._union((e.value for e in node.elements), at)
        if isinstance(node, cst.Dict):
            return self._union((e.value for e in node.elements), at)
        if isinstance(node, cst.Await):
            return self.carried(node.expression, at)
        if isinstance(node, cst.IfExp):
            return self.carried(node.body, at) | self.carried(node.orelse, at)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self.carried(node.left, at) | self.carried(node.right, at)
        if isinstance(node, cst.NamedExpr):
            return self.carried(node.value, at)
        return _EMPTY

    def iterated(self, node: cst.BaseExpression, at: int) -> frozenset[Source]:
        """The sources a comprehension or generator expression, evaluated at order ``at``,
        iterates over (any of its ``for`` clauses), whatever this flow's ``comprehensions``
        says; empty for any other expression. An iterable drawn from a target of an earlier
        clause (``for y in x``, ``x.items()``, ``sorted(x)``) is the comprehension's own."""
        if not isinstance(node, _COMPREHENSIONS):
            return _EMPTY
        out: frozenset[Source] = _EMPTY
        targets: set[str] = set()
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            root = _root_name(clause.iter)
            if root is None or root not in targets:
                out |= self.carried(clause.iter, at)
            if isinstance(clause.target, cst.Tuple | cst.List):
                targets.update(unpacked_keys(clause.target, self._scope))
            elif (key := self._scope.key_of(clause.target)) is not None:
                targets.add(key)
            clause = clause.inner_for_in
        return out

    def _union(self, nodes: Iterable[cst.BaseExpression], at: int) -> frozenset[Source]:
        out: frozenset[Source] = _EMPTY
        for node in nodes:
            out |= self.carried(node, at)
        return out


def unpacked_keys(target: cst.Tuple | cst.List, scope: Scope) -> list[str]:
    """The keys an unpacking target binds, nested and starred elements included."""
    keys: list[str] = []
    pending: list[cst.BaseExpression] = [e.value for e in target.elements]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Tuple | cst.List):
            pending.extend(e.value for e in node.elements)
        elif isinstance(node, cst.StarredElement):
            pending.append(node.value)
        elif (key := scope.key_of(node)) is not None:
            keys.append(key)
    return keys


def _root_name(node: cst.BaseExpression) -> str | None:
    """The name an expression is drawn from: ``x`` in ``x``, ``x.items()``, ``x[k].y``,
    ``sorted(x)``."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute | cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.Call) and node.args:
            node = node.args[0].value
        else:
            return None
