"""Cheap tests that tell, before the libcst parse, that no enabled rule can fire in a file.

The prefilter knows no rule: it reads what each enabled rule declares it needs
(:class:`~extraction_lint.rules.base.Need`), and a rule that declares nothing makes it skip
nothing. Every need includes a sink or a loader call, so a file whose text names none of
them is done (stage 1, a substring search; ``x.execute(sql)`` counts only with parameters
after the statement). A file that does is checked on the tree of the interpreter's own
parser, which the engine builds for its syntax check (stage 2): is a sink or loader call in
an unbounded loop (``Need.EXTRACTION_LOOP``; ``Need.GUARDED_EXTRACTION_LOOP`` where the
guard rules check that loop), does a scope with a sink call grow something in a loop
(``Need.ACCUMULATION``), materialise something (``Need.MATERIALIZATION``), or call a
function of the module that loops and returns a value (``Need.ACCUMULATING_HELPER``). A
call of a project function counts by what its outline says it may do, where it is made
(``project_calls`` of :meth:`Prefilter.scan`).

Both stages over-approximate the analysis: calls are resolved through imports the same
way (module-wide, with the conventional aliases) but a local variable that shadows a
module is not noticed, and ``x.execute(sql, rows)`` counts whenever ``rows`` is bound to
a list anywhere in its scope. So they never skip a file that the analysis would report
on. What they know comes from the same catalogue the rules use, extensions included.
Stage 2 also tells where the rules can look (:class:`Relevance`), for the sparse parse.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field

from extraction_lint.analysis.astcalls import (
    AstShape,
    execute_parameters,
    is_duckdb_append_call,
    resolve_dotted,
)
from extraction_lint.analysis.astcalls import dotted as dotted_name
from extraction_lint.analysis.astwalk import code_children
from extraction_lint.analysis.catalog import (
    CONVENTIONAL_ALIASES,
    DEQUE_CALL,
    DRIVER_PULL_METHODS,
    DUCKDB_APPEND_METHOD,
    EMPTY_CONTAINER_CALLS,
    EMPTY_FRAME_CALLS,
    EXECUTE_METHOD,
    LOADER_FUNCTION_PREFIXES,
    LOADER_FUNCTIONS,
    LOADER_METHODS,
    MATERIALIZING_CALLS,
    SETDEFAULT_METHOD,
    WHOLE_READ_METHODS,
    Catalog,
)
from extraction_lint.analysis.catalog import (
    GROWTH_METHODS as CATALOG_GROWTH_METHODS,
)
from extraction_lint.analysis.facts import (
    import_bindings,
    is_bound_to_serialized,
    is_bounded_iterable,
    is_exempt_function_name,
    is_serialized,
    loader_or_sink,
)
from extraction_lint.analysis.outline import GROWS, LOADS_OR_WRITES, MATERIALIZES, WRITES
from extraction_lint.rules import RULES_BY_CODE, tree_codes
from extraction_lint.rules.base import Need, Rule

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp)
#: ``execute(sql, (a, b))``, ``{...}``, ``"..."``: one row's parameters, never a bulk write.
_SEQUENCE_CALLS = frozenset({"list", DEQUE_CALL, "deque"})
_WHOLE_READS = WHOLE_READ_METHODS | DRIVER_PULL_METHODS


#: ``x.execute(``: a sink only with parameters after the statement (see
#: :func:`_second_argument`).
_EXECUTE = re.compile(rf"\.\s*{EXECUTE_METHOD}\s*\(")
#: What the scan for a call's second argument stops at.
_ARGUMENT_STOPS = re.compile(r"""[()\[\]{},='"#\\]""")


def _second_argument(text: str, start: int) -> bool:
    """Whether the call whose arguments begin at ``start`` (after its ``(``) may have more
    than one: a comma or ``=`` (a keyword such as ``params=``) at its top level. Strings and
    comments are skipped; anything unclear (a backslash, the end of the text) says yes."""
    depth = 0
    position = start
    while True:
        stop = _ARGUMENT_STOPS.search(text, position)
        if stop is None:
            return True
        char = stop.group()
        position = stop.end()
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return False
            depth -= 1
        elif char in ",=" and depth == 0:
            return True
        elif char in "'\"":
            quote = text[stop.start() : stop.start() + 3]
            closing = quote if quote in ('"""', "'''") else char
            position = _string_end(text, stop.start() + len(closing), closing)
            if position < 0:
                return True
        elif char == "#":
            position = text.find("\n", position)
            if position < 0:
                return True
        elif char == "\\":
            return True  # an escape outside a string: a line continuation
    return True


def _string_end(text: str, position: int, closing: str) -> int:
    """Where the string whose body starts at ``position`` ends (after ``closing``); -1 if
    it does not."""
    body = position
    while True:
        found = text.find(closing, position)
        if found < 0:
            return -1
        backslashes = 0
        while found - backslashes > body and text[found - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found + len(closing)
        position = found + 1


#: ``read_csv``, ``scan_parquet``: loader functions by prefix, called or imported (under
#: another name, the import is the only mention).
_PREFIXED_CALL = re.compile(r"\b(?:read|scan)_\w+")
#: ``con.append("table", ...)``: DuckDB's appender (a string, then a comma or another
#: string of an implicit concatenation).
_DUCKDB_APPEND = re.compile(
    r"""\.\s*append\s*\(\s*[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*[,"']"""
)


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


#: Calls that make a growable container, by last name (over-approximating the catalogue's
#: qualified names: any ``DataFrame(...)``, any ``deque(...)``).
_CONTAINER_CALLS = frozenset(
    {_last(q) for q in EMPTY_CONTAINER_CALLS | EMPTY_FRAME_CALLS | {DEQUE_CALL}}
)
#: Growth by method, and ``c.setdefault(k, []).append(x)``.
GROWTH_METHODS = frozenset({*CATALOG_GROWTH_METHODS, SETDEFAULT_METHOD})


def _module_words(qualname: str) -> set[str]:
    """Words one of which a file must contain to call ``qualname``: its top-level module
    (``numpy``) or a conventional alias of it followed by a dot (``np.``)."""
    top = qualname.split(".", 1)[0]
    words = {top}
    for alias, target in CONVENTIONAL_ALIASES.items():
        if target == top or target.startswith(top + "."):
            words.add(alias + ".")
    return words


@dataclass(frozen=True)
class Triggers:
    """What makes a call a possible sink or loader, from a catalogue."""

    sink_methods: frozenset[str]
    sink_functions: frozenset[str]
    loader_functions: frozenset[str]
    loader_prefixes: tuple[str, ...]
    #: What decides a call's kind (:func:`extraction_lint.analysis.facts.loader_or_sink`).
    catalog: Catalog = field(default_factory=Catalog)
    #: ``.executemany``, ``.fetchall``...: a method trigger (a dot, then the name).
    methods_pattern: re.Pattern[str] = field(init=False)
    #: ``dump``, ``load``...: a function trigger's last name, and the module words one of
    #: which must also be in the text for that name to resolve to the function (``dump``
    #: is ``json.dump`` only where ``json`` is named).
    function_modules: dict[str, tuple[str, ...]] = field(init=False)
    #: The module words of all function triggers.
    module_words: tuple[str, ...] = field(init=False)
    #: The pattern of the function names that the module words found in a text allow.
    _patterns: dict[frozenset[str], re.Pattern[str] | None] = field(
        init=False, default_factory=dict, compare=False
    )
    #: Module words of the prefix loaders (``pandas.read_*``).
    prefix_modules: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        methods = "|".join(map(re.escape, sorted(self.sink_methods | LOADER_METHODS)))
        pattern = re.compile(rf"\.\s*(?:{methods})\b")
        object.__setattr__(self, "methods_pattern", pattern)
        functions: dict[str, set[str]] = {}
        for qualname in self.sink_functions | self.loader_functions:
            functions.setdefault(_last(qualname), set()).update(_module_words(qualname))
        modules = {k: tuple(sorted(v)) for k, v in functions.items()}
        object.__setattr__(self, "function_modules", modules)
        words = tuple(sorted(set().union(*functions.values())))
        object.__setattr__(self, "module_words", words)
        prefix_modules = {w for prefix in self.loader_prefixes for w in _module_words(prefix)}
        object.__setattr__(self, "prefix_modules", tuple(sorted(prefix_modules)))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Triggers:
        """The triggers of a catalogue (defaults plus configuration)."""
        return cls(
            sink_methods=frozenset(catalog.sink_methods),
            sink_functions=frozenset(catalog.sink_functions),
            loader_functions=LOADER_FUNCTIONS,
            loader_prefixes=LOADER_FUNCTION_PREFIXES,
            catalog=catalog,
        )

    def functions_pattern(self, text: str) -> re.Pattern[str] | None:
        """The function names that can resolve to a trigger in ``text``: those whose module
        the text names (None when there are none). Looking for a dozen module words is
        several times faster than looking for the names, which are common words."""
        present = frozenset(w for w in self.module_words if w in text)
        if not present:
            return None
        if present not in self._patterns:
            names = sorted(n for n, m in self.function_modules.items() if present.intersection(m))
            pattern = "|".join(map(re.escape, names))
            self._patterns[present] = re.compile(rf"\b(?:{pattern})\b") if names else None
        return self._patterns[present]

    def offsets(self, text: str) -> list[int]:
        """Where the text names a trigger (the start of each mention)."""
        found = [m.start() for m in self.methods_pattern.finditer(text)]
        found.extend(m.start() for m in _EXECUTE.finditer(text) if _second_argument(text, m.end()))
        functions = self.functions_pattern(text)
        if functions is not None:
            found.extend(m.start() for m in functions.finditer(text))
        if any(m in text for m in self.prefix_modules):
            found.extend(m.start() for m in _PREFIXED_CALL.finditer(text))
        found.extend(m.start() for m in _DUCKDB_APPEND.finditer(text))
        return found

    def text_may_match(self, text: str) -> bool:
        """Stage 1: does the text name a trigger at all?"""
        if self.methods_pattern.search(text):
            return True
        if any(_second_argument(text, m.end()) for m in _EXECUTE.finditer(text)):
            return True
        functions = self.functions_pattern(text)
        if functions is not None and functions.search(text):
            return True
        if any(m in text for m in self.prefix_modules) and _PREFIXED_CALL.search(text):
            return True
        return _DUCKDB_APPEND.search(text) is not None

    def function_kind(self, qualname: str) -> str | None:
        """ "sink", "loader" or None for a function called by qualified name."""
        return loader_or_sink(self.catalog, qualname, None)

    def method_kind(self, method: str) -> str | None:
        """ "sink", "loader" or None for a method called on any receiver."""
        return loader_or_sink(self.catalog, None, method)


@dataclass(eq=False)
class _Scope:
    has_loop: bool = False
    has_materialization: bool = False
    #: A growable container is bound here (``rows = []``, ``dict()``, ``pd.DataFrame()``).
    has_collection: bool = False
    #: Something grows inside an unbounded loop here (``x.append(...)``, ``x += ...``,
    #: ``x[k] = ...``, ``x = x + ...``, ``x = pd.concat([...])``).
    grows_in_loop: bool = False
    has_return: bool = False
    sink_calls: int = 0
    #: Keys (``rows``, ``self.rows``) bound to a list somewhere in the scope.
    list_keys: set[str] = field(default_factory=set)
    #: Keys bound to the result of a call (a helper's list, ``list(rows)``).
    call_keys: set[str] = field(default_factory=set)
    #: What each key is bound to: the dotted name of the call it is assigned from, or None
    #: for anything else (another value, a loop target, unpacking, ``as``).
    bound_to: dict[str, list[str | None]] = field(default_factory=dict)
    #: Names this scope calls (``helper(...)``, ``self.helper(...)``): possible helpers.
    called: set[str] = field(default_factory=set)
    #: The name of the function this scope is (None for the module and classes).
    function: str | None = None
    #: Loader or sink calls (project ones included) inside an unbounded loop here.
    loop_triggers: int = 0
    #: The scope's own code holds ``yield`` (a generator function, when a function).
    is_generator: bool = False
    #: A project function that may grow something is called here: it may be an
    #: accumulating helper of another module, or grow an argument (SPEC 2.6).
    calls_grower: bool = False


@dataclass(frozen=True, slots=True)
class _Pending:
    """A call judged once the module's imports are known."""

    kind: str  # "function" (dotted name), "execute" (key of the parameters)
    name: str
    in_loop: bool
    scope: _Scope
    #: For a function call, its first argument: the dotted name of the call that makes it
    #: (``pickle.loads(pickle.dumps(x))``) or ``=key`` for a name, to recognise an
    #: in-memory round trip.
    argument_call: str | None = None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _key(node: ast.expr) -> str | None:
    """``rows`` or ``self.rows`` (any ``<name>.<attr>``, over-approximating ``self``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


class _TreeScan:
    """One walk over an ``ast`` tree that answers :meth:`Prefilter.tree_may_match`."""

    def __init__(
        self,
        triggers: Triggers,
        range_limit: int,
        project_calls: Mapping[int, frozenset[str]] | None = None,
    ) -> None:
        self.t = triggers
        self.range_limit = range_limit
        #: Line -> what the project functions called there may do (see
        #: :meth:`extraction_lint.analysis.project.Project.call_flags`).
        self.project_calls = project_calls or {}
        self.imports: dict[str, str] = {}
        self._shape = AstShape(self.imports)
        self.loop_trigger = False
        self._scopes: list[_Scope] = []
        self._stack: list[_Scope] = []
        self._loop_depth: list[int] = []
        self._pending: list[_Pending] = []
        self.import_statements: list[ast.Import | ast.ImportFrom] = []
        #: Definitions set aside, with the scope they are defined in.
        self._deferred: list[tuple[ast.stmt, _Scope]] = []
        self._trigger_lines: list[int] | None = None
        #: How many lambdas hold the node being walked.
        self._lambdas = 0
        self._settled = 0

    # --- the walk --------------------------------------------------------------------------

    def scan(self, tree: ast.Module, trigger_lines: list[int] | None = None) -> None:
        """Walk the module. With ``trigger_lines``, a top-level definition or a method that
        holds none of them is set aside: it can hold no sink or loader call, so it matters
        only as a helper that a sink's scope calls (EXL003), and is walked then."""
        self._trigger_lines = trigger_lines
        self._enter()
        for statement in tree.body:
            self._visit_or_defer(statement)

    def _visit_or_defer(self, statement: ast.stmt) -> None:
        lines = self._trigger_lines
        if (
            lines is not None
            and isinstance(statement, _SCOPES)
            and not holds_line(statement, lines)
        ):
            scope = self._stack[-1]
            scope.bound_to.setdefault(statement.name, []).append(None)
            self._deferred.append((statement, scope))
        else:
            self._visit(statement)

    def collect_imports(self, tree: ast.Module) -> list[str]:
        """Read every import of the module (statements only, not expressions), and return
        the local names of trigger functions imported under another name."""
        aliases: list[str] = []
        for statement in import_statements(tree):
            self.import_statements.append(statement)
            self._record_import(statement)
            if isinstance(statement, ast.ImportFrom) and not statement.level:
                for alias in statement.names:
                    qualname = f"{statement.module}.{alias.name}"
                    if alias.asname and self.t.function_kind(qualname) is not None:
                        aliases.append(alias.asname)
        return aliases

    def _record_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """What the names an import binds stand for (module-wide, as the analysis does)."""
        for local, target, replaces in ast_import_bindings(node):
            if replaces:
                self.imports[local] = target
            else:
                self.imports.setdefault(local, target)

    def _enter(self, function: str | None = None) -> None:
        scope = _Scope(function=function)
        self._scopes.append(scope)
        self._stack.append(scope)
        self._loop_depth.append(0)

    def _visit(self, node: ast.AST) -> None:
        kind = type(node)
        if kind in _SCOPES:
            self._visit_scope(node)  # type: ignore[arg-type]
            return
        scope = self._stack[-1]
        if kind in _LOOPS:
            if kind is not ast.While and self._is_bounded(node.iter):  # type: ignore[attr-defined]
                # A small loop known from the source is not a loop to any rule.
                for child in code_children(node):
                    self._visit(child)
                return
            scope.has_loop = True
            self._loop_depth[-1] += 1
            for child in code_children(node):
                self._visit(child)
            self._loop_depth[-1] -= 1
            return
        if kind is ast.Call:
            self._visit_call(node, scope)  # type: ignore[arg-type]
        elif kind in _COMPREHENSIONS:
            scope.has_materialization = True
        elif kind is ast.List:
            if any(type(e) is ast.Starred for e in node.elts):  # type: ignore[attr-defined]
                scope.has_materialization = True
        elif kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                self._bound(target, node.value, scope)  # type: ignore[attr-defined]
            self._note_assignment(node.targets, node.value, scope)  # type: ignore[attr-defined]
        elif kind is ast.AugAssign:
            self._bound(node.target, node.value, scope)  # type: ignore[attr-defined]
            if self._loop_depth[-1] > 0:
                scope.grows_in_loop = True
        elif kind is ast.AnnAssign or kind is ast.NamedExpr:
            if node.value is not None:  # type: ignore[attr-defined]
                self._bound(node.target, node.value, scope)  # type: ignore[attr-defined]
                self._note_assignment([node.target], node.value, scope)  # type: ignore[attr-defined]
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
            self._bound_otherwise(node.target, scope)  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                self._bound_otherwise(node.optional_vars, scope)  # type: ignore[attr-defined]
        elif kind is ast.ExceptHandler:
            if node.name is not None:  # type: ignore[attr-defined]
                scope.bound_to.setdefault(node.name, []).append(None)  # type: ignore[attr-defined]
        elif kind is ast.Return:
            if node.value is not None:  # type: ignore[attr-defined]
                scope.has_return = True
        elif kind is ast.Yield or kind is ast.YieldFrom:
            if not self._lambdas:  # ``lambda: (yield)`` is a generator of its own
                scope.is_generator = True
        elif kind is ast.Lambda:
            self._lambdas += 1
            for child in code_children(node):
                self._visit(child)
            self._lambdas -= 1
            return
        elif kind is ast.Import or kind is ast.ImportFrom:
            self._record_import(node)  # type: ignore[arg-type]
        for child in code_children(node):
            self._visit(child)

    def _note_assignment(self, targets: list[ast.expr], value: ast.expr, scope: _Scope) -> None:
        """A container bound, or (in a loop) a container grown by assignment."""
        # ``rows, token = [], None`` binds a container element-wise (SPEC 2.1).
        values = [value]
        while any(isinstance(v, ast.Tuple) for v in values):
            values = [e for v in values for e in (v.elts if isinstance(v, ast.Tuple) else [v])]
        if any(
            isinstance(v, ast.List | ast.Dict | ast.Set)
            or (isinstance(v, ast.Call) and _last_name(v.func) in _CONTAINER_CALLS)
            for v in values
        ):
            scope.has_collection = True
        if self._loop_depth[-1] == 0:
            return
        if (
            any(isinstance(t, ast.Subscript) for t in targets)
            or isinstance(value, ast.BinOp | ast.List | ast.Set | ast.Dict)
            or (isinstance(value, ast.Call) and _last_name(value.func) == "concat")
        ):
            scope.grows_in_loop = True

    @staticmethod
    def _bound_otherwise(target: ast.expr, scope: _Scope) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                _TreeScan._bound_otherwise(element, scope)
        elif isinstance(target, ast.Starred):
            _TreeScan._bound_otherwise(target.value, scope)
        else:
            key = _key(target)
            if key is not None:
                scope.bound_to.setdefault(key, []).append(None)

    @staticmethod
    def _bound(target: ast.expr, value: ast.expr, scope: _Scope) -> None:
        if (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(target.elts) == len(value.elts)
        ):
            for element_target, element_value in zip(target.elts, value.elts, strict=True):
                _TreeScan._bound(element_target, element_value, scope)
            return
        key = _key(target)
        if key is None:
            _TreeScan._bound_otherwise(target, scope)
            return
        called = dotted_name(value.func) if isinstance(value, ast.Call) else None
        scope.bound_to.setdefault(key, []).append(called)
        if isinstance(value, ast.List | ast.ListComp) or (
            isinstance(value, ast.Call) and dotted_name(value.func) in _SEQUENCE_CALLS
        ):
            scope.list_keys.add(key)
        elif isinstance(value, ast.Call):
            scope.call_keys.add(key)

    def _visit_call(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        in_loop = self._loop_depth[-1] > 0
        if self.project_calls:
            self._visit_project_call(node.lineno, in_loop, scope)
        if isinstance(func, ast.Name):
            scope.called.add(func.id)
            if func.id in MATERIALIZING_CALLS:
                scope.has_materialization = True
        elif isinstance(func, ast.Attribute):
            scope.called.add(func.attr)
            if in_loop and func.attr in GROWTH_METHODS:
                scope.grows_in_loop = True
            if func.attr in _WHOLE_READS:
                scope.has_materialization = True  # fetchall(), toPandas(), ... (SPEC 2.3)
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method == EXECUTE_METHOD:
                self._visit_execute(node, in_loop, scope)
            elif method == DUCKDB_APPEND_METHOD:
                if is_duckdb_append_call(node):
                    self._note("sink", in_loop, scope)
            else:
                self._note(self.t.method_kind(method), in_loop, scope)
        dotted = dotted_name(func)
        if dotted is not None:
            first = node.args[0] if node.args else None
            argument: str | None = None
            if isinstance(first, ast.Call):
                argument = dotted_name(first.func)
            elif isinstance(first, ast.Name):
                argument = "=" + first.id
            self._pending.append(_Pending("function", dotted, in_loop, scope, argument))

    def _visit_project_call(self, line: int, in_loop: bool, scope: _Scope) -> None:
        """A call on a line where a project function is called: judged by what that
        function may do, as a sink's or a loader's call is (SPEC 2.6's effects at a call
        site). Every call of the line counts: an over-approximation."""
        flags = self.project_calls.get(line)
        if not flags:
            return
        if WRITES in flags:
            self._note("sink", in_loop, scope)  # a write of what is passed, or a loop's load
        elif LOADS_OR_WRITES in flags:
            self._note("loader", in_loop, scope)  # an extraction loop
        if GROWS in flags:
            scope.calls_grower = True
            if in_loop:
                scope.grows_in_loop = True
        if MATERIALIZES in flags:
            scope.has_materialization = True

    def _visit_execute(self, node: ast.Call, in_loop: bool, scope: _Scope) -> None:
        for param in execute_parameters(node):
            key = _key(param)
            if key is None:
                self._note("sink", in_loop, scope)  # a comprehension, a call...
            else:
                self._pending.append(_Pending("execute", key, in_loop, scope))

    def _is_bounded(self, node: ast.expr) -> bool:
        """The shared fact (:func:`extraction_lint.analysis.facts.is_bounded_iterable`) on
        the interpreter's tree, before the module's constants are known."""
        return is_bounded_iterable(node, self._shape, self.range_limit)

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._stack[-1].bound_to.setdefault(node.name, []).append(None)
        # Decorators, defaults and bases belong to the enclosing scope.
        outer: list[ast.AST] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            outer += [*node.bases, *node.keywords]
        else:
            outer.append(node.args)
        for child in outer:
            self._visit(child)
        self._enter(None if isinstance(node, ast.ClassDef) else node.name)
        for statement in node.body:
            if isinstance(node, ast.ClassDef):
                self._visit_or_defer(statement)
            else:
                self._visit(statement)
        self._stack.pop()
        self._loop_depth.pop()

    # --- the verdict -------------------------------------------------------------------------

    def _note(self, kind: str | None, in_loop: bool, scope: _Scope) -> None:
        if kind is None:
            return
        if in_loop:
            self.loop_trigger = True
            scope.loop_triggers += 1
        if kind == "sink":
            scope.sink_calls += 1

    def _resolve(self, dotted: str) -> str:
        return resolve_dotted(self.imports, dotted)

    def _settle(self) -> None:
        """Judge the calls waiting for the module's imports."""
        pending_calls = self._pending[self._settled :]
        self._settled = len(self._pending)
        for pending in pending_calls:
            if pending.kind == "function":
                kind = self.t.function_kind(self._resolve(pending.name))
                if kind == "loader" and self._is_round_trip(pending):
                    continue  # pickle.loads(pickle.dumps(x)): a copy in memory
                self._note(kind, pending.in_loop, pending.scope)
            else:
                # ``execute(sql, rows)`` writes in bulk when ``rows`` is a list: bound to one
                # here, derived from one (any list in the scope), or returned by a helper.
                scope = pending.scope
                if scope.list_keys or pending.name in scope.call_keys:
                    self._note("sink", pending.in_loop, scope)

    def verdict(self, needs: frozenset[Need]) -> bool:
        """Whether the file holds one of ``needs``, from what the walk saw."""
        self._settle()
        sink_scopes = [s for s in self._scopes if s.sink_calls]
        if Need.EXTRACTION_LOOP in needs and self.loop_trigger:
            return True
        if Need.GUARDED_EXTRACTION_LOOP in needs and any(
            s.loop_triggers and not self._guard_exempt(s) for s in self._scopes
        ):
            return True
        if Need.ACCUMULATION in needs and any(
            s.has_collection and s.grows_in_loop for s in sink_scopes
        ):
            return True
        if Need.MATERIALIZATION in needs and any(s.has_materialization for s in sink_scopes):
            return True
        if Need.ACCUMULATING_HELPER not in needs or not sink_scopes:
            return False
        if any(s.calls_grower for s in sink_scopes):
            return True  # a helper of the project (any module) may return an accumulation
        called = set().union(*(s.called for s in sink_scopes))
        for statement, scope in self._deferred:
            if defines(statement, called):
                self._stack.append(scope)
                self._loop_depth.append(0)
                self._visit(statement)
                self._stack.pop()
                self._loop_depth.pop()
        self._deferred.clear()
        self._settle()
        helpers = {
            s.function
            for s in self._scopes
            if s.function is not None and s.has_return and s.has_collection and s.grows_in_loop
        }
        return any(s.called & helpers for s in sink_scopes)

    def _guard_exempt(self, scope: _Scope) -> bool:
        """The guard rules leave the loops of this scope to its caller (SPEC 2.5, the
        shared reasons of :func:`extraction_lint.analysis.exemptions.guard_exemption`
        that a function's own code tells)."""
        name = scope.function
        return name is not None and (
            scope.is_generator or is_exempt_function_name(name, self.t.catalog)
        )

    def sink_callees(self) -> set[str]:
        """The names called in scopes with a sink call (after :meth:`verdict`)."""
        self._settle()
        return set().union(*(s.called for s in self._scopes if s.sink_calls))

    def _is_round_trip(self, pending: _Pending) -> bool:
        """The loader's first argument is a serialiser's output, directly or by a name that
        is bound to nothing else in the scope (the shared facts)."""
        argument = pending.argument_call
        if argument is None:
            return False
        if not argument.startswith("="):
            return is_serialized(self._resolve(argument))
        values = pending.scope.bound_to.get(argument[1:], [])
        return is_bound_to_serialized(None if v is None else self._resolve(v) for v in values)


#: The fields of the statements that hold statements.
_BODIES: dict[type[ast.AST], tuple[str, ...]] = {
    **dict.fromkeys((ast.If, ast.For, ast.AsyncFor, ast.While), ("body", "orelse")),
    **dict.fromkeys((ast.With, ast.AsyncWith, *_SCOPES, ast.ExceptHandler), ("body",)),
    **dict.fromkeys((ast.Try, ast.TryStar), ("body", "handlers", "orelse", "finalbody")),
    ast.Match: ("cases",),
    ast.match_case: ("body",),
}


def ast_import_bindings(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str, bool]]:
    """:func:`extraction_lint.analysis.facts.import_bindings` of an ``ast`` import."""
    names = [(alias.name, alias.asname) for alias in node.names]
    if isinstance(node, ast.Import):
        return import_bindings(None, 0, names, from_=False)
    return import_bindings(node.module, node.level, names, from_=True)


def import_statements(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every ``import`` statement of the module, at any depth, in source order."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = list(reversed(tree.body))
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind is ast.Import or kind is ast.ImportFrom:
            found.append(node)  # type: ignore[arg-type]
            continue
        for name in reversed(_BODIES.get(kind, ())):
            pending.extend(reversed(getattr(node, name)))
    return found


def holds_line(statement: ast.stmt, lines: list[int]) -> bool:
    """Whether one of the sorted ``lines`` falls within the statement (decorators too)."""
    decorators = getattr(statement, "decorator_list", None) or []
    first = min([statement.lineno, *(d.lineno for d in decorators)])
    last = statement.end_lineno or statement.lineno
    index = bisect.bisect_left(lines, first)
    return index < len(lines) and lines[index] <= last


def defines(statement: ast.stmt, names: Set[str]) -> bool:
    """A function of one of these names, or a class with a method of one of them."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return statement.name in names
    if isinstance(statement, ast.ClassDef):
        return any(
            isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name in names
            for s in statement.body
        )
    return False


def line_numbers(text: str, offsets: list[int]) -> list[int]:
    """The 1-based lines of ``offsets``, sorted, without repeats."""
    if "\r" in text:  # old Mac line ends count too
        starts = line_starts(text)
        return sorted({bisect.bisect_right(starts, offset) for offset in offsets})
    lines: set[int] = set()
    line, previous = 1, 0
    for offset in sorted(offsets):
        line += text.count("\n", previous, offset)
        previous = offset
        lines.add(line)
    return sorted(lines)


_NEWLINE = re.compile(r"\r\n?|\n")


def line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts (``\r``, ``\r\n`` and ``\n`` end
    lines): the line of an offset is ``bisect.bisect_right(starts, offset)``."""
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


def rules_needs(rules: Iterable[type[Rule]]) -> frozenset[Need] | None:
    """What the rules need between them; None when one of them does not say."""
    needs: set[Need] = set()
    for rule in rules:
        if rule.needs is None:
            return None
        needs.update(rule.needs)
    return frozenset(needs)


class Prefilter:
    """Decides, per file, whether the libcst parse can be skipped."""

    def __init__(
        self,
        catalog: Catalog,
        enabled: Iterable[str],
        range_limit: int = 1000,
    ) -> None:
        """Calls of the project's own functions are judged with what the project's outlines
        say they may do (``project_calls`` of :meth:`scan`)."""
        self.triggers = Triggers.from_catalog(catalog)
        self.enabled = frozenset(enabled)
        self.range_limit = range_limit
        #: None when an enabled rule declares no needs: then nothing is skipped.
        self.needs = rules_needs(
            RULES_BY_CODE[code] for code in sorted(self.enabled) if code in tree_codes()
        )

    @property
    def skips_nothing(self) -> bool:
        """Whether an enabled rule declares no needs (every file is then analysed whole)."""
        return self.needs is None

    def text_may_match(self, text: str) -> bool:
        """Stage 1 (see the module docstring)."""
        return self.needs is None or self.triggers.text_may_match(text)

    def tree_may_match(self, text: str, tree: ast.Module) -> bool:
        """Stage 2, for a text that passed stage 1 (see the module docstring)."""
        return self.relevance(text, tree) is not None

    def relevance(self, text: str, tree: ast.Module) -> Relevance | None:
        """Stage 2, and where the rules can look: None when no enabled rule can fire."""
        if self.needs is None:
            return Relevance([], frozenset(), (), keep_all=True)
        may_match, relevance = self.scan(text, tree)
        return relevance if may_match else None

    def scan(
        self,
        text: str,
        tree: ast.Module,
        project_calls: Mapping[int, frozenset[str]] | None = None,
    ) -> tuple[bool, Relevance]:
        """Stage 2's verdict, and where the rules can look in any case. ``project_calls``:
        line -> what the project functions called there may do
        (:meth:`extraction_lint.analysis.project.Project.call_flags`); such a call is
        judged where it is made, like a loader's or a sink's."""
        scan = _TreeScan(self.triggers, self.range_limit, project_calls)
        offsets = self.triggers.offsets(text)
        aliases = scan.collect_imports(tree)
        if aliases:
            called = re.compile(r"\b(?:{})\b".format("|".join(map(re.escape, aliases))))
            offsets.extend(m.start() for m in called.finditer(text))
        lines = line_numbers(text, offsets)
        if project_calls:
            lines = sorted({*lines, *project_calls})
        scan.scan(tree, lines)
        may_match = self.needs is None or scan.verdict(self.needs)
        relevance = Relevance(lines, frozenset(scan.sink_callees()), tuple(scan.import_statements))
        return may_match, relevance

    def may_match(self, text: str, tree: ast.Module) -> bool:
        """Both stages: False means no enabled rule can fire in this file."""
        return self.text_may_match(text) and self.tree_may_match(text, tree)


@dataclass(frozen=True)
class Relevance:
    """What stage 2 knows of a file in which a rule can fire."""

    #: The lines that name a sink or a loader, sorted.
    trigger_lines: list[int]
    #: The names that scopes with a sink call: possible accumulating helpers (EXL003).
    helper_names: frozenset[str]
    #: Every import statement of the file.
    imports: tuple[ast.Import | ast.ImportFrom, ...]
    #: Nothing may be left out (an enabled rule declares no needs).
    keep_all: bool = False
