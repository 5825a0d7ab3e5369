"""EXL103 extraction-loop-without-stall-guard (SPEC 2.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from extraction_lint.rules.guarded_loop import GuardedLoopRule, guard_advice

if TYPE_CHECKING:
    from extraction_lint.analysis.guards import LoopGuards
    from extraction_lint.analysis.model import Loop
    from extraction_lint.analysis.module import ModuleAnalysis


class ExtractionLoopWithoutStallGuard(GuardedLoopRule):
    code = "EXL103"
    name = "extraction-loop-without-stall-guard"
    summary = "A loop that loads or writes data runs with no stall detection or timeout."
    missing = "stall guard"
    what_it_does = """
Reports an *extraction loop* (see EXL101; only the outermost of a nest; not in a generator
function or in an implementation of a loader, a sink or `__iter__`) that runs without
stall detection or a timeout. A stall or timeout guard is any of:

- a `with guard(...)`, `with StallDetector(...)` or `with Deadline(...)` block of
  `extraction_lint.guardrails` around the loop (or inside it);
- iterating `<guard>.track(...)`, where `<guard>` is bound by `with guard(...) as g:` or
  `g = guard(...)`;
- a process-wide timeout anywhere in the module: `signal.alarm(...)`,
  `signal.setitimer(...)`, or `faulthandler.dump_traceback_later(..., exit=True)`;
- a timeout decorator on the enclosing function: `@timeout(...)` (timeout-decorator,
  wrapt-timeout-decorator, `pytest.mark.timeout`), `@func_set_timeout(...)`, or a task
  decorator with a time limit: Prefect `@flow(timeout_seconds=...)` /
  `@task(timeout_seconds=...)`, Celery `@app.task(time_limit=...)` /
  `@shared_task(soft_time_limit=...)`, Airflow `@task(execution_timeout=...)`. Other
  decorators that merely mention timeouts (`@retry_on_timeout`, `@cache.memoize(timeout=...)`)
  do not count.
"""
    why_bad = """
A job that stops making progress (a lock, a network read that never returns, swapping) keeps
its machine busy until somebody notices. With a stall guard it fails in minutes with a stack
dump that shows where it hung.
"""
    example = """
while True:
    chunk = cur.fetchmany(10_000)
    if not chunk:
        break
    out.executemany(SQL, chunk)
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(label="copy", stall_timeout="5m", timeout="2h") as g:
    while chunk := cur.fetchmany(10_000):
        out.executemany(SQL, chunk)
        g.tick(rows=len(chunk))
"""
    known_problems = """
A timeout set by the job's launcher (`timeout 2h python job.py`, a scheduler's limit) is not
seen; suppress with `# noqa: EXL103 <reason>` on the loop's first line.
A `guard(...)` counts whatever its arguments: one without `stall_timeout=` or `timeout=`
bounds nothing at run time, which this rule does not check.
"""
    options = """
- `extend-stall-guard-calls`: more stall or timeout guards, as qualified names
  (`mylib.deadline`) or method names with a leading dot (`.check_deadline`). They count when
  called in the loop, used as a context manager around it, or decorating its function.
"""
    valid = (
        # SPEC 2.5: a process-wide `signal.alarm(...)` in the module.
        """
import signal
import pickle

signal.alarm(3600)
for path in paths:
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: `signal.alarm` in another function is process-wide.
        """
import signal
import pandas as pd

def arm_timeout(seconds):
    signal.alarm(seconds)

def export(paths):
    for path in paths:
        pd.read_parquet(path).to_csv(path.with_suffix(".csv"))
""",
        # SPEC 2.5: `signal.setitimer(...)`.
        """
import signal
import pickle

signal.setitimer(signal.ITIMER_REAL, 2 * 3600)
for path in pickle_paths:
    with open(path, "rb") as fh:
        con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.5: `alarm` imported by name from `signal`.
        """
from signal import alarm
import json

alarm(1800)
for path in dump_paths:
    with open(path) as fh:
        collection.insert_many(json.load(fh))
