"""One walk over a module that records the facts of :mod:`extraction_lint.analysis.model`.

The walk decides nothing: whether a call is a sink or a loop is bounded needs names that
may be imported or bound further down, so it is answered afterwards, from these records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from extraction_lint.analysis.model import (
    Assignment,
    CallSite,
    Deletion,
    Expression,
    Loop,
    Return,
    Scope,
    Site,
    WithItem,
)
from extraction_lint.analysis.names import ImportMap

#: Fields that hold only whitespace, punctuation or tokens: never walked.
_SKIPPED_FIELDS = frozenset(
    {
        "asynchronous",
        "colon",
        "comma",
        "comment",
        "default_indent",
        "default_newline",
        "dot",
        "empty_lines",
        "encoding",
        "equal",
        "first_colon",
        "footer",
        "has_trailing_newline",
        "header",
        "indent",
        "keyword",
        "lbrace",
        "lbracket",
        "leading_lines",
        "leading_whitespace",
        "lines_after_decorators",
        "lpar",
        "newline",
        "operator",
        "posonly_ind",
        "rbrace",
        "rbracket",
        "relative",
        "rpar",
        "second_colon",
        "semicolon",
        "separator",
        "star",
        "trailing_comma",
        "trailing_whitespace",
    }
)
_CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _child_fields(cls: type[cst.CSTNode]) -> tuple[str, ...]:
    """The fields of a node class that may hold child nodes, in source order."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _CHILD_FIELDS[cls] = fields
    return fields


@dataclass
class _Frame:
    """The walk's state inside one scope."""

    scope: Scope
    loops: list[Loop] = field(default_factory=list)
    headers: list[Loop] = field(default_factory=list)
    comp_clauses: list[cst.CompFor] = field(default_factory=list)
    withs: list[WithItem] = field(default_factory=list)
    except_depth: int = 0


def _comp_clauses(node: cst.CompFor) -> list[cst.CompFor]:
    clauses = [node]
    while clauses[-1].inner_for_in is not None:
        inner = clauses[-1].inner_for_in
        assert inner is not None
        clauses.append(inner)
    return clauses


def _element_pairs(
    target: cst.BaseExpression, value: cst.BaseExpression
) -> list[tuple[cst.BaseExpression, cst.BaseExpression]] | None:
    """The (target, value) pairs of an element-wise unpacking, ``a, b = [], {}``; None when
    the assignment is not one: a value that is not a display of as many plain elements, a
    starred target, or a value that reads one of the targets (``a, b = b, a`` swaps: one
    pair after the other would not)."""
    if not isinstance(target, cst.Tuple | cst.List) or not isinstance(value, cst.Tuple | cst.List):
        return None
    targets, values = target.elements, value.elements
    if len(targets) != len(values) or any(
        isinstance(e, cst.StarredElement) for e in (*targets, *values)
    ):
        return None
    names = {_root_name(e.value) for e in targets} - {None}
    for element in values:
        stack: list[cst.CSTNode] = [element.value]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name) and node.value in names:
                return None
            stack.extend(node.children)
    return [(t.value, v.value) for t, v in zip(targets, values, strict=True)]


