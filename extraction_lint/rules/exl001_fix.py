"""The unsafe fix of EXL001: write the collection in bounded batches inside the loop.

Only the canonical shape gets one (see ``rules/EXL001.md``, "Fix"):

- the collection is a plain name bound to ``[]`` or ``list()``, outside the loop;
- it grows only by ``c.append(x)`` / ``c.extend(xs)`` statements, all in the body of one
  innermost loop inside the unbounded loop L (no function, class or loop ``else`` between,
  nor the body of a ``try`` or a ``with contextlib.suppress(...)``);
- it is written once, after L, by a statement of the same block as L that is just the sink
  call (``sink(...)`` or ``await sink(...)``), of a sink that can take a part of it
  (:data:`~extraction_lint.analysis.catalog.BATCHABLE_SINK_METHODS`, ``to_sql`` with
  ``if_exists="append"``, ...), directly or through element-wise derivations
  (``pd.DataFrame(c, columns=...)``, ``pd.concat(c)``, ``pa.Table.from_pylist(c, schema=...)``:
  a table built from records takes its columns from them, so they must be given);
- the collection is not read anywhere else, and the sink's other names (its receiver, its
  statement, the connection) are not used or re-bound in L, nor between L and the sink,
  and no name used in L was bound from one of them (a cursor of the same connection).

The fix inserts, before each growth statement ``c.append(x)`` and at its indentation::

    if len(c) >= BATCH_SIZE:
        <the sink statement>
        c.clear()

turns each ``c.extend(xs)`` (alone on its line) into ``for item in xs:`` with that flush
before ``c.append(item)`` (an ``extend`` that adds nothing right after a flush would leave
the last write an empty collection), keeps the write after the loop (it writes the leftover
batch, never an empty one unless the loop never grew the collection, as before), and adds
``BATCH_SIZE = 1_000`` after the module's imports. Flushing before the growth rather than after it keeps that last write
exactly as it was: a sink that cannot take an empty part (``pd.concat([])``) still sees one
only where it did before. The fix is unsafe: rows reach the sink while the loop runs, so a
failure in the middle leaves the rows written so far.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from extraction_lint.analysis.catalog import (
    APPENDING_SINK_KEYWORDS,
    BATCHABLE_SINK_FUNCTIONS,
    BATCHABLE_SINK_METHODS,
    ELEMENTWISE_DERIVATIONS,
    SINK_FUNCTIONS,
    TABLE_COLUMNS_ARGUMENTS,
    WHOLE_FILE_SINK_METHODS,
    WHOLE_VALUE_SINKS,
)
from extraction_lint.rules.base import FixSpec

if TYPE_CHECKING:
    from extraction_lint.analysis.calls import SinkCall
    from extraction_lint.analysis.collections import Accumulation
    from extraction_lint.analysis.model import Loop, Scope
    from extraction_lint.analysis.module import ModuleAnalysis

#: The batch size the fix writes, and the name it gives it (a free one).
BATCH_SIZE = "1_000"
_CONSTANT = "BATCH_SIZE"
#: The loop variable of ``for item in xs:``, which a growth ``c.extend(xs)`` becomes.
_ITEM = "item"
_GROWTH = frozenset({"append", "extend"})
_EXITS = (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield)
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def batch_fix(
    analysis: ModuleAnalysis, scope: Scope, sink: SinkCall, accumulations: list[Accumulation]
) -> FixSpec | None:
    """The fix for one finding (the collection of ``accumulations`` written by ``sink``),
    or None when the code is not of the canonical shape."""
    if len(accumulations) != 1 or not _can_take_parts(analysis, sink):
        return None
    accumulation = accumulations[0]
    key, loop = accumulation.key, accumulation.loop
    if not key.isidentifier() or loop.node.orelse is not None:
        return None
    binding = accumulation.binding.assignment
    if not (
        binding.operator == "="
        and isinstance(binding.target, cst.Name)
        and _is_empty_list(binding.value)
    ):
        return None
    # Parents up to the module: a method's indentation includes its class body's.
    parents = _parents(analysis.module)
    growths = [g.node for g in accumulation.growths]
    statements = [_growth_statement(analysis, g, key, parents, loop.node) for g in growths]
    if not growths or any(s is None for s in statements):
        return None
    innermost = {id(g.site.loops[-1]) if g.site.loops else 0 for g in accumulation.growths}
    if len(innermost) != 1 or any(
        g.site.header_of or g.site.comp_clauses for g in accumulation.growths
    ):
        return None
    statement = _sink_statement(sink.call.node, parents)
    if statement is None:
        return None
    held = _key_in_sink(analysis, sink.call.node, key)
    if held is None:
        return None
    if not _siblings_in_order(loop.node, statement, parents):
        return None
    # The collection is read nowhere else.
    expected = {id(binding.target), id(held), *(id(_receiver(g)) for g in growths)}
    whole = analysis.module if scope.kind == "module" else scope.node
    if any(id(n) not in expected for n in _uses(whole, key)):
        return None
    names = {n.value for n in _names(sink.call.node)} - {key}
    if not _sink_names_untouched(analysis, scope, loop, names, statement, parents):
        return None
    constant = _free_name(analysis.module.code, _CONSTANT)
    module = analysis.module
    write = statement.body[0]
    newline = module.default_newline
    edits: list[tuple[cst.CSTNode, str]] = []
    for growth, line in zip(growths, statements, strict=True):
        assert line is not None and isinstance(growth, cst.Call)
        indent = _indentation(line, parents, module)
        step = _step(line, parents, module)
        if _is_extend(growth):
            # ``c.extend(xs)`` may add nothing right after a flush, and the write after
            # the loop would get an empty part where the original got rows (DuckDB's
            # ``executemany`` refuses one). Element by element, a flush always comes
            # before an element.
            item = _free_name(module.code, _ITEM)
            values = _extended_values(growth, indent, module)
            inner = indent + step
            text = (
                f"for {item} in {values}:{newline}"
                f"{inner}{_flush(key, constant, write, inner, step, module)}"
                f"{key}.append({item})"
            )
        else:
            # The growth as written at its place: its continuation lines keep their columns.
            text = _flush(key, constant, write, indent, step, module) + _code_at(
                growth, indent, module
            )
        edits.append((growth, text))
    (first, replacement), *more = edits
    return FixSpec(
        message=f"Write `{key}` in batches of {constant} inside the loop (unsafe)",
        node=first,
        replacement=replacement,
        more=tuple(more),
        module_statement=f"{constant} = {BATCH_SIZE}",
        unsafe=True,
    )


def _flush(
    key: str, constant: str, write: cst.CSTNode, indent: str, step: str, module: cst.Module
) -> str:
    """``if len(c) >= BATCH_SIZE:``, the write and ``c.clear()`` below it, the first line
    at the caller's place and the others at ``indent``; then ``indent``."""
    newline = module.default_newline
    flush = _code_at(write, indent + step, module)
    return (
        f"if len({key}) >= {constant}:{newline}"
        f"{indent}{step}{flush}{newline}"
        f"{indent}{step}{key}.clear(){newline}"
        f"{indent}"
    )


