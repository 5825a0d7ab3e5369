"""The result cache: a file's result, reused only when nothing that could change it has
changed, and never trusted further than it can be checked.

Each file has one entry per set of options: its place (the *slot*) hashes the tool
itself (its version and the size and modification time of each of its source files, so
that an upgrade or an edit never serves a stale result), the path the file is reported
under and the options in force for it; the entry records a digest of the file's bytes.
Editing a file rewrites its entry instead of adding one, so the cache does not grow with
edits. A run that wrote entries prunes the cache: entries that no run has used for
:data:`MAX_AGE_DAYS` go, and so do the least recently used when the cache is larger than
:data:`MAX_CACHE_BYTES`.

Reading an entry is defensive: regular files only (a FIFO, a device, a symbolic link are
misses), at most :data:`MAX_ENTRY_BYTES`, every field of the expected type and every code
a known rule, and a keyed digest (a secret made for this cache directory) that a file
not written by this tool, or copied from another slot, does not have. Whatever an entry
holds, a bad one is a miss, never an error. Entries are written atomically (a temporary
file renamed into place) in a directory tagged with ``CACHEDIR.TAG`` and holding its own
``.gitignore``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
import time
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from extraction_lint import __version__
from extraction_lint.atomic import write_text_atomically
from extraction_lint.diagnostics import (
    Diagnostic,
    Edit,
    FileError,
    FileResult,
    Fix,
    RelatedLocation,
)

#: Where the cache lives when neither ``--cache-dir`` nor this variable says otherwise:
#: ``.extraction_lint_cache`` next to the configuration file (or in the current directory).
CACHE_DIR_ENV = "EXTRACTION_LINT_CACHE_DIR"
DEFAULT_DIRNAME = ".extraction_lint_cache"
#: Bumped when the layout of entries changes; other layouts are removed when pruning.
FORMAT = "3"
#: The largest entry written (and so the most read): a result larger than this is not kept.
MAX_ENTRY_BYTES = 4 * 1024 * 1024
#: Entries not used by any run for this long are removed.
MAX_AGE_DAYS = 14
#: When the entries take more than this, the least recently used go first.
MAX_CACHE_BYTES = 256 * 1024 * 1024
#: The most files the history of changes keeps (the most recently changed), and the most
#: bytes it is written in (fewer files then, the most recent first).
HISTORY_FILES = 100_000
MAX_HISTORY_BYTES = 32 * 1024 * 1024
#: A hit refreshes its entry's time (its "last used") when it is older than this.
_TOUCH_AFTER_SECONDS = 3600

_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by extraction-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_GITIGNORE = "# Created by extraction-lint.\n*\n"
_SECRET_BYTES = 32


@cache
def tool_fingerprint() -> str:
    """The version and the state of every source file of the package."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(f"{__version__}|{FORMAT}".encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        digest.update(f"{path.relative_to(package)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def content_digest(data: bytes) -> str:
    """The digest of a file's bytes that its cache key holds."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def result_to_json(result: FileResult) -> dict[str, Any]:
    """A result as plain JSON data."""
    return {
        "path": result.path,
        "diagnostics": [d.to_dict() for d in result.diagnostics],
        "error": asdict(result.error) if result.error is not None else None,
        "skipped": result.skipped,
        "suppressed": result.suppressed,
        "dependencies": [list(d) for d in result.dependencies],
    }


class _Invalid(Exception):
    """An entry that does not have the shape of a result."""


def _need(condition: bool) -> None:
    if not condition:
        raise _Invalid


def _object(value: object, required: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """``value`` as a dict with exactly the ``required`` keys, each of its type, and
    perhaps a ``cell`` (a position in a notebook: a cell number, or null)."""
    _need(isinstance(value, dict) and set(value) - {"cell"} == set(required))
    assert isinstance(value, dict)
    for key, kind in required.items():
        item = value[key]
        _need(isinstance(item, kind) and not (isinstance(item, bool) and kind is int))
    cell = value.get("cell")
    _need(cell is None or (type(cell) is int and 1 <= cell < 1 << 31))
    return value


def _position(value: int) -> int:
    _need(1 <= value < 1 << 40)
    return value


def _list(value: object) -> list[Any]:
    _need(isinstance(value, list))
    assert isinstance(value, list)
    return value


_DIAGNOSTIC_FIELDS: dict[str, type | tuple[type, ...]] = {
    "code": str,
    "name": str,
    "path": str,
    "line": int,
    "column": int,
    "end_line": int,
    "end_column": int,
    "message": str,
    "related": list,
    "fix": (dict, type(None)),
    "fingerprint": str,
}
_RELATED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "line": int,
    "column": int,
    "message": str,
}
_FIX_FIELDS: dict[str, type | tuple[type, ...]] = {
    "message": str,
    "applicability": str,
    "edits": list,
}
_EDIT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "line": int,
    "column": int,
    "end_line": int,
    "end_column": int,
    "content": str,
}
_ERROR_FIELDS: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "message": str,
    "line": int,
    "column": int,
}


def _diagnostic(value: object, path: str) -> Diagnostic:
    from extraction_lint.rules import RULES_BY_CODE

    data = _object(value, _DIAGNOSTIC_FIELDS)
    rule = RULES_BY_CODE.get(data["code"])
    _need(rule is not None and rule.name == data["name"] and data["path"] == path)
    related = tuple(
        RelatedLocation(
            r["path"], _position(r["line"]), _position(r["column"]), r["message"], r.get("cell")
        )
        for r in (_object(item, _RELATED_FIELDS) for item in _list(data["related"]))
    )
    fix = None
    if data["fix"] is not None:
        fix_data = _object(data["fix"], _FIX_FIELDS)
        _need(fix_data["applicability"] in {"safe", "unsafe"})
        edits = tuple(
            Edit(
                _position(e["line"]),
                _position(e["column"]),
                _position(e["end_line"]),
                _position(e["end_column"]),
                e["content"],
                e.get("cell"),
            )
            for e in (_object(item, _EDIT_FIELDS) for item in _list(fix_data["edits"]))
        )
        fix = Fix(fix_data["message"], edits, fix_data["applicability"])
    return Diagnostic(
        code=data["code"],
        name=data["name"],
        path=path,
        line=_position(data["line"]),
        column=_position(data["column"]),
        end_line=_position(data["end_line"]),
        end_column=_position(data["end_column"]),
        message=data["message"],
        related=related,
        fix=fix,
        cell=data.get("cell"),
        fingerprint=data["fingerprint"],
    )


def _dependency(value: object) -> tuple[str, str]:
    """A module the result depended on: [absolute path, digest of its bytes]."""
    _need(isinstance(value, list) and len(value) == 2)
    assert isinstance(value, list)
    path, digest = value
    _need(isinstance(path, str) and isinstance(digest, str))
    return path, digest


def result_from_json(data: object, path: str | None = None) -> FileResult:
    """Inverse of :func:`result_to_json`, validating every field (and, when given, that
    the result is for ``path``); raises ``ValueError`` on anything else."""
    try:
        fields = _object(
            data,
            {
                "path": str,
                "diagnostics": list,
                "error": (dict, type(None)),
                "skipped": bool,
                "suppressed": int,
                "dependencies": list,
            },
        )
        shown = fields["path"]
        _need(path is None or shown == path)
        _need(fields["suppressed"] >= 0)
        error = None
        if fields["error"] is not None:
            e = _object(fields["error"], _ERROR_FIELDS)
            _need(e["path"] == shown)
            error = FileError(
                shown, e["message"], _position(e["line"]), _position(e["column"]), e.get("cell")
            )
        return FileResult(
            path=shown,
            diagnostics=tuple(_diagnostic(d, shown) for d in fields["diagnostics"]),
            error=error,
            skipped=fields["skipped"],
            suppressed=fields["suppressed"],
            dependencies=tuple(_dependency(d) for d in fields["dependencies"]),
        )
    except _Invalid:
        raise ValueError("not a cached result") from None


def _canonical(result: dict[str, Any]) -> bytes:
    return json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a link to one) of at most
    ``limit`` bytes; None otherwise. Opening never blocks (a FIFO) and reading never
    runs past ``limit`` (a device)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


class ResultCache:
    """File results stored under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries = directory / f"v{FORMAT}"
        self._writable: bool | None = None
        self._secret: bytes | None = None
        self.hits = 0
        self.misses = 0
        self.writes = 0

    @staticmethod
    def key(digest: str, display: str, options: str) -> str:
        """The key of one file's result under these options: its slot (tool, path,
        options) and the digest of its bytes (:func:`content_digest`)."""
        slot = hashlib.blake2b(digest_size=20)
        # The absolute path too: projects that share a cache directory do not share slots.
        for part in (tool_fingerprint(), os.path.abspath(display), display, options):
            slot.update(part.encode("utf-8", "surrogatepass"))
            slot.update(b"\0")
        return f"{slot.hexdigest()}:{digest}:{display}"

    @staticmethod
    def _split(key: str) -> tuple[str, str, str]:
        slot, digest, display = key.split(":", 2)
        return slot, digest, display

    def _path(self, slot: str) -> Path:
        return self._entries / slot[:2] / f"{slot}.json"

    # --- the secret ------------------------------------------------------------------------

    def _read_secret(self) -> bytes | None:
        if self._secret is None:
            data = read_regular_file(self._entries / "secret", _SECRET_BYTES)
            if data is not None and len(data) == _SECRET_BYTES:
                self._secret = data
        return self._secret

    def _make_secret(self) -> bytes | None:
        if self._read_secret() is not None:
            return self._secret
        import secrets
        import tempfile

        target = self._entries / "secret"
        try:
            fd, temporary = tempfile.mkstemp(dir=self._entries, prefix=".secret-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(_SECRET_BYTES))
                # A link fails if another run made the secret first: then that one is used.
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, target)
            finally:
                os.unlink(temporary)
        except OSError:
            return None
        return self._read_secret()

    def _mac(self, secret: bytes, slot: str, digest: str, body: bytes) -> str:
        mac = hmac.new(secret, digestmod=hashlib.blake2b)
        mac.update(f"{FORMAT}\0{slot}\0{digest}\0".encode())
        mac.update(body)
        return mac.hexdigest()

    # --- entries ---------------------------------------------------------------------------

    def get(self, key: str) -> FileResult | None:
        """The stored result, or None (missing, unreadable, corrupt or forged)."""
        result = self._get(key)
        if result is None:
            self.misses += 1
        else:
            self.hits += 1
        return result

    def _get(self, key: str) -> FileResult | None:
        slot, digest, display = self._split(key)
        path = self._path(slot)
        raw = read_regular_file(path, MAX_ENTRY_BYTES)
        secret = self._read_secret() if raw is not None else None
        if raw is None or secret is None:
            return None
        try:
            entry = json.loads(raw.decode("utf-8"))
            if not (
                isinstance(entry, dict)
                and set(entry) == {"format", "slot", "digest", "mac", "result"}
                and entry["format"] == FORMAT
                and entry["slot"] == slot
                and entry["digest"] == digest
                and isinstance(entry["mac"], str)
            ):
                return None
            body = _canonical(entry["result"])
            if not hmac.compare_digest(entry["mac"], self._mac(secret, slot, digest, body)):
                return None
            result = result_from_json(entry["result"], display)
        except (ValueError, RecursionError, MemoryError, TypeError, KeyError):
            return None
        self._touch(path)
        return result

    @staticmethod
    def _touch(path: Path) -> None:
        """Mark an entry as used (pruning removes the entries no run has used)."""
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > _TOUCH_AFTER_SECONDS:
                os.utime(path)

    def put(self, key: str, result: FileResult, *, refresh: bool = False) -> None:
        """Store a result; a cache that cannot be written is silently left alone.
        ``refresh``: the entry is there already, only re-dated (not a write that calls
        for pruning)."""
        if self._writable is None:
            self._writable = self._prepare()
        if not self._writable:
            return
        secret = self._make_secret()
        if secret is None:
            self._writable = False
            return
        slot, digest, _ = self._split(key)
        data = result_to_json(result)
        body = _canonical(data)
        entry = {
            "format": FORMAT,
            "slot": slot,
            "digest": digest,
            "mac": self._mac(secret, slot, digest, body),
            "result": data,
        }
        text = json.dumps(entry, ensure_ascii=True)
        if len(text) > MAX_ENTRY_BYTES:
            return  # too large to be read back: not worth keeping
        path = self._path(slot)
        try:
            path.parent.mkdir(exist_ok=True)
            write_text_atomically(path, text)
            if not refresh:
                self.writes += 1
        except OSError:
            self._writable = False

    def _prepare(self) -> bool:
        try:
            self._entries.mkdir(parents=True, exist_ok=True)
            tag = self.directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(_CACHEDIR_TAG, encoding="utf-8")
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text(_GITIGNORE, encoding="utf-8")
        except OSError:
            return False
        return True

    # --- pruning ---------------------------------------------------------------------------

    def finish(self) -> None:
        """End of a run: a run that wrote entries prunes the cache (a run served wholly
        from the cache changed nothing to prune)."""
        if self.writes:
            self.prune()

    def prune(
        self, *, max_age_days: float = MAX_AGE_DAYS, max_bytes: int = MAX_CACHE_BYTES
    ) -> tuple[int, int]:
        """Remove entries unused for ``max_age_days``, then the least recently used until
        the entries take at most ``max_bytes``, and directories of other entry formats.
        Returns (entries removed, entries kept)."""
        import shutil

        removed = 0
        with contextlib.suppress(OSError):
            for child in entry_directories(self.directory):
                if child.name != f"v{FORMAT}":
                    shutil.rmtree(child, ignore_errors=True)
        entries: list[tuple[float, int, str]] = []
        limit = time.time() - max_age_days * 86400
        try:
            buckets = list(os.scandir(self._entries))
        except OSError:
            return 0, 0
        for bucket in buckets:
            if not bucket.is_dir(follow_symlinks=False):
                # A history write that a killed run left half done.
                with contextlib.suppress(OSError):
                    if _is_temporary(bucket.name) and bucket.stat().st_mtime < time.time() - 3600:
                        removed += _remove(bucket.path)
                continue
            try:
                items = list(os.scandir(bucket.path))
            except OSError:
                continue
            for item in items:
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                stale_temporary = _is_temporary(item.name) and st.st_mtime < time.time() - 3600
                if st.st_mtime < limit or stale_temporary or not stat.S_ISREG(st.st_mode):
                    removed += _remove(item.path)
                elif item.name.endswith(".json"):
                    entries.append((st.st_mtime, st.st_size, item.path))
        total = sum(size for _, size, _ in entries)
        entries.sort()
        kept = len(entries)
        for _, size, path in entries:
            if total <= max_bytes:
                break
            removed += _remove(path)
            total -= size
            kept -= 1
        return removed, kept


def _remove(path: str) -> int:
    import shutil

    try:
        os.unlink(path)
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)
    except OSError:
        return 0
    return 1