def _root_name(node: cst.BaseExpression) -> str | None:
    """``rows`` for ``rows``, ``self`` for ``self.rows``."""
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class Collector:
    """Walks a module once and fills :attr:`scopes` and :attr:`imports`.

    A hand-written walk rather than libcst's visitor: it visits only the fields that can
    hold code (not whitespace and punctuation) and builds nothing, which makes it several
    times faster on large files.
    """

    def __init__(self, module: cst.Module) -> None:
        self.imports = ImportMap()
        self.module_scope = Scope(node=module, kind="module", parent=None, name="<module>")
        self.scopes: list[Scope] = [self.module_scope]
        #: Bindings of each name at module level, for "a constant bound once" (SPEC 2.1).
        self.module_binding_counts: dict[str, int] = {}
        self._frames: list[_Frame] = [_Frame(self.module_scope)]
        self._counter = 0
        #: How many lambdas hold the node being walked.
        self._lambdas = 0
        self._lambda_names: frozenset[str] = frozenset()
        #: The index in ``module.body`` of the statement being walked, and for every node a
        #: finding can point at, the index of the top-level statement that holds it (so
        #: positions are computed for those statements only).
        self.top_index = 0
        self.top_of: dict[int, int] = {}

    # --- the walk ------------------------------------------------------------------------

    def walk(self, node: cst.CSTNode) -> None:
        """Visit ``node`` and everything under it."""
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            handler(self, node)
        else:
            self._children(node)

    def _children(self, node: cst.CSTNode) -> None:
        walk = self.walk
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                walk(value)
            elif isinstance(value, list | tuple):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        walk(item)

    # --- helpers -----------------------------------------------------------------------

    def _tick(self) -> int:
        self._counter += 1
        return self._counter

    @property
    def _frame(self) -> _Frame:
        return self._frames[-1]

    def _site(self) -> Site:
        frame = self._frame
        return Site(
            order=self._tick(),
            loops=tuple(frame.loops),
            header_of=frame.headers[-1] if frame.headers else None,
            comp_clauses=tuple(frame.comp_clauses),
            except_depth=frame.except_depth,
        )

    def _bind(self, target: cst.BaseExpression, *, plain: bool = False) -> None:
        """Note the names a target binds, for name resolution and module constants.

        A binding that is not a plain ``name = value`` (a loop target, unpacking, ``as``) is
        also noted in the scope's ``other_bindings``: such a name may hold anything.
        """
        if not plain and not isinstance(target, cst.Tuple | cst.List | cst.StarredElement):
            scope = self._frame.scope
            key = scope.key_of(target)
            if key is not None:
                scope.other_bindings.add(key)
                scope.rebinds.append((key, self._tick()))
        if isinstance(target, cst.Name):
            self.imports.bound.add(target.value)
            if self._frame.scope.kind == "module":
                counts = self.module_binding_counts
                counts[target.value] = counts.get(target.value, 0) + 1
                self.imports.module_last[target.value] = "value"
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def _bind_comprehension_target(self, target: cst.BaseExpression) -> None:
        """A comprehension's target binds in the comprehension alone (Python 3): not a
        name of the scope around it, nor of the module (``[save for save in names]`` does
        not hide the ``save`` it imports), but the calls inside it see it
        (``[write(rows) for write in writers]``)."""
        if isinstance(target, cst.Name):
            self.imports.bound.add(target.value)
            self._lambda_names = self._lambda_names | {target.value}
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._bind_comprehension_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_comprehension_target(target.value)

    def _assign(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        operator: str,
        statement: cst.CSTNode,
    ) -> None:
        pairs = _element_pairs(target, value) if operator == "=" else None
        if pairs is not None:
            # ``rows, token = [], None`` binds each name as ``rows = []`` would (SPEC 2.1).
            for element_target, element_value in pairs:
                self._assign(element_target, element_value, operator, statement)
            return
        self.top_of[id(statement)] = self.top_index
        self._bind(target, plain=True)
        self._frame.scope.assignments.append(
            Assignment(target, value, operator, self._site(), statement)
        )

    def _enter_scope(self, scope: Scope) -> None:
        self.scopes.append(scope)
        self._frames.append(_Frame(scope))

    def _leave_scope(self) -> None:
        self._frames.pop()

    # --- scopes --------------------------------------------------------------------------

    def _function(self, node: cst.FunctionDef) -> None:
        self._bind(node.name)
        parent = self._frame.scope
        if parent.kind == "module":
            self.imports.module_last[node.name.value] = "definition"
        self_name = None
        if parent.kind == "class" and node.params.params:
            is_static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in node.decorators
            )
            if not is_static:
                self_name = node.params.params[0].name.value
        # Decorators and defaults run in the enclosing scope.
        for decorator in node.decorators:
            self.walk(decorator)
        self.walk(node.params)
        self._enter_scope(
            Scope(
                node=node,
                kind="function",
                parent=parent,
                name=node.name.value,
                decorators=node.decorators,
                self_name=self_name,
            )
        )
        self.walk(node.body)
        self._leave_scope()

    def _class(self, node: cst.ClassDef) -> None:
        self._bind(node.name)
        if self._frame.scope.kind == "module":
            self.imports.module_last[node.name.value] = "definition"
        for decorator in node.decorators:
            self.walk(decorator)
        for arg in node.bases:
            self.walk(arg)
        self._enter_scope(
            Scope(node=node, kind="class", parent=self._frame.scope, name=node.name.value)
        )
        self.walk(node.body)
        self._leave_scope()

    def _param(self, node: cst.Param) -> None:
        self.imports.bound.add(node.name.value)
        self._children(node)

    def _declare_outer(self, node: cst.Global | cst.Nonlocal) -> None:
        self._frame.scope.declared_outer.update(n.name.value for n in node.names)

    # --- imports -------------------------------------------------------------------------

    def _import(self, node: cst.Import) -> None:
        self.imports.add_import(node, self._imports_here())

    def _import_from(self, node: cst.ImportFrom) -> None:
        self.imports.add_import_from(node, self._imports_here())

    def _imports_here(self) -> dict[str, str] | None:
        """Where an import made here binds: the function's own names, None at module
        level (a class body's import binds a class attribute: its own, unused map)."""
        scope = self._frame.scope
        if scope.kind == "module":
            return None
        return scope.imports if scope.kind == "function" else {}

    # --- loops ---------------------------------------------------------------------------

    def walk_module(self, module: cst.Module) -> None:
        """Walk every statement of the module, noting which one each node is in."""
        for index, statement in enumerate(module.body):
            self.top_index = index
            self.walk(statement)

    def _new_loop(self, node: cst.For | cst.While) -> Loop:
        self.top_of[id(node)] = self.top_index
        frame = self._frame
        loop = Loop(
            node=node,
            scope=frame.scope,
            parent=frame.loops[-1] if frame.loops else None,
            start=self._tick(),
            enclosing_withs=tuple(frame.withs),
            except_depth=frame.except_depth,
        )
        frame.scope.loops.append(loop)
        return loop

    def _for(self, node: cst.For) -> None:
        loop = self._new_loop(node)
        self._bind(node.target)
        frame = self._frame
        frame.headers.append(loop)
        self.walk(node.iter)
        frame.headers.pop()
        frame.loops.append(loop)
        self.walk(node.target)
        self.walk(node.body)
        frame.loops.pop()
        loop.end = self._tick()
        if node.orelse is not None:
            self.walk(node.orelse)

    def _while(self, node: cst.While) -> None:
        loop = self._new_loop(node)
        frame = self._frame
        frame.loops.append(loop)
        self.walk(node.test)
        self.walk(node.body)
        frame.loops.pop()
        loop.end = self._tick()
        if node.orelse is not None:
            self.walk(node.orelse)

    # --- comprehensions (loops for EXL002 only) -------------------------------------------

    def _comprehension(
        self, node: cst.BaseExpression, parts: list[cst.BaseExpression], for_in: cst.CompFor
    ) -> None:
        frame = self._frame
        self.top_of[id(node)] = self.top_index
        self._frame.scope.comprehensions.append(Expression(node, self._site()))
        clauses = _comp_clauses(for_in)
        # The first iterable is evaluated once, outside; each later part repeats with the
        # clauses before it.
        self.walk(clauses[0].iter)
        depth = len(frame.comp_clauses)
        outer = self._lambda_names
        for clause in clauses:
            frame.comp_clauses.append(clause)
            self._bind_comprehension_target(clause.target)
            self.walk(clause.target)
            for condition in clause.ifs:
                self.walk(condition)
            if clause.inner_for_in is not None:
                self.walk(clause.inner_for_in.iter)
        for part in parts:
            self.walk(part)
        del frame.comp_clauses[depth:]
        self._lambda_names = outer

    def _element_comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp) -> None:
        self._comprehension(node, [node.elt], node.for_in)

    def _dict_comprehension(self, node: cst.DictComp) -> None:
        self._comprehension(node, [node.key, node.value], node.for_in)

    def _list(self, node: cst.List) -> None:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            self.top_of[id(node)] = self.top_index
            self._frame.scope.starred_displays.append(Expression(node, self._site()))
        self._children(node)

    # --- statements ----------------------------------------------------------------------

    def _assign_statement(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign(target.target, node.value, "=", node)
        self._children(node)

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, node.value, "=", node)
        else:
            self._bind(node.target)
        self._children(node)

    def _aug_assign(self, node: cst.AugAssign) -> None:
        self._assign(node.target, node.value, type(node.operator).__name__, node)
        self._children(node)

    def _named_expr(self, node: cst.NamedExpr) -> None:
        self._assign(node.target, node.value, "=", node)
        self._children(node)

    def _del(self, node: cst.Del) -> None:
        targets: list[cst.BaseExpression] = []
        if isinstance(node.target, cst.Tuple | cst.List):
            targets.extend(e.value for e in node.target.elements)
        else:
            targets.append(node.target)
        for target in targets:
            self._frame.scope.deletions.append(Deletion(target, self._site()))
        self._children(node)

    def _return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._frame.scope.returns.append(Return(node.value, self._site()))
        self._children(node)

    def _yield(self, node: cst.Yield) -> None:
        if not self._lambdas:
            # ``lambda: (yield)`` is a generator of its own, not the enclosing function.
            self._frame.scope.is_generator = True
        self._children(node)

    def _lambda(self, node: cst.Lambda) -> None:
        self._lambdas += 1
        outer = self._lambda_names
        params = node.params
        self._lambda_names = (
            outer
            | {
                p.name.value
                for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                # ``lambda write=write: ...`` binds the module's function under its name.
                if not (isinstance(p.default, cst.Name) and p.default.value == p.name.value)
            }
            | {
                p.name.value
                for p in (params.star_arg, params.star_kwarg)
                if isinstance(p, cst.Param)
            }
        )
        self._children(node)
        self._lambda_names = outer
        self._lambdas -= 1

    def _with(self, node: cst.With) -> None:
        frame = self._frame
        depth = len(frame.withs)
        for item in node.items:
            self.walk(item.item)
            target = item.asname.name if item.asname is not None else None
            if target is not None:
                self._bind(target)
                self.walk(target)
            with_item = WithItem(item.item, target, self._site())
            frame.scope.with_items.append(with_item)
            frame.withs.append(with_item)
        self.walk(node.body)
        del frame.withs[depth:]

    def _handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> None:
        if node.type is not None:
            self.walk(node.type)
        if node.name is not None:
            self._bind(node.name.name)
        frame = self._frame
        frame.except_depth += 1
        self.walk(node.body)
        frame.except_depth -= 1

    # --- calls ---------------------------------------------------------------------------

    def _call(self, node: cst.Call) -> None:
        self.top_of[id(node)] = self.top_index
        call = CallSite(node=node, site=self._site(), end=-1, lambda_names=self._lambda_names)
        self._frame.scope.calls.append(call)
        self.walk(node.func)
        for arg in node.args:
            self.walk(arg)
        call.end = self._tick()


