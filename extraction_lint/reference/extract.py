"""``extract``: stream a directory of signal pickles into DuckDB, one file per transaction.

The incident's job done right::

    with guard(total=len(paths), label="extract", ..., watch_output=db_path) as g:
        for path in g.track(paths):
            ...read one file, check it, write it in bounded batches with its manifest row...

Memory holds one input file and one batch at a time, whatever the number of files; the
database grows after every file; a killed run, run again, skips the files the manifest
lists (same name, same SHA-256) and ends with exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath, PureWindowsPath

import duckdb

from extraction_lint.guardrails import GuardrailError, guard
from extraction_lint.guardrails.guard import Guard
from extraction_lint.guardrails.units import format_bytes

from . import rss
from .data import FILE_PATTERN
from .errors import InputFileError, SetupError, Terminated
from .records import AllocationCheck, SignalRecord, check_content, check_record, stored_bytes
from .stopping import StopSignals
from .store import Layout, Store, duckdb_memory_hint, utc_now
from .unpickle import PickleReadError, ReadLimits, hash_file, read_pickle

logger = logging.getLogger("extraction_lint.reference")

MIB = 1024**2
DEFAULT_BATCH_ROWS = 1_024
DEFAULT_BATCH_BYTES = 64 * MIB
DEFAULT_DUCKDB_MEMORY = 256 * MIB
# Below this DuckDB cannot even open a database (it pins blocks of 256 KiB).
MIN_DUCKDB_MEMORY = 8 * MIB
# One file may take this share of --memory-limit: its objects while it is unpickled, and
# its signals as float64. The rest is for the batch being written and DuckDB.
FILE_SHARE_OF_MEMORY_LIMIT = 0.5
# DuckDB's memory, when it grows with the data, stays within this share of --memory-limit.
DUCKDB_SHARE_OF_MEMORY_LIMIT = 0.5
DUCKDB_MEMORY_STEP = 64 * MIB


class OnError(Enum):
    """What to do with a file that cannot be loaded."""

    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class GuardSettings:
    """The guard's limits; ``None`` turns one off. Sizes in bytes, durations in seconds."""

    memory_limit: int | None = 2 * 1024**3
    stall_timeout: float | None = 300.0
    timeout: float | None = 12 * 3600.0
    heartbeat_every: float | None = 30.0


@dataclass(frozen=True)
class ExtractOptions:
    """Everything ``extract`` needs."""

    input_dir: Path
    db_path: Path
    pattern: str = FILE_PATTERN
    layout: Layout = Layout.WIDE
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    duckdb_memory: int | None = DEFAULT_DUCKDB_MEMORY
    #: Raise DuckDB's memory as the data needs it (``--duckdb-memory auto``, the default):
    #: from ``duckdb_memory`` up to what :func:`duckdb_memory_hint` asks for the signals
    #: seen so far, within :data:`DUCKDB_SHARE_OF_MEMORY_LIMIT` of the memory limit.
    duckdb_memory_grows: bool = False
    on_error: OnError = OnError.FAIL
    guard: GuardSettings = field(default_factory=GuardSettings)


@dataclass
class ExtractSummary:
    """What a run did. ``failure`` is the error that stopped it, if one did."""

    files: int = 0
    loaded: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    bytes_loaded: int = 0
    seconds: float = 0.0
    peak_rss: int | None = None
    largest_signal_bytes: int = 0
    #: DuckDB's memory_limit at the end of the run (it may have grown; None: its default).
    duckdb_memory: int | None = None
    failure: BaseException | None = None
    failure_file: str | None = None  # the input file being loaded when ``failure`` happened
    signals_in_table: int = 0  # rows of the data table, with the file being loaded

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        seconds = max(self.seconds, 1e-9)
        peak = "n/a" if self.peak_rss is None else f"{self.peak_rss / MIB:,.1f} MiB"
        status = "stopped" if self.failure is not None else "done"
        return (
            f"extract {status}: {self.files} files: {self.loaded} loaded, {self.skipped} skipped, "
            f"{self.failed} failed; {self.rows:,} rows in {self.seconds:.2f} s "
            f"({self.rows / seconds:,.0f} rows/s, {self.bytes_loaded / 1e6 / seconds:,.1f} MB/s); "
            f"peak RSS {peak}"
        )


# pathlib's glob builds (and in Python 3.13 walks) one selector per part, recursively: a
# pattern of 500 to 1,500 parts overflows the stack. No input set is nested that deep.
MAX_PATTERN_PARTS = 100
# A pattern in a message is cut to this many characters: a bad argument is not echoed whole.
SHOWN_PATTERN_CHARS = 60


