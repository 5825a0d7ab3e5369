"""A damaged output database is found when a run resumes: every table is read back, not
only the manifest, and the run stops with exit 1 naming the file. A --db that is not a
DuckDB database is refused before DuckDB opens it."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import duckdb
import pytest

from .conftest import query, run_reference, write_inputs

# DuckDB's file layout: three 4 KiB headers, then blocks of 256 KiB, each starting with
# its checksum.
HEADER_BYTES = 3 * 4096
BLOCK_BYTES = 256 * 1024


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Path, Path]:
    """An input set of 12 files and the database one run made of it."""
    data = write_inputs(tmp_path / "in", files=12, subjects=20, length=2_000)
    db = tmp_path / "out.duckdb"
    first = run_reference("extract", data, "--db", db)
    assert first.returncode == 0, first.explain()
    return data, db


def _blocks_of(db: Path, table: str) -> list[int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info(?) WHERE block_id >= 0 "
            "ORDER BY block_id",
            [table],
        ).fetchall()
    finally:
        con.close()
    return [block for (block,) in rows]


def _flip(db: Path, offset: int) -> None:
    with db.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x5A]))


def _assert_damage_reported(result_db: Path, data: Path, what: str) -> None:
    before = result_db.read_bytes()
    result = run_reference("extract", data, "--db", result_db)
    assert result.returncode == 1, result.explain()
    assert f"error: database {str(result_db)!r} is damaged: " in result.stderr, result.explain()
    assert what in result.stderr, result.explain()
    assert "Traceback" not in result.stderr
    assert "skipped" not in result.stdout, "a damaged database was taken as loaded"
    assert result_db.read_bytes() == before, "the run wrote to a damaged database"


def test_a_database_truncated_by_one_byte_is_reported_damaged(
    loaded: tuple[Path, Path],
) -> None:
    data, db = loaded
    with db.open("r+b") as handle:
        handle.truncate(db.stat().st_size - 1)

    _assert_damage_reported(db, data, "cannot be read back")


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_bit_flip_in_a_data_block_is_reported_damaged(
    loaded: tuple[Path, Path], which: str
) -> None:
    data, db = loaded
    blocks = _blocks_of(db, "signals")
    assert len(blocks) > 3
    block = {"first": blocks[0], "middle": blocks[len(blocks) // 2], "last": blocks[-1]}[which]
    _flip(db, HEADER_BYTES + block * BLOCK_BYTES + 1000)

    _assert_damage_reported(db, data, "its signals table cannot be read back")


def test_a_bit_flip_in_the_manifest_is_reported_damaged(loaded: tuple[Path, Path]) -> None:
    data, db = loaded
    [block] = _blocks_of(db, "manifest")[:1]
    _flip(db, HEADER_BYTES + block * BLOCK_BYTES + 100)

    _assert_damage_reported(db, data, "cannot be read back")


def test_a_damaged_header_is_reported_damaged(loaded: tuple[Path, Path]) -> None:
    data, db = loaded
    _flip(db, 4096 + 100)  # the first database header
    _flip(db, 2 * 4096 + 100)  # and the second

    _assert_damage_reported(db, data, "it cannot be opened")


def test_rows_missing_from_the_data_table_are_reported(loaded: tuple[Path, Path]) -> None:
    data, db = loaded
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM signals WHERE file = 'signals_0003.pkl'")
    con.close()

    _assert_damage_reported(db, data, "its signals table has 220 rows, its manifest lists 240")


def test_an_intact_database_resumes_as_before(loaded: tuple[Path, Path], tmp_path: Path) -> None:
    data, db = loaded
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)

    result = run_reference("extract", data, "--db", copy)

    assert result.returncode == 0, result.explain()
    assert result.count("skipped") == 12
    assert query(copy, "SELECT count(*) FROM signals") == [(240,)]


@pytest.mark.parametrize(
    "content, what",
    [
        ("sqlite", "an SQLite database"),
        ("text", "not a DuckDB database"),
        ("empty", "an empty file"),
    ],
)
def test_a_db_that_is_not_a_duckdb_file_is_refused_before_duckdb_opens_it(
    small_set: Path, tmp_path: Path, content: str, what: str
) -> None:
    db = tmp_path / "other.db"
    if content == "sqlite":
        connection = sqlite3.connect(db)
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
        connection.close()
    elif content == "text":
        db.write_text("some notes\n" * 100)
    else:
        db.touch()
    before = db.read_bytes()

    result = run_reference("extract", small_set, "--db", db)

    assert result.returncode == 2, result.explain()
    assert f"error: --db {str(db)!r} is {what}; the extractor writes DuckDB files only" in (
        result.stderr
    ), result.explain()
    assert "extension" not in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == before
    assert not Path(f"{db}.wal").exists()


@pytest.mark.parametrize(
    "kind, what",
    [
        ("fifo", "a FIFO (named pipe)"),
        ("directory", "a directory"),
        ("device", "a character device"),
        ("link to a fifo", "a FIFO (named pipe)"),
    ],
)
def test_a_db_that_is_not_a_regular_file_is_refused_without_opening_it(
    small_set: Path, tmp_path: Path, kind: str, what: str
) -> None:
    db = tmp_path / "out.duckdb"
    if kind == "fifo":
        os.mkfifo(db)
    elif kind == "directory":
        db.mkdir()
    elif kind == "device":
        db = Path(os.devnull)
    else:
        os.mkfifo(tmp_path / "pipe")
        db.symlink_to(tmp_path / "pipe")

    # Opening a FIFO for reading waits for a writer: for ever, before the fix.
    result = run_reference("extract", small_set, "--db", db, timeout=30)

    assert result.returncode == 2, result.explain()
    assert f"error: --db {str(db)!r} is {what}, not a regular file" in result.stderr, (
        result.explain()
    )
    assert "Traceback" not in result.stderr
    assert not Path(f"{db}.wal").exists()


@pytest.mark.parametrize("loaded_before", [False, True])
def test_a_write_ahead_log_that_is_a_fifo_is_refused_without_opening_it(
    small_set: Path, tmp_path: Path, loaded_before: bool
) -> None:
    db = tmp_path / "out.duckdb"
    if loaded_before:
        assert run_reference("extract", small_set, "--db", db).returncode == 0
    wal = Path(f"{db}.wal")
    os.mkfifo(wal)

    # DuckDB opens the log next to the database: it waited on the FIFO, past SIGTERM.
    result = run_reference("extract", small_set, "--db", db, timeout=30)

    assert result.returncode == 2, result.explain()
    assert (
        f"error: --db {str(db)!r} has a write-ahead log {str(wal)!r} that is a FIFO "
        "(named pipe), not a regular file"
    ) in result.stderr, result.explain()


def test_a_database_of_long_signals_reads_back_under_a_small_duckdb_memory(
    tmp_path: Path,
) -> None:
    # Reading back the signals column holds a vector of up to 2,048 signals (here 32 MB,
    # over the 24 MiB an insert of these files needs): the resume must not fail on it.
    data = write_inputs(tmp_path / "in", files=10, subjects=100, length=4_000)
    db = tmp_path / "out.duckdb"
    options = ("--duckdb-memory", "24 MiB")
    first = run_reference("extract", data, "--db", db, *options)
    assert first.returncode == 0, first.explain()

    resumed = run_reference("extract", data, "--db", db, *options)

    assert resumed.returncode == 0, resumed.explain()
    assert resumed.count("skipped") == 10
