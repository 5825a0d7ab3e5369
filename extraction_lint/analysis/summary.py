"""What a function of the project does, as its callers see it (SPEC 2.6 "Summary").

A :class:`FunctionFacts` is built from one module's analysis: the function's own effects
(what its body does directly) and its outgoing calls (:class:`Edge`), in plain data that
outlives the module's tree. :mod:`extraction_lint.analysis.project` resolves the edges and
computes each :class:`Summary` to a fixed point over the project.

Effects on values are told by *input* names: a parameter, or for a nested function a
name of its enclosing function (a closure). At a call site, a parameter stands for the
argument passed in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the runner imports this without libcst (cache hits)
    import libcst as cst

    from extraction_lint.positions import Relocator

#: A chain of locations, from the caller's side down to the line that does the thing.
Chain = tuple["Link", ...]


@dataclass(frozen=True, slots=True)
class Link:
    """One location of a chain: a helper's line that loads, grows, writes or guards.

    ``node`` is set for a location in the module being checked (the engine turns it into a
    position with the module's other nodes, or ``locator`` does, for a node of another
    tree of it); otherwise ``path``, ``line`` and ``column`` (1-based) say where it is.
    """

    message: str
    path: str = ""
    line: int = 0
    column: int = 0
    node: cst.CSTNode | None = field(default=None, compare=False, hash=False)
    #: Where ``node`` is, computed when asked (a node of another tree of the same module).
    locator: Callable[[cst.CSTNode], tuple[int, int]] | None = field(
        default=None, compare=False, hash=False
    )
    #: Where the link is, computed when asked with no tree kept (a node of a module read
    #: for its summaries): the module's relocator and the node's number there.
    relocator: Relocator | None = field(default=None, compare=False, hash=False)
    number: int = field(default=0, compare=False, hash=False)

    def position(self) -> tuple[int, int]:
        """(line, column) of a link that is not a node of the checked tree."""
        if self.relocator is not None:
            return self.relocator.position(self.number)
        if self.locator is not None and self.node is not None:
            return self.locator(self.node)
        return self.line, self.column


@dataclass(frozen=True, slots=True)
class ArgFacts:
    """One argument of a call, seen from the calling function.

    ``key``: the input name the argument is, exactly (``save(rows)``): what a callee grows
    or flushes. ``carried``: the input names whose data the argument carries, directly or
    through a derivation (``save(sorted(rows))``): what a callee writes or returns.
    """

    key: str | None = None
    carried: frozenset[str] = frozenset()
    #: The collection of the calling function the argument is, exactly (``add(out, x)``
    #: with ``out = []`` bound in the caller): what a callee grows or flushes of it.
    local: str | None = None


TargetKind = Literal["local", "dotted", "method", "super", "star"]


@dataclass(frozen=True, slots=True)
class Target:
    """What a call names, before resolution.

    - ``local``: a function of the same module by qualified name (``f``, ``f.g``);
    - ``dotted``: a name through imports (``pkg.io.save``, ``.io.save``) or a class of
      the same module (``Loader.read``), resolved from the calling module;
    - ``method``: ``self.m(...)`` / ``cls.m(...)`` in a method of class ``owner``;
    - ``super``: ``super().m(...)`` in a method of class ``owner`` (bases only);
    - ``star``: a name (``save``, ``Loader.read``) the module neither defines, imports by
      name nor binds, in a module with star imports: one of them may bring it.
    """

    kind: TargetKind
    name: str
    owner: str = ""


@dataclass(slots=True)
class Edge:
    """A call made by a function, with what its arguments and result are to the caller."""

    target: Target
    link: Link
    #: The call binds its receiver to the callee's first parameter (``self.m(...)``).
    bound: bool
    positional: tuple[ArgFacts, ...]
    keywords: dict[str, ArgFacts]
    #: A ``*args``/``**kwargs`` argument: positions beyond it are unknown.
    starred: bool
    #: The call's result is returned (directly or through a derivation).
    returned: bool = False
    #: The call's result reaches a sink in the caller (conditional for ``execute``).
    to_sink: bool = False
    to_sink_conditional: bool = False
    #: That sink (:attr:`SinkCall.spelled`), for advice.
    to_sink_with: str = ""
    #: The call sits in an ``except`` handler (not a heartbeat there).
    in_except: bool = False
    #: Name of the callee as written, for messages.
    label: str = ""


@dataclass(frozen=True, slots=True)
class Accumulator:
    """A collection of a function bound before an unbounded loop and returned after it,
    that a call in the loop grows or flushes: whether the function returns an
    accumulation (EXL003) is then decided with the callees' summaries (SPEC 2.6)."""

    key: str
    #: The loop as written, for messages.
    loop: str
    #: The function's own growths of it in the loop (empty when only calls grow it).
    grown: Chain
    #: Flushed by the function's own code in the loop.
    flushed: bool
    #: Indexes (in :attr:`FunctionFacts.edges`) of the calls in the loop that pass it.
    edges: tuple[int, ...]