#: The walk's handler of each node type (functions of the class, not methods bound to a
#: collector: a table of bound methods would make every collector, and the tree and scopes
#: it holds, a cycle that only the garbage collector frees).
_HANDLERS: dict[type[cst.CSTNode], Callable[[Collector, cst.CSTNode], None]] = {
    cst.FunctionDef: Collector._function,  # type: ignore[dict-item]
    cst.ClassDef: Collector._class,  # type: ignore[dict-item]
    cst.Param: Collector._param,  # type: ignore[dict-item]
    cst.Global: Collector._declare_outer,  # type: ignore[dict-item]
    cst.Nonlocal: Collector._declare_outer,  # type: ignore[dict-item]
    cst.Import: Collector._import,  # type: ignore[dict-item]
    cst.ImportFrom: Collector._import_from,  # type: ignore[dict-item]
    cst.For: Collector._for,  # type: ignore[dict-item]
    cst.While: Collector._while,  # type: ignore[dict-item]
    cst.ListComp: Collector._element_comprehension,  # type: ignore[dict-item]
    cst.SetComp: Collector._element_comprehension,  # type: ignore[dict-item]
    cst.GeneratorExp: Collector._element_comprehension,  # type: ignore[dict-item]
    cst.DictComp: Collector._dict_comprehension,  # type: ignore[dict-item]
    cst.List: Collector._list,  # type: ignore[dict-item]
    cst.Assign: Collector._assign_statement,  # type: ignore[dict-item]
    cst.AnnAssign: Collector._ann_assign,  # type: ignore[dict-item]
    cst.AugAssign: Collector._aug_assign,  # type: ignore[dict-item]
    cst.NamedExpr: Collector._named_expr,  # type: ignore[dict-item]
    cst.Del: Collector._del,  # type: ignore[dict-item]
    cst.Return: Collector._return,  # type: ignore[dict-item]
    cst.Yield: Collector._yield,  # type: ignore[dict-item]
    cst.Lambda: Collector._lambda,  # type: ignore[dict-item]
    cst.With: Collector._with,  # type: ignore[dict-item]
    cst.ExceptHandler: Collector._handler,  # type: ignore[dict-item]
    cst.ExceptStarHandler: Collector._handler,  # type: ignore[dict-item]
    cst.Call: Collector._call,  # type: ignore[dict-item]
}
