"""Configuration: ``[tool.extraction-lint]`` in ``pyproject.toml`` (SPEC 5), merged with the
command line, validated key by key.

Rule selection follows Ruff: ``select`` replaces the default set, ``extend-select`` adds,
``ignore`` removes, and when a code matches both a selecting and an ignoring entry the more
specific (longer) entry wins; on a tie, ignore wins.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.ignore import PatternSet, pattern_error
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
    # Jupyter's autosaved copies of every notebook, as in Ruff's defaults.
    ".ipynb_checkpoints",
    "__pypackages__",
    ".direnv",
)

_CODE_PREFIX = re.compile(r"EXL[0-9]{0,3}\Z")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_METHOD_ENTRY = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*\Z")


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key."""


#: One layer of selection: ``select`` (None: keep what came before), ``extend-select``,
#: ``ignore``.
Selection = tuple[tuple[str, ...] | None, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Config:
    """The effective configuration of a run."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    #: The command line's ``(select, extend_select, ignore)``, applied after the file's
    #: as Ruff layers them: its ``select`` starts afresh, its other codes go over the file's.
    cli_selection: Selection | None = None
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bounded_range_limit: int = 1000
    #: Seconds one file's analysis may take before it is reported as EXL999 (0: no limit).
    per_file_timeout: float = DEFAULT_FILE_TIMEOUT
    #: Bytes of memory the process that checks a file may take (0: no limit; None: half of
    #: this machine's memory, see runner.default_file_memory).
    per_file_memory: int | None = None
    extend_sink_methods: tuple[str, ...] = ()
    extend_sink_functions: tuple[str, ...] = ()
    extend_heartbeat_calls: tuple[str, ...] = ()
    extend_memory_guard_calls: tuple[str, ...] = ()
    extend_stall_guard_calls: tuple[str, ...] = ()
    #: Apply fixes that may change what the code does (``--unsafe-fixes``).
    unsafe_fixes: bool = False
    #: Skip what ``.gitignore`` files, ``.git/info/exclude``, the global git excludes file
    #: and ``.ignore`` files ignore when walking directories (as Ruff).
    respect_gitignore: bool = True
    #: Directory that relative patterns (``exclude``, ``per-file-ignores``) are relative to.
    root: Path = field(default_factory=Path.cwd)
    #: The file this configuration was read from, if any.
    source: Path | None = None

    # --- derived ---------------------------------------------------------------------------

    def enabled_codes(self) -> frozenset[str]:
        """The codes this configuration turns on (EXL999 always)."""
        layers = [(self.select, self.extend_select, self.ignore)]
        if self.cli_selection is not None:
            layers.append(self.cli_selection)
        return resolve_selection(*layers)

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

    @functools.cached_property
    def _exclude_set(self) -> PatternSet:
        # Compiled once per configuration: a run asks for every file and directory.
        # ``./name`` is written for "at the root": gitignore spells that ``/name``.
        return PatternSet("/" + p[2:] if p.startswith("./") else p for p in self.exclude_patterns())

    def is_excluded(self, path: Path, is_dir: bool | None = None) -> bool:
        """Whether ``path`` (a file or a directory) matches the exclude patterns.

        Gitignore semantics, relative to the root: ``*`` does not cross ``/``, a pattern
        with a ``/`` is anchored at the root, one without matches a name at any depth, a
        trailing ``/`` matches directories only, ``!`` re-includes. A path outside the
        root is matched by its name only.
        """
        if not self._exclude_set:
            return False
        absolute = os.path.abspath(path)
        relative = self.relative_to_root(absolute)
        if relative == "":
            return False
        if is_dir is None:
            is_dir = os.path.isdir(path)
        return self.is_excluded_relative(relative or os.path.basename(absolute), is_dir)

    def relative_to_root(self, absolute: str) -> str | None:
        """``absolute`` relative to the root, ``/``-separated ('' for the root itself);
        None when it is not under the root."""
        base = os.path.abspath(self.root).rstrip(os.sep)
        if absolute == base:
            return ""
        if not absolute.startswith(base + os.sep):
            return None
        return absolute[len(base) + 1 :].replace(os.sep, "/")

    def is_excluded_relative(self, relative: str, is_dir: bool) -> bool:
        """:meth:`is_excluded` for a path already made relative to the root (or, outside
        it, its name)."""
        return self._exclude_set.match(relative, is_dir) is True

    def is_excluded_with_parents(self, path: Path) -> bool:
        """Whether ``path`` or a directory above it (below the root) is excluded.

        Used for paths named on the command line with ``--force-exclude``: a walk never
        enters an excluded directory, so a named file inside one is excluded too.
        """
        absolute = Path(os.path.abspath(path))
        root = Path(os.path.abspath(self.root))
        above = [p for p in absolute.parents if root in p.parents]
        for candidate in reversed(above):
            if self.is_excluded(candidate, is_dir=True):
                return True
        return self.is_excluded(absolute)

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


def code_matches(entry: str, code: str) -> bool:
    """Whether a selection entry (``ALL``, a code or a prefix) covers ``code``."""
    return entry == ALL or code.startswith(entry)


def resolve_selection(*layers: Selection) -> frozenset[str]:
    """The enabled codes, as Ruff resolves them: starting from the default rules, each
    layer in turn (the file's, then the command line's) replaces the set when it has a
    ``select`` and otherwise turns on and off the codes it names; within a layer the most
    specific entry wins and ``ignore`` wins ties. EXL999 is always on."""
    enabled = {rule.code for rule in ALL_RULES if rule.default_enabled}
    for select, extend_select, ignore in layers:
        updates: dict[str, bool] = {}
        for rule in ALL_RULES:
            code = rule.code
            positive = max(
                (
                    _specificity(e)
                    for e in (*(select or ()), *extend_select)
                    if code_matches(e, code)
                ),
                default=None,
            )
            negative = max((_specificity(e) for e in ignore if code_matches(e, code)), default=None)
            if positive is not None and (negative is None or positive > negative):
                updates[code] = True
            elif negative is not None:
                updates[code] = False
        if select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            for code, on in updates.items():
                if on:
                    enabled.add(code)
                else:
                    enabled.discard(code)
    return frozenset(enabled | {FILE_NOT_CHECKED})


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


#: A configuration file larger than this is refused before it is parsed.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
#: How much of a bad value an error message shows.
_SHOWN = 120


def show(value: object) -> str:
    """``repr(value)``, cut to a readable length (a huge bad list is not echoed whole)."""
    if isinstance(value, list | dict) and len(value) > 20:
        kind = "list" if isinstance(value, list) else "table"
        return f"a {kind} of {len(value)} entries"
    try:
        text = repr(value)
    except RecursionError:
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 5] + " ...]"


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` upward from ``start`` with a ``[tool.extraction-lint]``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            tool = _tool_table(candidate, _read_toml(candidate))
            if TABLE in tool or "extraction_lint" in tool:
                return candidate
    return None


def _tool_table(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table, got {show(tool)}")
    return tool


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        if not path.is_file():
            raise ConfigError(f"{path}: not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}: invalid TOML: not valid UTF-8 (byte 0x{raw[error.start]:02x} on line {line})"
        ) from None
    return _parse_toml(text, str(path))


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    import tomllib  # only a run that has a configuration file to read pays for the parser

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: invalid TOML: {error}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{where}: invalid TOML: nested too deeply") from None


def load_config(
    path: Path, *, explicit: bool = False, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Read and validate a configuration file.

    A ``pyproject.toml`` (or any file with a ``[tool.extraction-lint]`` table) is read from
    that table; any other TOML file is read from its top level. A file named explicitly
    (``--config``) must hold a configuration; a misspelt table name is an error.
    ``overrides`` (from ``--config KEY=VALUE``) replace the file's values of their keys.
    """
    data = _read_toml(path)
    tool = _tool_table(path, data)
    if "extraction_lint" in tool and TABLE not in tool:
        raise ConfigError(f"{path}: [tool.extraction_lint] is not read; name it [tool.{TABLE}]")
    if TABLE in tool:
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
    if overrides:
        table = {**table, **overrides}
    return parse_table(table, source=path, where=where)


def _strings(key: str, value: object, context: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{context}: `{key}` must be a list of strings, got {show(value)}")
    return tuple(value)


def _codes(key: str, value: object, context: str) -> tuple[str, ...]:
    codes = _strings(key, value, context)
    for code in codes:
        if not known_code_prefix(code.strip().upper()):
            raise ConfigError(f"{context}: `{key}`: unknown rule code or prefix {show(code)}")
    # In any case, as on the command line (``parse_codes``).
    return tuple(code.strip().upper() for code in codes)


def _identifiers(key: str, value: object, context: str, *, methods: bool) -> tuple[str, ...]:
    entries = _strings(key, value, context)
    for entry in entries:
        ok = _DOTTED.match(entry) or (methods and _METHOD_ENTRY.match(entry))
        if not ok:
            raise ConfigError(f"{context}: `{key}`: {show(entry)} is not a valid name")
    return entries


def parse_table(
    table: Mapping[str, Any],
    *,
    source: Path,
    where: str,
    root: Path | None = None,
    context: str | None = None,
) -> Config:
    """Validate a configuration table; every key is checked, unknown keys are errors."""
    context = context or f"{source}: {where}"
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if key in {"select", "ignore", "extend-select"}:
            values[name] = _codes(key, value, context)
        elif key in {"exclude", "extend-exclude"}:
            values[name] = _strings(key, value, context)
            for pattern in values[name]:
                problem = pattern_error(pattern)
                if problem is not None:
                    raise ConfigError(f"{context}: `{key}`: {pattern!r}: {problem}")
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{context}: `{key}` must be a table of glob = [codes]")
            values[name] = tuple(
                (pattern, _codes(f"{key}.{pattern}", codes, context))
                for pattern, codes in value.items()
            )
        elif key == "respect-gitignore":
            if not isinstance(value, bool):
                raise ConfigError(f"{context}: `{key}` must be true or false, got {show(value)}")
            values[name] = value
        elif key == "bounded-range-limit":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"{context}: `{key}` must be a positive integer, got {show(value)}"
                )
            values[name] = value
        elif key == "per-file-timeout":
            values[name] = per_file_timeout(value, f"{context}: `{key}`")
        elif key == "per-file-memory":
            values[name] = per_file_memory(value, f"{context}: `{key}`")
        elif key in {"extend-sink-methods"}:
            entries = _strings(key, value, context)
            for entry in entries:
                if not entry.isidentifier():
                    raise ConfigError(f"{context}: `{key}`: {show(entry)} is not a method name")
            values[name] = entries
        elif key == "extend-sink-functions":
            values[name] = _identifiers(key, value, context, methods=False)
        elif key in {
            "extend-heartbeat-calls",
            "extend-memory-guard-calls",
            "extend-stall-guard-calls",
        }:
            values[name] = _identifiers(key, value, context, methods=True)
        elif key == "unsafe-fixes":
            if not isinstance(value, bool):
                raise ConfigError(f"{context}: `{key}` must be true or false, got {show(value)}")
            values[name] = value
        else:
            raise ConfigError(f"{context}: unknown key `{show(key)[1:-1]}`")
    if root is None:
        root = Path(os.path.abspath(source.parent))
    return Config(root=root, source=source if source.name else None, **values)


def parse_overrides(entries: Sequence[str]) -> dict[str, Any]:
    """``--config KEY=VALUE`` entries (the value in TOML, as Ruff): one table, each entry
    checked on its own so that an error names it."""
    table: dict[str, Any] = {}
    for entry in entries:
        option = f"--config {show(entry)}"
        if "=" not in entry:
            raise ConfigError(f"{option}: expected a file or KEY = VALUE (a TOML value)")
        parsed = _parse_toml(entry, option)
        if len(parsed) != 1:
            raise ConfigError(f"{option}: expected one KEY = VALUE")
        parse_table(parsed, source=Path(), where=option, root=Path.cwd(), context=option)
        table.update(parsed)
    return table


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


#: The least memory a process checking files may be given (``per-file-memory``).
MIN_FILE_MEMORY = 2**30


def per_file_memory(value: object, context: str) -> int:
    """The memory one file's check may take, in bytes: a size such as ``"4 GiB"`` or a
    number of bytes; 0 for no limit."""
    from extraction_lint.guardrails.units import parse_size

    if value == 0 and not isinstance(value, bool):
        return 0
    try:
        size = parse_size(value, "size") if isinstance(value, str | int | float) else None
    except ValueError:
        size = None
    if size is None or size < MIN_FILE_MEMORY:
        # Below this, the checking thread's reserved stack (budget.py) and the interpreter
        # with libcst loaded leave too little address space to check anything.
        raise ConfigError(
            f'{context} must be a size of at least 1 GiB such as "4 GiB", or 0 for no '
            f"limit, got {show(value)}"
        )
    return size


def with_cli_overrides(
    config: Config,
    *,
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> Config:
    """The command line's selection on top of the file's, as Ruff layers them: its
    ``--select`` replaces the file's whole selection (its ``ignore`` too), its
    ``--extend-select`` and ``--ignore`` go over the file's codes."""
    if select is None and not extend_select and not ignore:
        return config
    return replace(config, cli_selection=(select, extend_select, ignore))