def _is_extend(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "extend"


def _extended_values(call: cst.Call, indent: str, module: cst.Module) -> str:
    """The iterable of ``c.extend(xs)`` as ``for item in <it>:`` takes it: ``xs`` as
    written, or the call's parentheses with what they hold when they hold more than ``xs``
    (a comment, line breaks) or ``xs`` needs them (a bare generator, ``:=``); a trailing
    comma goes, its line break and comment stay."""
    arg = call.args[0]
    value = _code_at(arg.value, indent, module)
    if isinstance(arg.comma, cst.Comma):  # checked by _growth_statement: nothing before it
        arg = arg.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=arg.comma.whitespace_after
        )
        call = call.with_changes(args=[arg])
    whole = _code_at(call, indent, module)
    parens = whole[whole.index("(", len(_code_at(call.func, indent, module))) :]
    bare = isinstance(arg.value, cst.GeneratorExp | cst.NamedExpr) and not arg.value.lpar
    inside = parens[1:-1]
    return value if "#" not in inside and inside.strip() == value and not bare else parens


def whole_write_advice(analysis: ModuleAnalysis, sink: SinkCall) -> str | None:
    """What to write instead of a sink that writes a whole value or file at once (it
    cannot take parts, so no fix can batch it); None for other sinks."""
    if sink.inner:  # a project function that writes what it is passed: its own sink
        name, method = sink.kind
        if method:
            return WHOLE_FILE_SINK_METHODS.get(name)
        return WHOLE_VALUE_SINKS.get(name)
    call = sink.call
    if call.qualname in WHOLE_VALUE_SINKS:
        return WHOLE_VALUE_SINKS[call.qualname]
    if call.method in WHOLE_FILE_SINK_METHODS and call.qualname not in SINK_FUNCTIONS:
        return WHOLE_FILE_SINK_METHODS[call.method]
    return None


