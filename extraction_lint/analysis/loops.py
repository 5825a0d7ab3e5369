"""Bounded and unbounded loops (SPEC 2.1 "Bounded loop").

A loop is bounded when its trip count is small and known from the source: ``range`` of
literals within ``bounded-range-limit`` steps, a display (``("a", "b")``), a module-level
constant bound once to a display, the ``.items()``/``.keys()``/``.values()`` of such a dict,
and ``enumerate``/``zip``/``reversed``/``sorted`` of those. Everything else (``map`` and
``filter`` too: SPEC 2.1 names only those four), and every ``while`` loop, is unbounded.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from extraction_lint.analysis.catalog import BOUNDED_VIEW_METHODS
from extraction_lint.analysis.facts import CallParts, is_bounded_iterable
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


def mutated_names(scopes: list[Scope]) -> set[str]:
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
    rebound = mutated_names(scopes) | mutated_elsewhere
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


#: What stands for a constant of another module in the decision: a display of its kind
#: (``"dict"``, or ``"display"`` for a tuple, list or set), whose elements it does not read.
_IMPORTED_DISPLAYS: dict[str, cst.BaseExpression] = {"dict": cst.Dict([]), "display": cst.Tuple([])}


class BoundedLoops:
    """Decides whether an iterable is bounded, in the light of one module's constants (the
    decision itself is :func:`extraction_lint.analysis.facts.is_bounded_iterable`).
    ``imported``: the kind of display a name imported from a project module is a constant
    of there (``"dict"`` or ``"display"``), None when it is none."""

    def __init__(
        self,
        imports: ImportMap,
        constants: dict[str, cst.BaseExpression],
        range_limit: int,
        imported: Callable[[str], str | None] | None = None,
    ) -> None:
        self._imports = imports
        self._constants = constants
        self._range_limit = range_limit
        self._imported = imported

    def is_bounded_iterable(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """Whether iterating ``node`` runs a small number of times known from the source."""
        shape = _CstShape(self._imports, self._constants, scope, self._imported)
        return is_bounded_iterable(node, shape, self._range_limit)


def _shadowed(scope: Scope, name: str) -> bool:
    """Whether ``name``, used in ``scope``, is a name of the function (or of a function
    around it) rather than the module's: a parameter, an assignment, a loop or ``as``
    target, an import made there, unless declared ``global``."""
    for function in scope.enclosing_functions():
        if name in function.declared_outer:
            return False
        if name in function.imports or function.binds_locally(name):
            return True
    return False


class _CstShape:
    """libcst's answers to :class:`extraction_lint.analysis.facts.Shape`."""

    __slots__ = ("_constants", "_imported", "_imports", "_scope")

    def __init__(
        self,
        imports: ImportMap,
        constants: dict[str, cst.BaseExpression],
        scope: Scope,
        imported: Callable[[str], str | None] | None = None,
    ) -> None:
        self._imports = imports
        self._constants = constants
        self._scope = scope
        self._imported = imported

    def fixed_display(self, node: cst.BaseExpression) -> bool:
        return is_fixed_display(node)

    def fixed_dict(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Dict) and is_fixed_display(node)

    def constant(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        if not isinstance(node, cst.Name):
            return None
        name = node.value
        if _shadowed(self._scope, name):
            return None
        if name in self._constants:
            return self._constants[name]
        if self._imported is None:
            return None
        # A constant of the project module it is imported from (SPEC 2.1, 2.6).
        kind = self._imported(name)
        return _IMPORTED_DISPLAYS[kind] if kind is not None else None

    def view_receiver(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool] | None:
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in BOUNDED_VIEW_METHODS
        ):
            return node.func.value, bool(node.args)
        return None

    def call(self, node: cst.BaseExpression) -> CallParts[cst.BaseExpression] | None:
        if not isinstance(node, cst.Call):
            return None
        positional = [a for a in node.args if a.keyword is None]
        return CallParts(
            self._imports.resolve(node.func),
            [a.value for a in positional if a.star == ""],
            any(a.star for a in positional),
            any(a.keyword is not None for a in node.args),
        )

    def integer(self, node: cst.BaseExpression) -> int | None:
        return integer_literal(node)
