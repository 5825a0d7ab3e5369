"""Copy a SQLite table into DuckDB, reading it in chunks."""

import sqlite3

import duckdb


def job(db, records):
    source = sqlite3.connect(":memory:")
    source.execute("CREATE TABLE src (id INTEGER, name TEXT)")
    source.executemany("INSERT INTO src VALUES (?, ?)", records)
    con = duckdb.connect(db)
    out = []
    cur = source.cursor()
    cur.execute("SELECT id, name FROM src ORDER BY id")
    while True:
        chunk = cur.fetchmany(300)
        if not chunk:
            break
        out.extend(chunk)
    con.executemany(
        "INSERT INTO t VALUES (?, ?)",
        out,
    )
    con.close()
