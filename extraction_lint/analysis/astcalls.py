"""What a call is, read on the interpreter's tree: the prefilter's and the outline's view of
the facts the analysis decides on libcst's (:mod:`extraction_lint.analysis.calls`), through
the same shared decisions (:mod:`extraction_lint.analysis.facts`)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from extraction_lint.analysis.catalog import (
    BOUNDED_VIEW_METHODS,
    CONVENTIONAL_ALIASES,
    DUCKDB_APPEND_METHOD,
    EXECUTE_METHOD,
    Catalog,
    canonical_guardrails_name,
)
from extraction_lint.analysis.facts import (
    EXECUTE_PARAMETER_KEYWORDS,
    CallParts,
    is_duckdb_append,
    is_one_row,
    loader_or_sink,
)

#: How :func:`~extraction_lint.analysis.facts.is_one_row` names an argument's form.
PARAMETER_KINDS: dict[type[ast.AST], str] = {
    ast.Tuple: "display",
    ast.Dict: "display",
    ast.Set: "display",
    ast.DictComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.Constant: "literal",
    ast.JoinedStr: "literal",
}


def _parameter_kind(node: ast.expr) -> str:
    """How :func:`~extraction_lint.analysis.facts.is_one_row` names ``node``'s form."""
    if isinstance(node, ast.Subscript):
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        if not any(isinstance(p, ast.Slice | ast.List) for p in parts):
            return "element"
    return PARAMETER_KINDS.get(type(node), "other")


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def execute_parameters(call: ast.Call) -> list[ast.expr]:
    """The parameters of ``x.execute(sql, params)`` that may be many rows (one row's
    parameters, ``(a, b)`` or ``{...}``, are left out)."""
    params = [*call.args[1:2]]
    params += [k.value for k in call.keywords if k.arg in EXECUTE_PARAMETER_KEYWORDS]
    kept = []
    for param in params:
        callee = (
            param.func.id
            if isinstance(param, ast.Call) and isinstance(param.func, ast.Name)
            else None
        )
        if not is_one_row(_parameter_kind(param), callee):
            kept.append(param)
    return kept


def is_duckdb_append_call(call: ast.Call) -> bool:
    """``con.append("table", df)`` (:func:`~extraction_lint.analysis.facts.is_duckdb_append`)."""
    args = call.args
    first = args[0] if args else None
    return is_duckdb_append(
        len(args),
        any(isinstance(a, ast.Starred) for a in args),
        isinstance(first, ast.JoinedStr)
        or (isinstance(first, ast.Constant) and isinstance(first.value, str)),
    )


def load_or_write_kinds(
    call: ast.Call, imported: dict[str, set[str]], catalog: Catalog
) -> frozenset[str]:
    """What the analysis may take the call for (SPEC 2.1): ``"loader"``, ``"sink"``, both or
    neither; never less than it would. ``imported``: every qualified name each local name
    of the module is imported as, anywhere in it (the analysis reads one of them, or the
    name itself)."""
    kinds: set[str] = set()
    func = call.func
    if isinstance(func, ast.Attribute):
        method = func.attr
        kind = loader_or_sink(catalog, None, method)
        if kind is not None:
            kinds.add(kind)
        if method == EXECUTE_METHOD and (
            execute_parameters(call) or any(isinstance(a, ast.Starred) for a in call.args)
        ):
            kinds.add("sink")
        if method == DUCKDB_APPEND_METHOD and is_duckdb_append_call(call):
            kinds.add("sink")
    name = dotted(func)
    if name is not None:
        first, _, rest = name.partition(".")
        for head in _heads(first, imported.get(first, ())):
            qualname = canonical_guardrails_name(f"{head}.{rest}" if rest else head)
            kind = loader_or_sink(catalog, qualname, None)
            if kind is not None:
                kinds.add(kind)
    return frozenset(kinds)


