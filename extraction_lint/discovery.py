"""Which files a run checks (SPEC 3): the paths given, directories walked for Python files
and notebooks.

Directories are walked in sorted order without following symbolic links to directories
(so a link loop cannot trap the walk). A walk does not enter a directory that ``exclude``
/ ``extend-exclude`` names, a virtualenv (recognised by its ``pyvenv.cfg``), or, with
``respect-gitignore`` (the default, as Ruff), what the ``.gitignore`` files, the work
tree's ``.git/info/exclude``, the global git excludes file and the ``.ignore`` files
(which take precedence over git's, as in Ruff) ignore; nor does it yield such files.
Patterns have gitignore semantics (ignore.py). Inside a repository nested in the tree (a
submodule, a vendored clone) its own git ignore files apply, not the outer ones, as git and
Ruff see it; ``.ignore`` files are not git's, and the outer ones still apply there, as in
Ruff.

As in Ruff, a path named on the command line is checked even when a pattern matches it:
``force_exclude`` (what pre-commit hooks pass) applies ``exclude`` to named paths and the
directories above them too. Ignore files (``.ignore`` too) never exclude a named path: git
does not ignore a tracked file, and pre-commit names only tracked files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from extraction_lint.config import Config
from extraction_lint.ignore import GitIgnore

#: Python files and Jupyter notebooks (whose code cells are checked as one module).
SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
NOTEBOOK_SUFFIX = ".ipynb"


def is_notebook(path: str) -> bool:
    """Whether a path names a notebook (by its suffix, as Jupyter does); notebook.py, which
    reads them, is imported only when one is met."""
    return path.endswith(NOTEBOOK_SUFFIX)


class MissingPathError(Exception):
    """A path on the command line that does not exist."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to check and the path to report it under.

    ``error`` is set for a directory that could not be listed: it is reported, not checked.
    """

    path: Path
    display: str
    error: str | None = None


def display_path(path: Path, cwd: Path) -> str:
    """Relative to ``cwd`` when under it, ``/``-separated (SPEC 4)."""
    # String operations: this runs once per file of a run.
    absolute = os.path.normpath(os.path.join(cwd, path))
    base = os.path.normpath(cwd)
    if absolute == base:
        return "."
    prefix = base.rstrip(os.sep) + os.sep
    if absolute.startswith(prefix):
        absolute = absolute[len(prefix) :]
    return absolute.replace(os.sep, "/") if os.sep != "/" else absolute


def discover(
    paths: Sequence[str], config: Config, *, force_exclude: bool = False, cwd: Path | None = None
) -> list[SourceFile]:
    """The files to check, sorted by reported path, each once."""
    cwd = cwd or Path.cwd()
    seen: set[str] = set()
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise MissingPathError(f"{raw}: no such file or directory")
        if path.is_dir():
            if force_exclude and config.is_excluded_with_parents(path):
                continue
            candidates: Iterator[Path | OSError] = _walk(path, config)
        else:
            if force_exclude and config.is_excluded_with_parents(path):
                continue
            candidates = iter((path,))
        for candidate in candidates:
            if isinstance(candidate, OSError):
                where = Path(candidate.filename or raw)
                shown = display_path(where, cwd)
                reason = candidate.strerror or str(candidate)
                found.append(SourceFile(where, shown, f"cannot list directory: {reason}"))
                continue
            shown = display_path(candidate, cwd)
            if shown not in seen:
                seen.add(shown)
                found.append(SourceFile(candidate, shown))
    found.sort(key=lambda f: f.display)
    return found


def _walk(root: Path, config: Config) -> Iterator[Path | OSError]:
    # Strings, not Path objects: a walk makes several per entry, and on a tree of a few
    # thousand files building Path objects cost more than the listing.
    absolute = os.path.abspath(root)
    ignore = None
    if config.respect_gitignore:
        ignore = GitIgnore.for_directory(Path(absolute), Path(os.path.abspath(config.root)))
    # A stack, not recursion: a tree may be deeper than the interpreter's recursion limit.
    # A subdirectory is stacked with its parent's ignore files; its own are added once it
    # is listed, so that only the ignore files the listing shows are opened (trying to
    # open both in every directory made a walk of site-packages about a fifth slower).
    pending: list[tuple[str, str, str | None, GitIgnore | None, bool]] = [
        (str(root), absolute, config.relative_to_root(absolute), ignore, False)
    ]
    while pending:
        directory, absolute, relative, ignore, inherited = pending.pop()
        subdirectories: list[tuple[str, str, str | None, GitIgnore | None, bool]] = []
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            if error.filename is None:
                error.filename = directory
            yield error
            continue
        if ignore is not None and inherited:
            names = {entry.name for entry in entries}
            if ".git" in names:
                # A repository of its own (a submodule, a nested clone): its git ignore
                # files and excludes apply inside, not the outer ones (the outer .ignore
                # files do: for_directory reads them again).
                ignore = GitIgnore.for_directory(Path(absolute), Path(absolute))
            else:
                ignore = ignore.child(absolute, names)
        for entry in entries:
            name = entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if not is_dir and not name.endswith(SOURCE_SUFFIXES):
                continue
            child = os.path.join(directory, name)
            child_absolute = absolute.rstrip(os.sep) + os.sep + name
            # Outside the configuration's root, exclude patterns see the name only.
            child_relative = (
                (f"{relative}/{name}" if relative else name) if relative is not None else None
            )
            if config.is_excluded_relative(child_relative or name, is_dir):
                continue
            if is_dir:
                if os.path.isfile(os.path.join(child, "pyvenv.cfg")):
                    continue
                if ignore is not None and ignore.ignores(child_absolute, True):
                    continue
                subdirectories.append((child, child_absolute, child_relative, ignore, True))
            else:
                if is_link and os.path.isdir(child):
                    continue  # a link to a directory is not followed
                if ignore is not None and ignore.ignores(child_absolute, False):
                    continue
                yield Path(child)
        pending.extend(reversed(subdirectories))
