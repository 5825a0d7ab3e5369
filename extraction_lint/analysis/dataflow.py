"""Which sources of data an expression carries (SPEC 2.1 "Derivation").

A *source* is what a rule tracks: the binding of an accumulated collection (the
``rows = []`` whose collection grows unbounded), a materialisation (EXL002) or the call of
an accumulating helper (EXL003). A value built whole from a source carries it:
``pd.DataFrame(rows)``, ``np.array(rows)``, ``list(rows)``, ``d = rows``, any method call
on it (``df.sort_values(...)``), a display that holds it (``{"rows": rows}``).

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
        comprehension_inputs: bool = True,
        call_passes: CallPasses | None = None,
    ) -> None:
        """``inputs``: a name with no binding before its use carries :class:`Input` (and,
        with ``comprehension_inputs``, a comprehension over an input carries it: the whole
        input is iterated, which is what writing it means; it is not a derivation to
        return, SPEC 2.1). ``call_passes``: derivations through calls of project functions."""
        self._scope = scope
        self._inputs = inputs
        self._comprehension_inputs_carried = inputs and comprehension_inputs
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
        if self._comprehension_inputs_carried and isinstance(
            node, cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
        ):
            return self._comprehension_inputs(node, at)
        if isinstance(node, cst.Attribute):
            return self.carried(node.value, at)
        if isinstance(node, cst.Subscript):
            return self.carried(node.value, at) if _selects_many(node) else _EMPTY
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

    def _comprehension_inputs(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp, at: int
    ) -> frozenset[Source]:
        """The inputs a comprehension iterates over (any of its ``for`` clauses)."""
        out: frozenset[Source] = _EMPTY
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            out |= frozenset(s for s in self.carried(clause.iter, at) if isinstance(s, Input))
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


def _selects_many(node: cst.Subscript) -> bool:
    """``c[a:b]`` or ``df[["x", "y"]]``: a part that is still many records."""
    return any(
        isinstance(e.slice, cst.Slice)
        or (isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.List))
        for e in node.slice
    )