""",
        # SPEC 2.5: `faulthandler.dump_traceback_later(..., exit=True)`.
        """
import faulthandler
import numpy as np

faulthandler.dump_traceback_later(3 * 3600, exit=True)
for path in npy_paths:
    con.append("signals", to_frame(np.load(path)))
""",
        # SPEC 2.5: `dump_traceback_later(timeout=..., exit=True)` in the `__main__` block.
        """
import faulthandler
import sys
import torch

def main(ckpts):
    for ckpt in ckpts:
        export_weights(torch.load(ckpt, map_location="cpu"))

if __name__ == "__main__":
    faulthandler.dump_traceback_later(timeout=7200, exit=True)
    main(sys.argv[1:])
""",
        # SPEC 2.5: Prefect `@flow(timeout_seconds=...)` on the enclosing function.
        """
from prefect import flow
import polars as pl

@flow(timeout_seconds=3600)
def load_events(paths):
    for path in paths:
        pl.read_parquet(path).write_database("events", URI, if_table_exists="append")
""",
        # SPEC 2.5: Prefect `@task(timeout_seconds=...)` among other arguments.
        """
from prefect import task
import pandas as pd

@task(retries=2, timeout_seconds=600)
def load_partition(paths):
    for path in paths:
        pd.read_csv(path).to_sql("raw", ENGINE, if_exists="append", index=False)
""",
        # SPEC 2.5: a `@timeout(...)` decorator.
        """
from timeout_decorator import timeout
import joblib

@timeout(1800)
def score_models(model_paths, X):
    for path in model_paths:
        model = joblib.load(path)
        predictions[path.stem] = model.predict(X)
""",
        # SPEC 2.5: `@timeout(...)` reached through its module.
        """
import timeout_decorator
import pyarrow.parquet as pq

@timeout_decorator.timeout(3600, use_signals=True)
def copy_parts(paths, writer):
    for path in paths:
        writer.write_table(pq.read_table(path))
""",
        # SPEC 2.5: `async for` in a Prefect flow with `timeout_seconds`.
        """
from prefect import flow

@flow(timeout_seconds=900)
async def mirror(stream, conn):
    async for batch in stream:
        await conn.copy_records_to_table("events", records=batch)
""",
        # SPEC 2.5: `with gr.guard(...) as g:` through `import extraction_lint.guardrails as gr`.
        """
import extraction_lint.guardrails as gr
import h5py

with gr.guard(label="sessions", stall_timeout="10m") as g:
    for path in session_paths:
        with h5py.File(path, "r") as f:
            con.append("lfp", to_frame(f["lfp"][:]))
        g.tick()
""",
        # SPEC 2.5: `g = guard(...)` then `for x in g.track(xs)`.
        """
from extraction_lint.guardrails import guard
import pandas as pd

g = guard(total=len(paths), stall_timeout="5m", timeout="3h")
for path in g.track(paths):
    pd.read_json(path, lines=True).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `with StallDetector(...)` around a chunked `read_sql_query` loop.
        """
from extraction_lint.guardrails import StallDetector
import pandas as pd

with StallDetector(timeout="10m"):
    for chunk in pd.read_sql_query(QUERY, engine, chunksize=50_000):
        chunk.to_parquet(out_dir / f"{chunk.index[0]}.parquet")
""",
        # SPEC 2.5: `with Deadline(...)` around a `fetchone` walrus loop.
        """
from extraction_lint.guardrails import Deadline
import pickle

with Deadline("45m"):
    while row := cur.fetchone():
        publish(pickle.loads(row[0]))
""",
        # SPEC 2.1: `with Deadline(...)` inside the loop: a guard anywhere inside counts.
        """
from extraction_lint.guardrails import Deadline

for table in source_tables():
    with Deadline("20m"):
        rows = src.execute(f"SELECT * FROM {table}").fetchall()
        dst.executemany(insert_sql(table), rows)
""",
        # SPEC 2.1: in a nest, a `StallDetector` around the inner loop covers the outermost.
        """
from extraction_lint.guardrails import StallDetector
import pandas as pd

for path in csv_paths:
    with StallDetector(timeout="5m"):
        for chunk in pd.read_csv(path, chunksize=100_000):
            chunk.to_sql("trips", engine, if_exists="append")
""",
        # SPEC 2.1: `for name in ("a", "b")` is bounded.
        """
import pandas as pd

for name in ("a", "b"):
    pd.read_pickle(f"{name}.pkl").to_parquet(f"{name}.parquet")
""",
        # SPEC 2.1: `sorted` of a set display is bounded.
        """
import numpy as np

for split in sorted({"train", "val", "test"}):
    arr = np.load(f"data/{split}.npy")
    np.savez_compressed(f"data/{split}.npz", data=arr)
""",
        # SPEC 2.1: `json.loads` over the lines of a file is not a loader.
        """
import json

with open("events.jsonl") as fh:
    for line in fh:
        event = json.loads(line)
        counts[event["type"]] += 1
""",
        # SPEC 2.5: `signal` imported under an alias.
        """
import signal as sig
import pickle

sig.setitimer(sig.ITIMER_REAL, 5400)
for path in pickle_paths:
    con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.5: `@prefect.flow(timeout_seconds=...)` through `import prefect`.
        """