def _heads(name: str, imported: Iterable[str]) -> Iterable[str]:
    yield from imported
    yield name
    alias = CONVENTIONAL_ALIASES.get(name)
    if alias is not None:
        yield alias


def integer_literal(node: ast.expr) -> int | None:
    """``3`` or ``-3``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = integer_literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def resolve_dotted(imports: dict[str, str], dotted: str) -> str:
    """The qualified name of ``a.b.c`` through the module's imports."""
    head, _, rest = dotted.partition(".")
    base = imports.get(head) or CONVENTIONAL_ALIASES.get(head, head)
    return f"{base}.{rest}" if rest else base


def is_fixed_display(node: ast.expr) -> bool:
    """A tuple, list or set display with no starred element, or a dict display with no
    ``**`` (SPEC 2.1 "Bounded loop")."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return not any(isinstance(e, ast.Starred) for e in node.elts)
    return isinstance(node, ast.Dict) and None not in node.keys


def module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound to a fixed display, plainly or element-wise
    (``A, B = (1, 2), ()``), in any statement of the module's own code: every constant of
    :func:`extraction_lint.analysis.loops.module_constants` and more (a name bound twice or
    changed in place is one here). A loop over one is bounded to the outline, which then
    never takes a call for one made in a loop where the analysis would not."""
    values: dict[str, ast.expr] = {}
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for block in ("body", "orelse", "finalbody"):
            pending.extend(getattr(statement, block, None) or ())
        for handler in getattr(statement, "handlers", None) or ():
            pending.extend(handler.body)
        if isinstance(statement, ast.Assign):
            pairs = [(t, statement.value) for t in statement.targets]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            pairs = [(statement.target, statement.value)]
        else:
            continue
        while pairs:
            target, value = pairs.pop()
            if isinstance(target, ast.Name):
                if is_fixed_display(value):
                    values.setdefault(target.id, value)
            elif (
                isinstance(target, ast.Tuple | ast.List)
                and isinstance(value, ast.Tuple | ast.List)
                and len(target.elts) == len(value.elts)
            ):
                pairs.extend(zip(target.elts, value.elts, strict=True))
    return values


class AstShape:
    """The interpreter's tree's answers to :class:`extraction_lint.analysis.facts.Shape`.
    ``constants``: the module's constants (:func:`module_constants`), None where they are
    not known (the prefilter: a loop over one counts as unbounded there, which keeps the
    file); ``shadowed``: names the function at hand binds itself (its parameters)."""

    __slots__ = ("_constants", "_imports", "shadowed")

    def __init__(
        self, imports: dict[str, str], constants: dict[str, ast.expr] | None = None
    ) -> None:
        # The import table itself (it may be filled as a walk goes), not its owner: a
        # reference back would make every tree read a cycle for the garbage collector.
        self._imports = imports
        self._constants = constants or {}
        self.shadowed: frozenset[str] = frozenset()

    def fixed_display(self, node: ast.expr) -> bool:
        return is_fixed_display(node)

    def fixed_dict(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Dict) and None not in node.keys

    def constant(self, node: ast.expr) -> ast.expr | None:
        if not isinstance(node, ast.Name) or node.id in self.shadowed:
            return None
        return self._constants.get(node.id)

    def view_receiver(self, node: ast.expr) -> tuple[ast.expr, bool] | None:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in BOUNDED_VIEW_METHODS
        ):
            return node.func.value, bool(node.args or node.keywords)
        return None

    def call(self, node: ast.expr) -> CallParts[ast.expr] | None:
        if not isinstance(node, ast.Call):
            return None
        name = dotted(node.func)
        starred = any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        )
        return CallParts(
            None if name is None else resolve_dotted(self._imports, name),
            [a for a in node.args if not isinstance(a, ast.Starred)],
            starred,
            any(k.arg is not None for k in node.keywords),
        )

    def integer(self, node: ast.expr) -> int | None:
        return integer_literal(node)
