"""The part of a module the rules can need, for libcst to parse instead of the whole file.

libcst builds a Python object for every token of a file; on a large file that is most of
the cost of checking it, and most definitions of a large file can play no part in any rule.
A definition can play a part when it holds a sink or loader call (every rule needs one),
or when a scope with a sink calls it by name (an accumulating helper, EXL003). The others
are replaced by a one-line stub (``def name(): pass`` on the definition's first line, the
rest of its lines left empty), so every line and column of the code kept stays where it
was, and so does every top-level statement's index.

What the analysis learns module-wide from a definition's code is handed over as
:class:`OutsideFacts` (the names it binds, what it imports, what it changes in place), so
that the analysis of the code kept is the one of the whole file. A definition whose
dropping could change anything else is kept: one that imports a name which is imported
elsewhere as something else, a method that binds an attribute (``self.x = ...``: the
guards look those up class-wide), a walrus evaluated in the enclosing scope; and nothing is
dropped from a module that sets a process-wide limit (a fact of the whole module).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from extraction_lint.analysis.astwalk import code_children
from extraction_lint.analysis.catalog import (
    FAULTHANDLER_LATER,
    PROCESS_TIMEOUT_FUNCTIONS,
    SETRLIMIT,
)
from extraction_lint.analysis.loops import MUTATING_METHODS
from extraction_lint.analysis.model import OutsideFacts
from extraction_lint.prefilter import (
    Relevance,
    ast_import_bindings,
    defines,
    holds_line,
)

__all__ = ["OutsideFacts", "SparseSource", "sparse_source"]

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef

#: Calls that set a process-wide limit: the analysis looks for them in the whole module.
_PROCESS_WIDE = re.compile(
    r"\b(?:{})\b".format(
        "|".join(
            re.escape(q.rsplit(".", 1)[-1])
            for q in sorted({SETRLIMIT, FAULTHANDLER_LATER, *PROCESS_TIMEOUT_FUNCTIONS})
        )
    )
)
#: A physical line and its end, as Python's tokenizer splits them.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_INDENT = re.compile(r"[ \t\f]*")


@dataclass(frozen=True)
class SparseSource:
    """The text to parse, and the facts of what it leaves out."""

    text: str
    outside: OutsideFacts
    #: How many definitions were replaced by stubs.
    dropped: int


def sparse_source(text: str, tree: ast.Module, relevance: Relevance) -> SparseSource | None:
    """``text`` with the definitions that cannot matter replaced by stubs, or None when
    nothing can be left out. ``tree`` is the interpreter's tree of ``text``, ``relevance``
    what the prefilter found in it: the lines that name a sink or a loader, the names that
    scopes with a sink call (possible accumulating helpers), the imports.
    """
    if relevance.keep_all or _PROCESS_WIDE.search(text):
        return None
    dropper = _Dropper(text, relevance)
    for statement in tree.body:
        if not isinstance(statement, _DEFINITIONS):
            continue
        if not dropper.drop_if_possible(statement, method=False) and isinstance(
            statement, ast.ClassDef
        ):
            for member in statement.body:
                if isinstance(member, _FUNCTIONS):
                    dropper.drop_if_possible(member, method=True)
    if not dropper.dropped:
        return None
    return SparseSource("".join(dropper.lines), dropper.facts(), dropper.dropped)


class _Dropper:
    def __init__(self, text: str, relevance: Relevance) -> None:
        self.lines = _LINE.findall(text)
        self.trigger_lines = relevance.trigger_lines
        self.helper_names = relevance.helper_names
        #: Every import of the module: local name -> the qualified names it is bound to.
        self.imported: dict[str, set[str]] = {}
        for statement in relevance.imports:
            for name, target in _import_bindings(statement):
                self.imported.setdefault(name, set()).add(target)
        self.dropped = 0
        self._imports: dict[str, str] = {}
        self._bound: set[str] = set()
        self._mutated: set[str] = set()
        self._called: set[str] = set()

    def facts(self) -> OutsideFacts:
        return OutsideFacts(
            self._imports,
            frozenset(self._bound),
            frozenset(self._mutated),
            frozenset(self._called),
        )

    def drop_if_possible(self, node: _Definition, *, method: bool) -> bool:
        """Replace ``node`` by a stub binding its name and record the facts of its code,
        unless it can matter (see the module docstring); whether it was dropped."""
        if holds_line(node, self.trigger_lines) or defines(node, self.helper_names):
            return False
        if not method and any(isinstance(n, ast.NamedExpr) for n in _outer_parts(node)):
            return False  # binds a name in the module scope
        imports: dict[str, str] = {}
        bound: set[str] = set()
        mutated: set[str] = set()
        called: set[str] = set()
        pending: list[ast.AST] = code_children(node)
        while pending:
            child = pending.pop()
            pending.extend(code_children(child))
            if isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Name):
                    called.add(func.id)
                elif isinstance(func, ast.Attribute):
                    called.add(func.attr)
            if isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Store):
                    bound.add(child.id)
            elif isinstance(child, ast.arg):
                bound.add(child.arg)
            elif isinstance(child, _DEFINITIONS):
                bound.add(child.name)
            elif isinstance(child, ast.ExceptHandler):
                if child.name is not None:
                    bound.add(child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                for name, target in _import_bindings(child):
                    if len(self.imported[name]) > 1:
                        return False  # which import wins depends on the order
                    imports[name] = target
            elif method and _binds_attribute(child):
                return False
            else:
                mutated.update(mutations(child))
        self._stub(node)
        self._imports.update(imports)
        self._bound.update(bound)
        self._mutated.update(mutated)
        self._called.update(called)
        return True

    def _stub(self, node: _Definition) -> None:
        first, last = _first_line(node), node.end_lineno or node.lineno
        lines = self.lines
        indent = _INDENT.match(lines[first - 1])
        assert indent is not None  # the pattern matches the empty string
        keyword = "class" if isinstance(node, ast.ClassDef) else "def"
        stub = f"{indent.group()}{keyword} {node.name}{'' if keyword == 'class' else '()'}: pass"
        lines[first - 1] = stub + _ending(lines[first - 1])
        for number in range(first, last):
            lines[number] = _ending(lines[number])
        self.dropped += 1


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _outer_parts(node: _Definition) -> Iterator[ast.AST]:
    """Everything of a definition that is evaluated in the enclosing scope."""
    parts: list[ast.AST] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += [*node.bases, *node.keywords]
    else:
        parts.append(node.args)
        if node.returns is not None:
            parts.append(node.returns)
    for part in parts:
        yield from ast.walk(part)


def _binds_attribute(node: ast.AST) -> bool:
    """``x.attr = ...``, ``x.attr: T = ...`` or ``with ... as x.attr``."""
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Attribute) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Attribute)
    if isinstance(node, ast.withitem):
        return isinstance(node.optional_vars, ast.Attribute)
    return False


def mutations(node: ast.AST) -> Iterator[str]:
    """Names ``node`` changes in place (as the analysis's module constants see it)."""
    if isinstance(node, ast.Global | ast.Nonlocal):
        yield from node.names
    elif isinstance(node, ast.Call):
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr in MUTATING_METHODS
        ):
            yield func.value.id
    elif isinstance(node, ast.Assign):
        yield from _subscripted(node.targets)
    elif isinstance(node, ast.AnnAssign):
        if node.value is not None:
            yield from _subscripted([node.target])
    elif isinstance(node, ast.AugAssign):
        if isinstance(node.target, ast.Name):
            yield node.target.id
        yield from _subscripted([node.target])
    elif isinstance(node, ast.Delete):
        targets: list[ast.expr] = []
        for target in node.targets:
            targets.extend(target.elts if isinstance(target, ast.Tuple | ast.List) else [target])
        yield from _subscripted(targets)


def _subscripted(targets: list[ast.expr]) -> Iterator[str]:
    for target in targets:
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            yield target.value.id


def _import_bindings(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(local name, qualified name) of each name an import binds, as the analysis reads it
    (the shared fact, :func:`extraction_lint.analysis.facts.import_bindings`)."""
    for local, target, _ in ast_import_bindings(node):
        yield local, target
