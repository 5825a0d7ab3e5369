"""Runs the engine over the discovered files: cache lookups, worker processes, and results
yielded in the order of the files, whatever order the workers finish in.

Workers receive small batches of files and return plain results; at most a few batches per
worker are in flight, so memory does not grow with the tree. A worker that dies (a crash
in a native parser, an out-of-memory kill) costs only the files it was checking: each of
them is checked again alone in a fresh process, and a file that kills that process too is
reported as EXL999. The run goes on and never waits on a dead worker.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from extraction_lint.analysis.project import (
    MISSING_DIRECTORY,
    NAMING,
    RUN_FILES,
    digest_of,
    file_digest,
    names_word,
    searchable,
    set_run_files,
)
from extraction_lint.cache import FileHistory, ResultCache, content_digest
from extraction_lint.config import Config, code_matches
from extraction_lint.diagnostics import FileError, FileResult
from extraction_lint.discovery import SourceFile, is_notebook
from extraction_lint.options import CheckOptions

if TYPE_CHECKING:
    # The process pool (and multiprocessing) is imported when a run starts workers: a
    # one-file run in this process does without.
    from concurrent.futures import Future, ProcessPoolExecutor

#: Files per batch sent to a worker: big enough to amortise the round trip, small enough
#: to keep both cores busy to the end of a run.
BATCH_SIZE = 8
#: Batches in flight per worker.
BATCHES_PER_WORKER = 3


@dataclass(frozen=True)
class Job:
    """One file to check with the options in force for it (and its bytes, once read)."""

    file: SourceFile
    options: CheckOptions
    data: bytes | None = None


#: From this size a file is checked in a process of its own even with ``--jobs 1``: its
#: analysis takes about 12 KB a line, and libcst's native parser aborts the whole process
#: when an allocation fails (a 400,000-line file under a 3 GB limit), so the file must cost
#: itself, not the run's report.
LARGE_FILE_BYTES = 1 << 20

#: The most bytes of changed files kept for looking up names in a warm run.
CHANGED_TEXT_BYTES = 64 << 20

#: The most worker processes a run starts, whatever ``--jobs`` asks.
MAX_JOBS = 64


def worker_count(requested: int, files: int) -> int:
    """Workers for ``files`` files: never more than the files, nor than :data:`MAX_JOBS`
    (each worker is a process with its own interpreter)."""
    return max(1, min(requested, files, MAX_JOBS))


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def tune_gc() -> None:
    """Collect cycles rarely: a file's trees and analysis are freed as soon as it is
    checked (the analysis breaks its own cycles, ``ModuleAnalysis.release``), so a
    collection finds little, and while a file is checked its trees are live: each
    collection would rescan them. On the benchmark corpus this takes the collector from
    22 s to 4 s of a run, at the same peak memory."""
    gc.set_threshold(500_000, 20, 20)


def options_for(config: Config, base: CheckOptions, file: SourceFile) -> CheckOptions:
    """The run's options minus what ``per-file-ignores`` switches off for this file."""
    ignored = config.ignored_for(file.path)
    if not ignored:
        return base
    enabled = frozenset(
        code for code in base.enabled if not any(code_matches(p, code) for p in ignored)
    )
    return replace(base, enabled=enabled)


def run_job(job: Job) -> FileResult:
    """Check one file (in this process)."""
    from extraction_lint.engine import check_path, check_source

    file = job.file
    if file.error is not None:
        return FileResult(path=file.display, error=FileError(file.display, file.error))
    if is_notebook(file.display):
        return _run_notebook(job)
    if job.data is not None:
        return check_source(job.data, file.display, job.options, file.path)
    return check_path(file.path, file.display, job.options)


def _run_notebook(job: Job) -> FileResult:
    """A notebook's code cells, checked as one module (notebook.py)."""
    from extraction_lint.engine import check_source
    from extraction_lint.notebook import check_notebook

    display, data = job.file.display, job.data
    if data is None:
        if not job.file.path.is_file():
            return FileResult(path=display, error=FileError(display, "cannot read: not a file"))
        try:
            data = job.file.path.read_bytes()
        except OSError as error:
            reason = error.strerror or str(error)
            return FileResult(path=display, error=FileError(display, f"cannot read: {reason}"))
    path = job.file.path
    return check_notebook(
        data, display, lambda source: check_source(source, display, job.options, path)
    )