@dataclass(slots=True)
class Summary:
    """What calling a function does (SPEC 2.6), each effect with the chain that shows it."""

    loads: Chain | None = None
    writes: Chain | None = None
    #: input -> (chain, conditional): the input reaches a sink (conditional: only through
    #: ``x.execute(sql, p)``, a bulk write when the caller's value is a list of records).
    writes_inputs: dict[str, tuple[Chain, bool]] = field(default_factory=dict)
    #: input -> the sink that writes it in the end (:attr:`SinkCall.spelled`), for advice.
    written_with: dict[str, str] = field(default_factory=dict)
    grows_inputs: dict[str, Chain] = field(default_factory=dict)
    flushes_inputs: set[str] = field(default_factory=set)
    returns_inputs: set[str] = field(default_factory=set)
    #: (collection, loop as written, chain) of an accumulation it returns (EXL003).
    returns_accumulation: tuple[str, str, Chain] | None = None
    returns_materialization: Chain | None = None
    #: For a returned whole read: the method that reads (``fetchall``, ``toPandas``...), so
    #: that the caller's message can say what streams instead; "" for other
    #: materialisations.
    returns_read: str = ""
    heartbeat: Chain | None = None
    memory: Chain | None = None
    stall: Chain | None = None

    def copy(self) -> Summary:
        """An independent copy (the fixed point grows copies of the local facts)."""
        return Summary(
            loads=self.loads,
            writes=self.writes,
            writes_inputs=dict(self.writes_inputs),
            written_with=dict(self.written_with),
            grows_inputs=dict(self.grows_inputs),
            flushes_inputs=set(self.flushes_inputs),
            returns_inputs=set(self.returns_inputs),
            returns_accumulation=self.returns_accumulation,
            returns_materialization=self.returns_materialization,
            returns_read=self.returns_read,
            heartbeat=self.heartbeat,
            memory=self.memory,
            stall=self.stall,
        )

    def shape(self) -> tuple[object, ...]:
        """What the summary says, without its chains (to tell when the fixed point is
        reached, and to compare summaries across runs)."""
        return (
            self.loads is not None,
            self.writes is not None,
            tuple(sorted((k, c) for k, (_, c) in self.writes_inputs.items())),
            tuple(sorted(self.grows_inputs)),
            tuple(sorted(self.flushes_inputs)),
            tuple(sorted(self.returns_inputs)),
            self.returns_accumulation is not None,
            self.returns_materialization is not None,
            self.heartbeat is not None,
            self.memory is not None,
            self.stall is not None,
        )

    def is_empty(self) -> bool:
        """Whether calling the function does nothing the rules look at."""
        return not any(self.shape())


FunctionKind = Literal["function", "method", "classmethod", "staticmethod"]


