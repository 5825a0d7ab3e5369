"""The DuckDB side: schema, one transaction per input file, the manifest and the errors table.

Tables (created if missing); the data table depends on the layout (``--layout``)::

    signals  (file VARCHAR, subject VARCHAR, signal DOUBLE[])       -- wide: a row per subject
    samples  (file VARCHAR, subject VARCHAR, t INTEGER, value DOUBLE) -- long: a row per sample
    manifest (file VARCHAR PRIMARY KEY, size BIGINT, sha256 VARCHAR,
              rows BIGINT, seconds DOUBLE, loaded_at TIMESTAMP)     -- one row per loaded file
    errors   (file VARCHAR, reason VARCHAR, failed_at TIMESTAMP)    -- one row per failed attempt

A file's rows and its manifest row are committed in one transaction, so the manifest
lists exactly the files whose rows are all in the data table, whenever the process stops.
A database holds one layout. Times are UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from .errors import DatabaseDamaged, SetupError
from .files import special_file_kind
from .records import SignalRecord

# Wide layout: each automatic checkpoint (every 16 MiB of log) works on the table's last,
# partly filled row group, and holds it in memory meanwhile. DuckDB's default row group
# (122,880 rows) is about 6 GB of incident-sized signals: commits got three times slower as
# it filled, and memory grew with the number of files. 2048 rows, the smallest allowed,
# caps that work at 2048 signals (98 MB of 6,000-sample signals). The setting lives in the
# connection, not in the file, so every open must pass it. The long layout's rows are
# single samples: DuckDB's default suits them, and a file's rows fill whole row groups,
# which DuckDB writes straight to the database file instead of through its log.
ROW_GROUP_SIZE = 2048
LONG_ROW_GROUP_SIZE = 122_880
DATABASE_ALIAS = "store"
BATCH_VIEW = "reference_batch"
# DuckDB scans an Arrow table's record batches in parallel: slicing a batch into chunks of
# this many rows (no copy) made inserts a third faster on two cores.
ARROW_CHUNK_ROWS = 128

SCHEMA: dict[str, tuple[tuple[str, str], ...]] = {
    "signals": (("file", "VARCHAR"), ("subject", "VARCHAR"), ("signal", "DOUBLE[]")),
    "samples": (
        ("file", "VARCHAR"),
        ("subject", "VARCHAR"),
        ("t", "INTEGER"),
        ("value", "DOUBLE"),
    ),
    "manifest": (
        ("file", "VARCHAR"),
        ("size", "BIGINT"),
        ("sha256", "VARCHAR"),
        ("rows", "BIGINT"),
        ("seconds", "DOUBLE"),
        ("loaded_at", "TIMESTAMP"),
    ),
    "errors": (("file", "VARCHAR"), ("reason", "VARCHAR"), ("failed_at", "TIMESTAMP")),
}

_CREATE = (
    "CREATE TABLE IF NOT EXISTS manifest ("
    "file VARCHAR PRIMARY KEY, size BIGINT NOT NULL, sha256 VARCHAR NOT NULL, "
    "rows BIGINT NOT NULL, seconds DOUBLE NOT NULL, loaded_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS errors ("
    "file VARCHAR NOT NULL, reason VARCHAR NOT NULL, failed_at TIMESTAMP NOT NULL)",
)


class Layout(enum.Enum):
    """How signals are stored: a ``DOUBLE[]`` per subject, or a row per sample."""

    WIDE = "wide"
    LONG = "long"

    @property
    def table(self) -> str:
        """The data table."""
        return "signals" if self is Layout.WIDE else "samples"

    @property
    def row_group_size(self) -> int:
        """DuckDB's row group size for the data table (see :data:`ROW_GROUP_SIZE`)."""
        return ROW_GROUP_SIZE if self is Layout.WIDE else LONG_ROW_GROUP_SIZE

    def create(self) -> str:
        """The ``CREATE TABLE`` of the data table."""
        columns = ", ".join(f"{name} {kind} NOT NULL" for name, kind in SCHEMA[self.table])
        return f"CREATE TABLE IF NOT EXISTS {self.table} ({columns})"

    def arrow(self, batch: Sequence[SignalRecord]) -> pa.Table:
        """The data table's columns but ``file``, for ``batch``."""
        return arrow_batch(batch) if self is Layout.WIDE else arrow_samples(batch)

    def rows(self, batch: Sequence[SignalRecord]) -> int:
        """The rows ``batch`` makes in the data table."""
        return len(batch) if self is Layout.WIDE else sum(r.signal.size for r in batch)