import prefect
import pandas as pd

@prefect.flow(timeout_seconds=7200)
def nightly(paths):
    for path in paths:
        pd.read_parquet(path).to_sql("facts", ENGINE, if_exists="append")
""",
        # SPEC 2.5: a `@timeout(...)` decorator on a method.
        """
from timeout_decorator import timeout
import numpy as np

class SignalLoader:
    @timeout(3600)
    def load(self, paths):
        for path in paths:
            self.con.append("signals", to_frame(np.load(path)))
""",
        # SPEC 2.5: `guardrails.Deadline(...)` through `from extraction_lint import guardrails`.
        """
from extraction_lint import guardrails
import json

with guardrails.Deadline("30m"):
    for path in dump_paths:
        with open(path) as fh:
            collection.insert_many(json.load(fh))
""",
        # SPEC 2.5: `StallDetector(...)` as one item of a multi-item `with`.
        """
import csv
from extraction_lint.guardrails import StallDetector

with open("out.csv", "w") as out, StallDetector(timeout="5m"):
    while rows := cur.fetchmany(10_000):
        csv.writer(out).writerows(rows)
""",
        # SPEC 2.5: loops in generator functions and loader implementations are not checked.
        """
import pandas as pd


def iter_frames(paths):
    for path in paths:
        yield pd.read_parquet(path)


class Cursor:
    def fetchall(self):
        rows = []
        while page := self.fetchmany(1_000):
            rows.extend(page)
        return rows
""",
    )
    invalid = (
        # SPEC 2.6: a loop that calls a project function that writes is an extraction loop.
        """
import pandas as pd

def export_table(name):
    pd.read_sql_table(name, ENGINE).to_parquet(f"export/{name}.parquet")

for name in inspector.get_table_names():  # EXL103
    export_table(name)
""",
        # SPEC 2.5: a plain extraction loop with no stall or timeout guard.
        """
import pickle

for path in paths:  # EXL103
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: `dump_traceback_later` without `exit=True` only dumps, never stops.
        """
import faulthandler
import pickle

faulthandler.dump_traceback_later(3600)
for path in pickle_paths:  # EXL103
    con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.5: `dump_traceback_later(..., exit=False)` does not count.
        """
import faulthandler
import numpy as np

faulthandler.dump_traceback_later(600, repeat=True, exit=False)
for path in bin_paths:  # EXL103
    np.save(path.with_suffix(".npy"), np.fromfile(path, dtype=np.uint8))
""",
        # SPEC 2.5: `faulthandler.enable()` sets no timeout.
        """
import faulthandler
import pandas as pd