@dataclass(slots=True)
class FunctionFacts:
    """A function of the project: its parameters, own effects and outgoing calls."""

    path: str
    qualname: str
    name: str
    kind: FunctionKind
    positional: tuple[str, ...]
    keyword_only: tuple[str, ...]
    local: Summary
    edges: list[Edge]
    #: Set when a call in a loop grows or flushes a collection the function returns: its
    #: returned accumulation is then decided by :meth:`returned_accumulation`.
    accumulators: tuple[Accumulator, ...] = ()
    #: The module that defines it.
    module: ModuleFacts | None = field(default=None, repr=False)
    #: Filled by the fixed point.
    summary: Summary | None = None
    final: bool = False
    #: Paths of the modules (with their digests) whose code the summary depends on.
    depends: dict[str, str] = field(default_factory=dict)

    def returned_accumulation(
        self, callee_of: Callable[[Edge], FunctionFacts | None]
    ) -> tuple[str, str, Chain] | None:
        """The accumulation the function returns, with its growths through calls:
        (collection, loop, chain) of the first collection that grows in a loop, by its
        own code or by a callee, and is flushed there by neither."""
        for accumulator in self.accumulators:
            grown = accumulator.grown
            flushed = accumulator.flushed
            for index in accumulator.edges:
                edge = self.edges[index]
                callee = callee_of(edge)
                if callee is None or callee.summary is None:
                    continue
                key = accumulator.key
                for name, chain in callee.summary.grows_inputs.items():
                    if not grown and _passes(callee.argument_or_closure(edge, name), key):
                        grown = (edge.link, *chain)
                flushed = flushed or any(
                    _passes(callee.argument_or_closure(edge, name), key)
                    for name in callee.summary.flushes_inputs
                )
            if grown and not flushed:
                return accumulator.key, accumulator.loop, grown
        return None

    def argument_or_closure(self, edge: Edge, name: str) -> ArgFacts | None:
        """What ``edge`` passes for the input ``name``: the argument for a parameter; for
        a closure's name (a nested function called where it is defined) the caller's own
        name."""
        if name in self.positional or name in self.keyword_only:
            return self.argument(edge, name)
        if edge.target.kind == "local" and "." in self.qualname:
            return ArgFacts(key=name, carried=frozenset({name}), local=name)
        return None

    def parameter_position(self, name: str, bound: bool) -> int | None:
        """The position a caller passes ``name`` at (after the receiver, when bound; a
        class method's class is passed by Python, ``ClassName.m(...)`` included)."""
        try:
            index = self.positional.index(name)
        except ValueError:
            return None
        offset = 1 if self.kind == "classmethod" or (bound and self.kind == "method") else 0
        return index - offset if index >= offset else None

    def argument(self, edge: Edge, name: str) -> ArgFacts | None:
        """What ``edge`` passes for the input ``name`` of this function."""
        position = self.parameter_position(name, edge.bound)
        if position is not None and position < len(edge.positional):
            return edge.positional[position]
        if name in self.positional or name in self.keyword_only:
            return edge.keywords.get(name)
        return None


@dataclass(slots=True)
class ClassFacts:
    """A class of the project: its methods and its bases as written."""

    qualname: str
    methods: dict[str, str]
    bases: tuple[str, ...]


@dataclass(slots=True)
class ModuleFacts:
    """What the project pass keeps of a module once its tree is gone."""

    path: str
    display: str
    digest: str
    functions: dict[str, FunctionFacts]
    classes: dict[str, ClassFacts]
    #: Module-level names: ("function" | "class", qualified name).
    top_level: dict[str, tuple[str, str]]
    #: Local name -> qualified name, from the module's imports.
    imports: dict[str, str]
    #: The modules of its ``from m import *`` imports, as written (``.io``, ``pkg.io``),
    #: in source order: a name found nowhere else may come from one of them.
    stars: tuple[str, ...] = ()
    #: Its ``__all__`` when a literal list or tuple of strings (what a star import of it
    #: brings), by its outline; None when it has none or another one.
    exports: frozenset[str] | None = None
    #: Builds a function's facts on first use (the module being checked), else None.
    factory: Callable[[str], FunctionFacts | None] | None = None

    def function(self, qualname: str) -> FunctionFacts | None:
        """The facts of the function ``qualname`` (``f``, ``C.m``, ``f.g``), if defined."""
        found = self.functions.get(qualname)
        if found is None and self.factory is not None and qualname not in self.functions:
            found = self.factory(qualname)
            if found is not None:
                self.functions[qualname] = found
        return found

    def release(self) -> None:
        """Drop the reader and the functions (each links back to its module), once the
        module's check is over: what they hold is then freed without the garbage
        collector."""
        self.factory = None
        for function in self.functions.values():
            function.module = None
        self.functions.clear()


def _passes(arg: ArgFacts | None, key: str) -> bool:
    return arg is not None and key in (arg.key, arg.local)
