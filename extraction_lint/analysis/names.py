"""Qualified names through imports: ``pd.read_csv`` -> ``pandas.read_csv``."""

from __future__ import annotations

import builtins

import libcst as cst

from extraction_lint.analysis.catalog import CONVENTIONAL_ALIASES, canonical_guardrails_name
from extraction_lint.analysis.facts import import_bindings

_BUILTINS = frozenset(dir(builtins))


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def import_module_name(node: cst.BaseExpression) -> str:
    """The dotted module name of an ``import``/``from`` clause (``os.path``)."""
    return dotted_name(node) or ""


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


class ImportMap:
    """What each name of a module stands for, from every import in the module.

    Imports anywhere in the module count (local imports inside functions are common in
    scripts); a name bound by assignment, ``def``, parameter and so on and never imported
    is a local value whose qualified name is unknown.
    """

    def __init__(self) -> None:
        self.imports: dict[str, str] = {}
        self.bound: set[str] = set()
        #: The modules of ``from m import *`` (relative ones dotted), in source order.
        self.stars: list[str] = []
        #: What the module-level imports bind (not those made in a function or class).
        self.module_level: dict[str, str] = {}
        #: The last binding of each name at module level, in source order: ``"import"``,
        #: ``"definition"`` (``def``, ``class``) or ``"value"`` (anything else).
        self.module_last: dict[str, str] = {}

    def add_import(self, node: cst.Import, where: dict[str, str] | None = None) -> None:
        """Record ``import a.b`` (binds ``a``) and ``import a.b as c`` (binds ``c``).
        ``where``: the imports of the function that makes it (None: at module level)."""
        names = [(import_module_name(a.name), _asname(a)) for a in node.names]
        self._bind(list(import_bindings(None, 0, names, from_=False)), where)

    def add_import_from(self, node: cst.ImportFrom, where: dict[str, str] | None = None) -> None:
        """Record ``from a import b as c`` (binds ``c`` to ``a.b``); relative ones stay dotted.
        ``from a import *`` is recorded as a star import of ``a``."""
        module = import_module_name(node.module) if node.module is not None else None
        if isinstance(node.names, cst.ImportStar):
            self.stars.append("." * len(node.relative) + (module or ""))
            return
        names = [(import_module_name(a.name), _asname(a)) for a in node.names]
        self._bind(list(import_bindings(module, len(node.relative), names, from_=True)), where)

    def _bind(
        self, bindings: list[tuple[str, str, bool]], where: dict[str, str] | None = None
    ) -> None:
        # Every import, wherever made, for the catalogue's names (``import pickle`` in a
        # function, ``pickle.load`` there); where it binds, for following calls (SPEC 2.6).
        for target_map in (self.imports, self.module_level if where is None else where):
            for local, target, replaces in bindings:
                if replaces:
                    target_map[local] = target
                else:
                    target_map.setdefault(local, target)
        if where is None:
            for local, _, _ in bindings:
                self.module_last[local] = "import"

    def from_star(self, name: str) -> bool:
        """Whether the bare name ``name`` may come from a star import: the module has one,
        and neither imports the name by name nor binds it anywhere."""
        return bool(self.stars) and name not in self.imports and name not in self.bound

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a name or attribute chain, or None when unknown.

        Built-ins resolve to their bare name (``print``, ``list``); names that are neither
        imported nor bound resolve to a conventional alias (``pd`` -> ``pandas``) or to
        themselves, so that an unimported ``load`` stays ``load`` and matches nothing.
        """
        dotted = dotted_name(node)
        if dotted is None:
            return None
        first, _, rest = dotted.partition(".")
        head = self.resolve_name(first)
        if head is None:
            return None
        return canonical_guardrails_name(f"{head}.{rest}" if rest else head)

    def resolve_name(self, name: str) -> str | None:
        """The qualified name one bare name stands for (see :meth:`resolve`)."""
        imported = self.imports.get(name)
        if imported is not None:
            return imported
        if name in self.bound:
            return None
        if name in _BUILTINS:
            return name
        return CONVENTIONAL_ALIASES.get(name, name)
