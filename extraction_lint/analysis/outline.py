"""A module's outline from the interpreter's tree: names, classes, imports, and for each
function what it may do, by a cheap over-approximation (SPEC 2.6, the speed layer).

The project resolves calls over outlines, and reads a module with libcst (for its exact
summaries) only when the outline says a function reached through the call may do what
the caller asks about: load or write (a call the catalogue may take for a sink or a
loader, by the decisions the analysis makes: :mod:`extraction_lint.analysis.astcalls`),
grow or flush (a growth or flush method, a subscript assignment), guard (a log, progress
or guard call, by its last name), return something. Like the prefilter, it never says no
where the summary would say yes: a name imported as different things in different places
may be any of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from extraction_lint.analysis.astcalls import (
    AstShape,
    dotted,
    load_or_write_kinds,
    module_constants,
)
from extraction_lint.analysis.astwalk import code_children
from extraction_lint.analysis.catalog import (
    CLEAR_METHOD,
    CONSOLE_METHODS,
    DRIVER_PULL_METHODS,
    FAULTHANDLER_LATER,
    GROWTH_METHODS,
    HEARTBEAT_METHODS,
    LOG_FUNCTIONS,
    LOG_LEVELS,
    MATERIALIZING_CALLS,
    MEMORY_CHECK_FUNCTIONS,
    MEMORY_CHECK_METHODS,
    MEMORY_GUARD_CHECK_METHOD,
    PROCESS_MEMORY_METHODS,
    PROCESS_TIMEOUT_FUNCTIONS,
    PROGRESS_ITERATORS,
    PROGRESS_OBJECT_METHODS,
    SETDEFAULT_METHOD,
    SETRLIMIT,
    TRACK_METHOD,
    WHOLE_READ_METHODS,
    Catalog,
)
from extraction_lint.analysis.facts import import_bindings as shared_import_bindings
from extraction_lint.analysis.facts import is_bounded_iterable
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import ClassFacts, ModuleFacts, Target

#: The largest ``range`` of literals that is a bounded loop, unless configured.
DEFAULT_RANGE_LIMIT = AnalysisSettings.bounded_range_limit
#: Marks, on a walk's stack, where a lambda's body ends.
_LEFT_LAMBDA = ast.Pass()

#: Where a call sits in the function that makes it (SPEC 2.5, "called only from inside
#: extraction loops"): outside every unbounded loop; in one's body or ``while`` test; in
#: the iterable of an unbounded ``for`` (in the loop only for a generator function).
NOT_IN_LOOP = 0
IN_LOOP = 1
IN_HEADER = 2

#: What a function may do, as flags.
LOADS_OR_WRITES = "io"
#: A call the catalogue may take for a sink: what may write a parameter (never without
#: ``LOADS_OR_WRITES``).
WRITES = "writes"
GROWS = "grows"
GUARDS = "guards"
RETURNS = "returns"
MATERIALIZES = "materializes"


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def guard_names(catalog: Catalog) -> frozenset[str]:
    """Last parts of every call name that 2.5 counts as a heartbeat, memory or stall guard."""
    names = {
        *HEARTBEAT_METHODS,
        *PROGRESS_OBJECT_METHODS,
        *LOG_LEVELS,
        *CONSOLE_METHODS,
        *MEMORY_CHECK_METHODS,
        *PROCESS_MEMORY_METHODS,
        MEMORY_GUARD_CHECK_METHOD,
        TRACK_METHOD,
        *(_last(n) for n in PROGRESS_ITERATORS | LOG_FUNCTIONS | MEMORY_CHECK_FUNCTIONS),
        *(_last(n) for n in PROCESS_TIMEOUT_FUNCTIONS | {SETRLIMIT, FAULTHANDLER_LATER}),
        "write",  # sys.stdout.write / sys.stderr.write
    }
    for extra in (
        catalog.extra_heartbeats,
        catalog.extra_memory_guards,
        catalog.extra_stall_guards,
    ):
        names.update(_last(n) for n in extra.functions)
        names.update(extra.methods)
    return frozenset(names)


_GROWTH = frozenset({*GROWTH_METHODS, SETDEFAULT_METHOD, CLEAR_METHOD})
#: ``fetchall()``, ``toPandas()``...: a whole read, returned as a materialisation (SPEC 2.3).
_WHOLE_READS = WHOLE_READ_METHODS | DRIVER_PULL_METHODS
#: ``pandas.concat`` / ``polars.concat``: a data frame grown by re-binding (SPEC 2.1).
_CONCAT = "concat"
#: The statement lists of compound statements.
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _block_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of ``body`` and of the blocks of its compound statements (``if``,
    ``try``, ``with``, loops, ``match``), not of the definitions in it: a function defined
    in ``if``/``else`` at module level is a function of the module."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in _BLOCKS:
            block = getattr(statement, name, None)
            if not block:
                continue
            for item in block:
                if isinstance(item, ast.ExceptHandler | ast.match_case):
                    yield from _block_statements(item.body)
                elif isinstance(item, ast.stmt):
                    yield from _block_statements([item])


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _definition_code(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.AST]:
    """What runs where a definition sits, when it is defined: its decorators and default
    values; for a class also its bases, keywords and its body's own statements (and, in
    turn, what its methods' definitions run)."""
    code: list[ast.AST] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        code.extend(node.bases)
        code.extend(k.value for k in node.keywords)
        for statement in node.body:
            if isinstance(statement, _DEFINITIONS):
                code.extend(_definition_code(statement))
            else:
                code.append(statement)
    else:
        code.extend(node.args.defaults)
        code.extend(d for d in node.args.kw_defaults if d is not None)
    return code


