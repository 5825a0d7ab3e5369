"""Append one data frame per record to a SQLite table with pandas."""

import sqlite3

import pandas as pd


def job(db, records):
    con = sqlite3.connect(db)
    frames = []
    for rec in iter(records):
        frames.append(pd.DataFrame([rec], columns=["id", "name"]))
    pd.concat(frames).to_sql("t", con, if_exists="append", index=False)
    con.close()
