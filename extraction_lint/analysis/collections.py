"""Collections, where they grow and where they are flushed (SPEC 2.1).

A collection is a name (or ``self.attr``) bound to a growable container. Its growth and
flush sites are found among the calls, assignments and deletions of its scope; an
:class:`Accumulation` is a collection that grows in an unbounded loop and is never flushed
inside it, the raw material of EXL001 and EXL003.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeGuard

import libcst as cst

from extraction_lint.analysis.catalog import (
    CLEAR_METHOD,
    DEQUE_CALL,
    EMPTY_CONTAINER_CALLS,
    EMPTY_FRAME_CALLS,
    FRAME_CONCAT_CALLS,
    FRAME_SHAPE_KEYWORDS,
    GROWTH_METHODS,
    SETDEFAULT_METHOD,
)
from extraction_lint.analysis.model import Assignment, Loop, Scope, Site

Resolve = Callable[[cst.BaseExpression], str | None]

_DISPLAYS = (cst.List, cst.Dict, cst.Set)
_LITERAL_KEYS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)
_GROWING_OPERATORS = frozenset({"AddAssign", "BitOrAssign"})


@dataclass(frozen=True, slots=True)
class GrowthSite:
    """Where a collection grows: the node to point at and its site."""

    key: str
    node: cst.CSTNode
    site: Site


@dataclass(frozen=True, slots=True)
class FlushSite:
    """Where a collection is emptied or replaced by a fresh container."""

    key: str
    site: Site


@dataclass(frozen=True, slots=True)
class Binding:
    """``key = <growable container>``."""

    key: str
    assignment: Assignment


@dataclass
class Accumulation:
    """A collection that grows in the unbounded loop ``loop`` and is never flushed inside it."""

    key: str
    binding: Binding
    loop: Loop
    growths: list[GrowthSite] = field(default_factory=list)


def is_new_collection(node: cst.BaseExpression, resolve: Resolve) -> bool:
    """Whether ``node`` makes a fresh growable container (SPEC 2.1 "Collection")."""
    if isinstance(node, _DISPLAYS):
        return True
    if not isinstance(node, cst.Call):
        return False
    name = resolve(node.func)
    if name in EMPTY_CONTAINER_CALLS:
        return not node.args or name in {"collections.defaultdict", "collections.OrderedDict"}
    if name == DEQUE_CALL:
        # ``deque(xs, n)`` or ``deque(maxlen=n)`` is bounded, unless ``n`` is ``None``.
        positional = [a.value for a in node.args if a.keyword is None]
        keyword = [
            a.value for a in node.args if a.keyword is not None and a.keyword.value == "maxlen"
        ]
        maxlen = [*positional[1:2], *keyword]
        return all(isinstance(m, cst.Name) and m.value == "None" for m in maxlen)
    if name in EMPTY_FRAME_CALLS:
        return all(
            a.keyword is not None and a.keyword.value in FRAME_SHAPE_KEYWORDS for a in node.args
        )
    return False


def is_new_sequence(node: cst.BaseExpression, resolve: Resolve) -> bool:
    """A fresh list (display, ``list()``) or ``deque()``: rows in order, not a mapping."""
    if isinstance(node, cst.List):
        return True
    return isinstance(node, cst.Call) and resolve(node.func) in {"list", DEQUE_CALL}


def _is_empty_display(node: cst.BaseExpression) -> bool:
    return isinstance(node, _DISPLAYS) and not node.elements


def _is_full_slice(node: cst.Subscript) -> bool:
    if len(node.slice) != 1:
        return False
    inner = node.slice[0].slice
    return (
        isinstance(inner, cst.Slice)
        and inner.lower is None
        and inner.upper is None
        and inner.step is None
    )


def _is_keyed_batch(node: cst.BaseExpression) -> TypeGuard[cst.Subscript]:
    """``c[rec.table]``: one of the batches of a dict of lists keyed by the data (a
    literal key, ``c["errors"]``, is a part of its own: emptying it empties no other)."""
    return (
        isinstance(node, cst.Subscript)
        and not _is_full_slice(node)
        and not _subscript_key_is_literal(node)
    )


def _subscript_key_is_literal(node: cst.Subscript) -> bool:
    """``c["total"]``: a fixed key, which does not grow the container."""
    return (
        len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and isinstance(node.slice[0].slice.value, _LITERAL_KEYS)
    )


def _mentions(node: cst.BaseExpression, key: str, scope: Scope) -> bool:
    """Whether ``node`` is the collection or a display/argument list that holds it."""
    if scope.key_of(node) == key:
        return True
    if isinstance(node, cst.List | cst.Tuple):
        return any(_mentions(e.value, key, scope) for e in node.elements)
    return False


class CollectionFacts:
    """Bindings, growth and flush sites of every collection of one scope."""

    def __init__(self, scope: Scope, resolve: Resolve) -> None:
        self.scope = scope
        self._resolve = resolve
        self.bindings: dict[str, list[Binding]] = {}
        self.growths: dict[str, list[GrowthSite]] = {}
        self.flushes: dict[str, list[FlushSite]] = {}
        #: Keys also bound to something that is not a fresh container.
        self.rebound: set[str] = set(scope.other_bindings)
        self._collect()

    def _grow(self, key: str | None, node: cst.CSTNode, site: Site) -> None:
        if key is not None:
            self.growths.setdefault(key, []).append(GrowthSite(key, node, site))

    def _flush(self, key: str | None, site: Site) -> None:
        if key is not None:
            self.flushes.setdefault(key, []).append(FlushSite(key, site))

    def note_growth(self, key: str, node: cst.CSTNode, site: Site) -> None:
        """A growth of ``key`` found elsewhere (a call of a project function, SPEC 2.6)."""
        self._grow(key, node, site)

    def note_flush(self, key: str, site: Site) -> None:
        """A flush of ``key`` found elsewhere (a call of a project function, SPEC 2.6)."""
        self._flush(key, site)

    def _collect(self) -> None:
        scope = self.scope
        key_of = scope.key_of
        for assignment in scope.assignments:
            self._classify_assignment(assignment)
        for deletion in scope.deletions:
            target = deletion.target
            if isinstance(target, cst.Subscript) and _is_full_slice(target):
                inner = target.value
                if _is_keyed_batch(inner):
                    inner = inner.value  # del c[k][:]: one key's batch emptied
                self._flush(key_of(inner), deletion.site)
        for call in scope.calls:
            func = call.node.func
            if not isinstance(func, cst.Attribute):
                continue
            method = func.attr.value
            receiver = func.value
            if method == CLEAR_METHOD and not call.node.args:
                if _is_keyed_batch(receiver):
                    # c[k].clear(): the batch of one key written and emptied, as the
                    # batches of a dict of lists are (each key is bounded).
                    receiver = receiver.value
                self._flush(key_of(receiver), call.site)
            elif method in GROWTH_METHODS:
                if isinstance(receiver, cst.Subscript):
                    # c[k].append(x)
                    self._grow(key_of(receiver.value), call.node, call.site)
                elif (
                    isinstance(receiver, cst.Call)
                    and isinstance(receiver.func, cst.Attribute)
                    and receiver.func.attr.value == SETDEFAULT_METHOD
                ):
                    # c.setdefault(k, []).append(x)
                    self._grow(key_of(receiver.func.value), call.node, call.site)
                else:
                    self._grow(key_of(receiver), call.node, call.site)

    def _classify_assignment(self, assignment: Assignment) -> None:
        key_of = self.scope.key_of
        target, value, site = assignment.target, assignment.value, assignment.site
        if isinstance(target, cst.Subscript):
            key = key_of(target.value)
            if _is_full_slice(target):
                if assignment.operator == "=" and _is_empty_display(value):
                    self._flush(key, site)  # c[:] = []
                elif assignment.operator != "=":
                    self._grow(key, assignment.statement, site)
            elif not _subscript_key_is_literal(target):
                self._grow(key, assignment.statement, site)  # c[k] = v
            return
        key = key_of(target)
        if key is None:
            return
        if assignment.operator in _GROWING_OPERATORS:
            self._grow(key, assignment.statement, site)  # c += [...]
            return
        if assignment.operator != "=":
            return
        if self._is_self_extension(key, value):
            self._grow(key, assignment.statement, site)
        elif is_new_collection(value, self._resolve):
            self.bindings.setdefault(key, []).append(Binding(key, assignment))
            self._flush(key, site)
        else:
            self.rebound.add(key)

    def is_sequence(self, key: str) -> bool:
        """Whether ``key`` only ever holds a list (or deque) of records in this scope.

        ``x.execute(sql, params)`` is a bulk write only when ``params`` is such a list
        (SQLAlchemy's executemany form); a dict or tuple there is one row's parameters.
        """
        bindings = self.bindings.get(key, [])
        return (
            bool(bindings)
            and key not in self.rebound
            and all(is_new_sequence(b.assignment.value, self._resolve) for b in bindings)
        )

    def _is_self_extension(self, key: str, value: cst.BaseExpression) -> bool:
        """``c = c + x``, ``c = [*c, x]``, ``c = {**c, k: v}`` or ``c = pandas.concat([c, x])``."""
        scope = self.scope
        if isinstance(value, _DISPLAYS):
            return any(
                isinstance(e, cst.StarredElement | cst.StarredDictElement)
                and scope.key_of(e.value) == key
                for e in value.elements
            )
        if isinstance(value, cst.BinaryOperation) and isinstance(
            value.operator, cst.Add | cst.BitOr
        ):
            return scope.key_of(value.left) == key or scope.key_of(value.right) == key
        if isinstance(value, cst.Call) and self._resolve(value.func) in FRAME_CONCAT_CALLS:
            return any(
                a.keyword is None or a.keyword.value == "objs"
                for a in value.args
                if _mentions(a.value, key, scope)
            )
        return False

    def may_accumulate(self) -> bool:
        """Whether :meth:`accumulations` can find anything once calls of project functions
        add their growths: a collection is bound outside every unbounded loop of the
        scope, and the scope has an unbounded loop (cheap: no summary is read)."""
        if not any(not loop.bounded for loop in self.scope.loops):
            return False
        return any(
            not b.assignment.site.unbounded_loops()
            for bindings in self.bindings.values()
            for b in bindings
        )

    def accumulations(self) -> list[Accumulation]:
        """Collections that grow in an unbounded loop and are never flushed inside it.

        The loop is the outermost unbounded loop around the growth; the collection must be
        bound before it and outside every unbounded loop (else it is per-item, SPEC 2.1).
        """
        found: list[Accumulation] = []
        for key, bindings in self.bindings.items():
            outer_bindings = [b for b in bindings if not b.assignment.site.unbounded_loops()]
            if not outer_bindings:
                continue
            by_loop: dict[int, Accumulation] = {}
            for growth in self.growths.get(key, ()):
                loop = growth.site.outermost_unbounded_loop()
                if loop is None:
                    continue
                binding = next(
                    (b for b in reversed(outer_bindings) if b.assignment.site.order < loop.start),
                    None,
                )
                if binding is None or self._flushed_in(key, loop):
                    continue
                accumulation = by_loop.setdefault(id(loop), Accumulation(key, binding, loop))
                accumulation.growths.append(growth)
            found.extend(by_loop.values())
        return found

    def _flushed_in(self, key: str, loop: Loop) -> bool:
        return any(loop.contains(f.site.order) for f in self.flushes.get(key, ()))