def _stored_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The names a function's body binds (assignments, loop and ``as`` targets, nested
    definitions, imports), at any depth."""
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, _DEFINITIONS) and child is not node:
            names.add(child.name)
        elif isinstance(child, ast.alias):
            names.add((child.asname or child.name).split(".", 1)[0])
    return frozenset(names)


def _nested_definitions(body: list[ast.stmt], prefix: str) -> dict[str, str]:
    """Name -> qualified name of the functions defined in ``body`` at any depth of its
    blocks (not inside another definition)."""
    found: dict[str, str] = {}
    pending: list[ast.AST] = list(body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(statement.name, prefix + statement.name)
        elif not isinstance(statement, ast.ClassDef):
            for name in _BLOCKS:
                block = getattr(statement, name, None)
                if block:
                    pending.extend(block)
    return found


@dataclass(slots=True)
class FunctionOutline:
    """One function while its module is read: its flags and the calls it makes that the
    project may resolve (kept as an :class:`OutlinedFunction`)."""

    qualname: str
    flags: set[str] = field(default_factory=set)
    targets: list[Target] = field(default_factory=list)
    #: The line of each call in ``targets`` (the same order).
    lines: list[int] = field(default_factory=list)
    #: The line of the ``def`` (0 for the module's own statements).
    line: int = 0
    #: Its own calls (not those of functions nested in it) with where each sits: one of
    #: ``NOT_IN_LOOP``, ``IN_LOOP``, ``IN_HEADER``.
    sites: list[tuple[Target, int]] = field(default_factory=list)
    #: Its body holds ``yield`` or ``yield from``.
    generator: bool = False

    def add(self, target: Target, line: int, where: int = 0) -> None:
        self.targets.append(target)
        self.lines.append(line)
        self.sites.append((target, where))


@dataclass(frozen=True, slots=True)
class OutlinedFunction:
    """A :class:`FunctionOutline` as a run keeps it, once its module is read: a run holds
    the outline of every module it reaches, so each one is made small (no instance
    dictionary, tuples, flag sets and targets shared)."""

    qualname: str
    flags: frozenset[str]
    targets: tuple[Target, ...]
    lines: tuple[int, ...]
    line: int
    #: Its own calls (:attr:`FunctionOutline.sites`), and where each sits, one byte each.
    own: tuple[Target, ...]
    where: bytes
    generator: bool

    @property
    def sites(self) -> Iterator[tuple[Target, int]]:
        """Its own calls with where each sits (see :attr:`FunctionOutline.sites`)."""
        return zip(self.own, self.where, strict=True)


#: Every flag set an outline has held, so that equal ones are one object.
_FLAG_SETS: dict[frozenset[str], frozenset[str]] = {}


def _kept(outline: FunctionOutline, targets: dict[Target, Target]) -> OutlinedFunction:
    flags = frozenset(outline.flags)
    return OutlinedFunction(
        outline.qualname,
        _FLAG_SETS.setdefault(flags, flags),
        tuple(targets.setdefault(target, target) for target in outline.targets),
        tuple(outline.lines),
        outline.line,
        tuple(targets.setdefault(t, t) for t, _ in outline.sites),
        bytes(where for _, where in outline.sites),
        outline.generator,
    )


@dataclass
class ModuleOutline:
    """A module's names for resolution, and its functions' outlines."""

    names: ModuleFacts
    functions: dict[str, OutlinedFunction]
    #: What every import of the module binds, those made in functions too (names a call
    #: of another module's function may be spelled with); ``names.imports`` holds the
    #: module-level ones (what the module's names are to another module).
    imports: dict[str, str] = field(default_factory=dict)


def import_bindings(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name for every import of the module, as
    :class:`~extraction_lint.analysis.names.ImportMap` records them."""
    return _imports(list(_bindings(_statements(tree))))[0]