faulthandler.enable()
for path in csv_paths:  # EXL103
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: installing a signal handler is not `signal.alarm`.
        """
import json
import signal
import sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
for path in dump_paths:  # EXL103
    with open(path) as fh:
        collection.insert_many(json.load(fh))
""",
        # SPEC 2.5: Prefect `@flow` without `timeout_seconds`.
        """
from prefect import flow
import polars as pl

@flow(retries=2, log_prints=True)
def load_events(paths):
    for path in paths:  # EXL103
        pl.read_parquet(path).write_database("events", URI, if_table_exists="append")
""",
        # SPEC 2.5: a bare Prefect `@task`.
        """
from prefect import task
import pandas as pd

@task
def load_partition(paths):
    for path in paths:  # EXL103
        pd.read_csv(path).to_sql("raw", ENGINE, if_exists="append")
""",
        # SPEC 2.5: `@timeout` on another function does not cover this one.
        """
import joblib
import requests
from timeout_decorator import timeout

@timeout(60)
def fetch_manifest(url):
    return requests.get(url).json()

def load_models(paths):
    for path in paths:  # EXL103
        models[path.stem] = joblib.load(path)
""",
        # SPEC 2.5: `with MemoryGuard(...)` is no stall guard.
        """
from extraction_lint.guardrails import MemoryGuard

with MemoryGuard(limit="4 GiB"):
    while rows := cur.fetchmany(10_000):  # EXL103
        out.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.5: standalone `track(...)` from the guardrails is a heartbeat only.
        """
from extraction_lint.guardrails import track
import torch

for ckpt in track(checkpoints, label="ckpt"):  # EXL103
    export_weights(torch.load(ckpt, map_location="cpu"))
""",
        # SPEC 2.5: rich's `Progress.track(...)` is a heartbeat only.
        """
from rich.progress import Progress
import h5py

with Progress() as progress:
    for path in progress.track(session_paths):  # EXL103
        with h5py.File(path, "r") as f:
            con.append("lfp", to_frame(f["lfp"][:]))
""",
        # SPEC 2.5: a `timeout=` argument of a call in the body is not a guard.
        """
import requests
import pandas as pd

for page in page_urls:  # EXL103
    resp = requests.get(page, timeout=30)
    pd.DataFrame(resp.json()["items"]).to_sql("items", engine, if_exists="append")
""",
        # SPEC 2.5: a hand-rolled deadline check is not one of the recognised guards.
        """
import time
import pyarrow.parquet as pq

deadline = time.monotonic() + 3600
for path in part_paths:  # EXL103
    if time.monotonic() > deadline:
        raise TimeoutError(path)
    writer.write_table(pq.read_table(path))
""",
        # SPEC 2.1: in a nest only the outermost extraction loop is reported.
        """
for query in export_queries:  # EXL103
    cur.execute(query)
    while rows := cur.fetchmany(5_000):
        writer.writerows(rows)
""",
        # SPEC 2.1: a bounded `range(8)` outer loop: the inner `fetchall` loop is reported.
        """
import pickle

for shard in range(8):
    cur = shard_conn(shard).cursor()
    cur.execute("SELECT payload FROM jobs")
    for (payload,) in cur.fetchall():  # EXL103
        handle(pickle.loads(payload))
""",
        # SPEC 2.1: calls are not followed: `with guard` in the caller leaves the helper's loop.
        """
from extraction_lint.guardrails import guard
import pickle

def load_all(paths):
    for path in paths:  # EXL103
        con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))

def main(paths):
    with guard(label="load", stall_timeout="5m", timeout="2h"):
        load_all(paths)
""",
        # SPEC 2.1: an `async for` loop writing through `executemany`.
        """
async def drain(queue_reader, conn):
    async for message in queue_reader:  # EXL103
        await conn.executemany(INSERT_SQL, message.rows)
""",
        # SPEC 2.1: a `while` loop on `fetchone`.
        """
row = cur.fetchone()
while row:  # EXL103
    sink.write(row)
    row = cur.fetchone()
""",
        # SPEC 2.5: `tqdm` and a logger are heartbeats, not stall guards.
        """
import logging
from tqdm import tqdm
import pandas as pd

log = logging.getLogger(__name__)
for path in tqdm(html_paths):  # EXL103
    tables = pd.read_html(path)
    log.info("%s: %d tables", path, len(tables))
