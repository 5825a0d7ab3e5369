"""EXL001 accumulate-then-bulk-write (SPEC 2.2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.rules.base import Finding, Need, Related, Rule
from extraction_lint.rules.common import accumulation_related, loops_label, sink_label

if TYPE_CHECKING:
    from extraction_lint.analysis.collections import Accumulation
    from extraction_lint.analysis.model import Assignment
    from extraction_lint.analysis.module import ModuleAnalysis


class AccumulateThenBulkWrite(Rule):
    code = "EXL001"
    needs = frozenset({Need.ACCUMULATION})
    name = "accumulate-then-bulk-write"
    summary = (
        "A collection grows without bound in a loop and is written in one bulk write after it."
    )
    what_it_does = """
Reports a bulk write (a *sink*: `executemany`, `to_parquet`, `json.dump`, ...) of a
collection that grew inside an unbounded loop and was never flushed there.

It fires when all of these hold, in one function (or one module-level block):

- a collection (`[]`, `{}`, `set()`, `list()`, `dict()`, `defaultdict(...)`, `deque()`
  without `maxlen`, a display, or an empty `pandas`/`polars` data frame) is bound outside
  every unbounded loop;
- it grows (`append`, `extend`, `insert`, `add`, `update`, `+=`, `c = c + ...`,
  `c[k] = ...`, `c[k].append(...)`, `c.setdefault(...).append(...)`,
  `c = pd.concat([c, ...])`) inside an unbounded loop;
- it is never flushed (`c.clear()`, `del c[:]`, `c[:] = []`, re-binding to a fresh
  container; for a dict of lists, one key's batch emptied: `c[k].clear()`, `del c[k][:]`)
  anywhere inside the outermost unbounded loop that holds the growth;
- after that loop, the collection or a value derived from it (`pd.DataFrame(c)`,
  `np.array(c)`, `list(c)`, `d = c`, any method call on it, any subscript of it: `c[k]`,
  `df[mask]`, `c[i:j]`) reaches a sink, or a comprehension or generator expression over
  one of those does (`executemany(SQL, (tuple(r) for r in c))`: the whole collection is
  held until it has been iterated). What a sink writes is what a frame writer is called
  on (`df.to_parquet(path)` writes `df`, not `path`) and what the other sinks are passed
  (`writers[k].writerows(batch)` writes `batch`, not the writer).

A loop is bounded when its trip count is small and known from the source: `range` of
literals (at most `bounded-range-limit` steps), a display such as `("a", "b")`, a module
constant bound once to a display (or its `.items()`, `.keys()`, `.values()`), or
`enumerate`/`zip`/`reversed`/`sorted` of those. Everything else is unbounded, `map` and
`filter` included.
"""
    why_bad = """
Memory grows with the input instead of staying flat, and nothing is written until the very
end. This is how a job ran 21 hours at 99% CPU: 136 pickle files x 507 subjects of numpy rows
went into one list (13.4 GB) to be `executemany`'d into DuckDB at the end; the machine swapped
18 TB to disk and the database file never grew. Writing per file took it to 400 MB.
"""
    example = """
rows = []
for path in sorted(Path(d).glob("*.pkl")):
    for sig in load(path):
        rows.append((sig["id"], sig["signal"].tolist()))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)
"""
    use_instead = """
for path in sorted(Path(d).glob("*.pkl")):
    rows = [(sig["id"], sig["signal"].tolist()) for sig in load(path)]
    con.executemany("INSERT INTO s VALUES (?, ?)", rows)   # one write per file

# or in bounded batches, with the leftover written after the loop:
batch = []
for rec in records:
    batch.append(rec)
    if len(batch) >= 5_000:
        con.executemany(SQL, batch)
        batch.clear()
con.executemany(SQL, batch)
"""
    known_problems = """
Calls of the project's own functions are followed: a collection grown by a helper that the
loop calls, or written by a helper called after the loop (`save(con, rows)`), is seen; calls
through other receivers, `getattr` or functions passed around as values are not. A name
carries what its last binding before the write carries, in source order: branches are not
told apart, so a name bound in both arms of an `if` carries what the second arm binds. A flush anywhere inside the loop counts, even under a condition that
never holds. `x.execute(sql, c)` is a bulk write when `c` is a list (or is turned into one
where it is passed: `list(c)`, `sorted(c)`, `df.to_dict("records")`, `a.tolist()`) and the
statement, when it is written out (positionally or as `sql=`, `statement=`, `query=`,
`operation=`), is not a query: its first word after whitespace and SQL comments is not
`SELECT`, `SHOW`, `DESCRIBE`, `EXPLAIN`, `PRAGMA`, nor `WITH` named parts followed by a
`SELECT`. A tuple or dict there is one row's parameters, and so is an element of the
collection (`c[-1]`, `c[k]`; a slice `c[i:j]` is many rows).

Automatic fix (unsafe: `--fix --unsafe-fixes`, shown by `--diff --unsafe-fixes`): the
write goes into the loop in bounded batches. Before each `rows.append(x)`, at its
indentation, it inserts `if len(rows) >= BATCH_SIZE:` followed by the sink statement, as
written after the loop, and `rows.clear()`; each `rows.extend(xs)` becomes
`for item in xs:` with that flush before `rows.append(item)` (`item_2`, ... when the name
is taken). The write after the loop stays (the leftover batch) and `BATCH_SIZE = 1_000` is
added after the module's imports (`BATCH_SIZE_2`, ... when the name is taken). Flushing
before each element keeps that last write as it was: it gets an empty collection only when
the original did (an `extend` that adds nothing right after a flush would have left it
one). Only this shape gets the fix:

- the collection is a plain name bound to `[]` or `list()`;
- it grows only by `rows.append(x)` / `rows.extend(xs)` statements (an `extend` alone on
  its line), all in one innermost loop (not in a nested function or a loop's `else`, nor
  in the body of a `try` or of a `with contextlib.suppress(...)`: an error of a write
  there would be caught and the same batch written again);
