"""Bounded batches: write every 5,000 records and once more for the leftover batch.

``batch`` never holds more than 5,000 records, so the final write after the loop is correct
code, not an accumulation.
"""

import csv
import sys

import duckdb

from extraction_lint.guardrails import guard

BATCH_SIZE = 5_000
INSERT = "INSERT INTO events VALUES (?, ?, ?)"


def load_events(csv_path: str, db_path: str) -> int:
    con = duckdb.connect(db_path)
    con.execute("CREATE TABLE IF NOT EXISTS events (ts VARCHAR, kind VARCHAR, value DOUBLE)")
    written = 0
    batch = []
    with (
        open(csv_path, newline="") as handle,
        guard(label="events", memory_limit="1 GiB", stall_timeout="2m", watch_output=db_path) as g,
    ):
        for record in g.track(csv.DictReader(handle)):
            batch.append((record["ts"], record["kind"], float(record["value"])))
            if len(batch) >= BATCH_SIZE:
                con.executemany(INSERT, batch)
                written += len(batch)
                batch.clear()
        con.executemany(INSERT, batch)
        written += len(batch)
    con.close()
    return written


if __name__ == "__main__":
    print(load_events(sys.argv[1], sys.argv[2]))
