"""Bounded and unbounded loops (SPEC 2.1 "Bounded loop").

A loop is bounded when its trip count is small and known from the source: ``range`` of
literals within ``bounded-range-limit`` steps, a display (``("a", "b")``), a module-level
constant bound once to a display, the ``.items()``/``.keys()``/``.values()`` of such a dict,
and ``enumerate``/``zip``/``reversed``/``sorted`` of those. Everything else (``map`` and
``filter`` too: SPEC 2.1 names only those four), and every ``while`` loop, is unbounded.
"""

from __future__ import annotations

import libcst as cst

from extraction_lint.analysis.catalog import (
    BOUNDED_VIEW_METHODS,
    BOUNDED_WRAPPERS,
)
from extraction_lint.analysis.model import Scope
from extraction_lint.analysis.names import ImportMap

_DISPLAYS = (cst.Tuple, cst.List, cst.Set, cst.Dict)


def integer_literal(node: cst.BaseExpression) -> int | None:
    """The value of ``3``, ``-3`` or ``10_000``, else None."""
    negative = False
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        negative, node = True, node.expression
    if isinstance(node, cst.Integer):
        value = node.evaluated_value
        return -value if negative else value
    return None


def is_fixed_display(node: cst.BaseExpression) -> bool:
    """A tuple/list/set/dict display whose elements are all written out (no ``*x``)."""
    if not isinstance(node, _DISPLAYS):
        return False
    return not any(
        isinstance(element, cst.StarredElement | cst.StarredDictElement)
        for element in node.elements
    )


#: Methods that change a container in place: a name they are called on is not a constant.
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add",
        "update",
        "setdefault",
        "pop",
        "popitem",
        "remove",
        "discard",
        "clear",
        "sort",
        "reverse",
        "appendleft",
        "extendleft",
    }
)


def _mutated_names(scopes: list[Scope]) -> set[str]:
    """Names changed in place anywhere: ``c.append(x)``, ``c[k] = v``, ``c += x``, ``del c[k]``."""
    names: set[str] = set()
    for scope in scopes:
        names.update(scope.declared_outer)
        for call in scope.calls:
            func = call.node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.attr.value in MUTATING_METHODS
            ):
                names.add(func.value.value)
        for assignment in scope.assignments:
            target = assignment.target
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                names.add(target.value.value)
            elif assignment.operator != "=" and isinstance(target, cst.Name):
                names.add(target.value)
        for deletion in scope.deletions:
            target = deletion.target
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                names.add(target.value.value)
    return names


def module_constants(
    module_scope: Scope,
    binding_counts: dict[str, int],
    scopes: list[Scope],
    mutated_elsewhere: frozenset[str] = frozenset(),
) -> dict[str, cst.BaseExpression]:
    """Module-level names bound exactly once, to a fixed display, never re-bound (``global``)
    and never changed in place (in ``scopes``, or as ``mutated_elsewhere`` says)."""
    rebound = _mutated_names(scopes) | mutated_elsewhere
    constants: dict[str, cst.BaseExpression] = {}
    for assignment in module_scope.assignments:
        target = assignment.target
        if (
            isinstance(target, cst.Name)
            and assignment.operator == "="
            and binding_counts.get(target.value) == 1
            and target.value not in rebound
            and is_fixed_display(assignment.value)
        ):
            constants[target.value] = assignment.value
    return constants


class BoundedLoops:
    """Decides whether an iterable is bounded, in the light of one module's constants."""

    def __init__(
        self,
        imports: ImportMap,
        constants: dict[str, cst.BaseExpression],
        range_limit: int,
    ) -> None:
        self._imports = imports
        self._constants = constants
        self._range_limit = range_limit

    def is_bounded_iterable(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """Whether iterating ``node`` runs a small number of times known from the source."""
        if is_fixed_display(node):
            return True
        if isinstance(node, cst.Name):
            return self._constant(node.value, scope) is not None
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in BOUNDED_VIEW_METHODS:
            return not node.args and self._is_bounded_dict(func.value, scope)
        name = self._imports.resolve(func)
        positional = [a.value for a in node.args if a.keyword is None and a.star == ""]
        if len(positional) != len([a for a in node.args if a.keyword is None]):
            return False  # *args: unknown length
        if name == "range":
            return self._is_small_range(positional)
        if name in BOUNDED_WRAPPERS and positional:
            iterables = positional if name == "zip" else positional[:1]
            return all(self.is_bounded_iterable(arg, scope) for arg in iterables)
        return False

    def _is_bounded_dict(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(node, cst.Name):
            node = self._constant(node.value, scope) or node
        return isinstance(node, cst.Dict) and is_fixed_display(node)

    def _constant(self, name: str, scope: Scope) -> cst.BaseExpression | None:
        # A local binding of the same name shadows the module constant.
        if scope.kind != "module" and any(
            isinstance(a.target, cst.Name) and a.target.value == name for a in scope.assignments
        ):
            return None
        return self._constants.get(name)

    def _is_small_range(self, args: list[cst.BaseExpression]) -> bool:
        if not 1 <= len(args) <= 3:
            return False
        values = [integer_literal(a) for a in args]
        if any(v is None for v in values):
            return False
        ints = [v for v in values if v is not None]
        if len(ints) == 3 and ints[2] == 0:
            return False
        return len(range(*ints)) <= self._range_limit
