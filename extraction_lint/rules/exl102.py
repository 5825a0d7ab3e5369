"""EXL102 extraction-loop-without-memory-guard (SPEC 2.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from extraction_lint.rules.guarded_loop import GuardedLoopRule, guard_advice

if TYPE_CHECKING:
    from extraction_lint.analysis.guards import LoopGuards
    from extraction_lint.analysis.model import Loop
    from extraction_lint.analysis.module import ModuleAnalysis


class ExtractionLoopWithoutMemoryGuard(GuardedLoopRule):
    code = "EXL102"
    name = "extraction-loop-without-memory-guard"
    summary = "A loop that loads or writes data runs with no memory limit."
    missing = "memory guard"
    what_it_does = """
Reports an *extraction loop* (see EXL101: an unbounded loop that calls a loader or a bulk
write; only the outermost of a nest; not in a generator function or in an implementation of
a loader, a sink or `__iter__`) that runs without a memory guard. A memory guard is any of:

- a `with guard(...)` or `with MemoryGuard(...)` block of `extraction_lint.guardrails`
  around the loop (or inside it);
- iterating `<guard>.track(...)`, where `<guard>` is bound by `with guard(...) as g:` or
  `g = guard(...)`;
- a memory check in the loop: `<x>.check_memory()`, `.check()` on a `MemoryGuard` or on a
  `guard(...)`, `psutil.Process(...).memory_info()`, `psutil.virtual_memory()`,
  `resource.getrusage(...)`, `tracemalloc.get_traced_memory()`;
- a process-wide limit anywhere in the module:
  `resource.setrlimit(resource.RLIMIT_AS or resource.RLIMIT_DATA, ...)`.
"""
    why_bad = """
Without a limit, a loop that accumulates more than the machine holds does not fail: it
swaps. The incident behind this tool swapped 18 TB to disk over 21 hours instead of stopping
with a clear error in the first minutes.
"""
    example = """
for path in paths:
    rows = pickle.load(open(path, "rb"))
    con.executemany(SQL, rows)
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(total=len(paths), memory_limit="2 GiB") as g:
    for path in g.track(paths):
        rows = pickle.load(open(path, "rb"))
        con.executemany(SQL, rows)
"""
    known_problems = """
