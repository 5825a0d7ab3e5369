"""Following calls through the project (SPEC 2.6): modules, resolution, summaries.

The project is the files of the run and the modules they import that resolve to a ``.py``
file under the project root. Modules are read lazily, when a call of the module being
checked (or of a summary being computed) resolves into them, and only their summaries are
kept (plain data, no tree). A summary is computed to a fixed point over every function it
can reach, once per process and run; recursion is allowed.

Every summary records the modules (path and digest of their bytes) it was computed from,
so that a file's cached result can say what it depended on.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import (
    ArgFacts,
    ClassFacts,
    Edge,
    FunctionFacts,
    ModuleFacts,
    Summary,
    Target,
)

#: How many re-exports (``from .io import save`` in ``__init__.py``) a name is followed
#: through before giving up.
MAX_REEXPORTS = 16
#: The digest recorded for a module that does not exist (its appearance changes results).
ABSENT = "-"


def digest_of(data: bytes) -> str:
    """The digest of a module's bytes, as recorded in dependencies."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def find_project_root(config_source: Path | None, config_root: Path, cwd: Path) -> Path:
    """The project root (SPEC 2.6): the directory of the configuration file in use, else
    the git work tree around ``cwd``, else ``cwd``."""
    if config_source is not None:
        return Path(os.path.abspath(config_root))
    cwd = Path(os.path.abspath(cwd))
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return cwd


def _package_top(path: Path) -> Path:
    """The directory above the outermost package that holds ``path`` (its own directory
    when that is not a package: a script next to its helpers, Airflow's ``dags/``)."""
    top = path.parent
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return top


