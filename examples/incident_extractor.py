"""The incident's own script, in its own shape: the loop calls a helper that loads each
pickle file, every signal goes into one list, and the list is written after the loop.

Nothing in the loop itself names a loader: the load happens in
``extract_signals_from_pickle``. ``extraction-lint`` follows the call, so the loop is an
extraction loop (no heartbeat, no memory guard, no stall guard) and ``all_rows`` is an
unbounded accumulation written whole by ``executemany`` (EXL001). The fix is the one of
``fixed_extractor.py``: write per file, inside the loop, under ``guard(...)``.
"""

import pickle
import sys
from pathlib import Path

import duckdb

SQL = "INSERT INTO signals VALUES (?, ?, ?)"


def extract_signals_from_pickle(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def to_row(path, subject_id, signal):
    return (path.name, subject_id, signal.tolist())


def main(data_dir, db_path):
    conn = duckdb.connect(db_path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS signals (file VARCHAR, subject VARCHAR, signal DOUBLE[])"
    )
    pickle_files = sorted(Path(data_dir).glob("*.pkl"))
    all_rows = []
    for pickle_path in pickle_files:
        for subject_id, signal in extract_signals_from_pickle(pickle_path).items():
            all_rows.append(to_row(pickle_path, subject_id, signal))
    conn.executemany(SQL, all_rows)
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