def utc_now() -> dt.datetime:
    """The current UTC time, without a zone (DuckDB ``TIMESTAMP``)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ManifestEntry:
    """What the manifest says about a loaded file."""

    file: str
    size: int
    sha256: str
    rows: int


# Bytes of one sample row of the long layout in DuckDB's memory (subject, t, value, file).
LONG_ROW_BYTES = 32


def duckdb_memory_hint(
    layout: Layout, largest_signal_bytes: int, signals_in_table: int, batch_bytes: int
) -> int:
    """DuckDB memory enough for what the run asked of it, twice over.

    An insert holds its batch (at least the largest signal); a checkpoint holds the
    table's last row group: up to :data:`ROW_GROUP_SIZE` signals in the wide layout
    (fewer while the table is smaller), a row group of samples in the long one.
    """
    batch = max(batch_bytes, largest_signal_bytes)
    if layout is Layout.WIDE:
        checkpoint = min(ROW_GROUP_SIZE, max(signals_in_table, 1)) * largest_signal_bytes
    else:
        checkpoint = LONG_ROW_GROUP_SIZE * LONG_ROW_BYTES
    return 2 * max(batch, checkpoint)


# A DuckDB file has this at byte 8; SQLite's begin with their own header. Checked before
# DuckDB opens a file, so that it never tries another format (and an extension for it).
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_AT = 8
SQLITE_MAGIC = b"SQLite format 3\x00"
# Never fetch or load an extension: the store needs none, and a run must not reach the network.
NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

# What reading a table back must touch: every column of every row (an aggregate over a
# NOT NULL column alone may be answered from metadata without reading a block).
READ_BACK = {
    "signals": "count(*), sum(list_sum(signal)), max(hash(file, subject))",
    "samples": "count(*), sum(value), max(t), max(hash(file, subject))",
    "manifest": "count(*), sum(rows), max(hash(file, size, sha256, seconds, loaded_at))",
    "errors": "count(*), max(hash(file, reason, failed_at))",
}


# DuckDB's memory limit while an existing database is read back (when --duckdb-memory is
# lower): reading the signals column back needs a vector of 2,048 of them at a time.
READ_BACK_MEMORY = 1024**3


def check_database_file(path: Path) -> None:
    """Refuse, before DuckDB opens it, a ``--db`` that exists and is not a DuckDB database.

    A FIFO, a directory or a device is refused before it is opened, as the database or as
    its write-ahead log: opening a FIFO waits for a writer, for ever (DuckDB, past SIGTERM).
    """
    wal = Path(f"{path}.wal")
    try:
        kind = special_file_kind(path)
        if kind is not None:
            raise SetupError(
                f"--db {str(path)!r} is {kind}, not a regular file; give a DuckDB database "
                "file, or a new path for one"
            )
        wal_kind = special_file_kind(wal)
        if wal_kind is not None:
            raise SetupError(
                f"--db {str(path)!r} has a write-ahead log {str(wal)!r} that is {wal_kind}, "
                "not a regular file; remove it, or choose another --db"
            )
        with path.open("rb") as handle:
            head = handle.read(64)
    except FileNotFoundError:
        return
    except OSError as error:
        raise SetupError(f"cannot read --db {str(path)!r}: {error.strerror or error}") from None
    if head[DUCKDB_MAGIC_AT : DUCKDB_MAGIC_AT + len(DUCKDB_MAGIC)] == DUCKDB_MAGIC:
        return
    if head.startswith(SQLITE_MAGIC):
        what = "an SQLite database"
    elif not head:
        what = "an empty file"
    else:
        what = "not a DuckDB database"
    raise SetupError(
        f"--db {str(path)!r} is {what}; the extractor writes DuckDB files only: remove it or "
        "choose another --db"
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def signal_batches(
    records: Sequence[SignalRecord], max_rows: int, max_bytes: int
) -> Iterator[Sequence[SignalRecord]]:
    """Consecutive slices of ``records`` with at most ``max_rows`` rows and ``max_bytes``
    bytes of signal each (a single larger signal makes a batch of its own)."""
    start = 0
    count = len(records)
    while start < count:
        stop = start + 1
        size = records[start].signal.nbytes
        while stop < count and stop - start < max_rows:
            size += records[stop].signal.nbytes
            if size > max_bytes:
                break
            stop += 1
        yield records[start:stop]
        start = stop


def arrow_batch(batch: Sequence[SignalRecord]) -> pa.Table:
    """``subject``, ``signal`` columns for ``batch``, built from numpy buffers.

    The list column is one values buffer (the batch's signals, concatenated: the only
    copy, bounded by the batch) and an offsets buffer, wrapped without copying; no Python
    float is ever made. ``Array.from_buffers`` rather than ``pa.array``, which imports
    pandas (half a second) just to ask whether its argument is a pandas object.
    """
    count = len(batch)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum([record.signal.size for record in batch], out=offsets[1:])
    values = np.concatenate([record.signal for record in batch]) if batch else np.empty(0)
    signal = pa.LargeListArray.from_arrays(
        pa.Array.from_buffers(pa.int64(), count + 1, [None, pa.py_buffer(offsets)]),
        pa.Array.from_buffers(pa.float64(), values.size, [None, pa.py_buffer(values)]),
    )
    subject = _strings([record.subject for record in batch])
    table = pa.Table.from_arrays([subject, signal], names=["subject", "signal"])
    chunks = table.to_batches(max_chunksize=ARROW_CHUNK_ROWS)
    return pa.Table.from_batches(chunks, schema=table.schema)


def arrow_samples(batch: Sequence[SignalRecord]) -> pa.Table:
    """``subject``, ``t``, ``value`` columns for ``batch``: a row per sample.

    ``value`` is the batch's signals concatenated, ``t`` each sample's index in its signal,
    ``subject`` a dictionary column (an index per row into the batch's subject ids): the
    batch's bytes twice over, never a Python object per sample.
    """
    lengths = [record.signal.size for record in batch]
    total = sum(lengths)
    values = np.concatenate([r.signal for r in batch]) if batch else np.empty(0)
    steps = (
        np.concatenate([np.arange(n, dtype=np.int32) for n in lengths])
        if batch
        else np.empty(0, dtype=np.int32)
    )
    which = np.repeat(np.arange(len(batch), dtype=np.int32), lengths)
    subject = pa.DictionaryArray.from_arrays(
        pa.Array.from_buffers(pa.int32(), total, [None, pa.py_buffer(which)]),
        _strings([record.subject for record in batch]),
    )
    t = pa.Array.from_buffers(pa.int32(), total, [None, pa.py_buffer(steps)])
    value = pa.Array.from_buffers(pa.float64(), total, [None, pa.py_buffer(values)])
    return pa.Table.from_arrays([subject, t, value], names=["subject", "t", "value"])


def _strings(texts: Sequence[str]) -> pa.LargeStringArray:
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(text) for text in encoded], out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )


class Store:
    """An open output database."""

    def __init__(
        self, path: Path, memory_limit: int | None = None, layout: Layout = Layout.WIDE
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {
            # Spill next to the database, not into the current directory.
            "temp_directory": f"{path}.tmp",
            **NO_EXTENSIONS,
        }
        if memory_limit:
            config["memory_limit"] = f"{memory_limit}B"
        check_database_file(path)
        existed = path.exists()
        try:
            self.con = duckdb.connect(config=config)
        except duckdb.Error as error:
            raise SetupError(f"cannot start DuckDB: {error}") from None
        try:
            self.con.execute(
                f"ATTACH {_sql_string(str(path))} AS {DATABASE_ALIAS} "
                f"(TYPE duckdb, ROW_GROUP_SIZE {layout.row_group_size})"
            )
            self.con.execute(f"USE {DATABASE_ALIAS}")
            # DuckDB draws its own bar on long checkpoints, over the guard's heartbeat.
            self.con.execute("SET enable_progress_bar = false")
        except duckdb.Error as error:
            self.close()
            if is_out_of_memory(error):
                raise SetupError(_memory_too_small(path, memory_limit, error)) from None
            if existed and not _is_lock_conflict(error):
                raise DatabaseDamaged(str(path), f"it cannot be opened: {error}") from None
            raise SetupError(f"cannot open database {str(path)!r}: {error}") from None
        self.path = path
        self.layout = layout
        #: DuckDB's memory_limit now (None: DuckDB's default).
        self.memory_limit = memory_limit
        self.rows_at_open = 0  # rows of the data table when the database was opened
        try:
            self._check_schema()
            if existed:
                self._read_back_with_room(memory_limit)
            for statement in (*_CREATE, layout.create()):
                self.con.execute(statement)
        except BaseException:
            self.close()
            raise

    def raise_memory_limit(self, size: int) -> bool:
        """Give DuckDB ``size`` bytes of memory when it has less (never lowers it);
        whether it did."""
        if self.memory_limit is None or size <= self.memory_limit:
            return False
        self.con.execute(f"SET memory_limit = '{int(size)}B'")
        self.memory_limit = size
        return True

    def _read_back_with_room(self, memory_limit: int | None) -> None:
        # A scan of the list column holds a vector of 2,048 signals at once: more than
        # the memory an insert needs, so the limit is raised for the read-back only.
        raise_to = memory_limit is not None and memory_limit < READ_BACK_MEMORY
        if raise_to:
            self.con.execute(f"SET memory_limit = '{READ_BACK_MEMORY}B'")
        try:
            self.read_back()
        finally:
            if raise_to:
                self.con.execute(f"SET memory_limit = '{memory_limit}B'")

    def read_back(self) -> None:
        """Read every table whole, or raise :class:`DatabaseDamaged` naming what failed.

        DuckDB checks a block's checksum when it reads it; a run that resumed from the
        manifest alone would skip every file of a database whose data blocks are damaged.
        Also checks that the data table holds the rows the manifest lists.
        """
        tables = {
            name
            for (name,) in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                [DATABASE_ALIAS],
            ).fetchall()
        }
        figures: dict[str, tuple[object, ...]] = {}
        for table, columns in READ_BACK.items():
            if table not in tables:
                continue
            try:
                row = self.con.execute(f"SELECT {columns} FROM {table}").fetchone()
            except duckdb.Error as error:
                if is_out_of_memory(error):
                    raise SetupError(_memory_too_small(self.path, None, error)) from None
                raise DatabaseDamaged(
                    str(self.path), f"its {table} table cannot be read back: {_first_line(error)}"
                ) from None
            assert row is not None  # an aggregate always returns one row
            figures[table] = row
        data = self.layout.table
        if data in figures:
            self.rows_at_open = int(str(figures[data][0]))
        if data in figures and "manifest" in figures:
            rows, listed = figures[data][0], figures["manifest"][1] or 0
            if rows != listed:
                raise DatabaseDamaged(
                    str(self.path),
                    f"its {data} table has {rows:,} rows, its manifest lists {listed:,}",
                )

    def _check_schema(self) -> None:
        for table, expected in SCHEMA.items():
            found = tuple(
                self.con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ? "
                    "ORDER BY ordinal_position",
                    [DATABASE_ALIAS, table],
                ).fetchall()
            )
            if found and table in {"signals", "samples"} and table != self.layout.table:
                other = Layout.LONG if self.layout is Layout.WIDE else Layout.WIDE
                raise SetupError(
                    f"database {str(self.path)!r} holds the {other.value} layout (table "
                    f"{table!r}); use --layout {other.value}, or another --db"
                )
            if found and found != expected:
                raise SetupError(
                    f"database {str(self.path)!r} has a table {table!r} with columns "
                    f"{_columns(found)}, not the extractor's {_columns(expected)}; "
                    "use another --db"
                )

    def close(self) -> None:
        """Close the connection (committed work is already durable, even if closing fails)."""
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def manifest_entry(self, file: str) -> ManifestEntry | None:
        """The manifest row of ``file``, if it was loaded."""
        row = self.con.execute(
            "SELECT file, size, sha256, rows FROM manifest WHERE file = ?", [file]
        ).fetchone()
        return None if row is None else ManifestEntry(*row)

    def committed_in_run(self, file: str, since: dt.datetime) -> int | None:
        """The rows of ``file`` if the manifest gained it at or after ``since``; ``None``
        when it did not, or when the connection cannot tell."""
        try:
            row = self.con.execute(
                "SELECT rows FROM manifest WHERE file = ? AND loaded_at >= ?", [file, since]
            ).fetchone()
        except (duckdb.Error, UnicodeError):
            return None
        return None if row is None else int(row[0])

    def committed_since(self, since: dt.datetime) -> tuple[int, int, int]:
        """Files, rows and input bytes the manifest gained at or after ``since``."""
        row = self.con.execute(
            "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(size), 0) FROM manifest "
            "WHERE loaded_at >= ?",
            [since],
        ).fetchone()
        assert row is not None  # an aggregate always returns one row
        return int(row[0]), int(row[1]), int(row[2])

    def load_file(
        self,
        file: str,
        size: int,
        sha256: str,
        records: Sequence[SignalRecord],
        *,
        batch_rows: int,
        batch_bytes: int,
        on_batch: Callable[[int], None],
        started: float,
        clock: Callable[[], float],
    ) -> int:
        """Write ``records`` and the manifest row of ``file`` in one transaction.

        Rows go in batches (see :func:`signal_batches`); ``on_batch(rows)`` is called
        after each. Any exception rolls the whole file back. Returns the rows written.
        """
        layout = self.layout
        written = 0
        self.con.begin()
        try:
            for batch in signal_batches(records, batch_rows, batch_bytes):
                self._insert(file, layout.arrow(batch))
                rows = layout.rows(batch)
                written += rows
                on_batch(rows)
            self.con.execute(
                "INSERT INTO manifest VALUES (?, ?, ?, ?, ?, ?)",
                [file, size, sha256, written, clock() - started, utc_now()],
            )
            self.con.commit()
        except BaseException:
            self.rollback()
            raise
        return written

    def _insert(self, file: str, table: pa.Table) -> None:
        self.con.register(BATCH_VIEW, table)
        try:
            self.con.execute(
                f"INSERT INTO {self.layout.table} SELECT ?, * FROM {BATCH_VIEW}", [file]
            )
        except BaseException:
            # In the aborted transaction unregister fails too ("Current transaction is
            # aborted"): that must not replace the error that aborted it. The next
            # register replaces the view anyway.
            with contextlib.suppress(duckdb.Error):
                self.con.unregister(BATCH_VIEW)
            raise
        self.con.unregister(BATCH_VIEW)

    def rollback(self) -> None:
        """Roll back the open transaction, if any (a no-op when the commit went through)."""
        with contextlib.suppress(duckdb.Error):
            self.con.rollback()

    def record_error(self, file: str, reason: str) -> None:
        """Add a row to the errors table, committed at once."""
        self.con.execute("INSERT INTO errors VALUES (?, ?, ?)", [file, reason, utc_now()])


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is DuckDB running out of its ``memory_limit``."""
    return isinstance(error, duckdb.OutOfMemoryException) or "failed to pin block" in str(error)


def _memory_too_small(path: Path, memory_limit: int | None, error: duckdb.Error) -> str:
    limit = f"{memory_limit:,} bytes" if memory_limit else "its setting"
    return (
        f"DuckDB ran out of its memory ({limit}) opening database {str(path)!r}: "
        f"{_first_line(error)}; raise --duckdb-memory"
    )


def _is_lock_conflict(error: duckdb.Error) -> bool:
    # "Could not set lock on file ...: Conflicting lock is held in ..." (another process).
    return "could not set lock" in str(error).lower()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _columns(columns: Sequence[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{name} {kind}" for name, kind in columns) + ")"