def entry_directories(directory: Path) -> list[Path]:
    """The entry directories of every format (``v1``, ``v2``, ...) in a cache directory:
    nothing else in it is the cache's, since ``--cache-dir`` may name a directory that
    already holds other files."""
    return [
        child
        for child in directory.iterdir()
        if child.name[:1] == "v"
        and child.name[1:].isdigit()
        and child.is_dir()
        and not child.is_symlink()
    ]


def remove_cache(directory: Path) -> list[str]:
    """Remove what this tool put in ``directory`` (entries, tag, ``.gitignore``), then the
    directory if nothing else is left; returns the names of what was left."""
    import shutil

    with contextlib.suppress(OSError):
        for child in entry_directories(directory):
            shutil.rmtree(child, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.unlink(directory / "CACHEDIR.TAG")
    ignore = read_regular_file(directory / ".gitignore", 4096)
    if ignore == _GITIGNORE.encode("utf-8"):
        with contextlib.suppress(OSError):
            os.unlink(directory / ".gitignore")
    try:
        left = sorted(child.name for child in directory.iterdir())
    except OSError:
        return []
    if not left:
        with contextlib.suppress(OSError):
            directory.rmdir()
    return left


def is_cache_directory(path: Path) -> bool:
    """Whether ``path`` is a cache directory this tool made (it holds our tag)."""
    tag = read_regular_file(path / "CACHEDIR.TAG", 4096)
    return tag is not None and tag.decode("utf-8", "replace").startswith(_CACHEDIR_TAG[:44])


class FileHistory:
    """When each file of past runs last changed, as a run's *stamp*: a result that
    depends on which files name a function (SPEC 2.5, callers) records the stamp of the
    run that wrote it, and is still valid only if no file changed since names it again.

    Kept in the cache directory, keyed like the entries, so a forged or damaged history is
    read as empty: every file then counts as changed in this run, which only costs a
    re-check."""

    def __init__(self, cache: ResultCache) -> None:
        self._cache = cache
        self._path = cache._entries / "history"
        self._files: dict[str, tuple[str, int]] = {}
        past = 0
        raw = read_regular_file(self._path, MAX_HISTORY_BYTES)
        secret = cache._read_secret() if raw is not None else None
        if raw is not None and secret is not None:
            with contextlib.suppress(ValueError, TypeError, KeyError, RecursionError):
                entry = json.loads(raw.decode("utf-8"))
                body = _canonical(entry["files"])
                mac = cache._mac(secret, "history", str(entry["stamp"]), body)
                if hmac.compare_digest(entry["mac"], mac) and isinstance(entry["stamp"], int):
                    past = entry["stamp"]
                    self._files = {
                        path: (digest, stamp)
                        for path, (digest, stamp) in entry["files"].items()
                        if isinstance(digest, str) and isinstance(stamp, int)
                    }
        #: This run's stamp: after every earlier run's, the clock's milliseconds at least,
        #: so that a lost history still dates every file after the entries written.
        self.stamp = max(past + 1, time.time_ns() // 1_000_000)
        self._changed = False

    def stamp_of(self, path: str, digest: str) -> int:
        """The stamp of the run that first saw ``path`` with these bytes (this run's when
        they are new), recorded for the next runs."""
        known = self._files.get(path)
        if known is not None and known[0] == digest:
            return known[1]
        self._files[path] = (digest, self.stamp)
        self._changed = True
        return self.stamp

    def save(self) -> None:
        """Write the history back when this run saw a change (silently not, when the cache
        cannot be written)."""
        if not self._changed:
            return
        cache = self._cache
        if cache._writable is None:
            cache._writable = cache._prepare()
        secret = cache._make_secret() if cache._writable else None
        if secret is None:
            return
        known = sorted(self._files.items(), key=lambda item: -item[1][1])
        # The most recently changed first: a path left out counts as changed next time.
        keep = HISTORY_FILES
        while True:
            files = {path: list(entry) for path, entry in known[:keep]}
            body = _canonical(files)
            mac = cache._mac(secret, "history", str(self.stamp), body)
            text = json.dumps({"stamp": self.stamp, "files": files, "mac": mac})
            if len(text) <= MAX_HISTORY_BYTES or keep < 2:
                break
            keep //= 2  # paths longer than usual: fewer of them, so that it reads back
        with contextlib.suppress(OSError):
            write_text_atomically(self._path, text)


def _is_temporary(name: str) -> bool:
    """A file :func:`~extraction_lint.atomic.write_text_atomically` writes before renaming."""
    return name.startswith(".") and name.endswith(".tmp")
