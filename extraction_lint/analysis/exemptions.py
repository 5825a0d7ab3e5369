"""Loops that EXL101-EXL103 leave to their caller (SPEC 2.5, "Not checked").

A loop inside a generator function hands each item to the consumer, and a loop inside a
function that implements a loader, a sink or the iteration protocol (``fetchall``,
``executemany``, ``__iter__``, ...) is the body of a call that the caller's own loop makes:
in either case the caller's loop is the one that runs as long as the data, and the one
that owns the heartbeat and the guards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import libcst as cst

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.analysis.facts import name_exemption
from extraction_lint.analysis.model import Loop, Scope

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis

GuardExemption = Literal["generator", "iteration-protocol", "loader-or-sink", "called-in-loops"]


def guard_exemption(
    loop: Loop, catalog: Catalog, called_in_loops: frozenset[int] = frozenset()
) -> GuardExemption | None:
    """Why the guard rules do not check ``loop``, or None when they do. ``called_in_loops``:
    the functions of :func:`called_only_in_extraction_loops`.

    What counts is the function that holds the loop directly: a loop in a function nested
    in a generator runs when that function is called, not as the generator iterates.
    """
    scope = loop.scope
    if scope.kind != "function":
        return None
    if scope.is_generator:
        return "generator"
    named = name_exemption(scope.name, catalog)
    if named is not None:
        return named
    if id(scope) in called_in_loops:
        return "called-in-loops"
    return None


def called_only_in_extraction_loops(analysis: ModuleAnalysis) -> frozenset[int]:
    """The functions (ids of their scopes) that the module calls only from inside
    extraction loops (SPEC 2.5): every resolved call of one sits in an extraction loop, or
    in a function that is itself called only that way. Their loops are part of the
    caller's nest, whose outermost loop is checked. A function with no resolved call is
    not among them: it is checked on its own.

    Calls are resolved within the module (a function of the module or one nested in the
    caller's, ``self.m()`` / ``cls.m()`` of the caller's class, ``C.m()`` of a class of
    the module). A call in a ``while`` test sits in that loop; a call in a ``for``
    header sits in it only when the callee is a generator function, whose body runs as
    the loop iterates.
    """
    extraction = {id(loop) for loop in analysis.extraction_loops}
    children: dict[int, dict[str, Scope]] = {}
    for scope in analysis.scopes:
        if scope.parent is not None:
            children.setdefault(id(scope.parent), {})[scope.name] = scope
    module_scope = analysis.scopes[0]
    imported = analysis.imports.imports
    # For each function, for each of its resolved calls: (calling scope, in a loop).
    calls: dict[int, list[tuple[Scope, bool]]] = {}
    functions: dict[int, Scope] = {}
    for scope in analysis.scopes:
        for call in scope.calls:
            callee = _local_callee(call.node.func, scope, children, module_scope, imported)
            if callee is None or callee is scope:
                continue  # not a function of the module, or recursion (the outer call decides)
            functions[id(callee)] = callee
            site = call.site
            loops = list(site.loops)
            if callee.is_generator and site.header_of is not None:
                loops.append(site.header_of)
            outermost = next((loop for loop in loops if not loop.bounded), None)
            in_loop = outermost is not None and id(outermost) in extraction
            calls.setdefault(id(callee), []).append((scope, in_loop))
    # The largest set that holds: each call in an extraction loop or in a member. A
    # function whose name the code left out of a sparse parse calls may be called outside.
    called_outside = analysis.outside.called
    exempt = {key for key in calls if functions[key].name not in called_outside}
    changed = True
    while changed:
        changed = False
        for key in list(exempt):
            if not all(in_loop or id(caller) in exempt for caller, in_loop in calls[key]):
                exempt.discard(key)
                changed = True
    return frozenset(exempt)


def _local_callee(
    func: cst.BaseExpression,
    scope: Scope,
    children: dict[int, dict[str, Scope]],
    module_scope: Scope,
    imported: dict[str, str],
) -> Scope | None:
    """The function of the module that a call's ``func`` names, if it names one."""
    if isinstance(func, cst.Name):
        if func.value in imported:
            return None
        current: Scope | None = scope
        while current is not None:
            if current.kind != "class" or current is scope:
                found = children.get(id(current), {}).get(func.value)
                if found is not None:
                    return found if found.kind == "function" else None
            current = current.parent
        return None
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return None
    owner_name = func.value.value
    owner: Scope | None = None
    if scope.self_name is not None and owner_name == scope.self_name:
        owner = scope.enclosing_class
    else:
        candidate = children.get(id(module_scope), {}).get(owner_name)
        if candidate is not None and candidate.kind == "class" and owner_name not in imported:
            owner = candidate
    if owner is None:
        return None
    method = children.get(id(owner), {}).get(func.attr.value)
    return method if method is not None and method.kind == "function" else None