A limit set in another module (or by the job's launcher, `ulimit -v`, a cgroup) is not seen.
A `guard(...)` counts whatever its arguments: one without `memory_limit=` guards nothing at
run time, which this rule does not check.
"""
    options = """
- `extend-memory-guard-calls`: more memory guards, as qualified names (`mylib.limit_memory`)
  or method names with a leading dot (`.check_rss`). They count when called in the loop,
  used as a context manager around it, or decorating its function.
"""
    valid = (
        # SPEC 2.5: a process-wide `RLIMIT_AS` limit in the module.
        """
import resource
import pickle

resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
for path in paths:
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: `with guard(...) as g:` and `g.track(...)`.
        """
from extraction_lint.guardrails import guard
import pickle

with guard(total=len(paths), memory_limit="2 GiB") as g:
    for path in g.track(paths):
        with open(path, "rb") as fh:
            con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.5: `with gr.guard(...) as g:` through `import extraction_lint.guardrails as gr`.
        """
import extraction_lint.guardrails as gr
import pandas as pd

with gr.guard(label="csv", memory_limit="1 GiB") as g:
    for chunk in pd.read_csv(big_csv, chunksize=200_000):
        chunk.to_sql("trips", engine, if_exists="append")
        g.tick(rows=len(chunk))
""",
        # SPEC 2.5: `g = guard(...)` then `for x in g.track(xs)`.
        """
from extraction_lint.guardrails import guard
import numpy as np

g = guard(total=len(npz_paths), memory_limit="3 GiB", stall_timeout="5m")
for path in g.track(npz_paths):
    with np.load(path) as npz:
        con.append("signals", npz_to_frame(npz))
""",
        # SPEC 2.5: `guard` imported under another name.
        """
from extraction_lint.guardrails import guard as watched

with watched(label="sync", memory_limit="1 GiB", timeout="1h"):
    while rows := src.fetchmany(10_000):
        dst.executemany(UPSERT_SQL, rows)
""",
        # SPEC 2.5: `with MemoryGuard(...)` around the loop.
        """
from extraction_lint.guardrails import MemoryGuard
import polars as pl

with MemoryGuard(limit="8 GiB"):
    for path in parquet_paths:
        pl.read_parquet(path).write_database("events", uri, if_table_exists="append")
""",
        # SPEC 2.1: `with MemoryGuard(...)` inside the loop: a guard anywhere inside counts.
        """
from extraction_lint.guardrails import MemoryGuard
import pickle

for path in pickle_paths:
    with MemoryGuard(limit="2 GiB"):
        with open(path, "rb") as fh:
            con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.5: `.check()` on a `MemoryGuard` in the body.
        """
from extraction_lint.guardrails import MemoryGuard
import joblib

mem = MemoryGuard(limit="6 GiB")
for path in shard_paths:
    shard = joblib.load(path)
    shard.to_parquet(path.with_suffix(".parquet"))
    mem.check()
""",
        # SPEC 2.5: `<x>.check_memory()` in the body.
        """
import numpy as np

for path in sorted(raw_dir.glob("*.npy")):
    arr = np.load(path, mmap_mode="r")
    con.append("samples", to_frame(arr))
    monitor.check_memory()
""",
        # SPEC 2.5: `psutil.Process().memory_info()` in the body.
        """
import psutil
import pandas as pd

for path in xlsx_paths:
    pd.read_excel(path).to_sql("ledger", engine, if_exists="append")
    rss = psutil.Process().memory_info().rss
    if rss > MAX_RSS:
        raise MemoryError(f"RSS {rss} after {path}")
""",
        # SPEC 2.5: `psutil.Process(...)` bound to a name, `.memory_info()` in the body.
        """
import os
import psutil
import pickle

proc = psutil.Process(os.getpid())
for path in pickle_paths:
    rows = pickle.loads(path.read_bytes())
    con.executemany(INSERT_SQL, rows)
    if proc.memory_info().rss > 4 << 30:
        raise MemoryError(path)
""",
        # SPEC 2.5: `tracemalloc.get_traced_memory()` in the body.
        """
import tracemalloc
import json

tracemalloc.start()
for path in dump_paths:
    with open(path) as fh:
        docs = json.load(fh)
    collection.insert_many(docs)
    current, peak = tracemalloc.get_traced_memory()
    assert peak < PEAK_LIMIT, f"peak {peak} bytes at {path}"
""",
        # SPEC 2.5: `resource.getrusage(...)` in the body.
        """
import resource
import torch

for ckpt in checkpoints:
    state = torch.load(ckpt, map_location="cpu")
    export_weights(state)
    if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > MAX_RSS_KB:
        raise MemoryError(ckpt)
""",
        # SPEC 2.5: `setrlimit(RLIMIT_AS, ...)` in another function is process-wide.
        """
import resource
import pandas as pd

def limit_memory(max_bytes):
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

def export(paths):
    for path in paths:
        pd.read_parquet(path).to_csv(path.with_suffix(".csv"))
""",
        # SPEC 2.5: `RLIMIT_DATA` set under `if __name__ == "__main__":`, after the loop.
        """
import resource
import sys
import pyarrow.parquet as pq

def main(paths):
    for path in paths:
        writer.write_table(pq.read_table(path))

if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_DATA, (8 << 30, 8 << 30))
    main(sys.argv[1:])
""",
        # SPEC 2.5: `setrlimit` and `RLIMIT_AS` imported by name from `resource`.
        """
from resource import RLIMIT_AS, setrlimit
import h5py

setrlimit(RLIMIT_AS, (16 << 30, 16 << 30))
for path in h5_paths:
    with h5py.File(path) as f:
        con.append("frames", to_frame(f["frames"][:]))
""",
        # SPEC 2.1: in a nest, a memory check in the inner loop counts for the outermost.
        """
import psutil
import pandas as pd

for path in csv_paths:
    for chunk in pd.read_csv(path, chunksize=100_000):
        chunk.to_sql("trips", engine, if_exists="append")
        if psutil.Process().memory_info().rss > LIMIT:
            raise MemoryError(path)
""",
        # SPEC 2.5: `async for` inside `with guard(...)`.
        """
from extraction_lint.guardrails import guard

async def consume(stream, conn):
    with guard(label="stream", memory_limit="512 MiB") as g:
        async for batch in stream:
            await conn.copy_records_to_table("events", records=batch)
            g.tick(rows=len(batch))
""",
        # SPEC 2.1: a loop over a tuple of years is bounded.
        """
import pandas as pd

for year in (2021, 2022, 2023):
    pd.read_csv(f"sales_{year}.csv").to_parquet(f"sales_{year}.parquet")
""",
        # SPEC 2.1: `enumerate(zip(...))` of displays is bounded.
        """
import numpy as np

for i, (name, dtype) in enumerate(zip(("ecg", "eeg"), (np.float32, np.int16))):
    arr = np.fromfile(f"raw/{name}.bin", dtype=dtype)
    np.save(f"npy/{i}-{name}.npy", arr)
""",
        # SPEC 2.1: reading text files is not loading: not an extraction loop.
        """
from pathlib import Path

for path in Path("logs").rglob("*.log"):
    text = path.read_text(errors="replace")
    error_counts[path.name] = text.count("ERROR")
""",
        # SPEC 2.5: `resource` imported under an alias.
        """
import resource as res
import pandas as pd

res.setrlimit(res.RLIMIT_AS, (4 << 30, 4 << 30))
for path in csv_paths:
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `guardrails.MemoryGuard(...)` through `from extraction_lint import guardrails`.
        """
from extraction_lint import guardrails
import joblib

with guardrails.MemoryGuard(limit="2 GiB"):
    for path in model_paths:
        joblib.load(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `guard(...)` as one item of a multi-item `with`.
        """
from extraction_lint.guardrails import guard
import pickle

with open("errors.log", "a") as errors, guard(label="pkl", memory_limit="2 GiB"):
    for path in pickle_paths:
        con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.5: `get_traced_memory` imported by name from `tracemalloc`.
        """
from tracemalloc import get_traced_memory, start
import pyarrow.parquet as pq

start()
for path in part_paths:
    writer.write_table(pq.read_table(path))
    if get_traced_memory()[1] > PEAK_LIMIT:
        raise MemoryError(path)
""",
        # SPEC 2.5: `with guard(...)` around a bounded loop covers its inner extraction loop.
        """
from extraction_lint.guardrails import guard
import pandas as pd

with guard(label="export", memory_limit="1 GiB") as g:
    for table in ("orders", "refunds"):
        for chunk in pd.read_sql_table(table, engine, chunksize=20_000):
            chunk.to_parquet(f"export/{table}/{chunk.index[0]}.parquet")
""",
        # SPEC 2.5: `.check()` on a guard checks memory (a guard checks all its limits).
        """
from extraction_lint.guardrails import guard
import pickle

g = guard(memory_limit="1 GiB")
for path in paths:
    g.check()
    data = pickle.load(open(path, "rb"))
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
        # SPEC 2.5: a plain extraction loop with no memory guard.
        """
import pickle

for path in paths:  # EXL102
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: `tqdm` is a heartbeat, not a memory guard.
        """
from tqdm import tqdm
import pickle

for path in tqdm(pickle_paths):  # EXL102
    with open(path, "rb") as fh:
        con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.5: standalone `track(...)` from the guardrails is a heartbeat only.
        """
from extraction_lint.guardrails import track
import pandas as pd

for path in track(csv_paths, label="csv"):  # EXL102
    pd.read_csv(path).to_sql("raw", engine, if_exists="append")
""",
        # SPEC 2.5: rich's `Progress.track(...)` is a heartbeat only.
        """
from rich.progress import Progress
import polars as pl

with Progress() as progress:
    for path in progress.track(parquet_paths):  # EXL102
        pl.read_parquet(path).write_csv(path.with_suffix(".csv"))
""",
        # SPEC 2.5: `with StallDetector(...)` is no memory guard.
        """
from extraction_lint.guardrails import StallDetector

with StallDetector(timeout="5m"):
    while rows := cur.fetchmany(10_000):  # EXL102
        out.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.5: `with Deadline(...)` is no memory guard.
        """
from extraction_lint.guardrails import Deadline
import joblib

with Deadline("2h"):
    for path in model_paths:  # EXL102
        joblib.load(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `RLIMIT_NOFILE` is not a memory limit.
        """
import resource
import pandas as pd

resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
for path in csv_paths:  # EXL102
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: only `RLIMIT_AS` or `RLIMIT_DATA` count, not `RLIMIT_RSS`.
        """
import resource
import numpy as np

resource.setrlimit(resource.RLIMIT_RSS, (4 << 30, 4 << 30))
for path in npy_paths:  # EXL102
    con.append("arrays", to_frame(np.load(path)))
""",
        # SPEC 2.5: reading the limit with `getrlimit` sets nothing.
        """
import resource
import pickle

soft, hard = resource.getrlimit(resource.RLIMIT_AS)
for path in pickle_paths:  # EXL102
    rows = pickle.load(open(path, "rb"))
    con.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.5: `gc.collect()` is not a memory check.
        """
import gc
import pandas as pd

for path in parquet_paths:  # EXL102
    frame = pd.read_parquet(path)
    frame.to_sql("events", engine, if_exists="append")
    del frame
    gc.collect()
""",
        # SPEC 2.5: a memory reading before the loop is not a check in its body.
        """
import psutil
import torch

start_rss = psutil.Process().memory_info().rss
for ckpt in checkpoints:  # EXL102
    state = torch.load(ckpt, map_location="cpu")
    export_weights(state)
""",
        # SPEC 2.5: `tracemalloc` read only after the loop.
        """
import tracemalloc
import json

tracemalloc.start()
for path in export_paths:  # EXL102
    with open(path, "w") as fh:
        json.dump(fetch_records(path.stem), fh)
print(tracemalloc.get_traced_memory())
""",
        # SPEC 2.5: `.check()` on something that is not a `MemoryGuard`.
        """
import pandas as pd

for path in csv_paths:  # EXL102
    frame = pd.read_csv(path)
    quality.check(frame)
    frame.to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.1: calls are not followed: `with guard` around a call leaves the helper's loop.
        """
from extraction_lint.guardrails import guard
import pyarrow.parquet as pq

def copy_parts(paths):
    for path in paths:  # EXL102
        writer.write_table(pq.read_table(path))

with guard(label="copy", memory_limit="2 GiB"):
    copy_parts(part_paths)
""",
        # SPEC 2.1: in a nest only the outermost extraction loop is reported.
        """
import h5py

for path in session_paths:  # EXL102
    with h5py.File(path, "r") as f:
        for name in f["units"]:
            con.append("spikes", to_frame(f["units"][name][:]))
""",
        # SPEC 2.1: a bounded outer loop: the inner loop (`polars.scan_csv`) is reported.
        """
import polars as pl

for source in ("web", "app"):
    for path in sorted(raw_dir.glob(f"{source}/*.csv")):  # EXL102
        pl.scan_csv(path).collect().write_parquet(out_dir / f"{path.stem}.parquet")
""",
        # SPEC 2.1: a paginating `while True:` loop with `fetchall`.
        """
offset = 0
while True:  # EXL102
    rows = cur.execute(PAGE_SQL, (offset,)).fetchall()
    if not rows:
        break
    out.executemany(INSERT_SQL, rows)
    offset += len(rows)
""",
        # SPEC 2.1: an `async for` loop writing through `copy_records_to_table`.
        """
async def load(stream, conn):
    async for batch in stream.iter_batches(10_000):  # EXL102
        await conn.copy_records_to_table("events", records=batch)
""",
        # SPEC 2.5: a log line is a heartbeat, not a memory guard.
        """
import logging
import numpy as np

logger = logging.getLogger(__name__)
for path in bin_paths:  # EXL102
    samples = np.fromfile(path, dtype="<i2")
    np.save(path.with_suffix(".npy"), samples)
    logger.info("converted %s", path)
""",
        # SPEC 2.1: a loop that only writes through `pyarrow.parquet.write_table`.
        """
import pyarrow.parquet as pq

for day, table in tables_by_day.items():  # EXL102
    pq.write_table(table, f"out/day={day}/data.parquet")
""",
        # SPEC 2.5: the guarded loop passes, the second loop of the module is reported.
        """
from extraction_lint.guardrails import guard
import pandas as pd

with guard(label="orders", memory_limit="2 GiB") as g:
    for path in g.track(order_paths):
        pd.read_parquet(path).to_sql("orders", engine, if_exists="append")

for path in refund_paths:  # EXL102
    pd.read_parquet(path).to_sql("refunds", engine, if_exists="append")
""",
        # SPEC 2.5: the report is on the loop's first line when its header spans lines.
        """
import pickle

for path, subject in zip(  # EXL102
    sorted(pickle_paths), subject_ids
):
    con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.1: `load` imported by name from `joblib` is a loader.
        """
from joblib import load

for path in model_paths:  # EXL102
    model = load(path)
    results[path.stem] = model.predict(X_test)
""",
        # SPEC 2.1: `pickle` imported under an alias, `pkl.loads` over database blobs.
        """
import pickle as pkl

for (blob,) in cur.execute("SELECT state FROM jobs"):  # EXL102
    job = pkl.loads(blob)
    handle(job)
""",
        # SPEC 2.1: two sibling unbounded loops in a bounded loop: both reported.
        """
import pandas as pd

for split in ("train", "test"):
    for path in image_index(split):  # EXL102
        pd.read_parquet(path).to_sql(f"{split}_images", engine, if_exists="append")
    for path in label_index(split):  # EXL102
        pd.read_csv(path).to_sql(f"{split}_labels", engine, if_exists="append")
""",
        # SPEC 2.1: `pandas` used by its full name: `pandas.read_sql`.
        """
import pandas

for shop_id in shop_ids:  # EXL102
    frame = pandas.read_sql("SELECT * FROM sales WHERE shop = %s", engine, params=(shop_id,))
    frame.to_parquet(f"sales/{shop_id}.parquet")
""",
        # SPEC 2.1: `range(N_SHARDS)`: a constant is not a literal argument, so unbounded.
        """
import numpy as np

N_SHARDS = 16

for shard in range(N_SHARDS):  # EXL102
    np.save(f"out/{shard}.npy", np.load(f"in/{shard}.npy"))
""",
        # SPEC 2.5: a guard made but never entered nor tracked: `g.tick()` is only a heartbeat.
        """
from extraction_lint.guardrails import guard

g = guard(label="copy", memory_limit="1 GiB", stall_timeout="5m")
while rows := src.fetchmany(10_000):  # EXL102
    dst.executemany(INSERT_SQL, rows)
    g.tick(rows=len(rows))
""",
        # SPEC 2.1: a loader in the header alone makes an extraction loop.
        """
import pandas as pd

total = 0
for chunk in pd.read_csv("trips.csv", chunksize=500_000):  # EXL102
    total += len(chunk)
""",
        # SPEC 2.5: a `guard` defined in the module is not the guardrails' `guard`.
        """
from contextlib import contextmanager
from filelock import FileLock
import pickle

@contextmanager
def guard(lock_path):
    with FileLock(lock_path):
        yield

with guard("/tmp/subjects.lock"):
    for path in pickle_paths:  # EXL102
        con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
""",
        # SPEC 2.5: an operator's `execute` is a job, not a sink: its loop is checked.
        """
import pandas as pd


class ExportOperator(BaseOperator):
    def execute(self, context):
        for path in self.paths:  # EXL102
            pd.read_csv(path).to_sql("raw", self.engine, if_exists="append")
""",
    )

    def advice(self, analysis: ModuleAnalysis, loop: Loop) -> str:
        return guard_advice(analysis, loop, "memory_limit=...")

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.memory