class Project:
    """The modules and summaries of one project, for one run, in one process."""

    def __init__(self, root: Path | None, settings: AnalysisSettings, cwd: Path | None = None):
        """``root``: the project root; None follows calls within the checked module only."""
        self.root = Path(os.path.abspath(root)) if root is not None else None
        self.settings = settings
        self.cwd = Path(os.path.abspath(cwd or Path.cwd()))
        self._modules: dict[str, ModuleFacts | None] = {}
        self._digests: dict[str, str] = {}
        self._checked: ModuleFacts | None = None
        #: Dependencies of the file being checked: module path -> digest.
        self.used: dict[str, str] = {}
        self.modules_read = 0

    # --- the module being checked ------------------------------------------------------------

    def begin(self, facts: ModuleFacts | None) -> None:
        """Start checking a module (its facts come from its own analysis)."""
        self._checked = facts
        self.used = {}

    def set_checked(self, facts: ModuleFacts) -> None:
        """The facts of the module being checked, once its analysis has built them."""
        self._checked = facts

    def end(self) -> dict[str, str]:
        """Stop checking the module; what its result depended on (its own file excluded)."""
        used = self.used
        checked = self._checked
        if checked is not None:
            used.pop(checked.path, None)
        self._checked = None
        self.used = {}
        return used

    # --- modules ---------------------------------------------------------------------------

    def _under_root(self, path: str) -> bool:
        root = self.root
        if root is None:
            return False
        return path.startswith(str(root) + os.sep)

    def module(self, path: str) -> ModuleFacts | None:
        """The facts of the module at ``path`` (an absolute, normalised path), read on first
        use; None when it cannot be read or parsed (it then has no summaries)."""
        if path in self._modules:
            return self._modules[path]
        facts = self._load(path)
        self._modules[path] = facts
        return facts

    def _display(self, path: str) -> str:
        from extraction_lint.discovery import display_path

        return display_path(Path(path), self.cwd)

    def _load(self, path: str) -> ModuleFacts | None:
        # The engine's parsing steps, the same guards included (syntax checked by the
        # interpreter first, analysis under the higher recursion limit).
        from extraction_lint.analysis.effects import module_facts
        from extraction_lint.analysis.module import ModuleAnalysis
        from extraction_lint.engine import (
            ANALYSIS_RECURSION_LIMIT,
            SourceError,
            decode,
            parse_checked,
            syntax_check,
        )
        from extraction_lint.engine import _positions as all_positions
        from extraction_lint.engine import _recursion_limit as recursion_limit

        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            self._digests[path] = ABSENT
            return None
        digest = digest_of(data)
        self._digests[path] = digest
        self.modules_read += 1
        display = self._display(path)
        try:
            text = decode(data)
            syntax_check(text, display)
            module = parse_checked(text)
            with recursion_limit(ANALYSIS_RECURSION_LIMIT):
                analysis = ModuleAnalysis(module, self.settings)
                positions = all_positions(module)

                def locate(node: object) -> tuple[int, int]:
                    where = positions.get(node)  # type: ignore[call-overload]
                    if where is None:
                        return (1, 1)
                    return (where.start.line, where.start.column + 1)

                return module_facts(analysis, path, display, digest, locate)
        except (SourceError, RecursionError):
            return None
        except Exception:  # a module that cannot be summarised has no summaries
            return None

    def _module_file(self, base: Path, parts: list[str]) -> ModuleFacts | None:
        """The module ``parts`` under ``base`` (``a/b.py`` or ``a/b/__init__.py``)."""
        candidates = []
        if parts:
            candidates.append(base.joinpath(*parts[:-1], parts[-1] + ".py"))
        candidates.append(base.joinpath(*parts, "__init__.py"))
        for candidate in candidates:
            path = os.path.normpath(candidate)
            if not self._under_root(path):
                continue
            if os.path.isfile(path):
                facts = self.module(path)
                self._note(path)
                return facts
        return None

    def _note(self, path: str) -> None:
        digest = self._digests.get(path)
        if digest is not None:
            self.used[path] = digest

    def _search_roots(self, importing: str) -> Iterator[Path]:
        root = self.root
        if root is None:
            return
        seen: set[Path] = set()
        for candidate in (root, root / "src", _package_top(Path(importing))):
            if candidate not in seen and candidate.is_dir():
                seen.add(candidate)
                yield candidate

    # --- resolution ------------------------------------------------------------------------

    def _symbol(
        self, module: ModuleFacts, attrs: list[str], depth: int
    ) -> tuple[ModuleFacts, str, str] | None:
        """``attrs`` looked up in ``module``: (module, "function" | "class" | "method",
        qualified name), through re-exports."""
        if not attrs:
            return None
        head, rest = attrs[0], attrs[1:]
        defined = module.top_level.get(head)
        if defined is not None and head not in module.imports:
            kind, qualname = defined
            if not rest:
                return module, kind, qualname
            if kind == "class" and len(rest) == 1:
                return module, "method", f"{qualname}.{rest[0]}"
            return None
        imported = module.imports.get(head)
        if imported is not None and depth < MAX_REEXPORTS:
            dotted = ".".join([imported, *rest]) if not imported.endswith(".") else imported
            return self._dotted(dotted, module, depth + 1)
        return None

    def _dotted(
        self, dotted: str, module: ModuleFacts, depth: int = 0
    ) -> tuple[ModuleFacts, str, str] | None:
        """A dotted name as written in ``module`` (after its imports), resolved."""
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            base = Path(module.path).parent
            for _ in range(level - 1):
                base = base.parent
            parts = [p for p in dotted[level:].split(".") if p]
            for k in range(len(parts), -1, -1):
                target = self._module_file(base, parts[:k])
                if target is not None:
                    found = self._symbol(target, parts[k:], depth)
                    if found is not None:
                        return found
            return None
        parts = dotted.split(".")
        if parts[0] in module.top_level and parts[0] not in module.imports:
            return self._symbol(module, parts, depth)
        for root in self._search_roots(module.path):
            for k in range(len(parts), 0, -1):
                target = self._module_file(root, parts[:k])
                if target is not None:
                    found = self._symbol(target, parts[k:], depth)
                    if found is not None:
                        return found
                    break
        return None

    def _function(self, module: ModuleFacts, qualname: str) -> FunctionFacts | None:
        function = module.function(qualname)
        if function is not None and function.module is None:
            function.module = module
        return function

    def _method(
        self, module: ModuleFacts, cls: ClassFacts, name: str, skip_own: bool, seen: set[int]
    ) -> FunctionFacts | None:
        """``name`` looked up in ``cls`` (unless ``skip_own``) and its project bases, left
        to right, depth first."""
        if id(cls) in seen:
            return None
        seen.add(id(cls))
        if not skip_own and name in cls.methods:
            return self._function(module, cls.methods[name])
        for base in cls.bases:
            found = self._symbol(module, base.split("."), 0)
            if found is None or found[1] != "class":
                continue
            base_module, _, qualname = found
            base_cls = base_module.classes.get(qualname)
            if base_cls is not None:
                method = self._method(base_module, base_cls, name, False, seen)
                if method is not None:
                    return method
        return None

    def resolve(self, target: Target, module: ModuleFacts) -> FunctionFacts | None:
        """The function a call in ``module`` names, if it is defined in the project."""
        if target.kind == "local":
            return self._function(module, target.name)
        if target.kind in {"method", "super"}:
            cls = module.classes.get(target.owner)
            if cls is None:
                return None
            return self._method(module, cls, target.name, target.kind == "super", set())
        found = self._dotted(target.name, module)
        if found is None:
            return None
        found_module, kind, qualname = found
        if kind == "function":
            return self._function(found_module, qualname)
        if kind == "method":
            owner, _, name = qualname.rpartition(".")
            cls = found_module.classes.get(owner)
            if cls is None:
                return None
            return self._method(found_module, cls, name, False, set())
        return None

    # --- summaries -------------------------------------------------------------------------

    def summary(self, function: FunctionFacts) -> Summary:
        """The summary of ``function``, computed to a fixed point with everything it calls."""
        if function.final and function.summary is not None:
            self._use(function)
            return function.summary
        closure: list[FunctionFacts] = []
        calls: list[tuple[FunctionFacts, Edge, FunctionFacts]] = []
        stack = [function]
        seen = {id(function)}
        while stack:
            current = stack.pop()
            closure.append(current)
            current.summary = current.local.copy()
            module = current.module
            if module is not None:
                current.depends = {module.path: module.digest}
            for edge in current.edges:
                if module is None:
                    break
                before = dict(self.used)
                callee = self.resolve(edge.target, module)
                # What resolution read is a dependency of the caller's summary too.
                for path, digest in self.used.items():
                    if path not in before:
                        current.depends[path] = digest
                if callee is None:
                    continue
                calls.append((current, edge, callee))
                if not callee.final and id(callee) not in seen:
                    seen.add(id(callee))
                    stack.append(callee)
        changed = True
        while changed:
            changed = False
            for caller, edge, callee in calls:
                if _apply(caller, edge, callee):
                    changed = True
                known = len(caller.depends)
                caller.depends.update(callee.depends)
                if len(caller.depends) != known:
                    changed = True
        for current in closure:
            current.final = True
        self._use(function)
        assert function.summary is not None
        return function.summary

    def _use(self, function: FunctionFacts) -> None:
        self.used.update(function.depends)