- it is written once, after the loop, by a statement of the same block as the loop that
  is just the sink call (`await` of it too), of a sink that can take a part:
  `executemany`, `insert_many`, `bulk_insert_mappings`, `bulk_save_objects`, `add_all`,
  `copy_records_to_table`, `writerows`, `writelines`, `write_table` and `write_batch` of
  an open writer (a `ParquetWriter`: these two are sinks only once added with
  `extend-sink-methods`), DuckDB's `append`, `psycopg2.extras.execute_values` /
  `execute_batch`, `to_sql` with `if_exists="append"`; the collection goes in directly
  or through element-wise derivations (`pd.DataFrame(rows, columns=...)`,
  `pd.DataFrame.from_records(rows, columns=...)`, `pl.DataFrame(rows, schema=...)`,
  `pa.Table.from_pylist(rows, schema=...)`, `pd.concat(rows)`, `pl.concat(rows)`, `list`,
  `tuple`): a table built from records without its columns takes them from the records
  it gets, and a batch may lack a key that a later one has (`pd.concat` and `pl.concat`
  are batched as they are: frames with different columns give batches with different
  columns, one reason the fix is unsafe);
- the collection is read nowhere else (no `len(rows)`, no second sink, no other
  function), and the sink's other names (the connection, the statement, the writer) are
  not used or re-bound in the loop (nor a name bound from them, such as a cursor of the
  same connection), nor used by a statement between the loop and the sink (nor does a
  `return`, `raise`, `break` or `continue` stand there).

Anything else has no fix: a sink inside an `if` or a `with` that is not the loop's, a
derivation bound to a name first (`df = pd.DataFrame(rows)`), `sorted(rows)` or
`set(rows)` (a batch is not the whole), a subscript, a comprehension or a generator of
the collection, a helper that writes (`save(con, rows)`), other
sinks added with `extend-sink-methods`.
Sinks that write a whole value or file (`json.dump`, `pickle.dump`, `numpy.save`,
`to_parquet` of a path, `pyarrow.parquet.write_table`) cannot take parts: a second call
would replace the first. The message says what to write in the loop instead: JSON lines
(`fh.write(json.dumps(rec) + "\\n")`), a `pyarrow.parquet.ParquetWriter` opened before the
loop (`writer.write_table(...)` per part), or rows appended to a DuckDB table.
"""
    options = """
- `bounded-range-limit` (default 1000): the largest `range` of literals that counts as a
  bounded loop.
- `extend-sink-methods`, `extend-sink-functions`: more bulk writes.
"""
    valid = (
        # SPEC 2.1: a sink is a bulk write; with a `SELECT`, the list is a query's parameters.
        """
ids = []
for row in cursor:
    ids.append(row.id)
marks = ", ".join(["%s"] * len(ids))
cur.execute(f"SELECT name FROM users WHERE id IN ({marks})", ids)
""",
        # SPEC 2.1: the first word after SQL comments, `WITH ... SELECT`, and the
        # statement passed by keyword are read the same.
        """
ids = []
for row in cursor:
    ids.append(row.id)
con.execute("-- rows we already have\\nSELECT id FROM t WHERE id IN ?", ids)
con.execute("/* lookup */ select id FROM t WHERE id IN ?", ids)
con.execute("WITH seen AS (SELECT id FROM t) SELECT * FROM seen WHERE id IN ?", ids)
con.execute(f"with recursive r(n) as (select 1 from {table}) select n from r where n in ?", ids)
con.execute(sql="SELECT id FROM t WHERE id IN ?", parameters=ids)
""",
        # SPEC 2.2: the leftover batch after a flushed loop.
        """
batch = []
for rec in records:
    batch.append(rec)
    if len(batch) >= 5_000:
        con.executemany(SQL, batch)
        batch.clear()
con.executemany(SQL, batch)
""",
        # SPEC 2.2: a fresh collection per iteration.
        """
for path in paths:
    rows = [to_row(s) for s in load(path)]
    con.executemany(SQL, rows)
""",
        # SPEC 2.2: a bounded loop.
        """
out = []
for name in ("a", "b", "c"):
    out.append(build(name))
con.executemany(SQL, out)
""",
        # Flush with `del c[:]` after each batch write: the leftover write is fine.
        """
buffer = []
for line in open("access.log"):
    buffer.append(parse_line(line))
    if len(buffer) >= 10_000:
        out.writelines(buffer)
        del buffer[:]
out.writelines(buffer)
""",
        # Flush with `c[:] = []` inside a `while chunk := cur.fetchmany(n)` loop.
        """
pending = []
while chunk := src_cur.fetchmany(2_000):
    pending.extend(chunk)
    if len(pending) >= 20_000:
        dst.executemany("INSERT INTO events VALUES (?, ?, ?)", pending)
        pending[:] = []
dst.executemany("INSERT INTO events VALUES (?, ?, ?)", pending)
""",
        # Flush by re-binding the name to a fresh list after the write.
        """
import psycopg2.extras

batch = []
for row in reader:
    batch.append((row["id"], row["email"]))
    if len(batch) == 5_000:
        psycopg2.extras.execute_values(cur, "INSERT INTO users VALUES %s", batch)
        batch = []
psycopg2.extras.execute_values(cur, "INSERT INTO users VALUES %s", batch)
""",
        # Growth in the inner loop, flush in the outer loop of the nest: bounded per file.
        """
rows = []
for path in sorted(Path("raw").glob("*.pkl")):
    for sig in load(path):
        rows.append((sig["id"], sig["signal"].tolist()))
    con.executemany("INSERT INTO s VALUES (?, ?)", rows)
    rows.clear()
con.executemany("INSERT INTO s VALUES (?, ?)", rows)
""",
        # Collection bound inside the outer unbounded loop is per-item, however deep the fill.
        """
for day_dir in Path("landing").iterdir():
    readings = []
    for hour_file in day_dir.glob("*.json"):
        for rec in json.load(open(hour_file)):
            readings.append(rec)
    pd.DataFrame(readings).to_parquet(f"out/{day_dir.name}.parquet")
""",
        # A `deque` with `maxlen` is bounded by construction: not a collection.
        """
from collections import deque

recent = deque(maxlen=500)
for event in consumer:
    recent.append(event.value)
with open("tail.json", "w") as fh:
    json.dump(list(recent), fh)
""",
        # `range` of literals with at most 1000 steps is a bounded loop.
        """
import numpy as np

partitions = []
for shard in range(1, 1001):
    partitions.append(np.load(f"shards/{shard:04d}.npy"))
np.save("all_shards.npy", np.concatenate(partitions))
""",
        # Module constant bound once to a tuple display: bounded, also through enumerate().
        """
TABLES = ("customers", "orders", "invoices")

counts = {}
for i, table in enumerate(TABLES):
    counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
