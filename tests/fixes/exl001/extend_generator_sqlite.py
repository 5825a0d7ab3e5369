"""Pages filtered by a generator, and a page kept whole, written to SQLite."""

import sqlite3


def job(db, records):
    con = sqlite3.connect(db)
    rows = []
    for start in iter(range(0, len(records) + 100, 100)):
        page = records[start : start + 100]
        if start % 200:
            rows.extend(rec for rec in page if rec[0] % 5)
            rows.extend(
                rec
                for rec in page  # the rest of the page
                if not rec[0] % 5
            )
        else:
            rows.extend(
                page,
            )
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.commit()
    con.close()
