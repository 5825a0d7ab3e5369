"""Which files a run checks (SPEC 3): the paths given, directories walked for Python files
and notebooks.

Directories are walked in sorted order without following symbolic links to directories
(so a link loop cannot trap the walk). A walk does not enter a directory that ``exclude``
/ ``extend-exclude`` names, a virtualenv (recognised by its ``pyvenv.cfg``), or, with
``respect-gitignore`` (the default, as Ruff), what the ``.gitignore`` files, the work
tree's ``.git/info/exclude`` and the global git excludes file ignore; nor does it yield
such files. Patterns have gitignore semantics (ignore.py).

As in Ruff, a path named on the command line is checked even when a pattern matches it:
``force_exclude`` (what pre-commit hooks pass) applies ``exclude`` to named paths and the
directories above them too. Ignore files never exclude a named path: git does not ignore
a tracked file, and pre-commit names only tracked files.
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
    absolute = path if path.is_absolute() else cwd / path
    try:
        relative = Path(os.path.normpath(absolute)).relative_to(cwd)
    except ValueError:
        return Path(os.path.normpath(absolute)).as_posix()
    return relative.as_posix() or "."


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
    ignore = None
    if config.respect_gitignore:
        absolute = Path(os.path.abspath(root))
        ignore = GitIgnore.for_directory(absolute, Path(os.path.abspath(config.root)))
    # A stack, not recursion: a tree may be deeper than the interpreter's recursion limit.
    pending: list[tuple[Path, GitIgnore | None]] = [(root, ignore)]
    while pending:
        directory, ignore = pending.pop()
        subdirectories: list[tuple[Path, GitIgnore | None]] = []
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            if error.filename is None:
                error.filename = str(directory)
            yield error
            continue
        absolute = Path(os.path.abspath(directory))
        for entry in entries:
            child = directory / entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if config.is_excluded(child, is_dir=True) or (child / "pyvenv.cfg").is_file():
                    continue
                inner = None
                if ignore is not None:
                    if ignore.ignores(absolute / entry.name, True):
                        continue
                    inner = ignore.child(absolute / entry.name)
                subdirectories.append((child, inner))
            elif entry.name.endswith(SOURCE_SUFFIXES):
                if is_link and os.path.isdir(child):
                    continue  # a link to a directory is not followed
                if config.is_excluded(child, is_dir=False):
                    continue
                if ignore is not None and ignore.ignores(absolute / entry.name, False):
                    continue
                yield child
        pending.extend(reversed(subdirectories))