def _argument(callee: FunctionFacts, edge: Edge, name: str) -> ArgFacts | None:
    """What ``edge`` passes for the input ``name`` of ``callee``: the argument for a
    parameter; for a closure's name (a nested function called where it is defined) the
    caller's own name."""
    if name in callee.positional or name in callee.keyword_only:
        return callee.argument(edge, name)
    if edge.target.kind == "local" and "." in callee.qualname:
        return ArgFacts(key=name, carried=frozenset({name}))
    return None


def _apply(caller: FunctionFacts, edge: Edge, callee: FunctionFacts) -> bool:
    """Add to the caller's summary what calling ``callee`` through ``edge`` does; whether
    anything was added."""
    mine = caller.summary
    theirs = callee.summary
    assert mine is not None and theirs is not None
    before = mine.shape()
    link = edge.link
    if theirs.loads is not None and mine.loads is None:
        mine.loads = (link, *theirs.loads)
    if theirs.writes is not None and mine.writes is None:
        mine.writes = (link, *theirs.writes)
    for name, (chain, conditional) in theirs.writes_inputs.items():
        arg = _argument(callee, edge, name)
        if arg is None:
            continue
        for carried in arg.carried:
            if carried not in mine.writes_inputs or (
                mine.writes_inputs[carried][1] and not conditional
            ):
                mine.writes_inputs[carried] = ((link, *chain), conditional)
    for name, chain in theirs.grows_inputs.items():
        arg = _argument(callee, edge, name)
        if arg is not None and arg.key is not None and arg.key not in mine.grows_inputs:
            mine.grows_inputs[arg.key] = (link, *chain)
    for name in theirs.flushes_inputs:
        arg = _argument(callee, edge, name)
        if arg is not None and arg.key is not None:
            mine.flushes_inputs.add(arg.key)
    if edge.returned or edge.to_sink:
        passed: set[str] = set()
        for name in theirs.returns_inputs:
            arg = _argument(callee, edge, name)
            if arg is not None:
                passed |= arg.carried
        if edge.returned:
            mine.returns_inputs |= passed
        if edge.to_sink:
            for carried in passed:
                if carried not in mine.writes_inputs:
                    mine.writes_inputs[carried] = ((link,), edge.to_sink_conditional)
    if edge.returned:
        if theirs.returns_materialization is not None and mine.returns_materialization is None:
            mine.returns_materialization = (link, *theirs.returns_materialization)
        if theirs.returns_accumulation is not None and mine.returns_accumulation is None:
            key, loop, chain = theirs.returns_accumulation
            mine.returns_accumulation = (key, loop, (link, *chain))
    if theirs.heartbeat is not None and mine.heartbeat is None and not edge.in_except:
        mine.heartbeat = (link, *theirs.heartbeat)
    if theirs.memory is not None and mine.memory is None:
        mine.memory = (link, *theirs.memory)
    if theirs.stall is not None and mine.stall is None:
        mine.stall = (link, *theirs.stall)
    return mine.shape() != before


