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
import bisect
import functools
import hashlib
import os
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from extraction_lint.analysis.outline import (
    GROWS,
    GUARDS,
    IN_HEADER,
    IN_LOOP,
    LOADS_OR_WRITES,
    MATERIALIZES,
    NOT_IN_LOOP,
    WRITES,
    ModuleOutline,
    class_definitions,
    class_table,
    guard_names,
    import_bindings,
    import_candidates,
    read_outline,
    star_imports,
    top_level_imports,
)
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import (
    ClassFacts,
    Edge,
    FunctionFacts,
    ModuleFacts,
    Summary,
    Target,
)

if TYPE_CHECKING:
    # libcst: imported only when a module is parsed with it.
    from extraction_lint.analysis.model import OutsideFacts

#: The dependency of a result on the list of the run's files (not a path: the runner
#: checks it against the run's own list).
RUN_FILES = "<files of the run>"
#: The dependency of a result on which files of the run name a word (``NAMING + name``):
#: recorded with the stamp of the run that wrote the result (the runner checks that no file
#: changed since names it, SPEC 2.6 "Cache").
NAMING = "<files naming>:"
#: The most files of the run that may name a function for its callers to be read (SPEC
#: 2.5, "called only from inside extraction loops"); a name more files use (``run``,
#: ``get`` in a large code base) leaves the function's loops to be checked on their own.
CALLER_FILES = 64
#: How many re-exports (``from .io import save`` or ``from .io import *`` in
#: ``__init__.py``) a name is followed through before giving up.
MAX_REEXPORTS = 16
#: The digest recorded for a module that does not exist (its appearance changes results).
ABSENT = "-"
#: The digest recorded for a directory that does not exist, where an import looked for a
#: module (the directory's appearance changes results).
MISSING_DIRECTORY = "-/"

T = TypeVar("T")
#: A name resolved: (module, "function" | "class" | "method", qualified name).
Symbol = tuple[ModuleFacts, str, str]


#: The files of the run each process checks files for: (run id, absolute paths).
_RUN_FILES: list[tuple[str, tuple[str, ...]]] = []


def set_run_files(run_id: str, paths: Sequence[str]) -> None:
    """Record the files of the run ``run_id`` in this process (one run at a time)."""
    _RUN_FILES[:] = [(run_id, tuple(paths))]


def run_files_of(run_id: str) -> tuple[str, ...]:
    """The files of the run ``run_id``, as :func:`set_run_files` recorded them."""
    for known, paths in _RUN_FILES:
        if known == run_id:
            return paths
    return ()


@functools.lru_cache(maxsize=4096)
def _word(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<!\w)%s(?!\w)" % re.escape(name.encode()))


def names_word(data: bytes, name: str) -> bool:
    """Whether the text ``data`` holds ``name`` as a word (where a call or an import of a
    function named so can be)."""
    return name.encode() in data and _word(name).search(data) is not None


def notebook_text(data: bytes) -> str:
    """The module a notebook's code cells make (as it is checked: notebook.py); raises
    :class:`~extraction_lint.source.SourceError` when it is not a Python notebook."""
    from extraction_lint.notebook import NotebookError, code_cells, is_python, load, module_of
    from extraction_lint.source import SourceError

    try:
        notebook = load(data)
        if not is_python(notebook):
            raise SourceError("not a Python notebook")
        return module_of(code_cells(notebook)).text
    except NotebookError as error:
        raise SourceError(str(error)) from None


def searchable(path: str, data: bytes) -> bytes:
    """What a caller search reads for names in the file ``path`` of bytes ``data``: a
    notebook's code cells (its JSON escapes them: ``"\\nsave(rows)"``), else the bytes."""
    if not path.endswith(".ipynb"):
        return data
    from extraction_lint.source import SourceError

    try:
        return notebook_text(data).encode("utf-8", "surrogatepass")
    except SourceError:
        return b""