""",
        # SPEC 2.5: only the loop in the function without `timeout_seconds` is reported.
        """
from prefect import flow
import polars as pl

@flow(timeout_seconds=1800)
def load_daily(paths):
    for path in paths:
        pl.read_csv(path).write_parquet(path.with_suffix(".parquet"))

def backfill(paths):
    for path in paths:  # EXL103
        pl.read_csv(path).write_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.1: a loop that only writes through `numpy.savez` (unpacked arrays).
        """
import numpy as np

for subject, arrays in subject_arrays.items():  # EXL103
    np.savez(out_dir / f"{subject}.npz", **arrays)
""",
        # SPEC 2.5: cancelling a traceback dump sets no timeout.
        """
import faulthandler
import pandas as pd

faulthandler.cancel_dump_traceback_later()
for path in csv_paths:  # EXL103
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.1: two sibling unbounded loops in a bounded loop: both reported.
        """
import numpy as np

for modality in ("eeg", "ecg"):
    for path in raw_files(modality):  # EXL103
        np.save(path.with_suffix(".npy"), np.fromfile(path, dtype=np.int16))
    for path in npy_files(modality):  # EXL103
        con.append(modality, to_frame(np.load(path)))
""",
        # SPEC 2.1: a loader inside a comprehension in the body makes an extraction loop.
        """
import polars as pl

for day in days:  # EXL103
    frames = [pl.read_ndjson(p) for p in day_files(day)]
    pl.concat(frames).write_parquet(f"daily/{day}.parquet")
""",
        # SPEC 2.5: a module-level loop has no enclosing function to be decorated.
        """
from timeout_decorator import timeout
import pyarrow.parquet as pq

@timeout(600)
def copy_one(path):
    writer.write_table(pq.read_table(path))

for path in large_paths:  # EXL103
    writer.write_table(pq.read_table(path, memory_map=True))
""",
        # SPEC 2.1: `writelines` is a sink.
        """
with open("export.csv", "w") as out:
    for batch in stream_batches(source):  # EXL103
        out.writelines(format_row(r) for r in batch)
""",
        # SPEC 2.5: a guard made but never entered nor tracked is no stall guard.
        """
from extraction_lint.guardrails import guard
import polars as pl

g = guard(total=len(paths), stall_timeout="5m", timeout="1h")
for path in paths:  # EXL103
    pl.read_parquet(path).write_database("events", URI, if_table_exists="append")
    g.tick()
""",
        # SPEC 2.5: a `guard` from another library is not the guardrails' `guard`.
        """
from myetl.locks import guard
import pickle

with guard("subjects"):
    for path in pickle_paths:  # EXL103
        con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.1: DuckDB's `append("table", frame)` with keyword arguments is a sink.
        """
import duckdb

con = duckdb.connect("lake.duckdb")
for frame in fetch_pages(api):  # EXL103
    con.append("events", frame, by_name=True)
""",
        # SPEC 2.5: retrying on timeouts bounds nothing.
        """
from myetl.retries import retry_on_timeout
import pyarrow.parquet as pq


@retry_on_timeout(attempts=3)
def copy_parts(paths, writer):
    for path in paths:  # EXL103
        writer.write_table(pq.read_table(path))
""",
        # SPEC 2.5: a cache's `timeout=` is how long a result lives, not a time limit on the run.
        """
import pandas as pd
from flask_caching import Cache

cache = Cache()


@cache.memoize(timeout=3600)
def monthly_sales(paths):
    frames = []
    for path in paths:  # EXL103
        frames.append(pd.read_parquet(path))
    return pd.concat(frames)
""",
        # SPEC 2.5: an operator's `execute` is a job, not a sink: its loop is checked.
        """
import pandas as pd


class ExportOperator(BaseOperator):
    def execute(self, context):
        for path in self.paths:  # EXL103
            pd.read_csv(path).to_sql("raw", self.engine, if_exists="append")
""",
    )

    def advice(self, analysis: ModuleAnalysis, loop: Loop) -> str:
        return guard_advice(analysis, loop, "stall_timeout=...")

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.stall