# --- what the prefilter asks: does a file call a project function that loads or writes? ---


def _import_bindings(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name for every import of the module (as
    :class:`~extraction_lint.analysis.names.ImportMap` records them)."""
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None:
                    imports[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    imports.setdefault(top, top)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                target = (
                    f"{module}.{alias.name}"
                    if module and not module.endswith(".")
                    else module + alias.name
                )
                imports[alias.asname or alias.name] = target
    return imports


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def outline(tree: ast.Module, path: str, display: str) -> tuple[ModuleFacts, list[Target]]:
    """A module's names, classes and imports from the interpreter's tree, with the targets
    of its calls of other modules' functions and of ``self.``/``cls.`` methods (its own
    functions are not summarised here)."""
    imports = _import_bindings(tree)
    top_level: dict[str, tuple[str, str]] = {}
    classes: dict[str, ClassFacts] = {}
    targets: list[Target] = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            top_level[statement.name] = ("function", statement.name)
        elif isinstance(statement, ast.ClassDef):
            top_level[statement.name] = ("class", statement.name)
            methods = {
                item.name: f"{statement.name}.{item.name}"
                for item in statement.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            bases = tuple(b for base in statement.bases if (b := _dotted(base)) is not None)
            classes[statement.name] = ClassFacts(statement.name, methods, bases)
            for item in statement.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.args.args:
                    receiver = item.args.args[0].arg
                    for node in ast.walk(item):
                        if (
                            isinstance(node, ast.Call)
                            and isinstance(node.func, ast.Attribute)
                            and isinstance(node.func.value, ast.Name)
                            and node.func.value.id == receiver
                        ):
                            targets.append(Target("method", node.func.attr, statement.name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        imported = imports.get(head)
        if imported is None:
            continue
        targets.append(Target("dotted", f"{imported}.{rest}" if rest else imported))
    facts = ModuleFacts(path, display, "", {}, classes, top_level, imports)
    return facts, targets


def calls_project_loader_or_writer(project: Project, tree: ast.Module, path: str) -> bool:
    """Whether the module calls a function of another project module (or a method of a
    project base class) that loads or writes: such a call is a trigger (SPEC 2.6)."""
    if project.root is None or not path:
        return False
    facts, targets = outline(tree, path, "")
    seen: set[Target] = set()
    for target in targets:
        if target in seen:
            continue
        seen.add(target)
        function = project.resolve(target, facts)
        if function is None or function.path == path:
            continue
        summary = project.summary(function)
        if summary.loads is not None or summary.writes is not None or summary.writes_inputs:
            return True
    return False