def shown_pattern(pattern: str) -> str:
    """``pattern`` quoted for a message, cut short with its length when it is long."""
    if len(pattern) <= SHOWN_PATTERN_CHARS:
        return repr(pattern)
    return f"{pattern[:SHOWN_PATTERN_CHARS]!r}... ({len(pattern):,} characters)"


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a glob relative to the input directory that can select files in it.

    Raises ``ValueError`` saying what is wrong otherwise: empty, with a NUL, absolute,
    with a ``..`` part, naming the directory itself, selecting directories only (a last
    part ``''``, ``'.'`` or ``'**'``), with a ``**`` that is not a whole part or twice in a
    row, too deep, or not a glob pathlib accepts. The checks are on the pattern's meaning,
    the same under Python 3.11 to 3.13, whose pathlib differ on several of these.
    """
    shown = shown_pattern(pattern)
    if not pattern.strip():
        raise ValueError(f"{shown} is empty; give a glob such as '*.pkl' or 'sub/*.pkl'")
    if "\x00" in pattern:
        raise ValueError(f"{shown} contains a NUL character, which no file name can hold")
    if (
        PurePosixPath(pattern).is_absolute()
        or PureWindowsPath(pattern).is_absolute()
        or pattern.startswith("~")
    ):
        raise ValueError(
            f"{shown} is absolute; give it relative to DIR (such as '*.pkl'), "
            "and the directory as DIR"
        )
    parts = pattern.split("/")
    if ".." in parts:
        raise ValueError(f"{shown} leaves DIR ('..'); files are read from DIR only")
    # pathlib drops empty and '.' parts inside a pattern, as the system does inside a path.
    named = [part for part in parts if part not in ("", ".")]
    if not named:
        raise ValueError(f"{shown} names DIR itself, not files in it; give a glob such as '*.pkl'")
    if parts[-1] == "":
        raise ValueError(
            f"{shown} ends in '/', so it selects directories only; end it with a file "
            "part such as '*.pkl'"
        )
    if parts[-1] == ".":
        last = max(at for at, part in enumerate(parts) if part not in ("", "."))
        without_dots = "/".join(parts[: last + 1])
        raise ValueError(
            f"{shown} ends in '/.', which names a directory (pathlib's glob drops it); "
            f"write {shown_pattern(without_dots)} for what it matches"
        )
    if parts[-1] == "**":
        raise ValueError(
            f"{shown} ends in '**', which selects directories only before Python 3.13 (and "
            "files too from 3.13); write '**/*' for every file, '**/*.pkl' for the pickles"
        )
    if any("**" in part and part != "**" for part in named):
        raise ValueError(
            f"{shown} is not a valid glob: '**' can only be a whole part, as in '**/*.pkl'"
        )
    if any(part == following == "**" for part, following in itertools.pairwise(named)):
        raise ValueError(
            f"{shown} repeats '**' ('**/**' selects what '**' does, and Python 3.11 walks "
            "the tree over again for each one); write it once"
        )
    if len(named) > MAX_PATTERN_PARTS:
        raise ValueError(
            f"{shown} has {len(named):,} parts, more than {MAX_PATTERN_PARTS} "
            "(pathlib's glob recurses once per part)"
        )
    try:
        # Whatever else pathlib refuses: it checks a pattern when the glob starts, so start
        # one that finds nothing.
        next(Path("/nonexistent-directory").glob(pattern), None)
    except (ValueError, NotImplementedError) as error:
        raise ValueError(f"{shown} is not a valid glob: {error}") from None
    return pattern


def input_files(directory: Path, pattern: str) -> list[Path]:
    """The files to load, in name order; :class:`SetupError` when there are none."""
    try:
        check_pattern(pattern)
    except ValueError as error:
        raise SetupError(f"--pattern {error}") from None
    if not directory.is_dir():
        raise SetupError(f"input directory {str(directory)!r} does not exist or is not a directory")
    try:
        paths = sorted(path for path in directory.glob(pattern) if path.is_file())
    except (ValueError, NotImplementedError) as error:  # pathlib refusing what it walks into
        raise SetupError(
            f"--pattern {shown_pattern(pattern)} is not a valid glob: {error}"
        ) from None
    except OSError as error:
        raise SetupError(
            f"cannot list the files matching --pattern {shown_pattern(pattern)} in "
            f"{str(directory)!r}: {error.strerror or error}"
        ) from None
    if not paths:
        raise SetupError(f"no files matching {shown_pattern(pattern)} in {str(directory)!r}")
    return paths


def file_limits(memory_limit: int | None, check_allocation: AllocationCheck | None) -> ReadLimits:
    """What one input file may ask of memory under ``memory_limit`` (``None``: no limit)."""
    if memory_limit is None:
        return ReadLimits(check_allocation=check_allocation)
    return ReadLimits(
        max_bytes=int(memory_limit * FILE_SHARE_OF_MEMORY_LIMIT),
        reason=f"half of --memory-limit {format_bytes(memory_limit)}",
        check_allocation=check_allocation,
    )


def read_records(
    path: Path, name: str, limits: ReadLimits | None = None
) -> tuple[int, str, list[SignalRecord]]:
    """Size, SHA-256 and checked records of one input file; :class:`InputFileError` if bad.

    ``limits`` bounds what the file may take (see :func:`file_limits`); a guardrail error
    raised meanwhile (by ``limits.check_allocation`` or the guard) passes through.
    """
    limits = limits or ReadLimits()
    try:
        content = read_pickle(path, limits)
    except PickleReadError as error:
        raise InputFileError(name, str(error)) from None
    except OSError as error:
        raise InputFileError(name, f"cannot read: {error.strerror or error}") from None
    subjects = check_content(name, content.obj)
    stored = stored_bytes(subjects)
    if limits.max_bytes is not None and stored > limits.max_bytes:
        raise InputFileError(
            name,
            f"too large: its {len(subjects):,} signals take {format_bytes(stored)} as float64, "
            f"over {format_bytes(limits.max_bytes)} ({limits.reason}); raise --memory-limit "
            "or split the file",
        )
    records = [
        check_record(name, position, key, value, limits.check_allocation)
        for position, (key, value) in enumerate(subjects.items(), start=1)
    ]
    return content.size, content.sha256, records


def check_file_name(name: str) -> None:
    """Refuse a file name the database cannot store (it keeps names as UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        readable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputFileError(
            readable,
            "the file name is not valid UTF-8, so the manifest cannot record it: rename it",
        ) from None


@dataclass
class _FileOutcome:
    rows: int = 0
    size: int = 0
    skipped: bool = False


def load_one(
    store: Store,
    path: Path,
    name: str,
    options: ExtractOptions,
    summary: ExtractSummary,
    on_batch: Callable[[int], None],
    limits: ReadLimits | None = None,
) -> _FileOutcome:
    """Load one file in its own transaction, or skip it when the manifest already has it.

    A function of its own so that the file's records are freed before the next file is read.
    """
    started = time.monotonic()
    check_file_name(name)
    entry = store.manifest_entry(name)
    if entry is not None:
        size, sha256 = hash_file(path)
        if sha256 == entry.sha256:
            return _FileOutcome(skipped=True)
        raise InputFileError(
            name,
            f"changed since it was loaded (manifest sha256 {entry.sha256[:12]}..., now "
            f"{sha256[:12]}...); its {entry.rows:,} rows from the earlier load stay in the "
            "table: delete them and its manifest row to load it again",
        )
    size, sha256, records = read_records(path, name, limits)
    largest = max((record.signal.nbytes for record in records), default=0)
    summary.largest_signal_bytes = max(summary.largest_signal_bytes, largest)
    summary.signals_in_table += store.layout.rows(records)
    if options.duckdb_memory_grows:
        _give_duckdb_room(store, options, summary)
    rows = store.load_file(
        name,
        size,
        sha256,
        records,
        batch_rows=options.batch_rows,
        batch_bytes=options.batch_bytes,
        on_batch=on_batch,
        started=started,
        clock=time.monotonic,
    )
    return _FileOutcome(rows=rows, size=size)


def run_extract(
    options: ExtractOptions, peak_rss: Callable[[], int | None] = rss.peak_rss
) -> ExtractSummary:
    """Load every input file of ``options.input_dir`` into ``options.db_path``.

    Raises :class:`SetupError` before anything is written when the run cannot start.
    Otherwise returns the summary; ``summary.failure`` holds the error that stopped the
    run (an :class:`InputFileError` in fail mode, a guardrail error, an interrupt).
    """
    paths = input_files(options.input_dir, options.pattern)
    with StopSignals() as stops:
        try:
            store = Store(options.db_path, options.duckdb_memory, options.layout)
        except (Exception, KeyboardInterrupt, Terminated):
            if stops.received is not None:
                raise stops.error() from None
            raise
        summary = _run(options, paths, store, stops, peak_rss)
    return summary


def _run(
    options: ExtractOptions,
    paths: list[Path],
    store: Store,
    stops: StopSignals,
    peak_rss: Callable[[], int | None],
) -> ExtractSummary:
    summary = ExtractSummary(files=len(paths), signals_in_table=store.rows_at_open)
    started = time.monotonic()
    run_started = utc_now()
    limits = options.guard
    try:
        with guard(
            total=len(paths),
            label="extract",
            heartbeat_every=limits.heartbeat_every,
            memory_limit=limits.memory_limit,
            stall_timeout=limits.stall_timeout,
            timeout=limits.timeout,
            watch_output=options.db_path,
        ) as g:

            def on_batch(rows: int) -> None:
                # A sign of life; the rows count once their file is committed, so that
                # the guard's last line and the summary give the same figures.
                g.tick()

            for path in g.track(paths):
                name = path.relative_to(options.input_dir).as_posix()

                def check_allocation(nbytes: int, what: str, name: str = name) -> object:
                    return g.check_allocation(nbytes, f"{what} in {name}")

                allowance = file_limits(options.guard.memory_limit, check_allocation)
                finished = counted = False
                try:
                    try:
                        outcome = load_one(store, path, name, options, summary, on_batch, allowance)
                    except InputFileError as error:
                        if options.on_error is OnError.FAIL:
                            raise
                        store.record_error(error.file, error.reason)
                        summary.failed += 1
                        logger.warning("skipped %s (recorded in the errors table)", error)
                        finished = True
                        continue
                    if outcome.skipped:
                        summary.skipped += 1
                    else:
                        g.tick(rows=outcome.rows)
                        counted = True
                        summary.loaded += 1
                        summary.rows += outcome.rows
                        summary.bytes_loaded += outcome.size
                    finished = True
                except InputFileError:
                    raise  # --on-error fail: nothing of the file was committed
                except BaseException:
                    summary.failure_file = name
                    _count_stopped_item(g, store, stops, name, run_started, finished, counted)
                    if stops.received is not None:
                        raise stops.error() from None
                    # DuckDB turns the guard's signal into its own "Query interrupted"
                    # error; a tripped guard raises its real error (MemoryLimitExceeded...)
                    # again here, so that the run reports the cause, not the symptom.
                    g.check()
                    raise
    except InputFileError as error:
        summary.failed += 1
        summary.failure = error
    except (Exception, KeyboardInterrupt, Terminated) as error:  # guardrails, DuckDB, signals
        summary.failure = error
    finally:
        with stops.deferred():
            summary.seconds = time.monotonic() - started
            summary.peak_rss = peak_rss()
            summary.duckdb_memory = store.memory_limit
            _count_committed(store, run_started, summary)
            store.close()
    if stops.received is not None:
        # Whatever DuckDB made of the signal's exception, the run stopped because of it.
        summary.failure = stops.error()
    return summary


def _give_duckdb_room(store: Store, options: ExtractOptions, summary: ExtractSummary) -> None:
    """Raise DuckDB's memory to what this file's insert and the next checkpoint need
    (twice over), as far as the memory limit leaves room for it."""
    needed = duckdb_memory_hint(
        options.layout,
        summary.largest_signal_bytes,
        summary.signals_in_table,
        min(options.batch_bytes, options.batch_rows * summary.largest_signal_bytes),
    )
    current = store.memory_limit
    if current is None or needed <= current:
        return
    # In steps of 64 MiB, so that a table filling up is not one setting a file; no more
    # than needed, since DuckDB keeps the pages it wrote cached up to its limit.
    needed = -(-needed // DUCKDB_MEMORY_STEP) * DUCKDB_MEMORY_STEP
    limit = options.guard.memory_limit
    if limit is not None:
        needed = min(needed, int(limit * DUCKDB_SHARE_OF_MEMORY_LIMIT))
    if store.raise_memory_limit(needed):
        logger.debug("DuckDB's memory raised to %s for the signals so far", format_bytes(needed))


def _count_stopped_item(
    g: Guard,
    store: Store,
    stops: StopSignals,
    name: str,
    since: dt.datetime,
    finished: bool,
    counted: bool,
) -> None:
    """Count the item a stop cut short in the guard, when it was done all the same.

    The guard counts an item when the loop moves on to the next; a run stopped inside
    COMMIT, or just after it, has committed the file, and the summary (which counts the
    manifest) will say so: the guard's last line must say the same.
    """
    with stops.deferred():
        rows = None if finished else store.committed_in_run(name, since)
    if not finished and rows is None:
        return
    with contextlib.suppress(GuardrailError):  # a tripped guard raises at every call
        g.update(1)
    if rows is not None and not counted:
        with contextlib.suppress(GuardrailError):
            g.tick(rows=rows)


def _count_committed(store: Store, since: dt.datetime, summary: ExtractSummary) -> None:
    # A run stopped inside COMMIT may have committed the file it was on; the manifest,
    # not the loop's counters, says what this run added.
    store.rollback()  # a transaction an interrupt left open would refuse the query
    try:
        files, rows, size = store.committed_since(since)
    except duckdb.Error:
        return  # the connection is unusable; the loop's counters are the best left
    summary.loaded, summary.rows, summary.bytes_loaded = files, rows, size
