"""The facts one walk over a module records: scopes, loops, calls, assignments.

Positions in the source are not needed to decide anything, only an order: every event
gets a number from one counter that runs in source order, so "after the loop" is
``event.order > loop.end`` and "inside the loop" is ``loop.start <= event.order <= loop.end``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Literal

import libcst as cst

ScopeKind = Literal["module", "function", "class"]


@dataclass(eq=False, slots=True)
class Loop:
    """A ``for``, ``async for`` or ``while`` statement.

    ``start``..``end`` covers the header and the body; the ``else`` clause runs once after the
    loop and lies outside. ``enclosing_withs`` are the ``with`` items around the loop in the
    same scope, innermost last. ``bounded`` is filled in after the walk (it needs the
    module's constants).
    """

    node: cst.For | cst.While
    scope: Scope
    parent: Loop | None
    start: int
    enclosing_withs: tuple[WithItem, ...]
    #: ``except`` handlers around the loop itself (its body's log calls are not in a
    #: handler relative to the loop unless they are deeper).
    except_depth: int = 0
    end: int = -1
    bounded: bool = False

    def contains(self, order: int) -> bool:
        """Whether an event of this order lies in the loop's header or body."""
        return self.start <= order <= self.end

    @property
    def header(self) -> cst.BaseExpression:
        """The iterable of a ``for`` or the test of a ``while``."""
        return self.node.iter if isinstance(self.node, cst.For) else self.node.test


@dataclass(frozen=True, slots=True)
class Site:
    """Where an event sits: its order and the loops that repeat it.

    ``loops``: statement loops of the same scope whose body (or ``while`` test) holds the
    event, outermost first. ``header_of``: the ``for`` whose iterable holds it (evaluated
    once, so not repeated by that loop). ``comp_clauses``: comprehension ``for`` clauses
    that repeat it (only EXL002 treats comprehensions as loops). ``except_depth``: how many
    ``except`` handlers of the same scope hold it.
    """

    order: int
    loops: tuple[Loop, ...]
    header_of: Loop | None
    comp_clauses: tuple[cst.CompFor, ...]
    except_depth: int

    def unbounded_loops(self) -> list[Loop]:
        """The unbounded statement loops that repeat this event, outermost first."""
        return [loop for loop in self.loops if not loop.bounded]

    def outermost_unbounded_loop(self) -> Loop | None:
        """The outermost unbounded loop that repeats this event, if any."""
        for loop in self.loops:
            if not loop.bounded:
                return loop
        return None


@dataclass(eq=False, slots=True)
class CallSite:
    """A call, with what it calls: ``qualname`` through imports, ``method`` for ``x.m(...)``."""

    node: cst.Call
    site: Site
    end: int
    qualname: str | None = None
    method: str | None = None
    #: The parameters of the lambdas around the call (names that hide the module's).
    lambda_names: frozenset[str] = frozenset()

    @property
    def receiver(self) -> cst.BaseExpression | None:
        """``x`` in ``x.m(...)``."""
        func = self.node.func
        return func.value if isinstance(func, cst.Attribute) else None


@dataclass(eq=False, slots=True)
class Assignment:
    """``target = value``, ``target op= value``, ``target: T = value`` or ``(target := value)``.

    ``operator`` is ``"="`` for plain binding, else the libcst name of the augmented
    operator (``"AddAssign"`` for ``+=``, ``"BitOrAssign"`` for ``|=``).
    """

    target: cst.BaseExpression
    value: cst.BaseExpression
    operator: str
    site: Site
    statement: cst.CSTNode


@dataclass(eq=False, slots=True)
class WithItem:
    """One item of a ``with`` statement: ``expr as target``."""

    expr: cst.BaseExpression
    target: cst.BaseExpression | None
    site: Site


@dataclass(eq=False, slots=True)
class Deletion:
    """``del target``."""

    target: cst.BaseExpression
    site: Site


@dataclass(eq=False, slots=True)
class Return:
    """``return value``."""

    value: cst.BaseExpression
    site: Site


@dataclass(eq=False, slots=True)
class Expression:
    """An expression node the rules care about (a comprehension or a starred display)."""

    node: cst.BaseExpression
    site: Site


@dataclass(eq=False)
class Scope:
    """A function, a class body or the module's top level, with what happens directly in it.

    Nested functions and classes are scopes of their own; lambdas and comprehensions belong
    to the scope that holds them.
    """

    node: cst.Module | cst.FunctionDef | cst.ClassDef
    kind: ScopeKind
    parent: Scope | None
    name: str
    decorators: Sequence[cst.Decorator] = ()
    #: The first parameter of a method (``self``), whose attributes are tracked like names.
    self_name: str | None = None
    calls: list[CallSite] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    with_items: list[WithItem] = field(default_factory=list)
    comprehensions: list[Expression] = field(default_factory=list)
    starred_displays: list[Expression] = field(default_factory=list)
    #: Names declared ``global`` or ``nonlocal`` here.
    declared_outer: set[str] = field(default_factory=set)
    #: Keys bound otherwise than by ``key = value``: loop targets, unpacking, ``as`` targets.
    other_bindings: set[str] = field(default_factory=set)
    #: The same bindings with their order, for following which binding reaches a use.
    rebinds: list[tuple[str, int]] = field(default_factory=list)
    #: A function whose body holds ``yield`` or ``yield from`` (a generator function).
    is_generator: bool = False
    #: What the imports made in this function bind (local name -> qualified name): they
    #: bind in this function alone.
    imports: dict[str, str] = field(default_factory=dict)

    def binds_locally(self, name: str) -> bool:
        """Whether this function binds ``name`` as a value of its own: a parameter, an
        assignment, a loop, ``with`` or ``except`` target (not an import, not a nested
        definition), unless it declares it ``global`` or ``nonlocal``."""
        if self.kind != "function" or name in self.declared_outer:
            return False
        node = self.node
        assert isinstance(node, cst.FunctionDef)
        params = node.params
        if any(
            p.name.value == name
            for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        ) or any(
            isinstance(p, cst.Param) and p.name.value == name
            for p in (params.star_arg, params.star_kwarg)
        ):
            return True
        return name in self.other_bindings or any(
            isinstance(a.target, cst.Name) and a.target.value == name for a in self.assignments
        )

    def release(self) -> None:
        """Drop the links back to the scope (its parent, its loops' and sites' own): the
        scope tree and its tree are then freed without the garbage collector."""
        self.parent = None
        for name in _SCOPE_LISTS:
            getattr(self, name).clear()

    @property
    def enclosing_class(self) -> Scope | None:
        """The class whose method this is, if any."""
        parent = self.parent
        if self.kind == "function" and parent is not None and parent.kind == "class":
            return parent
        return None

    def enclosing_functions(self) -> list[Scope]:
        """This function and the functions around it, innermost first."""
        out: list[Scope] = []
        scope: Scope | None = self
        while scope is not None:
            if scope.kind == "function":
                out.append(scope)
            scope = scope.parent
        return out

    def key_of(self, node: cst.BaseExpression) -> str | None:
        """The tracking key of a name (``rows``) or of ``self.attr`` in a method, else None."""
        if isinstance(node, cst.Name):
            return node.value
        if (
            self.self_name is not None
            and isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.self_name
        ):
            return f"{self.self_name}.{node.attr.value}"
        return None


#: The lists of a :class:`Scope` that hold what happens in it (each item links back to it).
_SCOPE_LISTS = tuple(f.name for f in fields(Scope) if f.default_factory is list)


@dataclass(frozen=True)
class OutsideFacts:
    """What code left out of the parsed module (see :mod:`extraction_lint.sparse`) adds to
    the module-wide facts of the analysis."""

    #: Local name -> qualified name, for the imports in the code left out.
    imports: dict[str, str] = field(default_factory=dict)
    #: Names the code left out binds (assignment targets, parameters, nested definitions).
    bound: frozenset[str] = frozenset()
    #: Names it changes in place or declares ``global``/``nonlocal`` (not constants).
    mutated: frozenset[str] = frozenset()
    #: Names it calls (``f(...)``, and ``m`` of ``x.m(...)``): a function called there may
    #: be called outside any loop.
    called: frozenset[str] = frozenset()
