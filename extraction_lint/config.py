"""Configuration: ``[tool.extraction-lint]`` in ``pyproject.toml`` (SPEC 5), merged with the
command line, validated key by key.

Rule selection follows Ruff: ``select`` replaces the default set, ``extend-select`` adds,
``ignore`` removes, and when a code matches both a selecting and an ignoring entry the more
specific (longer) entry wins; on a tie, ignore wins.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.options import DEFAULT_FILE_TIMEOUT
from extraction_lint.rules import ALL_RULES, FILE_NOT_CHECKED

TABLE = "extraction-lint"
ALL = "ALL"

#: Directories never walked into (SPEC 3), unless ``exclude`` replaces this list.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    ".eggs",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".extraction_lint_cache",
    "site-packages",
)

_CODE_PREFIX = re.compile(r"EXL[0-9]{0,3}\Z")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_METHOD_ENTRY = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*\Z")


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """The effective configuration of a run."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bounded_range_limit: int = 1000
    #: Seconds one file's analysis may take before it is reported as EXL999 (0: no limit).
    per_file_timeout: float = DEFAULT_FILE_TIMEOUT
    extend_sink_methods: tuple[str, ...] = ()
    extend_sink_functions: tuple[str, ...] = ()
    extend_heartbeat_calls: tuple[str, ...] = ()
    extend_memory_guard_calls: tuple[str, ...] = ()
    extend_stall_guard_calls: tuple[str, ...] = ()
    #: Directory that relative patterns (``exclude``, ``per-file-ignores``) are relative to.
    root: Path = field(default_factory=Path.cwd)
    #: The file this configuration was read from, if any.
    source: Path | None = None

    # --- derived ---------------------------------------------------------------------------

    def enabled_codes(self) -> frozenset[str]:
        """The codes this configuration turns on (EXL999 always)."""
        return resolve_selection(self.select, self.extend_select, self.ignore)

    def analysis_settings(self) -> AnalysisSettings:
        """What the per-file analysis needs."""
        return AnalysisSettings(
            catalog=Catalog.build(
                extend_sink_methods=self.extend_sink_methods,
                extend_sink_functions=self.extend_sink_functions,
                extend_heartbeat_calls=self.extend_heartbeat_calls,
                extend_memory_guard_calls=self.extend_memory_guard_calls,
                extend_stall_guard_calls=self.extend_stall_guard_calls,
            ),
            bounded_range_limit=self.bounded_range_limit,
        )

    def exclude_patterns(self) -> tuple[str, ...]:
        """``exclude`` and ``extend-exclude`` together."""
        return self.exclude + self.extend_exclude

    def is_excluded(self, path: Path) -> bool:
        """Whether ``path`` (a file or a directory) matches an exclude pattern."""
        return matches_any(path, self.exclude_patterns(), self.root)

    def is_excluded_with_parents(self, path: Path) -> bool:
        """Whether ``path`` or a directory above it (below the root) is excluded.

        Used for paths named on the command line with ``--force-exclude``: a walk never
        enters an excluded directory, so a named file inside one is excluded too.
        """
        absolute = Path(os.path.abspath(path))
        root = Path(os.path.abspath(self.root))
        for candidate in (absolute, *absolute.parents):
            if candidate == root or root not in candidate.parents:
                break
            if self.is_excluded(candidate):
                return True
        return self.is_excluded(path)

    def ignored_for(self, path: Path) -> frozenset[str]:
        """Codes that ``per-file-ignores`` switches off for ``path``."""
        out: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if matches_any(path, (pattern,), self.root):
                out.update(codes)
        return frozenset(out)


def matches_any(path: Path, patterns: Iterable[str], root: Path) -> bool:
    """Ruff-style matching: a pattern matches the basename or the path relative to ``root``."""
    name = path.name
    # abspath, not resolve: symbolic links are matched as written (and a link loop must
    # not raise here; reading it reports the loop).
    absolute = os.path.abspath(path)
    base = os.path.abspath(root)
    if absolute.startswith(base + os.sep):
        relative = PurePosixPath(Path(absolute[len(base) + 1 :])).as_posix()
    else:
        relative = path.as_posix()
    for pattern in patterns:
        pattern = pattern.removeprefix("./").rstrip("/")
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(relative, pattern):
            return True
        if pattern.endswith("/**") and (
            relative == pattern[:-3] or relative.startswith(pattern[:-2])
        ):
            return True
    return False


# --- selection -------------------------------------------------------------------------------


def _specificity(entry: str) -> int:
    return 1 if entry == ALL else len(entry)


def _matches(entry: str, code: str) -> bool:
    return entry == ALL or code.startswith(entry)


def resolve_selection(
    select: Sequence[str] | None, extend_select: Sequence[str], ignore: Sequence[str]
) -> frozenset[str]:
    """The enabled codes: most specific entry wins, ignore wins ties; EXL999 always on."""
    enabled = {FILE_NOT_CHECKED}
    for rule in ALL_RULES:
        code = rule.code
        positive: int | None = 0 if select is None and rule.default_enabled else None
        for entry in (*(select or ()), *extend_select):
            if _matches(entry, code):
                positive = max(positive or 0, _specificity(entry))
        negative = max((_specificity(e) for e in ignore if _matches(e, code)), default=None)
        if positive is not None and (negative is None or positive > negative):
            enabled.add(code)
    return frozenset(enabled)


