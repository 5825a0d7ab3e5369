"""Which sources of data an expression carries (SPEC 2.1 "Derivation").

A *source* is what a rule tracks: an accumulated collection (by its key, ``"rows"``), a
materialisation (EXL002) or the call of an accumulating helper (EXL003), by node. A value
built whole from a source carries it: ``pd.DataFrame(rows)``, ``np.array(rows)``,
``list(rows)``, ``d = rows``, any method call on it (``df.sort_values(...)``), a display that
holds it (``{"rows": rows}``). Within one scope, flow-insensitively: a name carries what any
of its assignments carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import libcst as cst

from extraction_lint.analysis.catalog import DERIVATION_CALLS
from extraction_lint.analysis.model import Scope

Source = str | cst.CSTNode
Resolve = Callable[[cst.BaseExpression], str | None]

_EMPTY: frozenset[Source] = frozenset()
#: Keyword arguments of derivation calls that carry the data (``pd.DataFrame(data=rows)``).
_DATA_KEYWORDS = frozenset({"data", "objs", "arrays", "tup", "mapping", "iterable"})


def _derivation_arguments(call: cst.Call) -> Iterable[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value in _DATA_KEYWORDS:
            yield arg.value


class Dataflow:
    """Answers ``carried(expr)`` for the expressions of one scope."""

    def __init__(
        self,
        scope: Scope,
        resolve: Resolve,
        source_keys: frozenset[str],
        source_nodes: frozenset[cst.CSTNode],
    ) -> None:
        self._scope = scope
        self._resolve = resolve
        self._source_keys = source_keys
        self._source_nodes = source_nodes
        self._names: dict[str, frozenset[Source]] = {}
        if source_keys or source_nodes:
            self._propagate()

    def _propagate(self) -> None:
        """Carry sources through assignments until nothing changes."""
        pairs: list[tuple[str, cst.BaseExpression]] = []
        key_of = self._scope.key_of
        for assignment in self._scope.assignments:
            if assignment.operator != "=":
                continue
            target, value = assignment.target, assignment.value
            key = key_of(target)
            if key is not None:
                pairs.append((key, value))
            elif (
                isinstance(target, cst.Tuple | cst.List)
                and isinstance(value, cst.Tuple | cst.List)
                and len(target.elements) == len(value.elements)
            ):
                for t, v in zip(target.elements, value.elements, strict=True):
                    element_key = key_of(t.value)
                    if element_key is not None:
                        pairs.append((element_key, v.value))
        changed = True
        while changed:
            changed = False
            for key, value in pairs:
                carried = self.carried(value)
                before = self._names.get(key, _EMPTY)
                if not carried <= before:
                    self._names[key] = before | carried
                    changed = True

    def carried(self, node: cst.BaseExpression) -> frozenset[Source]:
        """The sources whose whole data ``node`` carries."""
        key = self._scope.key_of(node)
        if key is not None:
            names = self._names.get(key, _EMPTY)
            return names | {key} if key in self._source_keys else names
        own: frozenset[Source] = frozenset({node}) if node in self._source_nodes else _EMPTY
        return own | self._derived(node)

    def _derived(self, node: cst.BaseExpression) -> frozenset[Source]:
        """What ``node`` carries from its parts (a materialisation is also a derivation:
        ``list(rows.values())`` carries ``rows``)."""
        if isinstance(node, cst.Call):
            func = node.func
            if self._resolve(func) in DERIVATION_CALLS:
                return self._union(_derivation_arguments(node))
            if isinstance(func, cst.Attribute):
                return self.carried(func.value)
            return _EMPTY
        if isinstance(node, cst.Attribute):
            return self.carried(node.value)
        if isinstance(node, cst.Subscript):
            return self.carried(node.value) if _selects_many(node) else _EMPTY
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            return self._union(e.value for e in node.elements)
        if isinstance(node, cst.Dict):
            return self._union(e.value for e in node.elements)
        if isinstance(node, cst.Await):
            return self.carried(node.expression)
        if isinstance(node, cst.IfExp):
            return self.carried(node.body) | self.carried(node.orelse)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self.carried(node.left) | self.carried(node.right)
        if isinstance(node, cst.NamedExpr):
            return self.carried(node.value)
        return _EMPTY

    def _union(self, nodes: Iterable[cst.BaseExpression]) -> frozenset[Source]:
        out: frozenset[Source] = _EMPTY
        for node in nodes:
            out |= self.carried(node)
        return out


def _selects_many(node: cst.Subscript) -> bool:
    """``c[a:b]`` or ``df[["x", "y"]]``: a part that is still many records."""
    return any(
        isinstance(e.slice, cst.Slice)
        or (isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.List))
        for e in node.slice
    )
