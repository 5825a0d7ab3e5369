"""One walk over a module that records the facts of :mod:`extraction_lint.analysis.model`.

The walk decides nothing: whether a call is a sink or a loop is bounded needs names that
may be imported or bound further down, so it is answered afterwards, from these records.
"""

from __future__ import annotations

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

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


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


class Collector(cst.CSTVisitor):
    """Walks a module once and fills :attr:`scopes` and :attr:`imports`."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.imports = ImportMap()
        self.module_scope = Scope(node=module, kind="module", parent=None, name="<module>")
        self.scopes: list[Scope] = [self.module_scope]
        #: Bindings of each name at module level, for "a constant bound once" (SPEC 2.1).
        self.module_binding_counts: dict[str, int] = {}
        self._frames: list[_Frame] = [_Frame(self.module_scope)]
        self._counter = 0

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
            in_except=frame.except_depth > 0,
        )

    def _bind(self, target: cst.BaseExpression) -> None:
        """Note the names a target binds, for name resolution and module constants."""
        if isinstance(target, cst.Name):
            self.imports.bound.add(target.value)
            if self._frame.scope.kind == "module":
                counts = self.module_binding_counts
                counts[target.value] = counts.get(target.value, 0) + 1
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def _assign(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        operator: str,
        statement: cst.CSTNode,
    ) -> None:
        self._bind(target)
        self._frame.scope.assignments.append(
            Assignment(target, value, operator, self._site(), statement)
        )

    def _enter_scope(self, scope: Scope) -> None:
        self.scopes.append(scope)
        self._frames.append(_Frame(scope))

    def _leave_scope(self) -> None:
        self._frames.pop()

    # --- scopes --------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._bind(node.name)
        parent = self._frame.scope
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
            decorator.visit(self)
        node.params.visit(self)
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
        node.body.visit(self)
        self._leave_scope()
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._bind(node.name)
        for decorator in node.decorators:
            decorator.visit(self)
        for arg in node.bases:
            arg.visit(self)
        self._enter_scope(
            Scope(node=node, kind="class", parent=self._frame.scope, name=node.name.value)
        )
        node.body.visit(self)
        self._leave_scope()
        return False

    def visit_Param(self, node: cst.Param) -> None:
        self.imports.bound.add(node.name.value)

    def visit_Global(self, node: cst.Global) -> None:
        self._frame.scope.declared_outer.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._frame.scope.declared_outer.update(n.name.value for n in node.names)

    # --- imports -------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> bool:
        self.imports.add_import(node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.imports.add_import_from(node)
        return False

    # --- loops ---------------------------------------------------------------------------

    def _new_loop(self, node: cst.For | cst.While) -> Loop:
        frame = self._frame
        loop = Loop(
            node=node,
            scope=frame.scope,
            parent=frame.loops[-1] if frame.loops else None,
            start=self._tick(),
            enclosing_withs=tuple(frame.withs),
        )
        frame.scope.loops.append(loop)
        return loop

    def visit_For(self, node: cst.For) -> bool:
        loop = self._new_loop(node)
        self._bind(node.target)
        frame = self._frame
        frame.headers.append(loop)
        node.iter.visit(self)
        frame.headers.pop()
        frame.loops.append(loop)
        node.target.visit(self)
        node.body.visit(self)
        frame.loops.pop()
        loop.end = self._tick()
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    def visit_While(self, node: cst.While) -> bool:
        loop = self._new_loop(node)
        frame = self._frame
        frame.loops.append(loop)
        node.test.visit(self)
        node.body.visit(self)
        frame.loops.pop()
        loop.end = self._tick()
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    # --- comprehensions (loops for EXL002 only) -------------------------------------------

    def _visit_comprehension(
        self, node: cst.BaseExpression, parts: list[cst.BaseExpression], for_in: cst.CompFor
    ) -> bool:
        frame = self._frame
        self._frame.scope.comprehensions.append(Expression(node, self._site()))
        clauses = _comp_clauses(for_in)
        # The first iterable is evaluated once, outside; each later part repeats with the
        # clauses before it.
        clauses[0].iter.visit(self)
        depth = len(frame.comp_clauses)
        for clause in clauses:
            frame.comp_clauses.append(clause)
            self._bind(clause.target)
            clause.target.visit(self)
            for condition in clause.ifs:
                condition.visit(self)
            if clause.inner_for_in is not None:
                clause.inner_for_in.iter.visit(self)
        for part in parts:
            part.visit(self)
        del frame.comp_clauses[depth:]
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._visit_comprehension(node, [node.elt], node.for_in)

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._visit_comprehension(node, [node.elt], node.for_in)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._visit_comprehension(node, [node.elt], node.for_in)

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._visit_comprehension(node, [node.key, node.value], node.for_in)

    def visit_List(self, node: cst.List) -> None:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            self._frame.scope.starred_displays.append(Expression(node, self._site()))

    # --- statements ----------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign(target.target, node.value, "=", node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, node.value, "=", node)
        else:
            self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign(node.target, node.value, type(node.operator).__name__, node)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._assign(node.target, node.value, "=", node)

    def visit_Del(self, node: cst.Del) -> None:
        targets: list[cst.BaseExpression] = []
        if isinstance(node.target, cst.Tuple | cst.List):
            targets.extend(e.value for e in node.target.elements)
        else:
            targets.append(node.target)
        for target in targets:
            self._frame.scope.deletions.append(Deletion(target, self._site()))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._frame.scope.returns.append(Return(node.value, self._site()))

    def visit_With(self, node: cst.With) -> bool:
        frame = self._frame
        depth = len(frame.withs)
        for item in node.items:
            item.item.visit(self)
            target = item.asname.name if item.asname is not None else None
            if target is not None:
                self._bind(target)
                target.visit(self)
            with_item = WithItem(item.item, target, self._site())
            frame.scope.with_items.append(with_item)
            frame.withs.append(with_item)
        node.body.visit(self)
        del frame.withs[depth:]
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        return self._visit_handler(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> bool:
        return self._visit_handler(node)

    def _visit_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
        if node.type is not None:
            node.type.visit(self)
        if node.name is not None:
            self._bind(node.name.name)
        frame = self._frame
        frame.except_depth += 1
        node.body.visit(self)
        frame.except_depth -= 1
        return False

    # --- calls ---------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> bool:
        call = CallSite(node=node, site=self._site(), end=-1)
        self._frame.scope.calls.append(call)
        node.func.visit(self)
        for arg in node.args:
            arg.visit(self)
        call.end = self._tick()
        return False