def digest_of(data: bytes) -> str:
    """The digest of a module's bytes, as recorded in dependencies."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def file_digest(path: str) -> str:
    """The digest of the file at ``path`` (:func:`digest_of`), :data:`ABSENT` when it cannot
    be read."""
    try:
        with open(path, "rb") as handle:
            return digest_of(handle.read())
    except OSError:
        return ABSENT


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


@functools.lru_cache(maxsize=4096)
def _directory_top(directory: Path) -> Path:
    top = directory
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return top


def _package_top(path: Path) -> Path:
    """The directory above the outermost package that holds ``path`` (its own directory
    when that is not a package: a script next to its helpers, Airflow's ``dags/``)."""
    return _directory_top(path.parent)


class Project:
    """The modules and summaries of one project, for one run, in one process."""

    def __init__(
        self,
        root: Path | None,
        settings: AnalysisSettings,
        cwd: Path | None = None,
        run_files: Sequence[str] = (),
    ):
        """``root``: the project root; None follows calls within the checked module only.
        ``run_files``: the absolute paths of the files of the run (where the callers of a
        function are looked for, SPEC 2.5)."""
        self.root = Path(os.path.abspath(root)) if root is not None else None
        self.run_files = tuple(run_files)
        #: Name -> the run's files that name it as a word (at most one past the limit),
        #: and whether more than :data:`CALLER_FILES` do.
        self._holding: dict[str, tuple[list[str], bool]] = {}
        self._run_files_digest: str | None = None
        #: Function -> the calls of it in the run (calling function, where the call
        #: sits) and the modules read to find them.
        self._sites: dict[
            tuple[str, str], tuple[list[tuple[tuple[str, str], int]] | None, dict[str, str]]
        ] = {}
        self.settings = settings
        self.cwd = Path(os.path.abspath(cwd or Path.cwd()))
        self._modules: dict[str, ModuleFacts | None] = {}
        self._outlines: dict[str, ModuleOutline | None] = {}
        #: The hash of the text each outline read from a file was made of.
        self._outlined_text: dict[str, int] = {}
        #: Whether each directory a module was looked for in exists.
        self._directories: dict[str, bool] = {}
        self._flags: dict[tuple[str, str], frozenset[str]] = {}
        #: Whether each candidate module path is a file (asked once per run).
        self._files: dict[str, bool] = {}
        # Resolutions shared by the modules of a package top (or, for names a star import
        # may bring, by one module), each with the modules it read: a file whose result
        # uses one depends on all of them.
        self._resolved: dict[tuple[str, str], tuple[tuple[str, str] | None, dict[str, str]]] = {}
        self._absolute: dict[tuple[str, str], tuple[Symbol | None, dict[str, str]]] = {}
        self._starred: dict[tuple[str, str], tuple[Symbol | None, dict[str, str]]] = {}
        self._guard_names: frozenset[str] | None = None
        #: Module path -> its constants another module's loop may iterate (kind of display).
        self._constants: dict[str, dict[str, str]] = {}
        self.outlines_read = 0
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

    def module(self, path: str, qualname: str | None = None) -> ModuleFacts | None:
        """The facts of the module at ``path`` (an absolute, normalised path), read on first
        use; None when it cannot be read or parsed (it then has no summaries).

        ``qualname``: the function first asked for. libcst then reads only it and the
        functions of the module it may call (by the outline); each function asked for
        later that was not read is read, with those it may call, when it is asked for
        (the facts' factory), so a large module of which one function is called is not
        parsed whole."""
        if path in self._modules:
            return self._modules[path]
        only = self.reached_in_module(path, (qualname,)) if qualname is not None else None
        facts = self._load(path, only)
        if facts is not None and only is not None:
            facts.factory = self._part_reader(facts, set(only))
        self._modules[path] = facts
        return facts

    def _part_reader(self, facts: ModuleFacts, read: set[str]) -> _PartReader:
        return _PartReader(self, facts, read)

    def _display(self, path: str) -> str:
        from extraction_lint.discovery import display_path

        return display_path(Path(path), self.cwd)

    def _load(
        self, path: str, only: frozenset[str] | None = None, digest: str | None = None
    ) -> ModuleFacts | None:
        """The facts of the module at ``path``, read with libcst: of the functions ``only``
        (qualified names; default, every one whose summary can say anything), the others
        left out. ``digest``: the digest of the module's bytes read before (a part of a
        module read in part); None when the file no longer has them."""
        # The engine's parsing steps, the same guards included (syntax checked by the
        # interpreter first, analysis under the higher recursion limit).
        from extraction_lint.analysis.effects import module_facts, qualified_name
        from extraction_lint.analysis.module import ModuleAnalysis, _is_stub
        from extraction_lint.positions import NodeLocator, Relocator, statement_lines
        from extraction_lint.source import (
            ANALYSIS_RECURSION_LIMIT,
            SourceError,
            decode,
            parse_checked,
            recursion_limit,
            syntax_check,
        )

        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            self._digests[path] = ABSENT
            return None
        if digest is not None:
            if digest_of(data) != digest:
                return None  # changed since the first part was read: that one stands
        else:
            digest = digest_of(data)
            self._digests[path] = digest
        self.modules_read += 1
        display = self._display(path)
        try:
            text = decode(data)
            tree = syntax_check(text, display)
            with recursion_limit(ANALYSIS_RECURSION_LIMIT):
                source, outside, names = self.summary_source(text, tree, path, display, only)
                lines = statement_lines(tree)
                del tree
                try:
                    module = parse_checked(source)
                except SourceError:
                    # A legal mix of tabs and spaces libcst rejects: the same module with
                    # its indentation expanded (fallback.py), read whole.
                    from extraction_lint.fallback import expand_indentation

                    expansion = expand_indentation(text)
                    if expansion is None:
                        raise
                    source, outside, names = expansion.text, None, None
                    module = parse_checked(source)
                analysis = ModuleAnalysis(module, self.settings, outside)
                # Links are placed when a finding shows them (the relocator); a node it
                # does not number, now, from the top-level statement that holds it.
                relocator = Relocator(source, analysis)
                facts = module_facts(
                    analysis,
                    path,
                    display,
                    digest,
                    NodeLocator(analysis, lines),
                    relocator=relocator,
                )
                relocator.done()
                if only is not None:
                    # A function left out reads as ``def name(): pass``: it is read when
                    # asked for (the factory), not taken for that stub.
                    for scope in analysis.scopes:
                        if scope.kind == "function" and _is_stub(scope):
                            facts.functions.pop(qualified_name(scope), None)
                analysis.release()  # the facts are read: the tree goes now, not at a collection
        except (SourceError, RecursionError):
            return None
        except Exception:  # a module that cannot be summarised has no summaries
            return None
        if names is not None:
            # Definitions were left out: classes and names as the whole module has them.
            facts.classes = dict(names.classes)
            facts.top_level = dict(names.top_level)
        return facts

    def summary_source(
        self,
        text: str,
        tree: ast.Module,
        path: str,
        display: str,
        only: frozenset[str] | None = None,
    ) -> tuple[str, OutsideFacts | None, ModuleFacts | None]:
        """What libcst needs to parse of a module for its summaries: ``text`` with the
        definitions whose summaries can say nothing left out (sparse.py), the facts of what
        was left out, and the module's names from its outline (None, None when nothing was
        left out). Every line and column of the code kept stays where it was. ``only``:
        the functions (qualified names) whose summaries are wanted; default, every one."""
        from extraction_lint.prefilter import Relevance, import_statements
        from extraction_lint.sparse import sparse_source

        outline = self._outlines.get(path)
        if outline is None:
            outline = self._outlines[path] = self.outline_of(tree, text, path, display)
        relevance = Relevance(
            self.summary_lines(outline, only), frozenset(), tuple(import_statements(tree))
        )
        sparse = sparse_source(text, tree, relevance)
        if sparse is None:
            return text, None, None
        return sparse.text, sparse.outside, outline.names

    def _module_file(
        self, base: Path, parts: list[str], absent: list[str] | None = None
    ) -> ModuleFacts | None:
        """The names of the module ``parts`` under ``base`` (``a/b.py`` or
        ``a/b/__init__.py``), from its outline. ``absent`` gathers the places looked at
        where no file is (see :meth:`_note_absent`)."""
        directory = os.path.join(str(base), *parts[:-1]) if parts else str(base)
        candidates = []
        if parts:
            candidates.append(os.path.join(directory, parts[-1] + ".py"))
            candidates.append(os.path.join(directory, parts[-1], "__init__.py"))
        else:
            candidates.append(os.path.join(directory, "__init__.py"))
        for candidate in candidates:
            path = os.path.normpath(candidate)
            if not self._under_root(path):
                continue
            exists = self._files.get(path)
            if exists is None:
                exists = self._files[path] = os.path.isfile(path)
            if exists:
                outline = self.outline(path)
                self._note(path)
                return outline.names if outline is not None else None
            if absent is not None:
                absent.append(path)
        return None

    def _note_absent(self, absent: list[str]) -> None:
        """An import that found no module depends on the places it looked: a module made
        there later is the one imported. A place in a directory that does not exist is
        recorded as that directory missing (the highest one missing, below the root)."""
        for path in absent:
            directory = os.path.dirname(path)
            missing = None
            while self._under_root(directory) and not self._is_directory(directory):
                missing, directory = directory, os.path.dirname(directory)
            if missing is None:
                self._digests[path] = ABSENT
                self._note(path)
            else:
                self.used[missing] = MISSING_DIRECTORY

    def _is_directory(self, path: str) -> bool:
        known = self._directories.get(path)
        if known is None:
            known = self._directories[path] = os.path.isdir(path)
        return known

    def outline(self, path: str) -> ModuleOutline | None:
        """The outline of the module at ``path`` (read on first use), None if unreadable."""
        if path in self._outlines:
            return self._outlines[path]
        outline = self._read_outline(path)
        self._outlines[path] = outline
        return outline

    def _read_outline(self, path: str) -> ModuleOutline | None:
        from extraction_lint.source import SourceError, decode, syntax_check

        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            self._digests[path] = ABSENT
            return None
        self._digests[path] = digest_of(data)
        self.outlines_read += 1
        display = self._display(path)
        try:
            text = decode(data) if not path.endswith(".ipynb") else notebook_text(data)
            tree = syntax_check(text, display)
        except SourceError:
            return None
        self._outlined_text[path] = hash(text)
        return self.outline_of(tree, text, path, display)

    def outline_of_text(self, path: str, text: str, display: str) -> ModuleOutline | None:
        """The outline of the module at ``path`` whose text is at hand (the module being
        checked, which may not be on disk as such: a notebook, standard input), computed
        once from that text; None when the interpreter cannot parse it."""
        if path in self._outlines and self._outlined_text.get(path) == hash(text):
            return self._outlines[path]
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            outline = None
        else:
            outline = self.outline_of(tree, text, path, display)
        self._outlines[path] = outline
        self._outlined_text[path] = hash(text)
        return outline

    def outline_of(self, tree: ast.Module, text: str, path: str, display: str) -> ModuleOutline:
        """The outline of a module whose tree is at hand."""
        if self._guard_names is None:
            self._guard_names = guard_names(self.settings.catalog)
        return read_outline(
            tree,
            path,
            display,
            self.settings.catalog,
            self._guard_names,
            self.settings.bounded_range_limit,
        )

    def _note(self, path: str) -> None:
        digest = self._digests.get(path)
        if digest is None:
            # Outlined from a text at hand (a file of the run checked earlier in this
            # process): its bytes are read for the digest once.
            digest = self._digests[path] = file_digest(path)
        self.used[path] = digest

    def _reading(self, resolve: Callable[[], T]) -> tuple[T, dict[str, str]]:
        """What ``resolve()`` returns, and the modules it read (noted as used, as well): a
        resolution kept for reuse notes them again at each use."""
        outer = self.used
        self.used = {}
        try:
            found = resolve()
        finally:
            read, self.used = self.used, outer
            outer.update(read)
        return found, read

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

    def _symbol(self, module: ModuleFacts, attrs: list[str], depth: int) -> Symbol | None:
        """``attrs`` looked up in ``module``: (module, "function" | "class" | "method",
        qualified name), through re-exports and star imports."""
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
        if imported is not None:
            if depth >= MAX_REEXPORTS:
                return None
            dotted = ".".join([imported, *rest]) if not imported.endswith(".") else imported
            return self._dotted(dotted, module, depth + 1)
        if module.stars and depth < MAX_REEXPORTS:
            return self._star_symbol(module, attrs, depth + 1)
        return None

    def _star_symbol(self, module: ModuleFacts, attrs: list[str], depth: int) -> Symbol | None:
        """``attrs`` looked up in what ``module``'s star imports bring, the last one first
        (it binds last): a name the imported module exports (its literal ``__all__``, else
        every name not starting with ``_``), found there as :meth:`_symbol` finds it. Looked
        up lazily, once per module and name."""
        key = (module.path, ".".join(attrs))
        known = self._starred.get(key)
        if known is not None:
            self.used.update(known[1])
            return known[0]
        self._starred[key] = (None, {})  # star imports that lead back here bring nothing

        def lookup() -> Symbol | None:
            head = attrs[0]
            for star in reversed(module.stars):
                target = self._star_module(star, module)
                if target is None:
                    continue
                exports = target.exports
                exported = head in exports if exports is not None else not head.startswith("_")
                if not exported:
                    continue
                found = self._symbol(target, attrs, depth)
                if found is not None:
                    return found
            return None

        known = self._starred[key] = self._reading(lookup)
        return known[0]

    def _star_module(self, star: str, module: ModuleFacts) -> ModuleFacts | None:
        """The names of the module ``from star import *`` in ``module`` imports."""
        level = len(star) - len(star.lstrip("."))
        parts = [p for p in star[level:].split(".") if p]
        if level:
            base = Path(module.path).parent
            for _ in range(level - 1):
                base = base.parent
            absent: list[str] = []
            found = self._module_file(base, parts, absent)
            if found is None:
                self._note_absent(absent)
            return found
        absent = []
        for root in self._search_roots(module.path):
            found = self._module_file(root, parts, absent)
            if found is not None:
                return found
        self._note_absent(absent)
        return None

    def _dotted(self, dotted: str, module: ModuleFacts, depth: int = 0) -> Symbol | None:
        """A dotted name as written in ``module`` (after its imports), resolved."""
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            base = Path(module.path).parent
            for _ in range(level - 1):
                base = base.parent
            parts = [p for p in dotted[level:].split(".") if p]
            absent: list[str] = []
            for k in range(len(parts), -1, -1):
                target = self._module_file(base, parts[:k], absent)
                if target is not None:
                    found = self._symbol(target, parts[k:], depth)
                    if found is not None:
                        return found
            self._note_absent(absent)
            return None
        parts = dotted.split(".")
        if parts[0] in module.top_level and parts[0] not in module.imports:
            return self._symbol(module, parts, depth)
        # An absolute name resolves the same from every module of a package top.
        key = (dotted, str(_package_top(Path(module.path))))
        known = self._absolute.get(key)
        if known is not None:
            self.used.update(known[1])
            return known[0]
        self._absolute[key] = (None, {})  # a name that leads back to itself resolves to nothing
        known = self._absolute[key] = self._reading(
            lambda: self._absolute_dotted(parts, module, depth)
        )
        return known[0]

    def _absolute_dotted(self, parts: list[str], module: ModuleFacts, depth: int) -> Symbol | None:
        absent: list[str] = []
        for root in self._search_roots(module.path):
            for k in range(len(parts), 0, -1):
                target = self._module_file(root, parts[:k], absent)
                if target is not None:
                    found = self._symbol(target, parts[k:], depth)
                    if found is not None:
                        return found
                    break
        self._note_absent(absent)
        return None

    # --- constants of other modules (SPEC 2.1 "Bounded loop") ----------------------------

    def imported_constant(self, qualified: str, module: ModuleFacts, depth: int = 0) -> str | None:
        """The kind of display (``"dict"``, or ``"display"`` for a tuple, list or set) that
        ``qualified``, imported by ``module`` (``pkg.consts.NAMES``, ``.consts.NAMES``), is
        a constant of in the project module that defines it: bound there once, at module
        level, to a display with every element written out, and never changed in place
        there; through re-exports. None for anything else."""
        level = len(qualified) - len(qualified.lstrip("."))
        parts = [p for p in qualified[level:].split(".") if p]
        if not parts or depth > MAX_REEXPORTS:
            return None
        where, attr = parts[:-1], parts[-1]
        if level:
            base = Path(module.path).parent
            for _ in range(level - 1):
                base = base.parent
            bases = [base]
        else:
            bases = list(self._search_roots(module.path))
        absent: list[str] = []
        for base in bases:
            found = self._module_file(base, where, absent)
            if found is not None:
                break
        else:
            self._note_absent(absent)
            return None
        if attr in found.top_level:
            return None  # a function or a class
        reexported = found.imports.get(attr)
        if reexported is not None:
            return self.imported_constant(reexported, found, depth + 1)
        constants = self._constants.get(found.path)
        if constants is None:
            constants = self._constants[found.path] = self._read_constants(found.path)
        return constants.get(attr)

    def _read_constants(self, path: str) -> dict[str, str]:
        from extraction_lint.source import SourceError, decode

        try:
            with open(path, "rb") as handle:
                tree = ast.parse(decode(handle.read()))
        except (OSError, SourceError, SyntaxError, ValueError, MemoryError, RecursionError):
            return {}
        return exported_constants(tree)

    def _method(
        self, module: ModuleFacts, cls: ClassFacts, name: str, skip_own: bool, seen: set[int]
    ) -> tuple[str, str] | None:
        """``name`` looked up in ``cls`` (unless ``skip_own``) and its project bases, left
        to right, depth first: (module path, qualified name)."""
        if id(cls) in seen:
            return None
        seen.add(id(cls))
        if not skip_own and name in cls.methods:
            return module.path, cls.methods[name]
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

    def resolve_ref(self, target: Target, module: ModuleFacts) -> tuple[str, str] | None:
        """Where the function a call in ``module`` names is defined: (path, qualified name),
        if in the project. Only outlines are read."""
        if target.kind == "dotted" and not target.name.startswith("."):
            head = target.name.split(".", 1)[0]
            if head not in module.top_level or head in module.imports:
                # An absolute name resolves the same from every module of a package top.
                key = (target.name, str(_package_top(Path(module.path))))
                known = self._resolved.get(key)
                if known is None:
                    known = self._resolved[key] = self._reading(
                        lambda: self._resolve_ref(target, module)
                    )
                else:
                    self.used.update(known[1])
                return known[0]
        return self._resolve_ref(target, module)

    def _resolve_ref(self, target: Target, module: ModuleFacts) -> tuple[str, str] | None:
        if target.kind == "local":
            return module.path, target.name
        if target.kind in {"method", "super"}:
            cls = module.classes.get(target.owner)
            if cls is None:
                return None
            return self._method(module, cls, target.name, target.kind == "super", set())
        if target.kind == "star":
            found = self._symbol(module, target.name.split("."), 0)
        else:
            found = self._dotted(target.name, module)
        if found is None:
            return None
        found_module, kind, qualname = found
        if kind == "function":
            return found_module.path, qualname
        if kind == "method":
            owner, _, name = qualname.rpartition(".")
            cls = found_module.classes.get(owner)
            if cls is None:
                return None
            return self._method(found_module, cls, name, False, set())
        return None

    def resolve(self, target: Target, module: ModuleFacts) -> FunctionFacts | None:
        """The function a call in ``module`` names, with its facts, if it is defined in the
        project (its module is read with libcst)."""
        ref = self.resolve_ref(target, module)
        if ref is None:
            return None
        return self.function(ref, module)

    def function(self, ref: tuple[str, str], module: ModuleFacts) -> FunctionFacts | None:
        """The facts of the function ``ref``, as seen from ``module`` (the module being
        checked sees its own functions from its own analysis)."""
        path, qualname = ref
        if module is self._checked and path == module.path:
            facts: ModuleFacts | None = module
        else:
            facts = self.module(path, qualname)
        if facts is None:
            return None
        function = facts.function(qualname)
        if function is not None and function.module is None:
            function.module = facts
        return function

    def flags(self, ref: tuple[str, str]) -> frozenset[str]:
        """What the function ``ref`` or anything it calls may do, by the outlines: a
        superset of what its summary can say (see :mod:`extraction_lint.analysis.outline`)."""
        known = self._flags.get(ref)
        if known is not None:
            return known
        # Everything reachable, then one union: recursion is allowed.
        reached: list[tuple[str, str]] = []
        stack = [ref]
        seen = {ref}
        flags: set[str] = set()
        while stack:
            current = stack.pop()
            reached.append(current)
            done = self._flags.get(current)
            if done is not None:
                flags |= done
                continue
            outline = self.outline(current[0])
            if outline is None:
                continue
            function = outline.functions.get(current[1])
            if function is None:
                continue
            flags |= function.flags
            for target in function.targets:
                callee = self.resolve_ref(target, outline.names)
                if callee is not None and callee not in seen:
                    seen.add(callee)
                    stack.append(callee)
        result = frozenset(flags)
        self._flags[ref] = result
        return result

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
                ref = self.resolve_ref(edge.target, module)
                callee = None
                if ref is not None and (ref[0] == module.path or self._can_add(ref, edge)):
                    # A function that can add nothing to the caller's summary is not read.
                    callee = self.function(ref, module)
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
        # What every call does settles first; then which collections the functions return
        # accumulated is decided (their growths and flushes through calls are known), and
        # passed on to the callers that return what they return.
        _settle(calls, accumulations=False)
        callees = {id(edge): callee for _, edge, callee in calls}
        for current in closure:
            if current.accumulators:
                _accumulate(current, callees)
        _settle(calls, accumulations=True)
        for current in closure:
            current.final = True
        self._use(function)
        assert function.summary is not None
        return function.summary

    def _can_add(self, ref: tuple[str, str], edge: Edge) -> bool:
        """Whether calling ``ref`` through ``edge`` may add anything to the caller's summary
        (by the outlines; see :func:`_apply`): what a callee returns matters only where the
        caller returns it or writes it."""
        flags = self.flags(ref)
        if edge.returned or edge.to_sink:
            return bool(flags)
        return not flags.isdisjoint(_THROUGH_ANY_CALL)

    def _use(self, function: FunctionFacts) -> None:
        self.used.update(function.depends)

    # --- what the prefilter asks -------------------------------------------------------------

    def imported_calls_that_matter(
        self, tree: ast.Module, text: str, path: str, display: str
    ) -> list[int]:
        """The lines where a module that names no sink or loader calls a function of
        another project module that may load or write: such a call is a trigger (SPEC
        2.6), and the definitions holding these lines are the ones the rules can report
        in. Empty when there is none. Only such a call can load or write there: the names
        the module imports are looked for where the text calls them, with no walk of the
        tree."""
        return self._imported_calls_that_matter(tree, text, path, display)

    def call_flags(
        self, tree: ast.Module, text: str, path: str, display: str
    ) -> dict[int, frozenset[str]]:
        """Line -> what the project functions called on that line (the module's own,
        nested ones included, and other modules') may do, by the outlines: load or write
        (``LOADS_OR_WRITES``), grow or flush an argument or a collection of the caller
        (``GROWS``), return a materialisation (``MATERIALIZES``); lines whose calls may do
        none of these are left out. The prefilter judges these calls where they are made,
        as it judges a loader's or a sink's."""
        outline = self.outlined_from(path, text)
        if outline is None:
            # Not outlined yet from this very text (a module read earlier for its outline
            # keeps it).
            outline = self._outlines[path] = self.outline_of(tree, text, path, display)
            self._outlined_text[path] = hash(text)
        return self._call_flags(outline)

    def outlined_from(self, path: str, text: str) -> ModuleOutline | None:
        """The outline of the module at ``path`` if it was made from this very text (read
        for another module's calls): the text then parses, and what its calls may do is
        known without parsing it again."""
        if self._outlined_text.get(path) != hash(text):
            return None
        return self._outlines.get(path)

    def calls_that_load_or_write(self, outline: ModuleOutline) -> bool:
        """Whether a call of the outlined module, to a project function, may load or write
        (by :meth:`call_flags`): for a module that names no sink or loader, the only way a
        rule can fire in it (SPEC 2.6)."""
        return any(LOADS_OR_WRITES in flags for flags in self._call_flags(outline).values())

    def _call_flags(self, outline: ModuleOutline) -> dict[int, frozenset[str]]:
        verdicts: dict[Target, frozenset[str]] = {}
        lines: dict[int, frozenset[str]] = {}
        for function in outline.functions.values():
            for target, line in zip(function.targets, function.lines, strict=True):
                flags = verdicts.get(target)
                if flags is None:
                    ref = self.resolve_ref(target, outline.names)
                    flags = frozenset() if ref is None else self.flags(ref) & _CALL_TRIGGERS
                    verdicts[target] = flags
                if flags:
                    lines[line] = lines.get(line, frozenset()) | flags
        return lines

    def _imported_calls_that_matter(
        self, tree: ast.Module, text: str, path: str, display: str
    ) -> list[int]:
        from extraction_lint.prefilter import line_numbers, line_starts

        nested = _NESTED_IMPORT.search(text)
        imports = import_bindings(tree) if nested else top_level_imports(tree)
        # Each name's every import (a name imported from two modules in two functions).
        candidates = import_candidates(tree, nested=bool(nested))
        stars = star_imports(tree)
        if not imports and not stars and "self." not in text:
            return []
        names = ModuleFacts(path, display, "", {}, class_table(tree), {}, imports, stars)
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                names.top_level[statement.name] = ("function", statement.name)
            elif isinstance(statement, ast.ClassDef):
                names.top_level[statement.name] = ("class", statement.name)
        targets: dict[Target, list[int]] = {}
        if imports and not stars:
            # Only where an imported name is called: each name found, then its call read.
            for start, dotted in _calls_of(text, candidates):
                targets.setdefault(Target("dotted", dotted), []).append(start)
        for match in _CALLED_CHAIN.finditer(text) if stars else ():
            qualified = imports.get(match.group(1))
            rest = "".join(match.group(2).split())
            if qualified is None:
                # Any other name may come from a star import (it is looked up lazily).
                if stars and match.group(1) not in names.top_level:
                    target = Target("star", match.group(1) + rest)
                    targets.setdefault(target, []).append(match.start())
                continue
            if qualified.endswith(".") and rest:
                rest = rest[1:]
            targets.setdefault(Target("dotted", qualified + rest), []).append(match.start())
        # ``self.m(...)`` is a method of the class whose body holds it: one of another
        # module when the class has project bases.
        spans = [
            (node.lineno, node.end_lineno or node.lineno, qualname)
            for qualname, node in class_definitions(tree)
            if names.classes[qualname].bases
        ]
        if spans:
            starts = line_starts(text)
            # The class that holds each line: outer classes first, so an inner one wins.
            holders: dict[int, str] = {}
            for first, last, qualname in spans:
                for line in range(first, last + 1):
                    holders[line] = qualname
            for match in _SELF_CALL.finditer(text):
                holder = holders.get(bisect.bisect_right(starts, match.start()))
                if holder is not None:
                    # ``super().m`` is looked up in the bases only: ``m`` may be overridden.
                    if match.group(1).startswith("super"):
                        target = Target("super", match.group(2), holder)
                    else:
                        target = Target("method", match.group(2), holder)
                    targets.setdefault(target, []).append(match.start())
        offsets: list[int] = []
        for target, where in targets.items():
            ref = self.resolve_ref(target, names)
            if ref is not None and ref[0] != path and LOADS_OR_WRITES in self.flags(ref):
                offsets.extend(where)
        return sorted(set(line_numbers(text, offsets))) if offsets else []

    # --- who calls a function (SPEC 2.5) -------------------------------------------------------

    def called_only_in_loops(self, ref: tuple[str, str]) -> bool:
        """Whether the project calls the function ``ref`` only from inside extraction
        loops (SPEC 2.5, "Not checked"): every resolved call of it, in the files of the run
        and in its own module, sits in an unbounded loop (a call in a ``for`` header only
        for a generator function), or in a function that is itself called only that way.
        A call of it in a loop makes that loop an extraction loop: the function loads or
        writes, or it would hold no extraction loop to ask about. False when nothing but
        itself calls it, and when its callers cannot all be read (:data:`CALLER_FILES`)."""
        # The callers that may matter, and theirs, until every one is known.
        graph: dict[tuple[str, str], list[tuple[tuple[str, str], int]]] = {}
        pending = [ref]
        while pending:
            current = pending.pop()
            if current in graph:
                continue
            sites = self._callers(current)
            if sites is None:
                if current == ref:
                    return False
                sites = [(("", ""), NOT_IN_LOOP)]  # a caller that is not known: not exempt
            # A call of itself is decided by the calls that enter it.
            sites = graph[current] = [site for site in sites if site[0] != current]
            for caller, where in sites:
                if not self._in_loop(current, where) and caller[1] and caller not in graph:
                    pending.append(caller)
        # The largest set that holds: each call in a loop or in a member of the set.
        exempt = {f for f, sites in graph.items() if sites}
        changed = True
        while changed:
            changed = False
            for function in list(exempt):
                if not all(
                    self._in_loop(function, where) or caller in exempt
                    for caller, where in graph[function]
                ):
                    exempt.discard(function)
                    changed = True
        return ref in exempt

    def _in_loop(self, callee: tuple[str, str], where: int) -> bool:
        if where == IN_LOOP:
            return True
        if where != IN_HEADER:
            return False
        outline = self.outline(callee[0])
        function = outline.functions.get(callee[1]) if outline is not None else None
        return function is not None and function.generator

    def _callers(self, ref: tuple[str, str]) -> list[tuple[tuple[str, str], int]] | None:
        """Each resolved call of ``ref`` in the run's files and its own module: (calling
        function, where the call sits); None when more files name it than are read."""
        known = self._sites.get(ref)
        if known is None:
            known = self._sites[ref] = self._find_callers(ref)
        found, read = known
        self.used.update(read)
        return found

    def _find_callers(
        self, ref: tuple[str, str]
    ) -> tuple[list[tuple[tuple[str, str], int]] | None, dict[str, str]]:
        path, qualname = ref
        owner, _, name = qualname.rpartition(".")
        own = self.outline(path)
        read: dict[str, str] = {}
        if own is None:
            return [], read
        names = {name}
        if owner and owner not in own.names.classes:
            candidates = [path]  # a nested function is called where it is defined
        else:
            # Every call spells the name, or an import of it does: ``from .io import save
            # as store`` (a re-export under another name) makes ``store`` one to look for.
            read[RUN_FILES] = self._run_digest()
            candidates = [path]
            pending = [name]
            while pending:
                holders = self._holders(pending.pop(), read)
                if holders is None or len({*candidates, *holders}) > CALLER_FILES:
                    return None, read
                for holder in holders:
                    outline = self.outline(holder)
                    if outline is None:
                        continue
                    for local, qualified in outline.imports.items():
                        if local not in names and qualified.rsplit(".", 1)[-1] in names:
                            names.add(local)
                            pending.append(local)
                candidates.extend(holders)
        found: list[tuple[tuple[str, str], int]] = []
        for candidate in dict.fromkeys(candidates):
            outline = self.outline(candidate)
            if outline is None:
                continue
            for caller, function in outline.functions.items():
                for target, where in function.sites:
                    if target.name.rsplit(".", 1)[-1] not in names:
                        continue
                    if self.resolve_ref(target, outline.names) == ref:
                        found.append(((candidate, caller), where))
        return found, read

    def _run_digest(self) -> str:
        """A digest of the list of the run's files: a caller search depends on it (a file
        added to the run may call the function)."""
        if self._run_files_digest is None:
            self._run_files_digest = digest_of("\n".join(sorted(self.run_files)).encode())
        return self._run_files_digest

    def _holders(self, name: str, read: dict[str, str]) -> list[str] | None:
        """The run's files whose text holds the word ``name`` (their digests go into
        ``read``); None when more than :data:`CALLER_FILES` do."""
        if name not in self._holding:
            self.look_for_callers([name])
        holders, more = self._holding[name]
        # A file that starts naming it later may call it (the runner's check).
        read[NAMING + name] = ""
        # Over the limit, the first files past it are recorded too: fewer files can name
        # it again only if one of them changes.
        for holder in holders:
            read[holder] = self._digests[holder]
        return None if more else holders

    def look_for_callers(self, names: Iterable[str]) -> None:
        """Find the run's files that name each of ``names`` as a word, in one reading of
        the files (the functions of a module whose callers will be asked for)."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._holding]
        if not wanted:
            return
        found: dict[str, list[str]] = {n: [] for n in wanted}
        for candidate in self.run_files:
            try:
                with open(candidate, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            text = searchable(candidate, data)
            for name in wanted:
                holders = found[name]
                if len(holders) > CALLER_FILES:
                    continue  # over the limit already
                if not names_word(text, name):
                    continue
                holders.append(candidate)
                if candidate not in self._digests:
                    self._digests[candidate] = digest_of(data)
        for name, holders in found.items():
            self._holding[name] = (holders, len(holders) > CALLER_FILES)

    # --- what a module's summaries are read from ------------------------------------------

    def summary_lines(
        self, outline: ModuleOutline, only: frozenset[str] | None = None
    ) -> list[int]:
        """The ``def`` lines of the module's functions whose summaries can say anything
        (their outline flags, or those of a function they may call, are not empty): a
        libcst read of the module needs only the definitions holding them. ``only``: of
        these functions only (qualified names)."""
        path = outline.names.path
        return sorted(
            function.line
            for qualname, function in outline.functions.items()
            if qualname and (only is None or qualname in only) and self.flags((path, qualname))
        )

    def reached_in_module(self, path: str, qualnames: Iterable[str]) -> frozenset[str]:
        """``qualnames`` and the functions of their own module they may call, directly or
        not, whose summaries can say anything (by the module's outline): what summaries of
        ``qualnames`` read of that module."""
        reached = set(qualnames)
        outline = self.outline(path)
        if outline is None:
            return frozenset(reached)
        stack = list(reached)
        while stack:
            function = outline.functions.get(stack.pop())
            if function is None:
                continue
            for target in function.targets:
                ref = self.resolve_ref(target, outline.names)
                if ref is not None and ref[0] == path and ref[1] not in reached and self.flags(ref):
                    reached.add(ref[1])
                    stack.append(ref[1])
        return frozenset(reached)


class _PartReader:
    """The factory of a module read in part: a function not read yet is read (with the
    functions of the module it may call and that were not read) when asked for. It holds
    neither the project nor the facts (a cycle through them would leave a run's trees to
    the garbage collector)."""

    __slots__ = ("_digest", "_owner", "_parts", "_path", "_read")

    def __init__(self, project: Project, facts: ModuleFacts, read: set[str]):
        self._owner = weakref.ref(project)
        self._path = facts.path
        self._digest = facts.digest
        self._read = read
        self._parts = 1

    def __call__(self, qualname: str) -> FunctionFacts | None:
        project, path, read = self._owner(), self._path, self._read
        if project is None or qualname in read or not project.flags((path, qualname)):
            return None  # its summary can say nothing: as a stub of the whole read
        whole = project._modules.get(path)
        if whole is None:
            return None
        if self._parts < _PARTS:
            reached = project.reached_in_module(path, (qualname,))
        else:
            # Asked for piece by piece: the rest at once.
            outline = project.outline(path)
            reached = frozenset(outline.functions if outline is not None else (qualname,))
        group = frozenset(q for q in reached if q and q not in read)
        self._parts += 1
        read.update(group)
        more = project._load(path, group, digest=self._digest)
        if more is None:
            return None
        for name in group:
            function = more.functions.get(name)
            if function is not None and name not in whole.functions:
                function.module = whole
                whole.functions[name] = function
        return whole.functions.get(qualname)


#: How many times a module read in part is read for the functions asked for, at most: then
#: the rest of it at once.
_PARTS = 3

#: What a callee adds to its caller's summary through any call of it (:func:`_apply`): its
#: loads and writes, what it writes, grows or flushes of its inputs, its guards. What it
#: returns (its inputs, a materialisation, an accumulation) counts only through a call
#: whose result the caller returns or writes.
_THROUGH_ANY_CALL = frozenset({LOADS_OR_WRITES, GROWS, GUARDS})
#: What a call of a project function may do that a rule can report (:meth:`call_flags`).
_CALL_TRIGGERS = frozenset({LOADS_OR_WRITES, WRITES, GROWS, MATERIALIZES})


#: ``name(`` or ``name.attr.attr(``: a call through a name (not an attribute of something).
def _calls_of(text: str, imports: dict[str, set[str]]) -> Iterator[tuple[int, str]]:
    """``(offset, qualified name)`` of each ``name(`` or ``name.attr.attr(`` of the
    text whose ``name`` is imported, once for each module it may be imported from (as
    :data:`_CALLED_CHAIN` reads calls, found name by name: most of a module's text calls
    nothing it imports)."""
    end = len(text)
    for name, qualifieds in imports.items():
        size = len(name)
        start = text.find(name)
        while start >= 0:
            after = start + size
            if (start == 0 or text[start - 1] not in _NAME_OR_DOT) and not (
                after < end and (text[after].isalnum() or text[after] == "_")
            ):
                chain = _CHAIN_TAIL.match(text, after)
                if chain is not None:
                    rest = "".join(chain.group(1).split())
                    for qualified in qualifieds:
                        tail = rest[1:] if qualified.endswith(".") and rest else rest
                        yield start, qualified + tail
            start = text.find(name, after)


#: What may stand just before a called name that is not the start of one: a name's
#: character or a dot (``x.name(`` calls an attribute).
_NAME_OR_DOT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
#: After a called name: its attributes, then the parenthesis.
_CHAIN_TAIL = re.compile(r"((?:[ \t]*\.[ \t]*\w+)*)[ \t]*\(")
_CALLED_CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:[ \t]*\.[ \t]*\w+)*)[ \t]*\(")
#: ``self.m(``, ``cls.m(``, ``super().m(``: group 1 is the receiver, group 2 the method.
_SELF_CALL = re.compile(r"(\bself|\bcls|\bsuper\(\))\s*\.\s*(\w+)\s*\(")
#: An import statement inside a block (a function's local import).
_NESTED_IMPORT = re.compile(r"^[ \t]+(?:from|import)[ \t]", re.M)


def _apply(
    caller: FunctionFacts, edge: Edge, callee: FunctionFacts, *, accumulations: bool = True
) -> bool:
    """Add to the caller's summary what calling ``callee`` through ``edge`` does; whether
    anything was added. ``accumulations``: pass on the accumulation the callee returns."""
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
        arg = callee.argument_or_closure(edge, name)
        if arg is None:
            continue
        for carried in arg.carried:
            if carried not in mine.writes_inputs or (
                mine.writes_inputs[carried][1] and not conditional
            ):
                mine.writes_inputs[carried] = ((link, *chain), conditional)
                mine.written_with[carried] = theirs.written_with.get(name, "")
    for name, chain in theirs.grows_inputs.items():
        arg = callee.argument_or_closure(edge, name)
        if arg is not None and arg.key is not None and arg.key not in mine.grows_inputs:
            mine.grows_inputs[arg.key] = (link, *chain)
    for name in theirs.flushes_inputs:
        arg = callee.argument_or_closure(edge, name)
        if arg is not None and arg.key is not None:
            mine.flushes_inputs.add(arg.key)
    if edge.returned or edge.to_sink:
        passed: set[str] = set()
        for name in theirs.returns_inputs:
            arg = callee.argument_or_closure(edge, name)
            if arg is not None:
                passed |= arg.carried
        if edge.returned:
            mine.returns_inputs |= passed
        if edge.to_sink:
            for carried in passed:
                if carried not in mine.writes_inputs:
                    mine.writes_inputs[carried] = ((link,), edge.to_sink_conditional)
                    mine.written_with[carried] = edge.to_sink_with
    if edge.returned:
        if theirs.returns_materialization is not None and mine.returns_materialization is None:
            mine.returns_materialization = (link, *theirs.returns_materialization)
            mine.returns_read = theirs.returns_read
        if (
            accumulations
            and theirs.returns_accumulation is not None
            and mine.returns_accumulation is None
        ):
            key, loop, chain = theirs.returns_accumulation
            mine.returns_accumulation = (key, loop, (link, *chain))
    if theirs.heartbeat is not None and mine.heartbeat is None and not edge.in_except:
        mine.heartbeat = (link, *theirs.heartbeat)
    if theirs.memory is not None and mine.memory is None:
        mine.memory = (link, *theirs.memory)
    if theirs.stall is not None and mine.stall is None:
        mine.stall = (link, *theirs.stall)
    return mine.shape() != before


def _settle(calls: list[tuple[FunctionFacts, Edge, FunctionFacts]], *, accumulations: bool) -> None:
    """Apply every call to its caller's summary until nothing changes."""
    changed = True
    while changed:
        changed = False
        for caller, edge, callee in calls:
            if _apply(caller, edge, callee, accumulations=accumulations):
                changed = True
            known = len(caller.depends)
            caller.depends.update(callee.depends)
            if len(caller.depends) != known:
                changed = True


def _accumulate(function: FunctionFacts, callees: dict[int, FunctionFacts]) -> None:
    """Decide the accumulation ``function`` returns with the growths and flushes its calls
    make in the loop (see :meth:`FunctionFacts.returned_accumulation`): one its own code
    shows is dropped when a call flushes the collection there."""
    summary = function.summary
    assert summary is not None
    summary.returns_accumulation = function.returned_accumulation(
        lambda edge: callees.get(id(edge))
    )


def exported_constants(tree: ast.Module) -> dict[str, str]:
    """The module's constants, as a loop of another module that imports one sees them: a
    name bound once in the module's own code (not in a function or class), by ``name =
    display`` with every element written out, never bound otherwise and never changed in
    place anywhere in the module (``global`` included). Name -> ``"dict"`` for a dict
    display, ``"display"`` for a tuple, list or set."""
    from extraction_lint.analysis.astcalls import is_fixed_display
    from extraction_lint.sparse import mutations

    bindings: dict[str, int] = {}
    kinds: dict[str, str] = {}
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bindings[node.name] = bindings.get(node.name, 0) + 1
            continue  # its body binds its own names (the decorators bind none)
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp):
            continue
        if isinstance(node, ast.GeneratorExp):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                bindings[local] = bindings.get(local, 0) + 1
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bindings[node.id] = bindings.get(node.id, 0) + 1
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bindings[node.name] = bindings.get(node.name, 0) + 1
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and is_fixed_display(node.value)
        ):
            kinds[node.targets[0].id] = "dict" if isinstance(node.value, ast.Dict) else "display"
        pending.extend(ast.iter_child_nodes(node))
    changed = {name for node in ast.walk(tree) for name in mutations(node)}
    return {
        name: kind
        for name, kind in kinds.items()
        if bindings.get(name) == 1 and name not in changed
    }
