"""The incident's job written the compliant way: one write per input file, under guards.

Memory stays at one file's worth (400 MB instead of 13.4 GB), the database grows as the job
runs, and the guard logs progress, stops the job at 2 GiB, and fails it with a stack dump
if nothing advances for five minutes.
"""

import pickle
import sys
from pathlib import Path

import duckdb

from extraction_lint.guardrails import guard


def main(data_dir: str, db_path: str) -> None:
    con = duckdb.connect(db_path)
    con.execute(
        "CREATE TABLE IF NOT EXISTS signals (file VARCHAR, subject VARCHAR, signal DOUBLE[])"
    )
    paths = sorted(Path(data_dir).glob("*.pkl"))
    with guard(
        total=len(paths),
        label="signals",
        heartbeat_every=30,
        memory_limit="2 GiB",
        stall_timeout="5m",
        timeout="2h",
        watch_output=db_path,
    ) as g:
        for path in g.track(paths):
            with open(path, "rb") as handle:
                subjects = pickle.load(handle)
            rows = [(path.name, sid, signal.tolist()) for sid, signal in subjects.items()]
            con.executemany("INSERT INTO signals VALUES (?, ?, ?)", rows)
            g.tick(rows=len(rows))
    con.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
