"""What a call is, read on the interpreter's tree: the prefilter's and the outline's view of
the facts the analysis decides on libcst's (:mod:`extraction_lint.analysis.calls`), through
the same shared decisions (:mod:`extraction_lint.analysis.facts`)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from extraction_lint.analysis.catalog import (
    CONVENTIONAL_ALIASES,
    DUCKDB_APPEND_METHOD,
    EXECUTE_METHOD,
    Catalog,
    canonical_guardrails_name,
)
from extraction_lint.analysis.facts import (
    EXECUTE_PARAMETER_KEYWORDS,
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
        if not is_one_row(PARAMETER_KINDS.get(type(param), "other"), callee):
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
