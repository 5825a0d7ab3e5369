"""The four ways of loading the benchmark's input, one per process (run by reference_bench.py).

    python benchmarks/reference_bench_modes.py MODE DATA_DIR DB_FILE [--layout wide|long]

Prints one JSON line: rows and input bytes loaded, the seconds from opening the database
to closing it (imports and interpreter start excluded, for every mode alike), and the
process's peak RSS (``VmHWM`` on Linux: ``ru_maxrss`` would include the parent's memory,
which Linux carries over ``exec``).

- ``incident``: the job that ran 21 hours: every row as Python lists in one list, one
  ``executemany`` at the end (``examples/broken_extractor.py``);
- ``executemany``: naive streaming, one ``executemany`` per file
  (``examples/fixed_extractor.py`` without the guard);
- ``reference``: ``extraction_lint.reference`` with its default settings;
- ``floor``: DuckDB's own bulk load of the same rows from an uncompressed Parquet file
  (``DATA_DIR/signals.parquet``, written beforehand), with the reference's DuckDB
  settings: what DuckDB needs to store this data at all.

With ``--layout long`` every mode writes a row per sample (file, subject, t, value), the
executemany modes as Python tuples.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

from extraction_lint.reference.extract import ExtractOptions, GuardSettings, run_extract
from extraction_lint.reference.rss import peak_rss
from extraction_lint.reference.store import Layout, Store

PARQUET_NAME = "signals.parquet"


def _inputs(data: Path) -> list[Path]:
    return sorted(data.glob("*.pkl"))


def _connect(db: Path, layout: Layout) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    con.execute(layout.create())
    return con


def _insert_sql(layout: Layout) -> str:
    marks = ", ".join("?" * (3 if layout is Layout.WIDE else 4))
    return f"INSERT INTO {layout.table} VALUES ({marks})"


def _rows(name: str, subjects: dict[str, Any], layout: Layout) -> list[tuple[Any, ...]]:
    """A file's rows as Python objects, the way the incident's job built them."""
    if layout is Layout.WIDE:
        return [(name, sid, signal.tolist()) for sid, signal in subjects.items()]
    return [
        (name, sid, t, value)
        for sid, signal in subjects.items()
        for t, value in enumerate(signal.tolist())
    ]


def load_incident(data: Path, db: Path, layout: Layout) -> tuple[int, int]:
    """Accumulate every row as Python objects in one list, one executemany at the end."""
    con = _connect(db, layout)
    rows = []
    size = 0
    for path in _inputs(data):
        size += path.stat().st_size
        with path.open("rb") as handle:
            subjects = pickle.load(handle)
        rows.extend(_rows(path.name, subjects, layout))
    con.executemany(_insert_sql(layout), rows)
    con.close()
    return len(rows), size


def load_executemany(data: Path, db: Path, layout: Layout) -> tuple[int, int]:
    """One executemany of Python objects per file."""
    con = _connect(db, layout)
    count = size = 0
    for path in _inputs(data):
        size += path.stat().st_size
        with path.open("rb") as handle:
            subjects = pickle.load(handle)
        rows = _rows(path.name, subjects, layout)
        con.executemany(_insert_sql(layout), rows)
        count += len(rows)
    con.close()
    return count, size


def load_reference(data: Path, db: Path, layout: Layout) -> tuple[int, int]:
    """The reference extractor, default settings, no heartbeat lines."""
    options = ExtractOptions(data, db, layout=layout, guard=GuardSettings(heartbeat_every=None))
    summary = run_extract(options)
    if summary.failure is not None:
        raise SystemExit(f"reference: {summary.failure}")
    return summary.rows, summary.bytes_loaded


def load_floor(data: Path, db: Path, layout: Layout) -> tuple[int, int]:
    """DuckDB's bulk load of the same rows from Parquet, with the reference's settings."""
    store = Store(db, layout=layout)  # same tables, row group size and DuckDB memory limit
    parquet = data / PARQUET_NAME
    table = layout.table
    store.con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet('{parquet}')")
    row = store.con.execute(f"SELECT count(*) FROM {table}").fetchone()
    store.close()
    assert row is not None
    size = sum(path.stat().st_size for path in _inputs(data))
    return int(row[0]), size


MODES = {
    "incident": load_incident,
    "executemany": load_executemany,
    "reference": load_reference,
    "floor": load_floor,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("data", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--layout", choices=[layout.value for layout in Layout], default="wide")
    args = parser.parse_args()
    start = time.perf_counter()
    rows, size = MODES[args.mode](args.data, args.db, Layout(args.layout))
    seconds = time.perf_counter() - start
    result = {"mode": args.mode, "rows": rows, "bytes": size, "seconds": seconds}
    print(json.dumps({**result, "peak_rss": peak_rss()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