with open("counts.json", "w") as fh:
    json.dump(counts, fh)
""",
        # zip of two module constants bound once to list displays is a bounded loop.
        """
SOURCES = ["s3://raw/eu", "s3://raw/us"]
TARGETS = ["eu_events", "us_events"]

jobs = []
for src, dst in zip(SOURCES, TARGETS):
    jobs.append({"src": src, "dst": dst})
session.bulk_insert_mappings(Job, jobs)
""",
        # sorted() of a set display is a bounded loop.
        """
import pandas as pd

frames = []
for region in sorted({"eu", "us", "ap"}):
    frames.append(pd.read_csv(f"s3://exports/{region}.csv").assign(region=region))
pd.concat(frames).to_parquet("regions.parquet")
""",
        # Growth in an unbounded loop, but nothing of the collection reaches a sink after it.
        """
seen_ids = set()
for rec in cur:
    seen_ids.add(rec[0])
log.info("distinct ids: %d", len(seen_ids))
""",
        # `self.rows` bound in `__init__` is not tracked in `run`, which does not bind it.
        """
class Loader:
    def __init__(self, con):
        self.con = con
        self.rows = []

    def run(self, cur):
        for rec in cur:
            self.rows.append(rec)
        self.con.executemany("INSERT INTO t VALUES (?, ?)", self.rows)
""",
        # `append` with a non-literal first argument is not the DuckDB sink form.
        """
import duckdb

con = duckdb.connect("warehouse.duckdb")
frames = []
for path in paths:
    frames.append(pd.read_parquet(path))
con.append(table_name, pd.concat(frames))
""",
        # `append` with three positional arguments is not the DuckDB sink form.
        """
import duckdb

con = duckdb.connect("warehouse.duckdb")
frames = []
for path in paths:
    frames.append(pd.read_parquet(path))
con.append("readings", pd.concat(frames), True)
""",
        # `execute(sql)` with one argument is not the SQLAlchemy-style executemany.
        """
from sqlalchemy import text

ids = []
for row in source.stream():
    ids.append(row.id)
session.execute(text("REFRESH MATERIALIZED VIEW daily_totals"))
""",
        # A comprehension is not a loop for EXL001: growth through a generator is not flagged.
        """
rows = []
rows.extend(to_row(rec) for rec in cur)
con.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # Per-item collection in an `async for` loop written with `await con.executemany`.
        """
async def ingest(con, stream):
    async for batch in stream:
        rows = []
        for msg in batch:
            rows.append((msg.key, msg.value))
        await con.executemany("INSERT INTO msgs VALUES ($1, $2)", rows)
""",
        # Module-level `if __name__ == "__main__":` block with a bounded range loop.
        """
import pickle

if __name__ == "__main__":
    results = []
    for fold in range(10):
        results.append(train_fold(fold))
    with open("cv_results.pkl", "wb") as fh:
        pickle.dump(results, fh)
""",
        # Flushed in a `try/finally`-wrapped loop in a decorated function: the leftover is fine.
        """
@retry(times=3)
def export(cur, writer):
    batch = []
    try:
        for rec in cur:
            batch.append(rec)
            if len(batch) >= 1_000:
                writer.writerows(batch)
                batch.clear()
    finally:
        writer.writerows(batch)
""",
        # A data frame built with data is not an empty frame, so not a collection.
        """
import pandas as pd

df = pd.read_parquet("base.parquet")
for chunk in pd.read_csv("delta.csv", chunksize=50_000):
    df = pd.concat([df, chunk])
df.to_parquet("merged.parquet")
""",
        # Written only inside the loop (a checkpoint), never after it.
        """
offsets = {}
for event in consumer:
    offsets[event.partition] = event.offset
    if event.offset % 1_000 == 0:
        with open("checkpoint.json", "w") as fh:
            json.dump(offsets, fh)
""",
        # reversed() of a list display in an `if __name__ == "__main__":` block.
        """
if __name__ == "__main__":
    stages = []
    for name in reversed(["extract", "transform", "load"]):
        stages.append({"stage": name, "status": "pending"})
    db.pipeline_runs.insert_many(stages)
""",
        # Growth and flush both in the inner loop of a nest: the flush is inside L.
        """
batch = []
for path in paths:
    for rec in load(path):
        batch.append(rec)
        if len(batch) >= 1_000:
            con.executemany("INSERT INTO t VALUES (?, ?)", batch)
            batch.clear()
con.executemany("INSERT INTO t VALUES (?, ?)", batch)
""",
        # `range(A, B, S)` of literals with exactly 1000 steps is bounded.
        """
import numpy as np

tiles = []
for offset in range(0, 2_000, 2):
    tiles.append(render_tile(offset))
np.save("tiles.npy", np.stack(tiles))
""",
        # Nested bounded loops: `range` of literals inside a tuple display.
        """
cells = []
for region in ("eu", "us"):
    for hour in range(24):
        cells.append({"region": region, "hour": hour, "load": 0.0})
session.bulk_insert_mappings(HourlyLoad, cells)
""",
        # SPEC 2.1 Flush, 2.2: the batches of a dict of lists, each written and emptied in
        # the loop when full (`c[k].clear()`, `del c[k][:]`); the leftovers after it.
        """
from collections import defaultdict

pending = defaultdict(list)
for rec in records:
    pending[rec.table].append(rec)
    if len(pending[rec.table]) >= 1000:
        con.executemany(SQL[rec.table], pending[rec.table])
        pending[rec.table].clear()
for table in TABLES:
    con.executemany(SQL[table], pending[table])

queued = defaultdict(list)
for rec in records:
    queued[rec.table].append(rec)
    if len(queued[rec.table]) >= 1000:
        con.executemany(SQL[rec.table], queued[rec.table])
        del queued[rec.table][:]
for table in TABLES:
    con.executemany(SQL[table], queued[table])
""",
        # SPEC 2.1 Flush, through a closure (2.6): `nonlocal rows; rows = []` empties the
        # enclosing function's list, so the last call writes the leftover batch only.
        """
def load(con, items):
    rows = []

    def flush():
        nonlocal rows
        con.executemany("INSERT INTO t VALUES (?)", rows)
        rows = list()

    for item in items:
        rows.append(item)
        if len(rows) > 1000:
            flush()
    flush()
""",
        # SPEC 2.6: a lambda's parameter is a value passed in, not the module's function.
        """
def write(con, rows):
    con.executemany("INSERT INTO t VALUES (?)", rows)


def load(con, items, sink):
    rows = []
    for item in items:
        rows.append(item)
    emit = lambda write: write(con, rows)
    emit(sink)
    [write(con, rows) for write in (sink,)]
""",
        # SPEC 2.1 Sink: the records are what `writerows` is passed (its receiver is a
        # writer), and what a frame writer is called on (its arguments are where to write).
        """
import csv

writers, paths = {}, []
for rec in records:
    if rec.kind not in writers:
        writers[rec.kind] = csv.writer(open(f"{rec.kind}.csv", "w"))
        paths.append(f"{rec.kind}.parquet")
    writers[rec.kind].writerow(rec.values)
for kind, batch in leftovers.items():
    writers[kind].writerows(batch)
for i, frame in enumerate(frames):
    frame.to_parquet(paths[i])
""",
        # A module-level collection written in a function: different scopes.
        """
ROWS = []
for rec in cur:
    ROWS.append(rec)


def flush(con):
    con.executemany("INSERT INTO t VALUES (?, ?)", ROWS)
""",
        # SPEC 2.1 Sink: `execute(sql, params)` with a dict is one row's parameters, not executemany.
        """
params = {}
for name, value in settings.items():
    params[name] = value
cur.execute("UPDATE config SET data = :data", params)
""",
        # SPEC 2.1 Sink: `self.execute(func, (path, lines))` passes a tuple: not executemany.
        """
def write_manifest(self, path):
    lines = []
    for source in self.sources:
        lines.append(source.name)
    self.execute(write_file, (path, lines), "writing manifest")
""",
        # SPEC 2.2: after the loop the name is re-bound; the sink writes the new value.
        """
import pandas as pd


def main(stream, out, other):
    rows = []
    for r in stream:
        rows.append(r)
    df = pd.DataFrame(rows)
    print(df.describe())
    df = pd.read_parquet(other)
    df.to_parquet(out)
""",
        # SPEC 2.2: `rows` re-bound to a fetch result before the write.
        """
def refresh(stream, cur, con):
    rows = []
    for r in stream:
        rows.append(r)
    print(len(rows))
    rows = cur.fetchall()
    con.executemany("INSERT INTO t VALUES (?)", rows)
""",
        # SPEC 2.2: a name re-used for a second, properly batched loop; the leftover write is fine.
        """
def load(small, big, con):
    rows = []
    for r in small:
        rows.append(r)
    print(len(rows))
    rows = []
    for r in big:
        rows.append(r)
        if len(rows) >= 1000:
            con.executemany("INSERT INTO t VALUES (?)", rows)
            rows.clear()
    con.executemany("INSERT INTO t VALUES (?)", rows)
""",
        # SPEC 2.2: a loop target re-binds the name; the write after the loop is the last chunk.
        """
def copy(stream, chunks, con):
    rows = []
    for r in stream:
        rows.append(r)
    for rows in chunks:
        pass
    con.executemany("INSERT INTO t VALUES (?)", rows)
""",
        # SPEC 2.1: a collection bound by tuple unpacking and flushed by re-binding it so.
        """
batch, size = [], 0
for rec in records:
    batch.append(rec)
    size += 1
    if size >= 1_000:
        con.executemany("INSERT INTO t VALUES (?, ?)", batch)
        batch, size = [], 0
con.executemany("INSERT INTO t VALUES (?, ?)", batch)
""",
        # SPEC 2.1: unpacking a call's result binds no collection (what it holds is unknown).
        """
rows, token = fetch_page(None)
while token:
    more, token = fetch_page(token)
    rows.extend(more)
con.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # SPEC 2.1: tuple unpacking inside an unbounded loop makes per-item collections.
        """
