"""``extraction-lint clean``: remove the result cache (as ``ruff clean`` does), or with
``--stale`` only the entries that pruning would remove."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from extraction_lint.cache import (
    CACHE_DIR_ENV,
    DEFAULT_DIRNAME,
    MAX_AGE_DAYS,
    MAX_CACHE_BYTES,
    ResultCache,
    is_cache_directory,
    remove_cache,
)

#: Directories a search for nested caches does not enter.
_NOT_ENTERED = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", ".nox"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extraction-lint clean",
        description=(
            "Remove the result cache of this project (and any cache directory below the "
            "current directory). Only directories tagged as this tool's cache are cleaned, and "
            "only of what this tool put there."
        ),
    )
    parser.add_argument("--cache-dir", metavar="DIR", help="the cache directory to clean")
    parser.add_argument(
        "--stale",
        action="store_true",
        help=f"keep the cache; remove entries unused for {MAX_AGE_DAYS} days and the least "
        f"recently used beyond {MAX_CACHE_BYTES // (1024 * 1024)} MiB",
    )
    return parser


def _project_cache() -> Path:
    """Where a run from here keeps its cache (see cli._cache)."""
    from extraction_lint.config import ConfigError, find_config

    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    try:
        found = find_config(Path.cwd())
    except ConfigError:
        found = None
    return (found.parent if found is not None else Path.cwd()) / DEFAULT_DIRNAME


def _nested(root: Path) -> Iterator[Path]:
    for directory, dirnames, _ in os.walk(root):
        if DEFAULT_DIRNAME in dirnames:
            yield Path(directory) / DEFAULT_DIRNAME
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_ENTERED and d != DEFAULT_DIRNAME)


def main(argv: Sequence[str] | None = None) -> int:
    """Clean the cache; 0 when done, 2 when asked to clean what is not a cache."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.cache_dir is not None:
        targets = [Path(args.cache_dir)]
        if targets[0].exists() and not is_cache_directory(targets[0]):
            print(
                f"extraction-lint clean: {args.cache_dir} is not an extraction-lint cache "
                "(no CACHEDIR.TAG of ours): left alone",
                file=sys.stderr,
            )
            return 2
    else:
        targets = [_project_cache(), *_nested(Path.cwd())]
    seen: set[str] = set()
    for target in targets:
        key = os.path.abspath(target)
        if key in seen or not is_cache_directory(target):
            continue
        seen.add(key)
        if args.stale:
            removed, kept = ResultCache(target).prune()
            print(f"{target}: removed {removed} stale entries, kept {kept}")
        elif left := remove_cache(target):
            print(f"Removed the cache from {target} (kept the {len(left)} other items in it)")
        else:
            print(f"Removed {target}")
    if not seen:
        print("No cache to clean.")
    return 0
