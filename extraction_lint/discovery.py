"""Which files a run checks (SPEC 3): the paths given, directories walked for Python files.

Directories are walked in sorted order without following symbolic links to directories
(so a link loop cannot trap the walk); excluded directories are not entered; a virtualenv
is recognised by its ``pyvenv.cfg``. A file named on the command line is checked even when
an exclude pattern matches it, unless ``force_exclude`` is set (as pre-commit hooks do).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from extraction_lint.config import Config

SOURCE_SUFFIXES = (".py", ".pyi")


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
    errors: list[OSError] = []
    for directory, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=False):
        yield from errors
        errors.clear()
        base = Path(directory)
        kept = []
        for name in sorted(dirnames):
            child = base / name
            if child.is_symlink() or config.is_excluded(child):
                continue
            if (child / "pyvenv.cfg").is_file():
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                child = base / name
                if not config.is_excluded(child):
                    yield child
    yield from errors
