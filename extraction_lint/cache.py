"""The result cache: a file's result, keyed so that it is reused only when nothing that
could change it has changed.

The key of an entry hashes the file's bytes, the path it is reported under, the options in
force for it (enabled codes after ``per-file-ignores``, catalogue extensions,
``bounded-range-limit``) and the tool itself (its version and the size and modification
time of each of its source files, so that an upgrade or an edit never serves a stale
result). Entries are written atomically (a temporary file renamed into place) in a
directory tagged with ``CACHEDIR.TAG`` and holding its own ``.gitignore``; an entry that
cannot be read or decoded is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from extraction_lint import __version__
from extraction_lint.diagnostics import Diagnostic, FileError, FileResult

#: Where the cache lives when neither ``--cache-dir`` nor this variable says otherwise:
#: ``.extraction_lint_cache`` next to the configuration file (or in the current directory).
CACHE_DIR_ENV = "EXTRACTION_LINT_CACHE_DIR"
DEFAULT_DIRNAME = ".extraction_lint_cache"
#: Bumped when the layout of entries changes.
FORMAT = "1"

_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by extraction-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@cache
def tool_fingerprint() -> str:
    """The version and the state of every source file of the package."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(f"{__version__}|{FORMAT}".encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


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


def result_from_json(data: dict[str, Any]) -> FileResult:
    """Inverse of :func:`result_to_json`; raises on malformed data."""
    error = data["error"]
    return FileResult(
        path=data["path"],
        diagnostics=tuple(Diagnostic.from_dict(d) for d in data["diagnostics"]),
        error=FileError(**error) if error is not None else None,
        skipped=bool(data["skipped"]),
        suppressed=int(data["suppressed"]),
        dependencies=tuple((str(p), str(d)) for p, d in data.get("dependencies", ())),
    )


class ResultCache:
    """File results stored under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries = directory / f"v{FORMAT}"
        self._writable: bool | None = None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(data: bytes, display: str, options: str) -> str:
        """The key of one file's result under these options."""
        digest = hashlib.blake2b(digest_size=20)
        for part in (tool_fingerprint(), display, options):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self._entries / key[:2] / f"{key}.json"

    def get(self, key: str) -> FileResult | None:
        """The stored result, or None (missing, unreadable or corrupt)."""
        try:
            with self._path(key).open("rb") as handle:
                result = result_from_json(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, key: str, result: FileResult) -> None:
        """Store a result; a cache that cannot be written is silently left alone."""
        if self._writable is None:
            self._writable = self._prepare()
        if not self._writable:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(result_to_json(result), handle)
            os.replace(temporary, path)
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
                ignore.write_text("# Created by extraction-lint.\n*\n", encoding="utf-8")
        except OSError:
            return False
        return True
