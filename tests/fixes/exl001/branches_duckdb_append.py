"""Two growth sites in one loop, written with DuckDB's appender."""

import duckdb
import pandas as pd

BATCH_SIZE = 50


def job(db, records):
    con = duckdb.connect(db)
    rows = []
    for rec in iter(records):
        if rec[0] % 2:
            rows.append(rec)
        else:
            rows.append((rec[0], rec[1].upper()))
    con.append("t", pd.DataFrame(rows, columns=["id", "name"]))
    con.close()