for path in paths:
    rows, errors = [], []
    for rec in read(path):
        (rows if rec.ok else errors).append(rec)
        rows.append(rec)
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # SPEC 2.1: `.items()`, `.keys()` and `.values()` of a module constant are bounded.
        """
import pandas as pd

TABLES = {"users": "u.parquet", "orders": "o.parquet"}


def export(con):
    frames = []
    for table, path in TABLES.items():
        frames.append(pd.read_parquet(path).assign(table=table))
    for i, table in enumerate(TABLES.keys()):
        frames.append(pd.read_sql(f"SELECT * FROM {table}", con).assign(rank=i))
    for path in sorted(TABLES.values()):
        frames.append(pd.read_parquet(path))
    pd.concat(frames).to_parquet("all.parquet")
""",
        # SPEC 2.1: a module constant bound once by element-wise unpacking is a display.
        """
import pickle

REGIONS, KINDS = ("eu", "us"), ("daily",)

out = []
for region in REGIONS:
    for kind in KINDS:
        out.append(pickle.load(open(f"{region}-{kind}.pkl", "rb")))
con.executemany("INSERT INTO t VALUES (?)", out)
""",
        # SPEC 2.1 Sink: an element of the collection (`rows[-1]`, `by_id[k]`) is one row's
        # parameters for `execute`, in the loop or after it.
        """
rows, by_id = [], {}
for rec in stream:
    rows.append(rec)
    by_id[rec.id] = rec
    con.execute("INSERT INTO t VALUES (?, ?)", rows[-1])
con.execute("INSERT INTO t VALUES (?, ?)", rows[-1])
con.execute("INSERT INTO t VALUES (?, ?)", by_id[last_id])
""",
        # SPEC 2.2: a generator over a flushed batch is the leftover batch, and one over a
        # per-item collection writes one iteration's worth.
        """
batch = []
for rec in records:
    batch.append(rec)
    if len(batch) >= 5_000:
        con.executemany(SQL, (tuple(r) for r in batch))
        batch.clear()
con.executemany(SQL, (tuple(r) for r in batch))

for path in paths:
    rows = []
    for rec in load(path):
        rows.append(rec)
    con.executemany(SQL, [tuple(r) for r in rows])
""",
        # SPEC 2.1: a comprehension's inner clause over its own target is not the collection
        # of the same name; what iterates the collection inside the loop writes one step.
        """
rows = []
for rec in stream:
    rows.append(rec)
    con.executemany(SQL, (tuple(r) for r in rows[-10:]))
print(len(rows), rows[0])
con.executemany(SQL, (item for rows in batches for item in rows))
""",
    )
    invalid = (
        # SPEC 2.6: `ClassName.m(...)` of a class method: Python passes the class, so
        # the collection is the method's `rows`.
        """
class Exporter:
    @classmethod
    def flush(cls, con, rows):
        con.executemany("INSERT INTO t VALUES (?)", rows)


def export(con, reader):
    acc = []
    for record in reader:
        acc.append(record)
    Exporter.flush(con, acc)  # EXL001
""",
        # SPEC 2.1 Sink: a frame writer called on the class writes its first argument; a
        # literal key's list emptied is not the flush of another key's.
        """
import pandas as pd

frames = []
for path in paths:
    frames.append(pd.read_csv(path))
pd.DataFrame.to_parquet(pd.concat(frames), "out.parquet")  # EXL001

out = {"rows": [], "errors": []}
for rec in records:
    out["rows"].append(rec)
    if rec.bad:
        out["errors"].clear()
con.executemany(SQL, out["rows"])  # EXL001
""",
        # SPEC 2.6: a lambda's default binding the module's function under its own name is
        # that function; a comprehension's target is only the comprehension's.
        """
def write(con, rows):
    con.executemany("INSERT INTO t VALUES (?)", rows)


def load(con, items):
    rows = []
    for item in items:
        rows.append(item)
    emit = lambda write=write: write(con, rows)  # EXL001
    emit()
""",
        # SPEC 2.6: a closure that grows its enclosing function's collection does so at each
        # of its calls there: here, in the loop.
        """
def job(con, paths):
    rows = []

    def add(path):
        rows.append(path.stem)

    for path in paths:
        add(path)
    con.executemany("INSERT INTO t VALUES (?)", rows)  # EXL001
""",
        # SPEC 2.6: a closure that writes its enclosing function's collection does so at
        # each of its calls there, with no argument passed.
        """
def job(con, paths):
    rows = []

    def flush_all():
        con.executemany("INSERT INTO t VALUES (?)", rows)

    for path in paths:
        rows.append(path.stem)
    flush_all()  # EXL001
""",
        # SPEC 2.6: a project function that writes its parameter is a sink of what is passed.
        """
def save(con, rows):
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)


def main(con, cur):
    rows = []
    for rec in cur:
        rows.append(rec)
    save(con, rows)  # EXL001
""",
        # SPEC 2.1: `x.execute(sql, c)` counts through a derivation such as `list(c)`.
        """
seen = set()
for row in cursor:
    seen.add((row.id, row.name))
con.execute("INSERT INTO names VALUES (?, ?)", list(seen))  # EXL001
""",
        # SPEC 2.1: SQLAlchemy's executemany form, with the records of a grown data frame.
        """
import pandas as pd

frame = pd.DataFrame()
for chunk in pd.read_csv("big.csv", chunksize=50_000):
    frame = pd.concat([frame, chunk])
session.execute(insert_stmt, frame.to_dict("records"))  # EXL001
""",
        # SPEC 2.1: `deque(maxlen=None)` sets no limit: a growable collection.
        """
import json
from collections import deque

events = deque(maxlen=None)
for event in consumer:
    events.append(event.value)
json.dump(list(events), open("events.json", "w"))  # EXL001
""",
        # SPEC 2.1: `map` is not one of the wrappers that keep a display bounded.
        """
out = []
for name in map(str.strip, ("a ", "b ")):
    out.append(build(name))
con.executemany(SQL, out)  # EXL001
""",
        # SPEC 2.2
        """
rows = []
for path in sorted(Path(d).glob("*.pkl")):
    for sig in load(path):
        rows.append((sig["id"], sig["signal"].tolist()))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)  # EXL001
""",
        # SPEC 2.2
        """
import pandas as pd

frames = []
while True:
    chunk = cur.fetchmany(10_000)
    if not chunk:
        break
    frames.append(pd.DataFrame(chunk))
pd.concat(frames).to_parquet("out.parquet")  # EXL001
""",
        # A function loading pickles into one list, written after the loop.
        """
import pickle


def load_signals(con, paths):
    rows = []
    for path in paths:
        with open(path, "rb") as fh:
            rows.extend(pickle.load(fh))
    con.executemany("INSERT INTO signals VALUES (?, ?)", rows)  # EXL001
""",
        # A method: `self.buffer` bound, grown and written in the same method.
        """
class Exporter:
    def run(self, cur):
        self.buffer = []
        for rec in cur:
            self.buffer.append(rec)
        self.con.executemany("INSERT INTO t VALUES (?, ?)", self.buffer)  # EXL001
""",
        # An `if __name__ == "__main__":` block collecting stdin lines for `json.dump`.
        """
import json
import sys

if __name__ == "__main__":
    events = []
    for line in sys.stdin:
        events.append(json.loads(line))
    with open("events.json", "w") as fh:
        json.dump(events, fh)  # EXL001
""",
        # `async for` growth and `await con.executemany(...)` after the loop.
        """
async def ingest(con, stream):
    rows = []
    async for msg in stream:
        rows.append((msg.key, msg.value))
    await con.executemany("INSERT INTO msgs VALUES ($1, $2)", rows)  # EXL001
""",
        # asyncpg `copy_records_to_table` with the collection as a keyword argument.
        """
async def copy_all(pool, source):
    records = []
    async for rec in source.iterate():
        records.append(tuple(rec))
    async with pool.acquire() as con:
        await con.copy_records_to_table("measurements", records=records)  # EXL001
""",
        # `while chunk := cur.fetchmany(n)` growth, written through `pd.DataFrame(...).to_csv`.
        """
import pandas as pd

rows = []
while chunk := cur.fetchmany(5_000):
    rows.extend(chunk)
pd.DataFrame(rows).to_csv("dump.csv", index=False)  # EXL001
""",
        # Dict growth by `c[k] = ...`, written with `from json import dump as d`.
        """
from json import dump as d

titles = {}
for doc in mongo.articles.find():
    titles[doc["_id"]] = doc["title"]
with open("titles.json", "w") as fh:
    d(titles, fh)  # EXL001
""",
        # `defaultdict` grown with `c[k].append(...)`, written with `pickle.dump`.
        """
import pickle
from collections import defaultdict

by_subject = defaultdict(list)
for rec in stream_records(path):
    by_subject[rec["subject"]].append(rec["signal"])
with open("grouped.pkl", "wb") as fh:
    pickle.dump(by_subject, fh)  # EXL001
""",
        # `c.setdefault(k, []).append(...)` growth, written unpacked: `np.savez(path, **c)`.
        """
import numpy as np

arrays = {}
for path in npy_paths:
    arrays.setdefault(path.stem, []).append(np.load(path))
np.savez("bundle.npz", **arrays)  # EXL001
""",
        # `set()` grown with `add`, written through `sorted(c)` with `writelines`.
        """
seen = set()
for line in open("access.log"):
    seen.add(line.split()[0])
with open("ips.txt", "w") as out:
    out.writelines(sorted(seen))  # EXL001
""",
        # Empty pandas frame grown by `df = pd.concat([df, chunk])`, written with `to_parquet`.
        """
import pandas as pd

df = pd.DataFrame()
for chunk in pd.read_csv("big.csv", chunksize=100_000):
    df = pd.concat([df, chunk], ignore_index=True)
df.to_parquet("big.parquet")  # EXL001
""",
        # Empty polars frame with a schema grown by `pl.concat`, written with `write_parquet`.
        """
import polars as pl

out = pl.DataFrame(schema={"id": pl.Int64, "value": pl.Float64})
for path in paths:
    out = pl.concat([out, pl.read_parquet(path)], how="vertical")
out.write_parquet("merged.parquet")  # EXL001
""",
        # `list()` grown with `+=`, written with a csv writer's `writerows`.
        """
import csv

rows = list()
for page in api.paginate("/orders"):
    rows += page["items"]
with open("orders.csv", "w", newline="") as fh:
    csv.writer(fh).writerows(rows)  # EXL001
""",
        # `c = c + ...` growth in a `while True` loop with `break`.
        """
lines = []
while True:
    batch = queue.get()
    if batch is None:
        break
    lines = lines + batch
report.writelines(lines)  # EXL001
""",
        # `insert` growth, written with `from psycopg2.extras import execute_values`.
        """
from psycopg2.extras import execute_values

rows = []
for rec in src_cur:
    rows.insert(0, (rec.id, rec.name))
execute_values(dst_cur, "INSERT INTO users (id, name) VALUES %s", rows)  # EXL001
""",
        # `psycopg2.extras.execute_batch` through `import psycopg2.extras`.
        """
import psycopg2.extras

params = []
for row in src_cur:
    params.append({"id": row[0], "amount": row[1]})
psycopg2.extras.execute_batch(dst_cur, UPDATE_SQL, params)  # EXL001
""",
        # `pq.write_table` of `pa.Table.from_pylist(c)`.
        """
import json

import pyarrow as pa
import pyarrow.parquet as pq

records = []
for msg in consumer:
    records.append(json.loads(msg.value))
pq.write_table(pa.Table.from_pylist(records), "events.parquet")  # EXL001
""",
        # SQLAlchemy-style `session.execute(stmt, rows)`.
        """
from sqlalchemy import insert

rows = []
for item in feed.iter_items():
    rows.append({"sku": item.sku, "price": item.price})
session.execute(insert(Product), rows)  # EXL001
""",
        # `dict()` grown with `update`, written with `pickle.dump`.
        """
import pickle

merged = dict()
for path in Path("lookups").glob("*.pkl"):
    with open(path, "rb") as fh:
        merged.update(pickle.load(fh))
with open("merged.pkl", "wb") as out:
    pickle.dump(merged, out)  # EXL001
""",
        # `session.bulk_insert_mappings` of rows read from a csv file.
        """
import csv

mappings = []
for row in csv.DictReader(open("customers.csv")):
    mappings.append(dict(row))
session.bulk_insert_mappings(Customer, mappings)  # EXL001
""",
        # `bulk_save_objects` after a `yield_per` query loop.
        """
objs = []
for rec in legacy.query(Record).yield_per(1_000):
    objs.append(NewRecord(id=rec.id, body=rec.body))
session.bulk_save_objects(objs)  # EXL001
""",
        # `add_all` inside a `with` block after the loop.
        """
users = []
for line in open("users.csv"):
    users.append(User(*line.rstrip().split(",")))
with Session(engine) as session:
    session.add_all(users)  # EXL001
""",
        # `insert_many` of documents collected from a directory of dumps.
        """
docs = []
for path in Path("dumps").iterdir():
    docs.extend(json.load(open(path)))
db.events.insert_many(docs)  # EXL001
""",
        # `to_feather` of `pd.DataFrame.from_records(c)`.
        """
import pandas as pd

records = []
for rec in cur:
    records.append(rec)
pd.DataFrame.from_records(records).to_feather("snapshot.feather")  # EXL001
""",
        # `to_json` at the end of a method chain on a derived frame.
        """
import pandas as pd

rows = []
for rec in api.iter_events():
    rows.append(rec)
pd.DataFrame(rows).sort_values("ts").reset_index(drop=True).to_json("e.json")  # EXL001
""",
        # polars `write_csv` of `pl.DataFrame(c)`.
        """
import polars as pl

rows = []
for line in sys.stdin:
    rows.append(parse(line))
pl.DataFrame(rows).write_csv("parsed.csv")  # EXL001
""",
        # polars `write_database` after an alias `frame = df`.
        """
import polars as pl

df = pl.DataFrame()
for path in paths:
    df = pl.concat([df, pl.read_csv(path)])
frame = df
frame.write_database("staging.readings", connection=uri)  # EXL001
""",
        # DuckDB `con.append("table", df)` form, with a keyword argument.
        """
import duckdb
import pandas as pd

con = duckdb.connect("warehouse.duckdb")
frames = []
for path in paths:
    frames.append(pd.read_parquet(path))
con.append("readings", pd.concat(frames), by_name=True)  # EXL001
""",
        # `np.save` of `np.vstack(c)`, `range` over the 1000-step limit is unbounded.
        """
import numpy as np

samples = []
for seed in range(2_000):
    samples.append(simulate(seed))
np.save("samples.npy", np.vstack(samples))  # EXL001
""",
        # `numpy.savez_compressed` through `import numpy`, over a `deque()` without maxlen.
        """
from collections import deque

import numpy

frames = deque()
for path in video_paths:
    frames.append(numpy.load(path))
numpy.savez_compressed("frames.npz", numpy.stack(frames))  # EXL001
""",
        # SPEC 2.1: a parameter (or any local binding) of the same name is not the module
        # constant; `WITH ... INSERT` writes.
        """
FILES = ["sample1.csv", "sample2.csv"]


def extract(con, FILES, *, KEYS=("a",)):
    rows = []
    for path in sorted(FILES):
        rows.extend(parse(path))
    con.execute("WITH src AS (SELECT 1) INSERT INTO s SELECT * FROM src WHERE k IN ?", rows)  # EXL001
""",
        # A module constant bound twice is not a bounded loop.
        """
REGIONS = ["eu-west", "us-east"]
if os.environ.get("ALL_REGIONS"):
    REGIONS = ["eu-west", "us-east", "ap-south"]

rows = []
for region in REGIONS:
    rows.extend(fetch_usage(region))
con.executemany("INSERT INTO usage VALUES (?, ?)", rows)  # EXL001
""",
        # `enumerate` of an unbounded iterable is unbounded.
        """
rows = []
for i, rec in enumerate(cur):
    rows.append((i, *rec))
con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)  # EXL001
""",
        # Bound outside every unbounded loop: an outer bounded loop does not make it per-item.
        """
for table in ("users", "orders"):
    rows = []
    for rec in src.scan(table):
        rows.append(rec)
    dst.executemany(INSERT_SQL[table], rows)  # EXL001
""",
        # Sink in a `finally` after the loop.
        """
rows = []
try:
    for rec in stream:
        rows.append(rec)
finally:
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)  # EXL001
""",
        # A flush after the loop does not bound the collection.
        """
rows = []
for rec in cur:
    rows.append(rec)
con.executemany("INSERT INTO t VALUES (?, ?)", rows)  # EXL001
rows.clear()
""",
        # A decorated (prefect) task function.
        """
from prefect import task


@task(retries=2)
def load_orders(con, api):
    orders = []
    for page in api.pages("/orders"):
        orders.extend(page)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders)  # EXL001
""",
        # Unpacked into the sink: `writer.writerows(*[c])`.
        """
rows = []
for rec in cur:
    rows.append(rec)
writer.writerows(*[rows])  # EXL001
""",
        # A list comprehension as the growth argument inside the loop.
        """
rows = []
for path in paths:
    rows.extend([to_row(s) for s in load(path)])
con.executemany("INSERT INTO s VALUES (?, ?)", rows)  # EXL001
""",
        # One diagnostic per (collection, sink): two sinks after the loop.
        """
import pandas as pd

rows = []
for rec in cur:
    rows.append(rec)
df = pd.DataFrame(rows)
df.to_parquet("out.parquet")  # EXL001
df.to_csv("out.csv")  # EXL001
""",
        # `list(c)` derivation, `d = c` alias, and the alias passed to the sink.
        """
rows = []
while True:
    rec = queue.get()
    if rec is None:
        break
    rows.append(rec)
snapshot = list(rows)
ordered = snapshot
con.executemany("INSERT INTO t VALUES (?, ?)", ordered)  # EXL001
""",
        # A flush in the bounded outer loop is outside L, the unbounded inner loop.
        """
rows = []
for table in ("users", "orders"):
    for rec in src.scan(table):
        rows.append(rec)
    dst.executemany(INSERT_SQL[table], rows)  # EXL001
    rows.clear()
""",
        # `pd.DataFrame(columns=...)` grown with `pd.concat([page, history])`, c not first.
        """
import pandas as pd

history = pd.DataFrame(columns=["ts", "symbol", "price"])
for page in client.iter_pages("/quotes"):
    history = pd.concat([pd.DataFrame(page), history])
history.to_parquet("quotes.parquet")  # EXL001
""",
        # A non-empty dict display is a collection too.
        """
import json

report = {"source": "billing-api"}
for invoice in client.invoices():
    report[invoice["id"]] = invoice["total"]
with open("report.json", "w") as fh:
    json.dump(report, fh, indent=2)  # EXL001
""",
        # A non-empty list display (a header row) grown and written with `writerows`.
        """
import csv

rows = [("id", "name", "email")]
for user in ldap.search_users():
    rows.append((user.uid, user.cn, user.mail))
with open("users.csv", "w", newline="") as fh:
    csv.writer(fh).writerows(rows)  # EXL001
""",
        # `import polars` spelled out: `polars.DataFrame()` and `polars.concat((...))`.
        """
import polars

merged = polars.DataFrame()
for path in Path("exports").glob("*.ipc"):
    merged = polars.concat((merged, polars.read_ipc(path)))
merged.write_csv("merged.csv")  # EXL001
""",
        # `defaultdict(list)` columns written through `pa.Table.from_pydict`.
        """
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

columns = defaultdict(list)
for rec in reader:
    for key, value in rec.items():
        columns[key].append(value)
pq.write_table(pa.Table.from_pydict(columns), "records.parquet")  # EXL001
""",
        # `np.asarray(c)` written with `np.save`, growth in a `while not done` loop.
        """
import numpy as np

frames = []
done = False
while not done:
    frame, done = sensor.read()
    frames.append(frame)
np.save("capture.npy", np.asarray(frames))  # EXL001
""",
        # Plain DB-API `cur.execute(sql, rows)` with the collection as second argument.
        """
rows = []
for line in open("prices.tsv"):
    rows.append(line.rstrip().split("\\t"))
cur.execute("INSERT INTO prices VALUES (%s, %s)", rows)  # EXL001
""",
        # `set(c)` is a derivation.
        """
import pickle

tags = []
for post in api.iter_posts():
    tags.extend(post["tags"])
with open("tags.pkl", "wb") as fh:
    pickle.dump(set(tags), fh)  # EXL001
""",
        # `tuple(c)` is a derivation.
        """
rows = []
for rec in cur:
    rows.append(rec)
writer.writerows(tuple(rows))  # EXL001
""",
        # `c.copy()` (a method call on the collection) is a derivation.
        """
docs = []
for msg in consumer:
    docs.append(msg.value)
db.events.insert_many(docs.copy())  # EXL001
""",
        # `[*c]` is a derivation.
        """
import json

ids = set()
for row in cur:
    ids.add(row[0])
with open("ids.json", "w") as fh:
    json.dump([*ids], fh)  # EXL001
""",
        # `dict(c)` is a derivation.
        """
import json

lookup = {}
for row in cur:
    lookup[row[0]] = row[1]
with open("lookup.json", "w") as fh:
    json.dump(dict(lookup), fh)  # EXL001
""",
        # `range(A, B, S)` of literals over the limit (1001 steps) is unbounded.
        """
tiles = []
for offset in range(0, 2_001, 2):
    tiles.append(render_tile(offset))
db.tiles.insert_many(tiles)  # EXL001
""",
        # `pandas.concat(c)` through `import pandas`, inside a `with` block.
        """
import duckdb
import pandas

frames = []
for path in sorted(Path("csv").glob("*.csv")):
    frames.append(pandas.read_csv(path))
with duckdb.connect("w.duckdb") as con:
    pandas.concat(frames).to_sql("readings", con)  # EXL001
""",
        # A method writing its own `self.rows` with `self.writer.writerows`.
        """
class CsvDump:
    def dump(self, cur):
        self.rows = []
        while row := cur.fetchone():
            self.rows.append(row)
        self.writer.writerows(self.rows)  # EXL001
""",
        # A dict written through `list(c.values())`: a materialisation that is also a derivation.
        """
def load_latest(con, cur):
    by_id = {}
    for rec in cur:
        by_id[rec.id] = rec
    con.executemany("INSERT INTO latest VALUES (?, ?)", list(by_id.values()))  # EXL001
""",
        # A module-level list grown in a loop is not a constant: iterating it is unbounded.
        """
paths = []
for line in open("manifest.txt"):
    paths.append(line.strip())
rows = []
for path in paths:
    rows.extend(load(path))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)  # EXL001
""",
        # SPEC 2.1: a collection bound element-wise in tuple unpacking.
        """
rows, token = [], None
while True:
    page = api.get("/items", params={"cursor": token})
    rows.extend(page["items"])
    token = page.get("next")
    if not token:
        break
con.executemany("INSERT INTO items VALUES (?, ?)", rows)  # EXL001
""",
        # SPEC 2.1: `self.attr` collections bound by one unpacking, and a parenthesised one.
        """
import pandas as pd


class Collector:
    def run(self, stream):
        self.rows, self.errors = [], []
        (frames, names) = ([], set())
        for msg in stream:
            self.rows.append(msg.value)
            frames.append(pd.DataFrame(msg.batch))
        self.sink.insert_many(self.rows)  # EXL001
        pd.concat(frames).to_parquet("out.parquet")  # EXL001
""",
        # SPEC 2.1: nested unpacking binds each element.
        """
import json

(ids, by_id), count = ([], {}), 0
for rec in read_records(path):
    by_id[rec["id"]] = rec
    count += 1
json.dump(by_id, open("by_id.json", "w"))  # EXL001
""",
        # SPEC 2.1: a derivation bound element-wise, and unpacking of a tainted value.
        """
import pandas as pd

frames = []
for path in paths:
    frames.append(pd.read_parquet(path))
frame, parts = pd.concat(frames), len(frames)
frame.to_parquet("all.parquet")  # EXL001

rows = []
for rec in stream:
    rows.append(rec)
first, *others = sorted(rows)
con.executemany("INSERT INTO t VALUES (?)", others)  # EXL001
""",
        # SPEC 2.1: any subscript of a grown data frame is a derivation (a mask, a column):
        # the whole frame was held to take it.
        """
import pandas as pd

df = pd.DataFrame()
for r in recs:
    df = pd.concat([df, r])
df[df.status == "ok"].to_parquet("ok.parquet")  # EXL001
df["amount"].to_csv("amounts.csv")  # EXL001
df.loc[:, ["id", "amount"]].to_json("ids.json")  # EXL001
""",
        # SPEC 2.1: a key of a grown dict of lists, inline or bound to a name first.
        """
from collections import defaultdict

import pandas as pd

out = defaultdict(list)
for r in recs:
    out[r.kind].append(r)
pd.DataFrame(out["a"]).to_parquet(path)  # EXL001
sel = out[KEY]
con.executemany(SQL, sel)  # EXL001
""",
        # SPEC 2.6: a generator or comprehension over the collection, passed to the sink
        # inline or bound to a name first, writes it (as it does through a helper).
        """
rows = []
for r in recs:
    rows.append(r)
con.executemany(SQL, (tuple(r) for r in rows))  # EXL001
con.executemany(SQL, [tuple(r) for r in rows])  # EXL001 (and EXL002: a copy of `rows`)
params = ((r.id, r.name) for r in sorted(rows))
con.executemany(SQL, params)  # EXL001
""",
        # SPEC 2.6: nested clauses over a dict of lists, and a generator over a subscript.
        """
by_kind = {}
for r in recs:
    by_kind.setdefault(r.kind, []).append(r)
con.executemany(SQL, (x for batch in by_kind.values() for x in batch))  # EXL001
writer.writerows(tuple(x) for x in by_kind["a"])  # EXL001
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        # Imported here: the fix builder needs libcst, which a clean file never loads.
        from extraction_lint.rules.exl001_fix import batch_fix, whole_write_advice

        for scope in analysis.scopes:
            # An accumulation needs a collection bound outside the unbounded loops of the
            # scope, and one such loop: without them no summary needs to be read.
            if not analysis.direct_collections(scope).may_accumulate():
                continue
            # Sinks first: fewer project functions can write than can grow something.
            sinks = analysis.sinks(scope)
            if not sinks:
                continue
            accumulations = analysis.accumulations(scope)
            if not accumulations:
                continue
            by_binding: dict[Assignment, list[Accumulation]] = {}
            for accumulation in accumulations:
                by_binding.setdefault(accumulation.binding.assignment, []).append(accumulation)
            for sink in sinks:
                carried = analysis.carried_by_sink(scope, sink)
                reached = [b for b in by_binding if b in carried]
                for binding in sorted(reached, key=lambda b: b.site.order):
                    candidates = by_binding[binding]
                    before = [a for a in candidates if a.loop.end < sink.call.site.order]
                    if not before:
                        continue
                    key = before[0].key
                    loops = loops_label(analysis, [a.loop for a in before])
                    related: list[Related] = []
                    for accumulation in before:
                        related.extend(accumulation_related(analysis, accumulation))
                    advice = whole_write_advice(analysis, sink)
                    yield Finding(
                        code=self.code,
                        node=sink.call.node,
                        message=(
                            f"`{key}` grows in {loops}, then {sink_label(sink, analysis)} writes it whole; "
                            + (advice or "write in batches in the loop")
                        ),
                        related=tuple(related),
                        fix=batch_fix(analysis, scope, sink, before),
                    )
