"""Fingerprints of findings and the baseline file (SPEC 3, adopting on existing code).

A finding's fingerprint hashes its code, the source of the construct it flags with every
run of whitespace made one space, and its occurrence index among the findings of the same
file with the same code and source. The line number is not part of it, so editing a file
above a finding (or anywhere outside the flagged construct) leaves the fingerprint as it
was. The baseline pairs each fingerprint with the file's path relative to the baseline
file, so it reads the same from any working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from extraction_lint.diagnostics import Diagnostic, FileResult

#: Line breaks as libcst counts them, so that positions match.
_NEWLINE = re.compile(r"\r\n?|\n")
_WHITESPACE = re.compile(r"\s+")
#: Written into and expected in every baseline file.
BASELINE_VERSION = 1
#: A baseline larger than this is not a baseline (and is not read into memory).
MAX_BASELINE_BYTES = 256 * 1024 * 1024
_FINGERPRINT = re.compile(r"[0-9a-f]{32}\Z")


def flagged_source(lines: Sequence[str], diagnostic: Diagnostic) -> str:
    """The source of the flagged range, whitespace runs collapsed to one space."""
    first = diagnostic.line
    last = min(max(diagnostic.end_line, first), len(lines))
    if not 1 <= first <= last:
        return ""
    chunk = list(lines[first - 1 : last])
    if diagnostic.end_line == last and (last > first or diagnostic.end_column > diagnostic.column):
        chunk[-1] = chunk[-1][: max(0, diagnostic.end_column - 1)]
    chunk[0] = chunk[0][max(0, diagnostic.column - 1) :]
    return _WHITESPACE.sub(" ", " ".join(chunk)).strip()


def _digest(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def with_fingerprints(diagnostics: Iterable[Diagnostic], text: str) -> list[Diagnostic]:
    """The diagnostics of one file, each with its fingerprint set."""
    lines = _NEWLINE.split(text)
    seen: Counter[tuple[str, str]] = Counter()
    out = []
    for diagnostic in diagnostics:
        source = flagged_source(lines, diagnostic)
        occurrence = seen[diagnostic.code, source]
        seen[diagnostic.code, source] += 1
        fingerprint = _digest(diagnostic.code, source, str(occurrence))
        out.append(replace(diagnostic, fingerprint=fingerprint))
    return out


def location_fingerprint(path: str, diagnostic: Diagnostic) -> str:
    """The fingerprint with the path folded in (SARIF ``partialFingerprints``)."""
    return _digest(PurePosixPath(path).as_posix(), diagnostic.fingerprint)


class BaselineError(Exception):
    """A baseline file that cannot be read or used; the message names the file."""


def _relative(display: str, base: Path) -> str:
    """A reported path as the baseline stores it: relative to ``base``, ``/``-separated."""
    absolute = os.path.abspath(display)
    try:
        return PurePosixPath(Path(os.path.relpath(absolute, base))).as_posix()
    except ValueError:  # another drive
        return PurePosixPath(Path(absolute)).as_posix()


@dataclass
class Baseline:
    """The findings accepted when the baseline was written, as (path, code, fingerprint)."""

    path: Path
    entries: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: Findings of the current run that the baseline accepted.
    matched: int = 0

    @property
    def base(self) -> Path:
        """The directory baseline paths are relative to."""
        return Path(os.path.abspath(self.path)).parent

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """Read and validate a baseline written by :meth:`write`."""
        try:
            with open(path, "rb") as handle:
                if not os.path.isfile(path):
                    raise BaselineError(f"{path}: not a regular file")
                raw = handle.read(MAX_BASELINE_BYTES + 1)
        except OSError as error:
            raise BaselineError(f"{path}: cannot read: {error.strerror or error}") from None
        if len(raw) > MAX_BASELINE_BYTES:
            raise BaselineError(f"{path}: larger than {MAX_BASELINE_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise BaselineError(f"{path}: not a baseline (invalid JSON: {reason})") from None
        if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
            raise BaselineError(
                f"{path}: not a baseline of this tool (expected an object with "
                f'"version": {BASELINE_VERSION}; write one with --write-baseline)'
            )
        findings = data.get("findings")
        if not isinstance(findings, list):
            raise BaselineError(f'{path}: "findings" must be a list')
        baseline = cls(path)
        for index, entry in enumerate(findings):
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("path"), str)
                and isinstance(entry.get("code"), str)
                and isinstance(entry.get("fingerprint"), str)
                and _FINGERPRINT.match(entry["fingerprint"])
            ):
                raise BaselineError(
                    f'{path}: finding {index} needs "path", "code" and a 32-digit hex "fingerprint"'
                )
            baseline.entries[entry["path"], entry["code"], entry["fingerprint"]] += 1
        return baseline

    def filter(self, result: FileResult) -> FileResult:
        """The result without the findings the baseline accepts."""
        if not result.diagnostics or not self.entries:
            return result
        where = _relative(result.path, self.base)
        kept = []
        for diagnostic in result.diagnostics:
            key = (where, diagnostic.code, diagnostic.fingerprint)
            if self.entries[key] > 0:
                self.entries[key] -= 1
                self.matched += 1
            else:
                kept.append(diagnostic)
        if len(kept) == len(result.diagnostics):
            return result
        return replace(result, diagnostics=tuple(kept))


class BaselineWriter:
    """Collects a run's findings and writes them as a baseline file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = Path(os.path.abspath(path)).parent
        self.findings: list[dict[str, Any]] = []
        self.files: set[str] = set()

    def add(self, result: FileResult) -> None:
        """Accept every finding of one file."""
        for diagnostic in result.diagnostics:
            where = _relative(result.path, self.base)
            self.files.add(where)
            self.findings.append(
                {
                    "path": where,
                    "code": diagnostic.code,
                    "fingerprint": diagnostic.fingerprint,
                    "line": diagnostic.line,
                    "message": diagnostic.message,
                }
            )

    def write(self) -> None:
        """Write the file atomically (a temporary file renamed into place)."""
        from extraction_lint import __version__

        data = {
            "version": BASELINE_VERSION,
            "tool": f"extraction-lint {__version__}",
            "findings": sorted(self.findings, key=lambda f: (f["path"], f["line"], f["code"])),
        }
        text = json.dumps(data, indent=1, ensure_ascii=True) + "\n"
        import tempfile

        try:
            fd, temporary = tempfile.mkstemp(dir=self.base, prefix=".baseline-", suffix=".tmp")
        except OSError as error:
            raise BaselineError(
                f"{self.path}: cannot write the baseline: {error.strerror or error}"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise BaselineError(
                f"{self.path}: cannot write the baseline: {error.strerror or error}"
            ) from None
