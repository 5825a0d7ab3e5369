"""Gitignore patterns (``exclude``, ``.gitignore``, ``.git/info/exclude``, the global git
excludes file, and the ``.ignore`` files that ripgrep's ``ignore`` crate, which Ruff walks
with, reads too), matched as git matches them.

A pattern is matched against one path at a time, relative to the directory it applies to
(``exclude``: the configuration's root; a ``.gitignore`` or ``.ignore``: its own
directory): ``*`` and ``?`` never match ``/``, a pattern with a ``/`` before its end is
anchored there, one without matches a name at any depth, a trailing ``/`` matches
directories only, ``**`` matches across directories, ``!`` re-includes, and the last
matching pattern decides. As in git, a walk does not enter an ignored directory, which is
why nothing under it can be re-included.

Patterns are compiled once into an index (``PatternSet``): a path meets only the patterns
that can match it, each wildcard pattern's regular expression is compiled on first use,
so a list of tens of thousands of patterns costs little per path.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class _Rule(NamedTuple):
    """One pattern: its position in the list, whether it re-includes, and its shape."""

    position: int
    negated: bool
    dir_only: bool
    anchored: bool
    #: The pattern with escapes kept, trailing ``/`` and anchoring ``/`` removed.
    body: str
    #: Literal text the matched path (or name) starts and ends with; the whole of it for a
    #: ``literal`` pattern.
    head: str
    tail: str
    literal: bool


_NEVER = re.compile(r"(?!)")
_WILDCARD = re.compile(r"[*?\[]")
_LAST_WILDCARD = re.compile(r"[*?\[\]][^*?\[\]]*\Z")
_ESCAPE = re.compile(r"\\(.)")


def _literal_parts(body: str) -> tuple[str, str, bool]:
    """The literal text before the first and after the last wildcard, and whether the
    whole pattern is literal (then head and tail are the unescaped pattern)."""
    if "\\" in body:
        if _WILDCARD.search(_ESCAPE.sub("", body)) is None:
            literal = _ESCAPE.sub(r"\1", body)  # only escapes: a literal in disguise
            return literal, literal, True
        first = min(i for i in (body.find(c) for c in "*?[\\") if i >= 0)
        last = _LAST_WILDCARD.search(body)
        tail = body[last.start() + 1 :] if last is not None else ""
        return body[:first], tail if "\\" not in tail else "", False
    first_match = _WILDCARD.search(body)
    if first_match is None:
        return body, body, True
    last = _LAST_WILDCARD.search(body)
    return body[: first_match.start()], body[last.start() + 1 :] if last else "", False


def parse_pattern(line: str, index: int) -> _Rule | None:
    """One line of a gitignore file as a rule; None for blank lines and comments."""
    line = line.rstrip("\r\n")
    if not line or line[0] == "#":
        return None
    if line[-1] == " ":
        # Trailing spaces are dropped unless escaped with a backslash.
        stripped = line.rstrip(" ")
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            stripped += " "
        line = stripped
    negated = line[0] == "!"
    if negated or line.startswith(("\\!", "\\#")):
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    if anchored:
        if line.startswith("**/") and "/" not in line[3:]:
            # ``**/name`` matches ``name`` at any depth: the unanchored form.
            line, anchored = line[3:], False
        line = line.removeprefix("/")
        if not line:
            return None
    head, tail, literal = _literal_parts(line)
    if "**/" in line:
        tail = tail.lstrip("/")  # ``**/`` matches no directory too: ``**/b`` matches ``b``
    return _Rule(index, negated, dir_only, anchored, line, head, tail, literal)


def _segment_regex(segment: str) -> str:
    """One ``/``-free piece of a pattern as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if c == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = i + 1
            if end < len(segment) and segment[end] in "!^":
                end += 1
            if end < len(segment) and segment[end] == "]":
                end += 1
            while end < len(segment) and segment[end] != "]":
                end += 1
            if end >= len(segment):
                out.append(re.escape(c))  # no closing bracket: a literal '['
            else:
                inner = segment[i + 1 : end]
                negate = inner[:1] in ("!", "^")
                if negate:
                    inner = inner[1:]
                inner = inner.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
                out.append(f"[^/{inner}]" if negate else f"[{inner}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _body_regex(body: str) -> str:
    segments: list[str] = []
    for segment in body.split("/"):
        if not (segment == "**" and segments and segments[-1] == "**"):
            segments.append(segment)  # a run of ``**`` matches what one does
    parts: list[str] = []
    last = len(segments) - 1
    for position, segment in enumerate(segments):
        if segment == "**":
            if position == last:
                parts.append(".*" if position == 0 else "/.*")
            elif position == 0:
                parts.append("(?:.*/)?")
            else:
                parts.append("/(?:.*/)?")
            continue
        if position > 0 and segments[position - 1] != "**":
            parts.append("/")
        parts.append(_segment_regex(segment))
    return "".join(parts)


def _pattern_regex(body: str) -> re.Pattern[str]:
    """The regular expression of a pattern's body, matched against a whole path.

    As git's matcher does: a literal head is compared first and the rest matched alone,
    so a ``**`` right after the head (``/a**``, ``/a**/b``) is a ``**`` that crosses
    directories, while ``*`` elsewhere never does.
    """
    first = next((i for i, c in enumerate(body) if c in "*?[\\"), None)
    if first and body.startswith("**", first):
        end = first
        while end < len(body) and body[end] == "*":
            end += 1
        head = re.escape(body[:first])
        if end == len(body):
            return re.compile(head + ".*\\Z", re.DOTALL)
        if body[end] == "/":
            rest = _body_regex(body[end + 1 :])
            return re.compile(head + "(?:.*/)?" + rest + "\\Z", re.DOTALL)
    return re.compile(_body_regex(body) + r"\Z", re.DOTALL)


class PatternSet:
    """An ordered list of gitignore patterns, indexed for matching many paths quickly.

    Literal patterns are found by the name (or, anchored, the path) they spell. A wildcard
    pattern is filed under its literal head, else its literal tail, so that a path meets
    only the patterns whose head is one of its prefixes or whose tail one of its
    suffixes (a few dictionary look-ups per character); only patterns with neither (``*``,
    ``?x*``) are tried on every path.
    """

    __slots__ = ("_by_head", "_by_tail", "_literal", "_regexes", "_unindexed", "size")

    def __init__(self, patterns: Iterable[str]) -> None:
        #: (anchored, text) -> rules: literal patterns.
        self._literal: dict[tuple[bool, str], list[_Rule]] = {}
        self._by_head: dict[tuple[bool, str], list[_Rule]] = {}
        self._by_tail: dict[tuple[bool, str], list[_Rule]] = {}
        self._unindexed: list[_Rule] = []
        self._regexes: dict[int, re.Pattern[str]] = {}
        count = 0
        for index, line in enumerate(patterns):
            rule = parse_pattern(line, index)
            if rule is None:
                continue
            count += 1
            if rule.literal:
                self._literal.setdefault((rule.anchored, rule.head), []).append(rule)
            elif rule.head:
                self._by_head.setdefault((rule.anchored, rule.head), []).append(rule)
            elif rule.tail:
                self._by_tail.setdefault((rule.anchored, rule.tail), []).append(rule)
            else:
                self._unindexed.append(rule)
        self.size = count

    def __bool__(self) -> bool:
        return self.size > 0

    def _candidates(self, anchored: bool, subject: str) -> Iterator[_Rule]:
        yield from self._literal.get((anchored, subject), ())
        if self._by_head:
            for end in range(1, len(subject) + 1):
                yield from self._by_head.get((anchored, subject[:end]), ())
        if self._by_tail:
            for start in range(len(subject)):
                yield from self._by_tail.get((anchored, subject[start:]), ())

    def match(self, relative: str, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included by a ``!`` pattern; None: no pattern matches.

        ``relative`` is ``/``-separated, relative to the directory the patterns apply to.
        """
        name = relative.rpartition("/")[2]
        candidates = [
            *self._candidates(False, name),
            *self._candidates(True, relative),
            *(r for r in self._unindexed),
        ]
        # The last pattern that matches decides: try the latest first.
        candidates.sort(key=lambda r: r.position, reverse=True)
        for rule in candidates:
            if rule.dir_only and not is_dir:
                continue
            subject = relative if rule.anchored else name
            if rule.literal or self._regex(rule).match(subject):
                return not rule.negated
        return None

    def _regex(self, rule: _Rule) -> re.Pattern[str]:
        regex = self._regexes.get(rule.position)
        if regex is None:
            try:
                regex = _pattern_regex(rule.body)
            except re.error:
                regex = _NEVER  # a range such as [z-a]: git's matcher matches nothing
            self._regexes[rule.position] = regex
        return regex


def pattern_error(line: str) -> str | None:
    """What is wrong with a pattern git would silently never match (a reversed range such
    as ``[z-a]``), for patterns that a configuration names; None when it is usable."""
    if "[" not in line:
        return None
    rule = parse_pattern(line, 0)
    if rule is None or rule.literal:
        return None
    try:
        _pattern_regex(rule.body)
    except re.error as error:
        return f"bad character class ({error.msg})"
    return None


#: An ignore or git configuration file larger than this is not read (nor anything past it).
MAX_IGNORE_FILE_BYTES = 64 * 1024 * 1024


def read_patterns(path: Path) -> list[str]:
    """The lines of an ignore file; none when it is missing or cannot be read (as git).

    Only regular files are read, and at most :data:`MAX_IGNORE_FILE_BYTES`: a FIFO would
    block the walk, a link to ``/dev/zero`` would never end.
    """
    try:
        # Non-blocking, so that opening a FIFO returns at once (then it is refused).
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return []
    try:
        with open(descriptor, "rb", buffering=0, closefd=True) as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return []
            data = handle.read(MAX_IGNORE_FILE_BYTES)
    except OSError:
        return []
    return data.decode("utf-8", errors="surrogateescape").splitlines()


# --- git -------------------------------------------------------------------------------------


def find_worktree(start: Path) -> Path | None:
    """The top of the git work tree holding ``start`` (a directory), if any."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def git_dir(worktree: Path) -> Path | None:
    """The repository directory of a work tree: ``.git``, or where a ``.git`` file points
    (linked work trees and submodules), then its common directory."""
    dot_git = worktree / ".git"
    if dot_git.is_dir():
        directory = dot_git
    else:
        text = "\n".join(read_patterns(dot_git))
        if not text.startswith("gitdir:"):
            return None
        directory = Path(text[len("gitdir:") :].strip())
        if not directory.is_absolute():
            directory = worktree / directory
    common = directory / "commondir"
    if common.is_file():
        lines = read_patterns(common)
        if not lines or not lines[0].strip():
            return directory
        pointed = Path(lines[0].strip())
        return pointed if pointed.is_absolute() else directory / pointed
    return directory


def _config_excludes_file(path: Path) -> str | None:
    """``core.excludesFile`` as one git config file sets it (the last setting wins)."""
    value: str | None = None
    section = ""
    for raw in read_patterns(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line[1 : line.find("]")].strip().split(" ")[0].lower()
            continue
        key, sep, rest = line.partition("=")
        if section == "core" and sep and key.strip().lower() == "excludesfile":
            rest = rest.split(" #")[0].split(" ;")[0].strip()
            if len(rest) >= 2 and rest[0] == rest[-1] == '"':
                rest = rest[1:-1]
            value = rest
    return value


def global_excludes_file(repository: Path | None) -> Path | None:
    """The global git excludes file: ``core.excludesFile`` from the system, global and
    repository configuration, else ``$XDG_CONFIG_HOME/git/ignore``."""
    home = Path(os.path.expanduser("~"))
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    files: list[Path] = []
    if not os.environ.get("GIT_CONFIG_NOSYSTEM"):
        files.append(Path(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(os.environ["GIT_CONFIG_GLOBAL"]))
    else:
        files += [xdg / "git" / "config", home / ".gitconfig"]
    if repository is not None:
        files.append(repository / "config")
    value: str | None = None
    for file in files:
        value = _config_excludes_file(file) or value
    if value is None:
        return xdg / "git" / "ignore"
    return Path(os.path.expanduser(value))


@dataclass(frozen=True, slots=True)
class IgnoreLevel:
    """Patterns that apply below ``base`` (an absolute path, as a string)."""

    base: str
    patterns: PatternSet


class GitIgnore:
    """The ignore files in force in one directory of a walk: git's (the global excludes
    file, ``.git/info/exclude``, the ``.gitignore`` files) and the ``.ignore`` files, each
    deepest last.

    As in the ``ignore`` crate that Ruff walks with: a ``.ignore`` file has the syntax of a
    ``.gitignore`` and applies to its directory and below, inside a git work tree or not,
    and ``.ignore`` files take precedence over all of git's, whatever their depths: the
    deepest ``.ignore`` with a matching pattern decides (a ``!keep.py`` there re-includes
    what a ``.gitignore`` ignores, and a ``keep.py`` there ignores what a ``.gitignore``
    re-includes); only when none has one do git's files decide, deepest first.
    """

    __slots__ = ("git_levels", "ignore_levels")

    def __init__(
        self, git_levels: Sequence[IgnoreLevel] = (), ignore_levels: Sequence[IgnoreLevel] = ()
    ) -> None:
        self.git_levels = tuple(git_levels)
        self.ignore_levels = tuple(ignore_levels)

    @classmethod
    def for_directory(cls, directory: Path, stop: Path) -> GitIgnore:
        """What applies inside ``directory`` (absolute): the global excludes file and
        ``.git/info/exclude`` of its work tree, then the ``.gitignore`` files from the top
        of the work tree (outside one: from ``stop``, when above) down to ``directory``;
        and the ``.ignore`` files of ``directory`` and every directory above it (as the
        ``ignore`` crate reads them, past the work tree and ``stop``).
        """
        worktree = find_worktree(directory)
        git_levels: list[IgnoreLevel] = []
        if worktree is not None:
            repository = git_dir(worktree)
            excludes = global_excludes_file(repository)
            if excludes is not None:
                patterns = PatternSet(read_patterns(excludes))
                git_levels.append(IgnoreLevel(str(worktree), patterns))
            if repository is not None:
                info = read_patterns(repository / "info" / "exclude")
                git_levels.append(IgnoreLevel(str(worktree), PatternSet(info)))
            top = worktree
        else:
            top = stop if stop == directory or stop in directory.parents else directory
        chain = [directory, *directory.parents]
        for folder in reversed(chain[: chain.index(top) + 1]):
            patterns = PatternSet(read_patterns(folder / ".gitignore"))
            git_levels.append(IgnoreLevel(str(folder), patterns))
        ignore_levels = [
            IgnoreLevel(str(folder), PatternSet(read_patterns(folder / ".ignore")))
            for folder in reversed(chain)
        ]
        return cls(
            [level for level in git_levels if level.patterns],
            [level for level in ignore_levels if level.patterns],
        )

    def child(self, directory: str, names: Container[str] | None = None) -> GitIgnore:
        """What applies inside ``directory`` (absolute), a subdirectory of this one's.

        ``names``, the directory's entries when it has been listed, spares opening the
        ignore files it does not hold.
        """
        git_patterns = PatternSet(
            read_patterns(Path(directory, ".gitignore"))
            if names is None or ".gitignore" in names
            else ()
        )
        ignore_patterns = PatternSet(
            read_patterns(Path(directory, ".ignore")) if names is None or ".ignore" in names else ()
        )
        if not git_patterns and not ignore_patterns:
            return self
        git_levels = self.git_levels
        if git_patterns:
            git_levels = (*git_levels, IgnoreLevel(directory, git_patterns))
        ignore_levels = self.ignore_levels
        if ignore_patterns:
            ignore_levels = (*ignore_levels, IgnoreLevel(directory, ignore_patterns))
        return GitIgnore(git_levels, ignore_levels)

    def ignores(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` (absolute) is ignored: by the deepest ``.ignore`` file with a
        matching pattern, else by the deepest of git's files with one."""
        verdict = _deepest_verdict(self.ignore_levels, path, is_dir)
        if verdict is None:
            verdict = _deepest_verdict(self.git_levels, path, is_dir)
        return bool(verdict)


def _deepest_verdict(levels: Sequence[IgnoreLevel], path: str, is_dir: bool) -> bool | None:
    """The verdict of the deepest level with a pattern that matches ``path`` (absolute), as
    :meth:`PatternSet.match`; None when no level has one."""
    for level in reversed(levels):
        base = level.base.rstrip("/")
        if not path.startswith(base + "/"):
            continue
        verdict = level.patterns.match(path[len(base) + 1 :], is_dir)
        if verdict is not None:
            return verdict
    return None