# --- the shape -------------------------------------------------------------------------------


def _can_take_parts(analysis: ModuleAnalysis, sink: SinkCall) -> bool:
    call = sink.call
    if call.qualname in BATCHABLE_SINK_FUNCTIONS:
        return True
    if call.method is None or call.qualname in SINK_FUNCTIONS:
        return False
    if call.method in APPENDING_SINK_KEYWORDS:
        keyword, value = APPENDING_SINK_KEYWORDS[call.method]
        return any(
            a.keyword is not None
            and a.keyword.value == keyword
            and isinstance(a.value, cst.SimpleString)
            and a.value.evaluated_value == value
            for a in call.node.args
        )
    return call.method in BATCHABLE_SINK_METHODS


def _is_empty_list(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.List):
        return not node.elements
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "list"
        and not node.args
    )


def _receiver(call: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
    return call.func.value


def _growth_statement(
    analysis: ModuleAnalysis,
    node: cst.CSTNode,
    key: str,
    parents: dict[int, cst.CSTNode],
    loop: cst.CSTNode,
) -> cst.SimpleStatementLine | None:
    """The line ``key.append(x)`` / ``key.extend(xs)`` starts, inside ``loop``'s body
    (``key.extend(xs)`` alone on its line: it becomes a loop), and not where an error of
    the write would be caught before it leaves the loop's body (the body of a ``try``, a
    ``with contextlib.suppress(...)``): the failed batch would be written again."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == key
        and node.func.attr.value in _GROWTH
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        return None
    expr = parents.get(id(node))
    line = parents.get(id(expr)) if expr is not None else None
    if not (
        isinstance(expr, cst.Expr)
        and isinstance(line, cst.SimpleStatementLine)
        and line.body[0] is expr
        and (node.func.attr.value == "append" or _extend_alone(node, line))
    ):
        return None
    # Up to the loop: bodies of blocks only (no function, class, or ``else`` of a loop).
    child: cst.CSTNode = line
    parent = parents.get(id(child))
    while parent is not None and parent is not loop:
        if isinstance(parent, _SCOPES) or (
            isinstance(parent, cst.For | cst.While) and parent.orelse is child
        ):
            return None
        if isinstance(parent, cst.Try | cst.TryStar) and parent.body is child:
            return None
        if isinstance(parent, cst.With) and any(
            isinstance(i.item, cst.Call) and analysis.resolve(i.item.func) == "contextlib.suppress"
            for i in parent.items
        ):
            return None
        child, parent = parent, parents.get(id(parent))
    return line if parent is loop else None


def _extend_alone(call: cst.Call, line: cst.SimpleStatementLine) -> bool:
    """Whether ``c.extend(xs)`` is alone on its line, not in parentheses of its own, and
    a comma after ``xs`` comes right after it (so that it can go)."""
    if len(line.body) != 1 or call.lpar:
        return False
    arg = call.args[0]
    if not isinstance(arg.comma, cst.Comma):
        return True
    return all(
        isinstance(w, cst.SimpleWhitespace) and not w.value
        for w in (arg.whitespace_after_arg, arg.comma.whitespace_before)
    )


def _sink_statement(
    call: cst.Call, parents: dict[int, cst.CSTNode]
) -> cst.SimpleStatementLine | None:
    """The statement that is just the sink call (or ``await`` of it)."""
    expr = parents.get(id(call))
    if isinstance(expr, cst.Await):
        expr = parents.get(id(expr))
    line = parents.get(id(expr)) if expr is not None else None
    if (
        isinstance(expr, cst.Expr)
        and isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
    ):
        return line
    return None


def _key_in_sink(analysis: ModuleAnalysis, call: cst.Call, key: str) -> cst.Name | None:
    """The one use of ``key`` in the sink call, when the call writes it whole: as an
    argument or the receiver, or through element-wise derivations of it."""
    uses = list(_uses(call, key))
    if len(uses) != 1:
        return None
    target = uses[0]

    def carries(node: cst.BaseExpression) -> bool:
        if node is target:
            return True
        if not isinstance(node, cst.Call):
            return False
        derivation = analysis.resolve(node.func)
        if derivation not in ELEMENTWISE_DERIVATIONS:
            return False
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if derivation in TABLE_COLUMNS_ARGUMENTS:
            # A table built from a batch has the batch's columns: they must be given.
            keyword, position = TABLE_COLUMNS_ARGUMENTS[derivation]
            given = len(positional) > position or any(
                a.keyword is not None and a.keyword.value == keyword for a in node.args
            )
            if not given:
                return False
        return bool(positional) and carries(positional[0].value)

    func = call.func
    data = [a.value for a in call.args if not a.star]
    if isinstance(func, cst.Attribute):
        data.append(func.value)
    return target if any(carries(d) for d in data) else None


def _siblings_in_order(
    loop: cst.CSTNode, statement: cst.CSTNode, parents: dict[int, cst.CSTNode]
) -> bool:
    block = parents.get(id(loop))
    if block is None or parents.get(id(statement)) is not block:
        return False
    ids = [id(s) for s in getattr(block, "body", ())]
    return (
        id(loop) in ids and id(statement) in ids and ids.index(id(loop)) < ids.index(id(statement))
    )


def _sink_names_untouched(
    analysis: ModuleAnalysis,
    scope: Scope,
    loop: Loop,
    names: set[str],
    statement: cst.SimpleStatementLine,
    parents: dict[int, cst.CSTNode],
) -> bool:
    """Whether the sink can run inside the loop as it runs after it: what it names (the
    connection, the statement, the writer) is neither used nor re-bound in the loop (a
    module name such as ``pd`` may be used), nor touched between the loop and the sink.
    A function of the module that the loop calls counts as part of the loop: a reader that
    takes the connection as a global (``con.execute(sql)`` then ``fetchmany``) loses its
    pending result when the batch is written on the same connection."""
    in_loop = {n.value for n in _names(loop.node)} | _names_of_called(analysis.module, loop.node)
    for name in names & in_loop:
        if _is_variable(analysis, name):
            return False  # not a module nor a built-in: the connection, the writer, ...
    if _binds(loop.node) & names:
        return False
    # No name used in the loop was bound from one of the sink's names (a cursor of the
    # same connection: DuckDB's ``con.execute(...)`` is ``con`` itself).
    for assignment in scope.assignments:
        bound = {n.value for n in _names(assignment.target)}
        if bound & in_loop and {n.value for n in _names(assignment.value)} & names:
            return False
    for item in scope.with_items:
        if item.target is None:
            continue
        bound = {n.value for n in _names(item.target)}
        if bound & in_loop and {n.value for n in _names(item.expr)} & names:
            return False
    body = list(getattr(parents[id(statement)], "body", ()))
    ids = [id(s) for s in body]
    between = body[ids.index(id(loop.node)) + 1 : ids.index(id(statement))]
    for node in between:
        if {n.value for n in _names(node)} & names or any(_walk(node, _EXITS)):
            return False
    return True


def _is_variable(analysis: ModuleAnalysis, name: str) -> bool:
    """Whether ``name`` is a variable (a local, a global bound in the module such as a
    connection), not a built-in, an imported name or a module's conventional alias."""
    if hasattr(builtins, name) or name in analysis.imports.imports:
        return False
    return analysis.resolve(cst.Name(name)) in (None, name)


def _names_of_called(module: cst.Module, root: cst.CSTNode) -> set[str]:
    """The names used by the functions of the module (any function of that name, at any
    depth) that ``root`` calls by name, and by the functions those call."""
    defs: dict[str, list[cst.FunctionDef]] = {}
    for node in _walk(module, (cst.FunctionDef,)):
        assert isinstance(node, cst.FunctionDef)
        defs.setdefault(node.name.value, []).append(node)
    names: set[str] = set()
    seen: set[str] = set()
    stack = [root]
    while stack:
        for call in _walk(stack.pop(), (cst.Call,)):
            assert isinstance(call, cst.Call)
            if not isinstance(call.func, cst.Name) or call.func.value in seen:
                continue
            seen.add(call.func.value)
            for function in defs.get(call.func.value, ()):
                names.update(n.value for n in _names(function.body))
                stack.append(function.body)
    return names


# --- tree helpers ----------------------------------------------------------------------------


def _parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    parents: dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[id(child)] = node
            stack.append(child)
    return parents


def _walk(root: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> Iterator[cst.CSTNode]:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, kinds):
            yield node
        stack.extend(node.children)


def _names(root: cst.CSTNode) -> Iterator[cst.Name]:
    """The names a node uses or binds (not attribute names, keywords or parameters' names
    of calls)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            yield node
            continue
        if isinstance(node, cst.Attribute):
            stack.append(node.value)
            continue
        if isinstance(node, cst.Arg):
            stack.append(node.value)
            continue
        stack.extend(node.children)


def _uses(root: cst.CSTNode, key: str) -> Iterator[cst.Name]:
    return (n for n in _names(root) if n.value == key)


def _binds(root: cst.CSTNode) -> set[str]:
    """Names bound anywhere in ``root`` (assignment, loop and ``with`` targets, walrus,
    imports, ``del``)."""
    bound: set[str] = set()
    for node in _walk(
        root,
        (
            cst.AssignTarget,
            cst.AugAssign,
            cst.AnnAssign,
            cst.For,
            cst.CompFor,
            cst.AsName,
            cst.NamedExpr,
            cst.Del,
            cst.ImportAlias,
        ),
    ):
        target = getattr(node, "target", None) or getattr(node, "name", None)
        if isinstance(node, cst.ImportAlias):
            target = node.asname.name if node.asname else node.name
        if isinstance(target, cst.CSTNode):
            bound.update(n.value for n in _names(target))
    return bound


def _indentation(
    statement: cst.CSTNode, parents: dict[int, cst.CSTNode], module: cst.Module
) -> str:
    """The indentation of a statement's first line: the indents of its enclosing blocks."""
    parts: list[str] = []
    node = parents.get(id(statement))
    while node is not None:
        if isinstance(node, cst.IndentedBlock):
            parts.append(node.indent if node.indent is not None else module.default_indent)
        node = parents.get(id(node))
    return "".join(reversed(parts))


def _step(statement: cst.CSTNode, parents: dict[int, cst.CSTNode], module: cst.Module) -> str:
    """One more level of indentation, as the statement's own block indents."""
    block = parents.get(id(statement))
    if isinstance(block, cst.IndentedBlock) and block.indent is not None:
        return block.indent
    return module.default_indent


def _code_at(node: cst.CSTNode, indent: str, module: cst.Module) -> str:
    """The code of ``node`` as libcst writes it at ``indent``: continuation lines that
    follow the block's indentation shift with it, the text of strings does not change."""
    try:
        from libcst._nodes.internal import CodegenState
    except ImportError:  # libcst internals changed: continuation lines keep their place
        return module.code_for_node(node)
    state = CodegenState(
        default_indent=module.default_indent, default_newline=module.default_newline
    )
    state.indent_tokens.append(indent)
    node._codegen(state)
    return "".join(state.tokens)


def _free_name(code: str, base: str) -> str:
    """``base``, or ``base_2``, ... when the module already uses that word."""
    name, number = base, 1
    while re.search(rf"\b{name}\b", code):
        number += 1
        name = f"{base}_{number}"
    return name
