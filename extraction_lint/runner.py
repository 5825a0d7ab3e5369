"""Runs the engine over the discovered files and yields results in a deterministic order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from extraction_lint.config import Config
from extraction_lint.diagnostics import FileError, FileResult
from extraction_lint.discovery import SourceFile
from extraction_lint.engine import CheckOptions, check_path


@dataclass(frozen=True)
class Job:
    """One file to check with the options in force for it."""

    file: SourceFile
    options: CheckOptions


def options_for(config: Config, base: CheckOptions, file: SourceFile) -> CheckOptions:
    """The run's options minus what ``per-file-ignores`` switches off for this file."""
    ignored = config.ignored_for(file.path)
    if not ignored:
        return base
    enabled = frozenset(
        code for code in base.enabled if not any(code.startswith(p) for p in ignored)
    )
    return replace(base, enabled=enabled)


def run_job(job: Job) -> FileResult:
    """Check one file (the unit of work of a worker process)."""
    if job.file.error is not None:
        display = job.file.display
        return FileResult(path=display, error=FileError(display, job.file.error))
    return check_path(job.file.path, job.file.display, job.options)


def run(files: Iterable[SourceFile], config: Config, base: CheckOptions) -> Iterator[FileResult]:
    """Check every file, yielding each result as soon as it is ready, in file order."""
    for file in files:
        yield run_job(Job(file, options_for(config, base, file)))
