"""Walking the interpreter's tree: the child nodes that can hold code."""

from __future__ import annotations

import ast

__all__ = ["code_children"]

#: Fields that hold no code: operators and contexts (``ast.Add``, ``ast.Load``).
_NO_CODE_FIELDS = frozenset({"ctx", "op", "ops"})
_CODE_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}
#: Nodes with no node under them but operators and contexts.
_LEAVES = (ast.Name, ast.Constant)


def code_children(node: ast.AST, *, leaves: bool = True) -> list[ast.AST]:
    """The child nodes that can hold code: ``ast.iter_child_nodes`` without its generic
    field iteration, and without operator and context nodes (a third of a tree's nodes);
    ``leaves=False`` also leaves out names and constants (a walk that looks for calls,
    definitions and statements has no use for them)."""
    kind = type(node)
    fields = _CODE_FIELDS.get(kind)
    if fields is None:
        fields = _CODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in _NO_CODE_FIELDS)
    children: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            children.extend(
                item
                for item in value
                if isinstance(item, ast.AST) and (leaves or type(item) not in _LEAVES)
            )
        elif isinstance(value, ast.AST) and (leaves or type(value) not in _LEAVES):
            children.append(value)
    return children