def _imports(
    bindings: list[tuple[str, str, bool]],
) -> tuple[dict[str, str], dict[str, set[str]]]:
    """From what the imports bind: the import map (as :func:`import_bindings`), and every
    qualified name each local name is bound to anywhere in the module."""
    imports: dict[str, str] = {}
    candidates: dict[str, set[str]] = {}
    for local, target, replaces in bindings:
        if replaces:
            imports[local] = target
        else:
            imports.setdefault(local, target)
        candidates.setdefault(local, set()).add(target)
    return imports, candidates


def _bindings(statements: list[ast.stmt]) -> Iterator[tuple[str, str, bool]]:
    """What each import statement binds, in source order (the shared reading,
    :func:`extraction_lint.analysis.facts.import_bindings`)."""
    imports = [s for s in statements if isinstance(s, ast.Import | ast.ImportFrom)]
    imports.sort(key=lambda s: (s.lineno, s.col_offset))
    for node in imports:
        names = [(alias.name, alias.asname) for alias in node.names]
        if isinstance(node, ast.Import):
            yield from shared_import_bindings(None, 0, names, from_=False)
        else:
            yield from shared_import_bindings(node.module, node.level, names, from_=True)


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement of the module, at any depth (imports are statements: expressions
    need not be walked)."""
    out: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        out.append(statement)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                pending.extend(block)
        for handler in getattr(statement, "handlers", ()):
            pending.extend(handler.body)
        for case in getattr(statement, "cases", ()):
            pending.extend(case.body)
    return out


#: A binding made in a block: (line, column, name, kind, qualified name of an import,
#: whether the import replaces an earlier binding); kind is "import", "definition" or
#: "value".
_Binding = tuple[int, int, str, str, str | None, bool]


def _bindings_in(body: list[ast.stmt]) -> tuple[list[_Binding], frozenset[str]]:
    """The bindings the statements of ``body`` make (not those of the definitions in it),
    in source order, and the names it declares ``global`` or ``nonlocal``: Python's
    scoping, as :func:`extraction_lint.analysis.effects.name_binding` reads it from the
    libcst tree. Statements only: a name bound by ``:=`` inside an expression is not seen
    (the call it shadows is then followed, which only costs a closer look)."""
    events: list[_Binding] = []
    outer: set[str] = set()
    pending: list[ast.stmt] = list(body)
    targets: list[ast.expr] = []
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            events.append((node.lineno, node.col_offset, node.name, "definition", None, True))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [(alias.name, alias.asname) for alias in node.names]
            binds = (
                shared_import_bindings(None, 0, names, from_=False)
                if isinstance(node, ast.Import)
                else shared_import_bindings(node.module, node.level, names, from_=True)
            )
            for local, target, replaces in binds:
                events.append((node.lineno, node.col_offset, local, "import", target, replaces))
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            outer.update(node.names)
            continue
        if isinstance(node, ast.Assign):
            targets.extend(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
            targets.append(node.target)
        elif isinstance(node, ast.With | ast.AsyncWith):
            targets.extend(item.optional_vars for item in node.items if item.optional_vars)
        elif isinstance(node, ast.Try | ast.TryStar):
            for handler in node.handlers:
                if handler.name:
                    events.append((handler.lineno, 0, handler.name, "value", None, True))
                pending.extend(handler.body)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                pending.extend(case.body)
        for block_name in ("body", "orelse", "finalbody"):
            block = getattr(node, block_name, None)
            if block:
                pending.extend(block)
    while targets:
        bound = targets.pop()
        if isinstance(bound, ast.Name):
            events.append((bound.lineno, bound.col_offset, bound.id, "value", None, True))
        elif isinstance(bound, ast.Tuple | ast.List):
            targets.extend(bound.elts)
        elif isinstance(bound, ast.Starred):
            targets.append(bound.value)
    events.sort(key=lambda event: (event[0], event[1]))
    return events, frozenset(outer)


def _imports_of(events: list[_Binding]) -> dict[str, str]:
    imports: dict[str, str] = {}
    for _, _, local, kind, target, replaces in events:
        if kind == "import" and target is not None and (replaces or local not in imports):
            imports[local] = target
    return imports


class _Reader:
    def __init__(
        self, tree: ast.Module, catalog: Catalog, guards: frozenset[str], range_limit: int
    ):
        self.tree = tree
        self.catalog = catalog
        self.guards = guards
        self.range_limit = range_limit
        self.imports, self.candidates = _imports(list(_bindings(_statements(tree))))
        # Where calls are resolved: the module's own bindings, in order (its last binding
        # of a name is the one a function sees), and each enclosing function's.
        events, _ = _bindings_in(tree.body)
        self.module_imports = _imports_of(events)
        self.module_last = {event[2]: event[3] for event in events}
        #: The functions around the walk, innermost last: (imports, values, declared outer).
        self._locals: list[tuple[dict[str, str], frozenset[str], frozenset[str]]] = []
        self._shape = AstShape(self.imports, module_constants(tree))
        #: Names bound where the walk is (with star imports: they are not imported).
        self._bound: frozenset[str] = frozenset()
        self.stars = star_imports(tree)
        self.functions: dict[str, FunctionOutline] = {}
        self.top_level: dict[str, tuple[str, str]] = {}
        self.classes: dict[str, ClassFacts] = {}

    def read(self, path: str, display: str) -> ModuleOutline:
        for statement in _block_statements(self.tree.body):
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                self.top_level[statement.name] = ("function", statement.name)
            elif isinstance(statement, ast.ClassDef):
                self.top_level[statement.name] = ("class", statement.name)
        self._scope(self.tree.body, "", None, {})
        self._module_level()
        names = ModuleFacts(
            path,
            display,
            "",
            {},
            self.classes,
            self.top_level,
            self.module_imports,
            self.stars,
            literal_exports(self.tree),
        )
        targets: dict[Target, Target] = {}
        functions = {name: _kept(outline, targets) for name, outline in self.functions.items()}
        return ModuleOutline(names, functions, self.imports)

    def _module_level(self) -> None:
        """The module's own statements, as the function ``""``."""
        outline = FunctionOutline("")
        self.functions[""] = outline
        self._bound = self._module_names() if self.stars else frozenset()
        pending: list[tuple[ast.AST, int]] = [(s, NOT_IN_LOOP) for s in self.tree.body]
        while pending:
            child, where = pending.pop()
            if isinstance(child, _DEFINITIONS):
                # Its body is its own; what runs when it is defined is the module's.
                pending.extend((c, where) for c in _definition_code(child))
                continue
            if isinstance(child, ast.Call):
                self._call(child, outline, None, None, {}, "", where)
            elif isinstance(child, ast.Lambda):
                pending.extend((c, NOT_IN_LOOP) for c in code_children(child, leaves=False))
                continue  # its body runs when it is called, wherever that is
            pending.extend(self._inside(child, where, frozenset()))

    def _module_names(self) -> frozenset[str]:
        """The names the module's own statements bind (a star import brings no other)."""
        return frozenset(
            node.id
            for statement in self.tree.body
            if not isinstance(statement, _DEFINITIONS)
            for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
        ) | frozenset(self.top_level)

    def _scope(
        self,
        body: list[ast.stmt],
        prefix: str,
        owner: str | None,
        nested_names: dict[str, str],
    ) -> None:
        for statement in _block_statements(body):
            if isinstance(statement, ast.ClassDef):
                qualname = prefix + statement.name
                methods = {
                    item.name: f"{qualname}.{item.name}"
                    for item in _block_statements(statement.body)
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                }
                bases = tuple(b for base in statement.bases if (b := dotted(base)) is not None)
                self.classes[qualname] = ClassFacts(qualname, methods, bases)
                self._scope(statement.body, qualname + ".", qualname, {})
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                self._function(statement, prefix, owner, nested_names)

    def _function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        prefix: str,
        owner: str | None,
        outer_nested: dict[str, str],
    ) -> FunctionOutline:
        """One walk over the function; a nested function's flags and calls are also its
        enclosing function's (the outline over-approximates: it may call it)."""
        qualname = prefix + node.name
        outline = FunctionOutline(qualname, line=node.lineno)
        # A name defined twice (``if dry_run: def add(...)`` / ``else: def add(...)``) may
        # be either definition where it is called: its outline is both.
        previous = self.functions.get(qualname)
        if previous is not None:
            outline.flags |= previous.flags
            outline.targets.extend(previous.targets)
            outline.lines.extend(previous.lines)
            outline.sites.extend(previous.sites)
            outline.generator = previous.generator
        self.functions[qualname] = outline
        receiver = node.args.args[0].arg if owner is not None and node.args.args else None
        visible = outer_nested | _nested_definitions(node.body, qualname + ".")
        arguments = node.args
        parameters = frozenset(
            a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        ) | frozenset(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
        outer_bound = self._bound
        if self.stars:  # a name the function binds is not one a star import brings
            self._bound = outer_bound | parameters | _stored_names(node)
        events, declared = _bindings_in(node.body)
        values = parameters | {event[2] for event in events if event[3] == "value"}
        if declared & values:
            # ``nonlocal rows; rows = []``: may empty the enclosing function's collection.
            outline.flags.add(GROWS)
        self._locals.append((_imports_of(events), values - declared, declared))
        stack: list[tuple[ast.AST, int]] = [(n, NOT_IN_LOOP) for n in node.body]
        lambdas = 0  # a ``yield`` under a lambda makes the lambda a generator, not this
        while stack:
            child, where = stack.pop()
            if child is _LEFT_LAMBDA:
                lambdas -= 1
                continue
            if isinstance(child, _DEFINITIONS):
                # What runs when it is defined (decorators, defaults, a class body) runs
                # here, where it sits.
                stack.extend((c, where) for c in _definition_code(child))
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = self._function(child, qualname + ".", None, visible)
                outline.flags |= inner.flags
                outline.targets.extend(inner.targets)
                outline.lines.extend(inner.lines)
                continue
            if isinstance(child, ast.ClassDef):
                self._scope([child], qualname + ".", None, visible)
                continue
            if isinstance(child, ast.Return) and child.value is not None:
                outline.flags.add(RETURNS)
            elif isinstance(child, ast.ListComp | ast.SetComp | ast.DictComp) or (
                isinstance(child, ast.List) and any(isinstance(e, ast.Starred) for e in child.elts)
            ):
                outline.flags.add(MATERIALIZES)
            elif (
                (isinstance(child, ast.Subscript) and isinstance(child.ctx, ast.Store | ast.Del))
                or isinstance(child, ast.AugAssign)
                or (isinstance(child, ast.Assign) and isinstance(child.value, ast.BinOp))
            ):
                outline.flags.add(GROWS)  # ``c[k] = v``, ``c += v``, ``c = c + v``
            elif isinstance(child, ast.Call):
                self._call(child, outline, receiver, owner, visible, prefix, where)
            elif isinstance(child, ast.Yield | ast.YieldFrom) and not lambdas:
                outline.generator = True
                outline.flags.add(RETURNS)  # the generator it returns may carry an input
            elif isinstance(child, ast.Lambda):
                # Its body runs when it is called, wherever that is: not in this loop.
                lambdas += 1
                stack.append((_LEFT_LAMBDA, where))
                stack.extend((c, NOT_IN_LOOP) for c in code_children(child, leaves=False))
                continue
            stack.extend(self._inside(child, where, parameters))
        self._bound = outer_bound
        self._locals.pop()
        return outline

    def _binding(self, name: str) -> tuple[str, str | None]:
        """What a bare name stands for where the walk is (as
        :func:`extraction_lint.analysis.effects.name_binding` says): ("import",
        qualified name), ("function" | "class", None), ("value", None), ("unbound", None)."""
        for imports, values, declared in reversed(self._locals):
            if name in declared:
                break
            imported = imports.get(name)
            if imported is not None:
                return "import", imported
            if name in values:
                return "value", None
        last = self.module_last.get(name)
        if last == "import":
            return "import", self.module_imports[name]
        if last == "definition":
            defined = self.top_level.get(name)
            return (defined[0], None) if defined is not None else ("value", None)
        return ("value", None) if last is not None else ("unbound", None)

    def _inside(
        self, node: ast.AST, where: int, shadowed: frozenset[str]
    ) -> list[tuple[ast.AST, int]]:
        """The children of ``node`` with where each sits: an unbounded loop's body and a
        ``while`` test are in the loop, a ``for`` iterable in its header, an ``else`` where
        the loop is."""
        kind = type(node)
        if kind is ast.While:
            assert isinstance(node, ast.While)
            return [
                (node.test, IN_LOOP),
                *((c, IN_LOOP) for c in node.body),
                *((c, where) for c in node.orelse),
            ]
        if kind is ast.For or kind is ast.AsyncFor:
            assert isinstance(node, ast.For | ast.AsyncFor)
            self._shape.shadowed = shadowed
            if not is_bounded_iterable(node.iter, self._shape, self.range_limit):
                return [
                    (node.iter, IN_LOOP if where == IN_LOOP else IN_HEADER),
                    (node.target, IN_LOOP),
                    *((c, IN_LOOP) for c in node.body),
                    *((c, where) for c in node.orelse),
                ]
        return [(c, where) for c in code_children(node, leaves=False)]

    def _call(
        self,
        node: ast.Call,
        outline: FunctionOutline,
        receiver: str | None,
        owner: str | None,
        nested: dict[str, str],
        prefix: str,
        where: int = NOT_IN_LOOP,
    ) -> None:
        func = node.func
        kinds = load_or_write_kinds(node, self.candidates, self.catalog)
        if kinds:
            outline.flags.add(LOADS_OR_WRITES)
            if "sink" in kinds:
                outline.flags.add(WRITES)
        name = func.attr if isinstance(func, ast.Attribute) else dotted(func)
        if name is not None:
            last = _last(name)
            if last in _GROWTH:
                outline.flags.add(GROWS)
            if last in self.guards:
                outline.flags.add(GUARDS)
            if last in MATERIALIZING_CALLS or last in _WHOLE_READS:
                outline.flags.add(MATERIALIZES)
            if last == _CONCAT:
                outline.flags.add(GROWS)  # ``c = pd.concat([c, frame])``
        if isinstance(func, ast.Name):
            if func.id in nested:
                # Walked with the function that defines it, and a call of it all the same:
                # where it is called is where it loads, writes or grows (SPEC 2.6).
                outline.add(Target("local", nested[func.id]), node.lineno, where)
                return
            kind, imported = self._binding(func.id)
            if kind == "function":
                outline.add(Target("local", func.id), node.lineno, where)
            elif imported is not None:
                outline.add(Target("dotted", imported), node.lineno, where)
            elif kind == "unbound" and self.stars and func.id not in self._bound:
                outline.add(Target("star", func.id), node.lineno, where)
            return
        if not isinstance(func, ast.Attribute):
            return
        value = func.value
        if owner is not None and isinstance(value, ast.Name) and value.id == receiver:
            outline.add(Target("method", func.attr, owner), node.lineno, where)
            return
        if (
            owner is not None
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "super"
        ):
            outline.add(Target("super", func.attr, owner), node.lineno, where)
            return
        chain = dotted(value)
        if chain is None:
            return
        head, _, rest = chain.partition(".")
        kind, imported = self._binding(head)
        if kind == "class":
            outline.add(Target("dotted", f"{chain}.{func.attr}"), node.lineno, where)
        elif imported is not None:
            base = imported + (f".{rest}" if rest else "")
            joined = f"{base}{func.attr}" if base.endswith(".") else f"{base}.{func.attr}"
            outline.add(Target("dotted", joined), node.lineno, where)
        elif kind == "unbound" and self.stars and head not in self._bound:
            outline.add(Target("star", f"{chain}.{func.attr}"), node.lineno, where)


def read_outline(
    tree: ast.Module,
    path: str,
    display: str,
    catalog: Catalog,
    guards: frozenset[str],
    range_limit: int = DEFAULT_RANGE_LIMIT,
) -> ModuleOutline:
    """The outline of a module from its tree."""
    return _Reader(tree, catalog, guards, range_limit).read(path, display)


def class_table(tree: ast.Module) -> dict[str, ClassFacts]:
    """Every class of the module by qualified name (``C``, ``f.C``, ``C.D``), with its
    methods and bases as written."""
    out: dict[str, ClassFacts] = {}
    for qualname, statement in class_definitions(tree):
        methods = {
            item.name: f"{qualname}.{item.name}"
            for item in statement.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        bases = tuple(b for base in statement.bases if (b := dotted(base)) is not None)
        out[qualname] = ClassFacts(qualname, methods, bases)
    return out


def class_definitions(tree: ast.Module) -> list[tuple[str, ast.ClassDef]]:
    """Every class definition of the module with its qualified name, outer ones first."""
    out: list[tuple[str, ast.ClassDef]] = []
    # Blocks still to read, the next one last (a loop, not a nested function that calls
    # itself: that would be a cycle holding the tree until the garbage collector runs).
    pending: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while pending:
        body, prefix = pending.pop()
        inner: list[tuple[list[ast.stmt], str]] = []
        for statement in body:
            if isinstance(statement, ast.ClassDef):
                qualname = prefix + statement.name
                out.append((qualname, statement))
                inner.append((statement.body, qualname + "."))
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                inner.append((statement.body, prefix + statement.name + "."))
            elif isinstance(statement, ast.If | ast.Try | ast.With | ast.For | ast.While):
                for field in ("body", "orelse", "finalbody"):
                    inner.append((getattr(statement, field, []) or [], prefix))
                for handler in getattr(statement, "handlers", []):
                    inner.append((handler.body, prefix))
        pending.extend(reversed(inner))
    return out


def _module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """The module's own statements and those of its top-level ``if``/``try`` blocks."""
    pending = list(reversed(tree.body))
    while pending:
        statement = pending.pop()
        yield statement
        if isinstance(statement, ast.If | ast.Try):
            inner = [*statement.body, *statement.orelse]
            if isinstance(statement, ast.Try):
                inner.extend(statement.finalbody)
                for handler in statement.handlers:
                    inner.extend(handler.body)
            pending.extend(reversed(inner))


def star_imports(tree: ast.Module) -> tuple[str, ...]:
    """The modules of the module's ``from m import *`` imports (relative ones dotted:
    ``.io``), in source order (only a module's own statements may import ``*``)."""
    return tuple(
        "." * statement.level + (statement.module or "")
        for statement in _module_statements(tree)
        if isinstance(statement, ast.ImportFrom)
        and any(alias.name == "*" for alias in statement.names)
    )


def literal_exports(tree: ast.Module) -> frozenset[str] | None:
    """The module's ``__all__`` when every binding of it is a literal list or tuple of
    strings (``+=`` of one adds to it): what ``from module import *`` brings; else None."""
    exports: frozenset[str] | None = None
    for statement in _module_statements(tree):
        value: ast.expr | None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
            targets, value = [statement.target], statement.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        names = _literal_strings(value) if len(targets) == 1 else None
        if names is None:
            return None
        if isinstance(statement, ast.AugAssign):
            if exports is None:
                return None
            names |= exports
        exports = names
    return exports


def _literal_strings(node: ast.expr | None) -> frozenset[str] | None:
    """The strings of a list or tuple display of string literals, else None."""
    if not isinstance(node, ast.List | ast.Tuple):
        return None
    names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return frozenset(names) if len(names) == len(node.elts) else None


def top_level_imports(tree: ast.Module) -> dict[str, str]:
    """The imports of the module's own statements (and of its top-level ``if``/``try``
    blocks), as :func:`import_bindings` records them, without walking functions."""
    return import_bindings(ast.Module(body=_top_level_imports(tree), type_ignores=[]))


def import_candidates(tree: ast.Module, *, nested: bool) -> dict[str, set[str]]:
    """Every qualified name an import binds each local name to (``from .a import save`` in
    one function, ``from .b import save`` in another: both), in the whole module or, when
    not ``nested``, in its own statements only."""
    statements = _statements(tree) if nested else _top_level_imports(tree)
    return _imports(list(_bindings(statements)))[1]


def _top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    statements: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.Import | ast.ImportFrom):
            statements.append(statement)
        elif isinstance(statement, ast.If | ast.Try):
            pending.extend(statement.body)
            pending.extend(statement.orelse)
            if isinstance(statement, ast.Try):
                pending.extend(statement.finalbody)
                for handler in statement.handlers:
                    pending.extend(handler.body)
    return statements