def known_code_prefix(entry: str) -> bool:
    """Whether ``entry`` is ``ALL`` or a prefix of at least one rule code."""
    if entry == ALL:
        return True
    return _CODE_PREFIX.match(entry) is not None and any(
        r.code.startswith(entry) for r in ALL_RULES
    )


def parse_codes(value: str, option: str) -> tuple[str, ...]:
    """``"EXL001,EXL1"`` from the command line, validated (case does not matter)."""
    codes = tuple(c.strip().upper() for c in value.split(",") if c.strip())
    if not codes:
        raise ConfigError(f"{option}: no rule code given")
    for code in codes:
        if not known_code_prefix(code):
            raise ConfigError(f"{option}: unknown rule code or prefix {code!r}")
    return codes


# --- files -----------------------------------------------------------------------------------


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` upward from ``start`` with a ``[tool.extraction-lint]``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            data = _read_toml(candidate)
            tool = data.get("tool", {})
            if TABLE in tool or "extraction_lint" in tool:
                return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def load_config(path: Path, *, explicit: bool = False) -> Config:
    """Read and validate a configuration file.

    A ``pyproject.toml`` (or any file with a ``[tool.extraction-lint]`` table) is read from
    that table; any other TOML file is read from its top level. A file named explicitly
    (``--config``) must hold a configuration; a misspelt table name is an error.
    """
    data = _read_toml(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "extraction_lint" in tool and TABLE not in tool:
        raise ConfigError(f"{path}: [tool.extraction_lint] is not read; name it [tool.{TABLE}]")
    if isinstance(tool, dict) and TABLE in tool:
        table = tool[TABLE]
        where = f"[tool.{TABLE}]"
    elif path.name == "pyproject.toml":
        if explicit:
            raise ConfigError(f"{path}: no [tool.{TABLE}] table")
        table, where = {}, f"[tool.{TABLE}]"
    else:
        table, where = data, "top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    return parse_table(table, source=path, where=where)


def _strings(key: str, value: object, context: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{context}: `{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _codes(key: str, value: object, context: str) -> tuple[str, ...]:
    codes = _strings(key, value, context)
    for code in codes:
        if not known_code_prefix(code):
            raise ConfigError(f"{context}: `{key}`: unknown rule code or prefix {code!r}")
    return codes


def _identifiers(key: str, value: object, context: str, *, methods: bool) -> tuple[str, ...]:
    entries = _strings(key, value, context)
    for entry in entries:
        ok = _DOTTED.match(entry) or (methods and _METHOD_ENTRY.match(entry))
        if not ok:
            raise ConfigError(f"{context}: `{key}`: {entry!r} is not a valid name")
    return entries


def parse_table(table: Mapping[str, Any], *, source: Path, where: str) -> Config:
    """Validate a configuration table; every key is checked, unknown keys are errors."""
    context = f"{source}: {where}"
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if key in {"select", "ignore", "extend-select"}:
            values[name] = _codes(key, value, context)
        elif key in {"exclude", "extend-exclude"}:
            values[name] = _strings(key, value, context)
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{context}: `{key}` must be a table of glob = [codes]")
            values[name] = tuple(
                (pattern, _codes(f"{key}.{pattern}", codes, context))
                for pattern, codes in value.items()
            )
        elif key == "bounded-range-limit":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{context}: `{key}` must be a positive integer, got {value!r}")
            values[name] = value
        elif key == "per-file-timeout":
            values[name] = per_file_timeout(value, f"{context}: `{key}`")
        elif key in {"extend-sink-methods"}:
            entries = _strings(key, value, context)
            for entry in entries:
                if not entry.isidentifier():
                    raise ConfigError(f"{context}: `{key}`: {entry!r} is not a method name")
            values[name] = entries
        elif key == "extend-sink-functions":
            values[name] = _identifiers(key, value, context, methods=False)
        elif key in {
            "extend-heartbeat-calls",
            "extend-memory-guard-calls",
            "extend-stall-guard-calls",
        }:
            values[name] = _identifiers(key, value, context, methods=True)
        else:
            raise ConfigError(f"{context}: unknown key `{key}`")
    return Config(root=Path(os.path.abspath(source.parent)), source=source, **values)


def per_file_timeout(value: object, context: str) -> float:
    """A per-file time budget in seconds: a number >= 0 (0: no limit)."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0 <= value <= 1e6  # NaN fails both comparisons
    ):
        raise ConfigError(
            f"{context} must be a number of seconds from 0 (no limit) to 1000000, got {value!r}"
        )
    return float(value)


def with_cli_overrides(
    config: Config,
    *,
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> Config:
    """The command line's selection on top of the file's: ``--select`` replaces,
    ``--extend-select`` and ``--ignore`` add."""
    return replace(
        config,
        select=select if select is not None else config.select,
        extend_select=config.extend_select + extend_select,
        ignore=config.ignore + ignore,
    )
