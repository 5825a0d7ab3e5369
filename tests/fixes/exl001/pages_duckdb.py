"""Pages of 250 records into DuckDB; the last page read is empty."""

import duckdb


def pages(records):
    for start in range(0, len(records) + 250, 250):
        yield records[start : start + 250]


def job(db, records):
    con = duckdb.connect(db)
    rows = []
    for page in pages(records):
        rows.extend(page)
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.close()
