"""The incident: load every pickle file, keep every subject's signal in one list, and write
them all to DuckDB at the very end.

136 files x 507 subjects of numpy signals went into ``rows`` (13.4 GB). The machine swapped
18 TB to disk over 21 hours at 99% CPU; the database file never grew, and nothing said so.
``extraction-lint examples/broken_extractor.py`` reports why, before it runs.
"""

import pickle
import sys
from pathlib import Path

import duckdb


def main(data_dir: str, db_path: str) -> None:
    con = duckdb.connect(db_path)
    con.execute(
        "CREATE TABLE IF NOT EXISTS signals (file VARCHAR, subject VARCHAR, signal DOUBLE[])"
    )
    rows = []
    for path in sorted(Path(data_dir).glob("*.pkl")):
        with open(path, "rb") as handle:
            subjects = pickle.load(handle)
        for subject_id, signal in subjects.items():
            rows.append((path.name, subject_id, signal.tolist()))
    con.executemany("INSERT INTO signals VALUES (?, ?, ?)", rows)
    con.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