def _is_large(job: Job) -> bool:
    """Whether the file is large enough to check in a process of its own."""
    if job.data is not None:
        return len(job.data) >= LARGE_FILE_BYTES
    try:
        return job.file.path.stat().st_size >= LARGE_FILE_BYTES
    except OSError:
        return False  # the check reports why it cannot be read


def run_batch(jobs: Sequence[Job]) -> list[FileResult]:
    """Check a batch of files (the unit of work of a worker process)."""
    return [run_job(job) for job in jobs]


def _worker_init(
    file_memory: int | None = None, run_id: str = "", run_files: Sequence[str] = ()
) -> None:
    tune_gc()
    if run_id:
        set_run_files(run_id, run_files)
    if file_memory:
        limit_address_space(file_memory)


def default_file_memory() -> int | None:
    """The memory a process that checks files may take by default: half of this machine's
    (or of its control group's limit, when lower), at least 2 GiB (None where the system
    does not say): one huge file must not take the machine. It is address space, of which
    the checking thread's reserved stack takes 512 MiB before any file is read."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None
    if total <= 0:
        return None
    limit = cgroup_memory_limit()
    if limit is not None:
        total = min(total, limit)
    return max(total // 2, 2 * 2**30)


def cgroup_memory_limit(
    membership: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup"
) -> int | None:
    """The memory limit of this process's control group (Linux, v1 or v2), or None.

    In a container or a job scheduler's cgroup the machine's memory is not what the job
    may use: the limit is read from the group's own files, ``memory.max`` (v2) or
    ``memory.limit_in_bytes`` (v1), the group and the groups above it. ``membership`` and
    ``root``: where the system shows this process's groups and mounts their files.
    """
    try:
        with open(membership, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    candidates: list[str] = []
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if controllers == "":  # v2
            base, name = root, "memory.max"
        elif "memory" in controllers.split(","):  # v1
            base, name = f"{root}/memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.split("/") if part]
        for depth in range(len(parts), -1, -1):
            candidates.append("/".join([base, *parts[:depth], name]))
    limits = []
    for candidate in candidates:
        try:
            with open(candidate, encoding="ascii") as handle:
                text = handle.read().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit() and int(text) < 2**62:  # v1 writes about 2**63 for none
            limits.append(int(text))
    return min(limits) if limits else None


def limit_address_space(size: int) -> None:
    """Cap this process's address space at ``size`` bytes (never raising a lower limit
    already set). An allocation past it fails: a MemoryError in Python, an abort in
    libcst's native parser, either of which costs the file being checked (see
    :meth:`Runner._alone`)."""
    try:
        import resource
    except ImportError:  # not on a Unix
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    if soft != resource.RLIM_INFINITY and soft <= size:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (size, hard))


def _size(size: int) -> str:
    from extraction_lint.guardrails.units import format_bytes

    return format_bytes(size)


def _read(job: Job) -> Job:
    """The job with its file's bytes, or unchanged when they cannot be read here (the
    engine then reports why)."""
    if job.file.error is not None:
        return job
    try:
        if not os.path.isfile(job.file.path):
            return job
        with open(job.file.path, "rb") as handle:
            return replace(job, data=handle.read())
    except OSError:
        return job


class _Slot:
    """A place in the output order: a result already known, or a batch being checked."""

    def __init__(
        self,
        results: list[FileResult] | None = None,
        future: Future[list[FileResult]] | None = None,
        jobs: Sequence[Job] = (),
        keys: Sequence[str | None] = (),
    ) -> None:
        self.results = results
        self.future = future
        self.jobs = jobs
        self.keys = keys


class Runner:
    """Checks files with ``jobs`` worker processes (1: in this process) and a cache."""

    def __init__(
        self, config: Config, base: CheckOptions, *, jobs: int = 1, cache: ResultCache | None = None
    ) -> None:
        self.config = config
        self.base = base
        self.jobs = max(1, jobs)
        self.cache = cache
        self._pool: ProcessPoolExecutor | None = None
        #: Digests of the modules cached results depend on, read once per run.
        self._digests: dict[str, str] = {}
        #: Whether each directory cached results depend on the absence of exists.
        self._directories: dict[str, bool] = {}
        #: The Python files of the run (where callers are looked for, SPEC 2.5).
        self._run_files: tuple[str, ...] = ()
        #: The digest of the bytes of each file of the run read so far (absolute path).
        self._contents: dict[str, str] = {}
        #: When each file last changed, for results that depend on which files name a
        #: function (read when the cache is used).
        self._history: FileHistory | None = None
        #: The files of the run with the stamp of the run that first saw their bytes.
        self._stamps: dict[str, int] | None = None
        #: (name, stamp) -> whether a file changed after that run names it.
        self._named: dict[tuple[str, int], bool] = {}
        #: The files of the run changed after each stamp asked about.
        self._changed_after: dict[int, list[str]] = {}
        #: The text of files changed since a result was written, read once for its names.
        self._changed_text: dict[str, bytes] = {}
        self._changed_bytes = 0

    # --- the pool --------------------------------------------------------------------------

    def _submit(self, jobs: list[Job]) -> Future[list[FileResult]]:
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                initializer=_worker_init,
                initargs=(self.base.file_memory, self.base.run_id, self._run_files),
            )
        return self._pool.submit(run_batch, jobs)

    def _restart_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _alone(self, job: Job) -> FileResult:
        """Check one file in a process of its own; a crash there is the file's."""
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        memory = job.options.file_memory
        with ProcessPoolExecutor(
            max_workers=1,
            initializer=_worker_init,
            initargs=(memory, self.base.run_id, self._run_files),
        ) as pool:
            try:
                return pool.submit(run_batch, [job]).result()[0]
            except BrokenProcessPool:
                display = job.file.display
                message = "cannot check: the checker process died while checking this file"
                if memory:
                    message += (
                        f" (if it ran out of memory: per-file-memory is {_size(memory)}, and "
                        "the analysis takes about 12 KB a line)"
                    )
                # A crash may come from this machine's state (memory): check it again.
                return FileResult(path=display, error=FileError(display, message), transient=True)

    # --- the run ---------------------------------------------------------------------------

    def _collect(self, slot: _Slot) -> list[FileResult]:
        if slot.results is not None:
            return slot.results
        assert slot.future is not None
        from concurrent.futures.process import BrokenProcessPool

        try:
            results = slot.future.result()
        except BrokenProcessPool:
            # A worker died: the pool is gone. Check this batch's files one by one, alone.
            self._restart_pool()
            results = [self._alone(job) for job in slot.jobs]
        for key, result in zip(slot.keys, results, strict=True):
            self._store(key, result)
        return results

    @staticmethod
    def _searched(result: FileResult) -> bool:
        """Whether the result depends on which files name a function."""
        return any(path.startswith(NAMING) for path, _ in result.dependencies)

    def _store(self, key: str | None, result: FileResult, *, refresh: bool = False) -> None:
        """Keep a result in the cache; a dependency on the files naming a function gets
        this run's stamp (the files changed after it are the ones to look at again).
        ``refresh``: a hit stored again with this stamp."""
        if self.cache is None or key is None or result.transient:
            return
        if self._history is not None and self._searched(result):
            stamp = str(self._history.stamp)
            dependencies = tuple(
                (path, stamp if path.startswith(NAMING) else digest)
                for path, digest in result.dependencies
            )
            result = replace(result, dependencies=dependencies)
        self.cache.put(key, result, refresh=refresh)

    def run(self, files: Iterable[SourceFile]) -> Iterator[FileResult]:
        """Check every file, yielding results in the order of ``files``."""
        files = files if isinstance(files, list | tuple) else list(files)
        # Notebooks too: their cells may call the project's functions (SPEC 2.5).
        self._run_files = tuple(
            os.path.normpath(os.path.abspath(f.path)) for f in files if f.error is None
        )
        if self.base.run_id:
            set_run_files(self.base.run_id, self._run_files)
        if self.jobs == 1:
            tune_gc()
        if self.cache is not None:
            self._history = FileHistory(self.cache)
        slots: deque[_Slot] = deque()
        batch: list[Job] = []
        keys: list[str | None] = []
        in_flight_limit = self.jobs * BATCHES_PER_WORKER

        def dispatch() -> None:
            if not batch:
                return
            if self.jobs == 1:
                slot = _Slot(
                    results=[self._alone(job) if _is_large(job) else run_job(job) for job in batch]
                )
                for key, result in zip(keys, slot.results or [], strict=True):
                    self._store(key, result)
            else:
                slot = _Slot(future=self._submit(list(batch)), jobs=list(batch), keys=list(keys))
            slots.append(slot)
            batch.clear()
            keys.clear()

        try:
            for file in files:
                job = Job(file, options_for(self.config, self.base, file))
                key = None
                if self.cache is not None:
                    job = _read(job)
                    if job.data is not None:
                        where = os.path.normpath(os.path.abspath(file.path))
                        # Read ahead for a caller check, its bytes are digested already.
                        digest = self._contents.get(where) or content_digest(job.data)
                        self._contents[where] = digest
                        key = self.cache.key(digest, file.display, job.options.fingerprint())
                        hit = self.cache.get(key)
                        if hit is not None and not self._still_valid(hit):
                            hit = None  # a module it depends on changed (SPEC 2.6)
                        if hit is not None and self._searched(hit):
                            # Still valid now: dated now, so later runs look only at the
                            # files changed from here on.
                            self._store(key, hit, refresh=True)
                        if hit is not None:
                            if batch:
                                dispatch()
                            slots.append(_Slot(results=[hit]))
                            yield from self._drain(slots, in_flight_limit, block=False)
                            continue
                batch.append(job)
                keys.append(key)
                if len(batch) >= (BATCH_SIZE if self.jobs > 1 else 1):
                    dispatch()
                yield from self._drain(slots, in_flight_limit, block=False)
            dispatch()
            yield from self._drain(slots, 0, block=True)
            if self.cache is not None:
                self.cache.finish()
            if self._history is not None:
                for path, digest in self._contents.items():
                    self._history.stamp_of(path, digest)
                self._history.save()
        finally:
            self.close()

    def _still_valid(self, result: FileResult) -> bool:
        """Whether every module a cached result depended on is as it was, and no file of
        the run that changed since it was written names a function whose callers it
        looked for."""
        for path, digest in result.dependencies:
            if path.startswith(NAMING):
                if not digest.isdigit() or self._named_since(path[len(NAMING) :], int(digest)):
                    return False
                continue
            if digest == MISSING_DIRECTORY:
                known = self._directories.get(path)
                if known is None:
                    known = self._directories[path] = os.path.isdir(path)
                if known:
                    return False
                continue
            current = self._digests.get(path)
            if current is None and path == RUN_FILES:
                listed = "\n".join(sorted(self._run_files)).encode()
                current = self._digests[path] = digest_of(listed)
            if current is None:
                current = self._digests[path] = file_digest(path)
            if current != digest:
                return False
        return True

    def _named_since(self, name: str, stamp: int) -> bool:
        """Whether a file of the run whose bytes changed after the run ``stamp`` names
        ``name`` (it may have become a caller)."""
        known = self._named.get((name, stamp))
        if known is None:
            known = self._named[name, stamp] = self._look_for(name, stamp)
        return known

    def _look_for(self, name: str, stamp: int) -> bool:
        if self._stamps is None:
            assert self._history is not None
            self._stamps = {}
            for path in self._run_files:
                digest = self._contents.get(path)
                if digest is None:
                    # Not reached yet in this run: read now (its turn reads it again).
                    try:
                        with open(path, "rb") as handle:
                            digest = self._contents[path] = content_digest(handle.read())
                    except OSError:
                        continue
                self._stamps[path] = self._history.stamp_of(path, digest)
        changed = self._changed_after.get(stamp)
        if changed is None:
            changed = self._changed_after[stamp] = [
                path for path, when in self._stamps.items() if when > stamp
            ]
        for path in changed:
            text = self._changed_text.get(path)
            if text is None:
                try:
                    with open(path, "rb") as handle:
                        text = searchable(path, handle.read())
                except OSError:
                    continue
                if self._changed_bytes + len(text) <= CHANGED_TEXT_BYTES:
                    # Kept for the next name: a few files changed, many names asked.
                    self._changed_text[path] = text
                    self._changed_bytes += len(text)
            if names_word(text, name):
                return True
        return False

    def _drain(self, slots: deque[_Slot], keep: int, *, block: bool) -> Iterator[FileResult]:
        """Yield finished results from the front, in order; wait for the oldest batch while
        more than ``keep`` batches are in flight (or for all, when ``block``)."""
        while slots:
            front = slots[0]
            in_flight = sum(1 for s in slots if s.future is not None)
            done = front.results is not None or (front.future is not None and front.future.done())
            if not (done or block or in_flight > keep):
                return
            slots.popleft()
            yield from self._collect(front)
