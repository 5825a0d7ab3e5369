"""Load every subject's signals into one SQLite table (the incident's shape)."""

import sqlite3


def load(path):
    return [{"id": rec[0], "name": rec[1]} for rec in path]


def job(db, records):
    files = [records[i : i + 7] for i in range(0, len(records), 7)]
    con = sqlite3.connect(db)
    rows = []
    for path in files:
        for sig in load(path):
            rows.append((sig["id"], sig["name"]))  # one row per signal
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.commit()
    con.close()
