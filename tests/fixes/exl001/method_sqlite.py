"""A loader class: the loop is in a method, so the flush goes one class body deeper."""

import sqlite3


class Loader:
    def __init__(self, db):
        self.con = sqlite3.connect(db)

    def load(self, records):
        rows = []
        for rec in iter(records):
            rows.append(rec)
        self.con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        self.con.commit()


def job(db, records):
    Loader(db).load(records)
