"""EXL002 materialize-then-bulk-write (SPEC 2.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.analysis.catalog import FRAME_SINK_METHODS, WHOLE_READ_METHODS
from extraction_lint.rules.base import Finding, Need, Related, Rule
from extraction_lint.rules.common import accepts_iterator, sink_label, writes

if TYPE_CHECKING:
    import libcst as cst

    from extraction_lint.analysis.calls import SinkCall
    from extraction_lint.analysis.model import Scope
    from extraction_lint.analysis.module import Materialization, ModuleAnalysis


class MaterializeThenBulkWrite(Rule):
    code = "EXL002"
    needs = frozenset({Need.MATERIALIZATION})
    name = "materialize-then-bulk-write"
    summary = "An unbounded source is materialised whole in memory and then written in bulk."
    what_it_does = """
Reports a bulk write (a *sink*) of a value that materialises an unbounded source whole:

- a list, set or dict comprehension with at least one `for` clause that is not bounded;
- `list(...)`, `tuple(...)`, `set(...)`, `sorted(...)` or `[*...]` whose argument is a
  generator expression or a call (`list(map(load, paths))`,
  `list(itertools.chain.from_iterable(...))`).

Whole reads are materialisations too, since the sink could take the source in batches:

- `<x>.fetchall()`, `<x>.fetchdf()`, `<x>.fetch_df()`;
- `list(...)` (or `tuple`, `set`, `sorted`) of a name bound to `csv.reader(...)`,
  `csv.DictReader(...)` or a cursor (`con.cursor()`, `con.execute(sql)`, also as
  `with con.cursor() as cur:`);
- the distributed engines' pulls to the driver, called with no arguments:
  `<x>.toPandas()` and `<x>.collect()` (Spark, polars lazy frames), `<x>.compute()` (Dask).
  `gc.collect()` and `dask.compute(x)` are not pulls.

The materialisation may reach the sink directly, through a name it is assigned to,
through a derivation (`pd.DataFrame([...])`), or through a comprehension or generator
expression over it (`rows = cur.fetchall()` then `executemany(SQL, (tuple(r) for r in
rows))`). A plain name as the argument (`list(rows)`) is a copy, not a materialisation. A
materialisation inside an unbounded loop (or inside an unbounded comprehension) holds one
iteration's worth and is not reported; a generator expression over a source that streams,
passed straight to the sink, is fine. Nested materialisations written by one sink are
reported once, as what is held whole first: `[f(r) for r in cur.fetchall()]` and
`[f(r) for r in rows]` after `rows = cur.fetchall()` as the whole read.

The message says what streams instead, for that sink and engine: a generator expression
only where the sink takes any iterable (`executemany`, `writerows`, `writelines`,
`insert_many`, `add_all`, `copy_records_to_table`, `execute_values`, `execute_batch`) and
what the comprehension iterates is not held whole already (over a collection accumulated
in a loop, EXL001, a generator would still hold it: write it in batches where it grows;
over an accumulating helper's result, EXL003: make the helper yield its items);
`fetchmany(n)` batches for `fetchall()`; iterating the reader; the engine's own writer for a
pull (`sdf.write.parquet(p)`, `ddf.to_parquet(p)`, `lf.sink_parquet(p)`). A frame writer
called once per chunk would replace its file (or fail on the table it made), so for those
and `json.dump` the message names a write of chunks that makes one file or table: a
`pyarrow.parquet.ParquetWriter` for parquet, one `pyarrow.ipc.new_file()` writer for
feather, `to_sql(..., if_exists="append")`, `to_csv(p, mode="a")` with the header once,
JSON lines. When the source is a file or cursor opened by a `with` statement and the sink
comes after that statement, the file or cursor is closed by then: the message says to
write inside the `with` block.
"""
    why_bad = """
The whole source is held in memory before the first record is written: the same failure as
accumulating in a loop (EXL001), written as one expression. Memory grows with the input and
a crash loses everything.
"""
    example = """
rows = [to_row(rec) for path in paths for rec in load(path)]
con.executemany(SQL, rows)
"""
    use_instead = """
for path in paths:
    con.executemany(SQL, [to_row(rec) for rec in load(path)])   # one file at a time

# or stream a generator straight into the sink:
writer.writerows(to_row(rec) for path in paths for rec in load(path))

# read a result in batches rather than with fetchall():
while batch := src.fetchmany(10_000):
    dst.executemany(SQL, batch)

# write a parquet file in batches: one file, one row group per batch:
with pq.ParquetWriter("out.parquet", SCHEMA) as writer:
    while batch := src.fetchmany(10_000):
        records = [dict(zip(COLUMNS, row)) for row in batch]
        writer.write_table(pa.Table.from_pylist(records, SCHEMA))

# let the engine write, rather than pulling to the driver with toPandas():
sdf.write.parquet("out.parquet")
"""
    known_problems = """
Whether a comprehension over a name is large is not known from the source: iterating a
parameter or a local list counts as unbounded unless it is a display or a module constant
bound once to a display.
A `collect()` or `compute()` with no arguments on an object that is not a data frame (a
custom class's method) counts as a pull when its result reaches a sink. Whether `collect()`
is Spark's or polars' is told from the module's imports; with both or neither, the
message names both writers.
"""
    options = """
- `bounded-range-limit` (default 1000): the largest `range` of literals that counts as
  bounded.
- `extend-sink-methods`, `extend-sink-functions`: more bulk writes.
"""
    valid = (
        """
writer.writerows(to_row(rec) for path in paths for rec in load(path))
""",
        """
for path in paths:
    rows = [to_row(rec) for rec in load(path)]
    con.executemany(SQL, rows)
""",
        # A generator expression passed straight to `executemany` streams.
        """
con.executemany(
    "INSERT INTO events VALUES (?, ?)",
    ((e["id"], e["ts"]) for e in iter_events(paths)),
)
""",
        # `map(...)` passed straight to `writerows` is lazy: no materialisation.
        """
import csv

with open("out.csv", "w", newline="") as fh:
    csv.writer(fh).writerows(map(to_row, reader))
""",
        # `list(rows)` of a plain name is a derivation, not a materialisation.
        """
def save(con, rows):
    snapshot = list(rows)
    con.executemany("INSERT INTO t VALUES (?, ?)", snapshot)
""",
        # `sorted(c)`, `tuple(c)` and `[*c]` of plain names are derivations only.
        """
def export(writer, records):
    ordered = sorted(records)
    frozen = tuple(ordered)
    writer.writerows([*frozen])
""",
        # A comprehension over `range` of literals within the limit is bounded.
        """
import numpy as np

grid = [np.linspace(0, 1, 100) * k for k in range(12)]
np.save("grid.npy", np.stack(grid))
""",
        # A comprehension over a tuple display is bounded.
        """
import pandas as pd

frames = [pd.read_csv(f"exports/{r}.csv") for r in ("eu", "us", "ap")]
pd.concat(frames).to_parquet("regions.parquet")
""",
        # A comprehension over a module constant bound once to a display is bounded.
        """
TABLES = ["customers", "orders", "invoices"]

counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
with open("counts.json", "w") as fh:
    json.dump(counts, fh)
""",
        # Nested bounded clauses: enumerate and zip of displays and constants.
        """
COLUMNS = ("id", "name", "email")
TYPES = ("int", "text", "text")

schema = [{"pos": i, "col": c, "t": t} for i, (c, t) in enumerate(zip(COLUMNS, TYPES))]
session.bulk_insert_mappings(ColumnMeta, schema)
""",
        # Per-item: materialisation inside a `while chunk := cur.fetchmany(n)` loop.
        """
while chunk := src_cur.fetchmany(10_000):
    rows = [(r[0], r[1].isoformat()) for r in chunk]
    dst.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # Per-item: materialisation inside an `async for` loop.
        """
async def copy_pages(con, client):
    async for page in client.pages("/v1/orders"):
        records = [tuple(o.values()) for o in page["orders"]]
        await con.copy_records_to_table("orders", records=records)
""",
        # Per-item: materialisation inside the inner loop of a nest of unbounded loops.
        """
import pandas as pd

for day in days:
    for path in day.glob("*.json"):
        rows = list(iter_records(path))
        pd.DataFrame(rows).to_parquet(f"out/{path.stem}.parquet")
""",
        # A materialisation that never reaches a sink.
        """
cur.execute("SELECT id FROM users WHERE active")
ids = [row[0] for row in cur]
log.info("fetched %d ids, first %s", len(ids), ids[:5])
""",
        # A materialisation in one function, the write in another: calls are not followed.
        """
def collect(paths):
    return [to_row(r) for p in paths for r in load(p)]


def write(con, rows):
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # `append` whose first argument is not a string literal is not the DuckDB sink form.
        """
import pandas as pd

con.append(table_name, pd.DataFrame([to_row(r) for r in reader]))
""",
        # A `set` comprehension over a set display is bounded.
        """
flags = {f.upper() for f in {"a", "b", "c"}}
with open("flags.txt", "w") as fh:
    fh.writelines(sorted(flags))
""",
        # `sorted` of a dict display is bounded, also inside a comprehension.
        """
import pickle

bins = [make_bin(k) for k in sorted({"low": 0, "mid": 1, "high": 2})]
with open("bins.pkl", "wb") as fh:
    pickle.dump(bins, fh)
""",
        # Per-item in an `if __name__ == "__main__":` block: one write per file.
        """
if __name__ == "__main__":
    for path in Path("raw").glob("*.pkl"):
        rows = [to_row(s) for s in load(path)]
        con.executemany("INSERT INTO s VALUES (?, ?)", rows)
""",
        # A comprehension over `range(A, B, S)` of literals with exactly 1000 steps.
        """
import numpy as np

probes = [measure(depth) for depth in range(0, 5_000, 5)]
np.save("probes.npy", np.array(probes))
""",
        # A bounded clause with an `if` filter is still bounded.
        """
import json

enabled = [name for name in ("orders", "refunds", "payouts") if flags.get(name)]
with open("enabled.json", "w") as fh:
    json.dump(enabled, fh)
""",
        # A generator expression straight into asyncpg `copy_records_to_table`.
        """
async def copy_events(src, dst):
    rows = await src.fetch("SELECT id, payload FROM events")
    await dst.copy_records_to_table("events", records=(tuple(r) for r in rows))
""",
        # SPEC 2.1 Sink: `execute(sql, {...})` with a dict comprehension is one row's parameters.
        """
cursor.execute(query, {key: adapt(value) for key, value in row.items()})
""",
        # SPEC 2.3: the materialisation is replaced before the write.
        """
def sync(stream, cur, con):
    rows = [r.id for r in stream]
    print(len(rows))
    rows = load_ids(cur)
    con.executemany("INSERT INTO t VALUES (?)", rows)
""",
        # SPEC 2.1: `reversed` of a display runs a known, small number of times.
        """
import json

names = list(reversed(("alpha", "beta", "gamma")))
json.dump(names, open("names.json", "w"))
""",
        # SPEC 2.3: `fetchmany` in a loop streams: each batch is per-item.
        """
while rows := src.fetchmany(10_000):
    dst.executemany("INSERT INTO t VALUES (?, ?)", rows)
""",
        # SPEC 2.3: a whole read inside an unbounded loop holds one table at a time.
        """
for table in tables_to_copy(src):
    rows = src.execute(f"SELECT * FROM {table}").fetchall()
    dst.executemany(INSERT_SQL[table], rows)
""",
        # SPEC 2.3: Spark's own writer streams; `toPandas()` of a small preview writes nothing.
        """
def export(sdf, path):
    sdf.write.parquet(path)
    preview = sdf.limit(20).toPandas()
    print(preview)
""",
        # SPEC 2.3: `gc.collect()` and `dask.compute(...)` are no frame's pull to the driver.
        """
import gc
import json

import dask


def dump(ddf, rows, fh):
    gc.collect()
    json.dump(rows, fh)
    (total,) = dask.compute(ddf.amount.sum())
    print(total)
""",
        # SPEC 2.3: a pull called with arguments is not a whole read.
        """
batch = consumer.collect(max_records=500)
dst.executemany("INSERT INTO events VALUES (?, ?)", batch)
""",
        # SPEC 2.3: the reader passed itself to `writerows` streams.
        """
import csv

with open("in.csv", newline="") as src, open("out.csv", "w", newline="") as out:
    csv.writer(out).writerows(csv.reader(src))
""",
        # SPEC 2.3: `list(rows)` of a name not bound to a reader or a cursor is a copy.
        """
def save(con, rows):
    con.executemany("INSERT INTO t VALUES (?, ?)", list(rows))
""",
        # SPEC 2.3: a whole read that reaches no sink.
        """
def count(cur):
    cur.execute("SELECT id FROM users")
    return len(cur.fetchall())
""",
        # SPEC 2.3: a generator over an accumulated list is no materialisation (the list is
        # EXL001's), nor is one over a cursor iterated as it streams.
        """
rows = []
for r in recs:
    rows.append(r)
con.executemany(SQL, (tuple(r) for r in rows))
dst.executemany(SQL, (tuple(r) for r in src.execute("SELECT * FROM t")))
""",
        # SPEC 2.3: a generator over a whole read made per item in an unbounded loop.
        """
for table in tables:
    rows = src.execute(f"SELECT * FROM {table}").fetchall()
    dst.executemany(SQL, (tuple(r) for r in rows))
""",
    )
    invalid = (
        # SPEC 2.6: a helper's whole read is one at the caller, for an `execute` sink too.
        """
def read_all(cur):
    return cur.fetchall()


def copy(src, dst):
    rows = read_all(src)
    dst.execute("INSERT INTO users VALUES (?, ?)", rows)  # EXL002
""",
        # SPEC 2.6: a function that returns a whole read returns a materialisation, also
        # when what it reads is what the caller passed.
        """
def read_all(cur):
    return cur.fetchall()


def copy(src, dst):
    dst.executemany("INSERT INTO t VALUES (?, ?)", read_all(src))  # EXL002
""",
        # SPEC 2.6: a function that returns a comprehension (or `list(...)` of a generator)
        # over what the caller passed returns a materialisation: not a derivation (2.1).
        """
import json


def load_all(paths):
    return [load(p) for p in paths]


def to_rows(records):
    return list(to_row(r) for r in records)


def run(dst, paths, fh):
    dst.executemany("INSERT INTO t VALUES (?)", load_all(paths))  # EXL002
    rows = to_rows(read(paths))
    dst.executemany("INSERT INTO t VALUES (?)", rows)  # EXL002
    json.dump(load_all(paths), fh)  # EXL002
""",
        """
rows = [to_row(rec) for path in paths for rec in load(path)]
con.executemany(SQL, rows)  # EXL002
""",
        """
import itertools
import pandas as pd

records = list(itertools.chain.from_iterable(map(load, paths)))
pd.DataFrame(records).to_parquet("out.parquet")  # EXL002
""",
        # A list comprehension over a cursor, in a function.
        """
def copy_users(src_cur, dst):
    src_cur.execute("SELECT id, email FROM users")
    rows = [(uid, email.lower()) for uid, email in src_cur]
    dst.executemany("INSERT INTO users VALUES (?, ?)", rows)  # EXL002
""",
        # A comprehension passed directly as the sink's argument.
        """
import csv

with open("out.csv", "w", newline="") as fh:
    csv.writer(fh).writerows([to_row(r) for r in reader])  # EXL002
""",
        # A dict comprehension over documents, written with `json.dump`.
        """
import json

titles = {doc["_id"]: doc["title"] for doc in mongo.articles.find()}
with open("titles.json", "w") as fh:
    json.dump(titles, fh)  # EXL002
""",
        # A set comprehension over a log file, written with `pickle.dump`.
        """
import pickle

ips = {line.split()[0] for line in open("access.log")}
with open("ips.pkl", "wb") as fh:
    pickle.dump(ips, fh)  # EXL002
""",
        # One bounded clause does not make a comprehension bounded if another is unbounded.
        """
import duckdb

con = duckdb.connect("usage.duckdb")
rows = [(region, rec) for region in ("eu", "us") for rec in fetch(region)]
con.executemany("INSERT INTO usage VALUES (?, ?)", rows)  # EXL002
""",
        # `list(map(...))` through `pd.concat` and `to_parquet`.
        """
import pandas as pd

frames = list(map(pd.read_csv, csv_paths))
pd.concat(frames).to_parquet("all.parquet")  # EXL002
""",
        # `tuple(...)` of a generator expression, written with `executemany`.
        """
cur = pg_conn.cursor()
params = tuple((r.id, r.total) for r in session.query(Order).yield_per(500))
cur.executemany("UPDATE orders SET total = %s WHERE id = %s", params)  # EXL002
""",
        # `set(...)` of a generator expression, written through `sorted` with `writelines`.
        """
domains = set(email.split("@")[1] + "\\n" for email in iter_emails(db))
with open("domains.txt", "w") as fh:
    fh.writelines(sorted(domains))  # EXL002
""",
        # `sorted(...)` of a generator with a key, written with `writerows`.
        """
import csv

writer = csv.writer(open("events.csv", "w", newline=""))
rows = sorted((parse(line) for line in open("events.log")), key=lambda r: r[0])
writer.writerows(rows)  # EXL002
""",
        # `[*map(...)]` unpacking a call, written with `insert_many`.
        """
import json

docs = [*map(json.loads, open("dump.jsonl"))]
db.events.insert_many(docs)  # EXL002
""",
        # `list(...)` of a call (even one that already returns a list) is a materialisation.
        """
src_cur.execute("SELECT id, name FROM customers")
rows = list(src_cur.fetchall())
dst.executemany("INSERT INTO t VALUES (?, ?)", rows)  # EXL002
""",
        # An async comprehension, written with asyncpg `copy_records_to_table`.
        """
async def copy_events(src, dst):
    records = [tuple(r) async for r in src.cursor("SELECT * FROM events")]
    await dst.copy_records_to_table("events", records=records)  # EXL002
""",
        # A comprehension reaching `to_sql` through `pd.DataFrame(...)`.
        """
import pandas as pd

pd.DataFrame([r._asdict() for r in rows_iter]).to_sql("t", engine)  # EXL002
""",
        # `np.save` through `np.array(...)` of a comprehension over `range` beyond the limit.
        """
import numpy as np

traces = [simulate(seed) for seed in range(50_000)]
np.save("traces.npy", np.array(traces))  # EXL002
""",
        # A dict comprehension unpacked into `np.savez(path, **arrays)`.
        """
import numpy as np

np.savez("bundle.npz", **{p.stem: np.load(p) for p in Path("npy").glob("*.npy")})  # EXL002
""",
        # `pl.DataFrame` of a comprehension, written with `write_parquet`, in a method.
        """
import polars as pl


class Exporter:
    def run(self, lines):
        records = [self.parse(line) for line in lines]
        pl.DataFrame(records).write_parquet(self.target)  # EXL002
""",
        # A materialisation in a bounded loop is not per-item.
        """
for table in ("users", "orders"):
    rows = [tuple(r) for r in src.execute(f"SELECT * FROM {table}")]
    dst.executemany(INSERT_SQL[table], rows)  # EXL002
""",
        # An `if __name__ == "__main__":` block writing with `to_feather`.
        """
import pandas as pd

if __name__ == "__main__":
    rows = [json.loads(line) for line in sys.stdin]
    pd.DataFrame.from_records(rows).to_feather("stdin.feather")  # EXL002
""",
        # SQLAlchemy-style `session.execute(stmt, rows)` with a materialised list.
        """
from sqlalchemy import insert

rows = [{"sku": i.sku, "price": i.price} for i in feed.iter_items()]
session.execute(insert(Product), rows)  # EXL002
""",
        # Reached through an alias and a `sorted` derivation inside a `with` block.
        """
import csv

rows = list(csv.reader(open("raw.csv")))
ordered = sorted(rows)
with open("sorted.csv", "w", newline="") as fh:
    csv.writer(fh).writerows(ordered)  # EXL002
""",
        # `list(itertools.chain.from_iterable(...))` in a decorated function, `execute_values`.
        """
import itertools

from psycopg2.extras import execute_values


@timed
def load(cur, paths):
    rows = list(itertools.chain.from_iterable(read_rows(p) for p in paths))
    execute_values(cur, "INSERT INTO t VALUES %s", rows)  # EXL002
""",
        # The write in a `finally` block still reaches the materialisation.
        """
import pyarrow as pa
import pyarrow.parquet as pq

rows = [decode(m) for m in consumer]
try:
    table = pa.Table.from_pylist(rows)
finally:
    pq.write_table(table, "events.parquet")  # EXL002
""",
        # A comprehension over `enumerate(cursor)` is unbounded; DuckDB `append` form.
        """
import pandas as pd

rows = [{"n": i, **dict(r)} for i, r in enumerate(cur)]
con.append("numbered", pd.DataFrame(rows))  # EXL002
""",
        # A method chain on the derived frame reaches `to_csv`.
        """
import pandas as pd

rows = [parse(line) for line in open("metrics.log")]
pd.DataFrame(rows).dropna().sort_values("ts").to_csv("metrics.csv")  # EXL002
""",
        # `tuple(...)` of a generator passed directly to the sink.
        """
cur.executemany(  # EXL002
    "INSERT INTO t VALUES (%s, %s)",
    tuple((r["id"], r["v"]) for r in iter_records(path)),
)
""",
        # `[*itertools.chain(...)]` of two unbounded sources, written with `to_json`.
        """
import itertools

import pandas as pd

rows = [*itertools.chain(read_jsonl("a.jsonl"), read_jsonl("b.jsonl"))]
pd.DataFrame(rows).to_json("ab.json", orient="records")  # EXL002
""",
        # A comprehension straight into `json.dump`.
        """
import json

with open("users.json", "w") as fh:
    json.dump([u.to_dict() for u in User.query.yield_per(1_000)], fh)  # EXL002
""",
        # A comprehension over `range(A, B, S)` of literals with 1001 steps is unbounded.
        """
from pymongo import MongoClient

db = MongoClient()["survey"]
probes = [measure(depth) for depth in range(0, 5_001, 5)]
db.probes.insert_many(probes)  # EXL002
""",
        # Reaching the sink through `.copy()` and an alias.
        """
rows = [normalise(r) for r in reader]
cleaned = rows.copy()
out = cleaned
session.bulk_save_objects(out)  # EXL002
""",
        # A module-level list grown in a loop is not a constant: iterating it is unbounded.
        """
import pandas as pd

paths = []
for line in open("manifest.txt"):
    paths.append(line.strip())
frames = [pd.read_parquet(p) for p in paths]
pd.concat(frames).to_parquet("all.parquet")  # EXL002
""",
        # SPEC 2.3: `fetchall()` reads the whole result before `executemany` writes it.
        """
def copy(src, dst):
    src.execute("SELECT id, email FROM users")
    rows = src.fetchall()
    dst.executemany("INSERT INTO users VALUES (?, ?)", rows)  # EXL002
""",
        # SPEC 2.3: Spark's `toPandas()` pulls the whole frame to the driver.
        """
def export(sdf, path):
    sdf.toPandas().to_parquet(path)  # EXL002
""",
        # SPEC 2.3: Dask's `compute()` builds the whole frame in memory.
        """
import dask.dataframe as dd

frame = dd.read_csv("raw/*.csv").compute()
frame.to_csv("all.csv", index=False)  # EXL002
""",
        # SPEC 2.3: a polars lazy frame's `collect()` through a method chain.
        """
import polars as pl

pl.scan_csv("events/*.csv").filter(pl.col("ok")).collect().write_parquet("ok.parquet")  # EXL002
""",
        # SPEC 2.3: Spark's `collect()` reaching `to_sql` through a derivation.
        """
import pandas as pd

pd.DataFrame(sdf.collect()).to_sql("events", engine)  # EXL002
""",
        # SPEC 2.3: DuckDB's `fetchdf()` / `fetch_df()` read the whole result.
        """
def export(con, path):
    con.execute("SELECT * FROM events").fetchdf().to_parquet(path)  # EXL002
    con.sql("SELECT * FROM users").fetch_df().to_csv(path.with_suffix(".csv"))  # EXL002
""",
        # SPEC 2.3: `list(...)` of a name bound to a csv reader.
        """
import csv

with open("users.csv", newline="") as fh:
    reader = csv.DictReader(fh)
    db.users.insert_many(list(reader))  # EXL002
""",
        # SPEC 2.3: `list(...)` of a name bound to a cursor by `with ... as`.
        """
def copy(conn, dst):
    with conn.cursor() as cur:
        cur.execute("SELECT id, total FROM orders")
        dst.executemany("INSERT INTO orders VALUES (%s, %s)", list(cur))  # EXL002
""",
        # SPEC 2.3: a whole read in a bounded loop is not per-item.
        """
for table in ("users", "orders"):
    rows = src.execute(f"SELECT * FROM {table}").fetchall()
    dst.executemany(INSERT_SQL[table], rows)  # EXL002
""",
        # SPEC 2.3: SQLAlchemy's `session.execute(stmt, rows)` with a whole read.
        """
from sqlalchemy import insert

session.execute(insert(Order), legacy_cur.fetchall())  # EXL002
""",
        # SPEC 2.3: a comprehension over a whole read is reported once, as the whole read.
        """
def copy(cur, dst):
    dst.executemany("INSERT INTO t VALUES (?)", [(r[0],) for r in cur.fetchall()])  # EXL002
""",
        # SPEC 2.3, 2.6: a generator over a whole read bound to a name carries it to the sink;
        # a comprehension over it is reported once, as the whole read.
        """
def copy(cur, con):
    rows = cur.fetchall()
    con.executemany(SQL, (tuple(r) for r in rows))  # EXL002
    con.executemany(SQL, [tuple(r) for r in rows])  # EXL002
""",
        # SPEC 2.3: a comprehension over a pull to the driver names the pull.
        """
import json

with open("out.json", "w") as f:
    json.dump([r.asDict() for r in sdf.collect()], f)  # EXL002
""",
        # SPEC 2.3: a comprehension over an accumulated list is a materialisation too; a
        # generator in its place would still hold the list (the accumulation is EXL001's).
        """
rows = []
for r in recs:
    rows.append(r)
con.executemany(SQL, [tuple(r) for r in rows])  # EXL002
""",
        # SPEC 2.3: a comprehension over a sorted listing, nested or bound to a name first,
        # is the one finding: it loads each item (the listing is short).
        """
import glob


def load_all(con, d):
    rows = [open(p).read() for p in sorted(glob.glob(d))]
    con.executemany("INSERT INTO t VALUES (?)", rows)  # EXL002
    paths = sorted(glob.glob(d))
    texts = [open(p).read() for p in paths]
    con.executemany("INSERT INTO t VALUES (?)", texts)  # EXL002
""",
        # SPEC 2.3, 2.6: a generator over a materialisation bound to a name carries it.
        """
def export(src, con):
    rows = [to_row(x) for x in src]
    con.executemany(SQL, (tuple(r) for r in rows))  # EXL002
""",
        # SPEC 2.3: the reader's rows written after the `with` block that opened its file:
        # the advice is to write inside the block (the file is closed after it).
        """
import csv

with open("users.csv", newline="") as fh:
    reader = csv.reader(fh)
    rows = list(reader)
con.executemany("INSERT INTO users VALUES (?, ?)", rows)  # EXL002
""",
        # SPEC 2.3: a cursor's whole result written after its `with` block, as a parquet file.
        """
import pandas as pd


def export(conn, path):
    with conn.cursor() as cur:
        cur.execute("SELECT id, total FROM orders")
        rows = cur.fetchall()
    pd.DataFrame(rows).to_parquet(path)  # EXL002
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            if not analysis.may_materialize(scope):
                continue  # nothing can be held whole (no summary is read to tell)
            if not analysis.sinks(scope):
                continue  # nothing written: no whole read is written either
            materializations = analysis.materializations(scope)
            found = list(
                writes(analysis, scope, materializations, lambda m: m.node, lambda m: m.site.order)
            )
            for sink, materialization in found:
                if any(
                    other is not materialization
                    and other_sink is sink
                    and _stands_for(other, materialization)
                    for other_sink, other in found
                ):
                    continue
                if materialization.kind == "materialization":
                    # ``rows = cur.fetchall(); executemany(SQL, [f(r) for r in rows])``: the
                    # whole read it iterates is held whole first, and is the finding.
                    held = analysis.iterated(
                        scope, materialization.node, materialization.site.order
                    )
                    if any(
                        other_sink is sink
                        and other is not materialization
                        and other.kind != "materialization"
                        and other.node in held
                        for other_sink, other in found
                    ):
                        continue
                    # ``paths = sorted(glob(d)); [load(p) for p in paths]``: the one that
                    # iterates it (and loads each item) is the finding.
                    if any(
                        other_sink is sink
                        and other is not materialization
                        and other.kind == "materialization"
                        and _is_comprehension(other.node)
                        and materialization.node
                        in analysis.iterated(scope, other.node, other.site.order)
                        for other_sink, other in found
                    ):
                        continue
                    # ``[f(r) for r in cur.fetchall()]``: the whole read says what streams.
                    materialization = next(
                        (
                            m
                            for m in materializations
                            if m.kind != "materialization"
                            and _contains(materialization.node, m.node)
                        ),
                        materialization,
                    )
                read = materialization.kind != "materialization"
                yield Finding(
                    code=self.code,
                    node=sink.call.node,
                    message=message(analysis, scope, sink, materialization),
                    related=(
                        Related(
                            materialization.node, "read whole here" if read else "materialised here"
                        ),
                    ),
                )


def _is_comprehension(node: cst.CSTNode) -> bool:
    """A comprehension: it loads or builds each item of what it iterates (``list(...)`` of
    a call only copies it)."""
    import libcst as cst  # loaded already: there is a tree

    return isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp)


def _stands_for(kept: Materialization, other: Materialization) -> bool:
    """Of two nested materialisations written by one sink, one finding is enough: the whole
    read when there is one (``list(cur.fetchall())``, ``[f(r) for r in cur.fetchall()]``: its
    advice says what streams), else the outermost."""
    kept_read = kept.kind != "materialization"
    other_read = other.kind != "materialization"
    if kept_read != other_read:
        return kept_read and _contains(other.node, kept.node)
    return _contains(kept.node, other.node)


def _contains(outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    pending = list(outer.children)
    while pending:
        node = pending.pop()
        if node is inner:
            return True
        pending.extend(node.children)
    return False


#: The longest receiver or expression a message spells out.
TEXT_LIMIT = 16
#: The length a message keeps to when it can: past it, the shorter wording of the advice,
#: without the names it quotes.
MESSAGE_BUDGET = 160

#: What each engine calls its writer for a kind of output (``parquet``, ``csv``, ``json``,
#: ``table`` for databases, ``array`` for numpy's files, ``file`` for any other, such as a
#: pickle), written after the frame: ``sdf.write.parquet(...)``.
ENGINE_WRITERS: dict[str, dict[str, str]] = {
    "Spark": {
        "parquet": "write.parquet",
        "csv": "write.csv",
        "json": "write.json",
        "table": "write.jdbc",
        "array": "write.parquet",
        "file": "write.parquet",
    },
    "Dask": {
        "parquet": "to_parquet",
        "csv": "to_csv",
        "json": "to_json",
        "table": "to_sql",
        "array": "to_zarr",
        "file": "to_parquet",
    },
    "polars": {
        "parquet": "sink_parquet",
        "csv": "sink_csv",
        "json": "sink_ndjson",
        "table": "sink_parquet",
        "array": "sink_parquet",
        "file": "sink_parquet",
    },
}
#: Sinks that write rows into a database table (the rest write files).
_TABLE_SINKS: frozenset[str] = frozenset(
    {
        "executemany",
        "execute",
        "insert_many",
        "bulk_insert_mappings",
        "bulk_save_objects",
        "add_all",
        "copy_records_to_table",
        "to_sql",
        "write_database",
        "append",
        "psycopg2.extras.execute_values",
        "psycopg2.extras.execute_batch",
    }
)
_OUTPUT_KINDS: dict[str, str] = {
    "numpy.save": "array",
    "numpy.savez": "array",
    "numpy.savez_compressed": "array",
    "to_parquet": "parquet",
    "write_parquet": "parquet",
    "pyarrow.parquet.write_table": "parquet",
    "to_feather": "parquet",
    "to_csv": "csv",
    "write_csv": "csv",
    "writerows": "csv",
    "to_json": "json",
    "json.dump": "json",
}
#: Advice for sinks that take a whole value (not an iterator), by sink name.
_WHOLE_VALUE_ADVICE: dict[str, str] = {
    "json.dump": "write JSON lines, one `json.dumps()` per item",
    "pickle.dump": "`pickle.dump()` one item at a time instead",
    "pyarrow.parquet.write_table": "write batches with a `pyarrow.parquet.ParquetWriter`",
}
_PARQUET_BATCHES = "write {} with a `pyarrow.parquet.ParquetWriter`"
#: How to write a source's batches (``{}``: which batches) so that the writes make the one
#: file or table the whole write makes: a frame writer called once per batch would replace
#: the file (``to_parquet``, ``to_feather``, ``to_csv``...) or fail on the table that exists
#: (``to_sql``), and ``json.dump`` per batch writes documents one after another.
_BATCH_WRITES: dict[str, str] = {
    "to_parquet": _PARQUET_BATCHES,
    "write_parquet": _PARQUET_BATCHES,
    "pyarrow.parquet.write_table": _PARQUET_BATCHES,
    "to_feather": "write {} with one `pyarrow.ipc.new_file()` writer",
    "to_sql": 'write {} with `.to_sql(..., if_exists="append")`',
    "write_database": 'write {} with `.write_database(..., if_table_exists="append")`',
    "to_csv": 'write {} with `.to_csv(p, mode="a")`, the header once',
    "write_csv": "write {} to one open file with `.write_csv(fh)`, the header once",
    "to_json": 'write {} with `.to_json(..., orient="records", lines=True, mode="a")`',
    "append": 'write {} with `.append("table", ...)`',
    "json.dump": "write {} as JSON lines, one `json.dumps()` per item",
}


#: Function sinks whose chunks are written as a frame writer's: into one open file.
_CHUNKED_FUNCTIONS: frozenset[str] = frozenset({"pyarrow.parquet.write_table"})

#: What reads a result in parts instead of a whole read, and what a part is called.
_READ_PARTS: dict[str, tuple[str, str]] = {
    "fetchall": ("fetchmany(n)", "batch"),
    "fetchdf": ("fetch_df_chunk()", "chunk"),
    "fetch_df": ("fetch_df_chunk()", "chunk"),
}
_PLURALS: dict[str, str] = {"batch": "batches", "chunk": "chunks"}


def _short(analysis: ModuleAnalysis, node: cst.CSTNode) -> str | None:
    text = analysis.code(node)
    return text if len(text) <= TEXT_LIMIT else None


def _is_direct(scope: Scope, sink: SinkCall, node: cst.CSTNode) -> bool:
    """The sink takes the materialisation itself, a name it is assigned to, or a generator
    expression over one of those (``(tuple(r) for r in rows)``): a generator in its place
    streams into the sink."""
    import libcst as cst  # loaded already: there is a tree

    keys = {
        key
        for a in scope.assignments
        if a.value is node and (key := scope.key_of(a.target)) is not None
    }

    def takes(data: cst.BaseExpression) -> bool:
        if data is node or scope.key_of(data) in keys:
            return True
        if isinstance(data, cst.GeneratorExp):
            clause: cst.CompFor | None = data.for_in
            while clause is not None:
                if takes(clause.iter):
                    return True
                clause = clause.inner_for_in
        return False

    return any(takes(d) for d in sink.data)


def _frame_sink(sink: SinkCall) -> bool:
    """A data frame's writer (``to_csv``, ``to_sql``...): one frame per chunk streams."""
    name, method = sink.kind
    return method and name in FRAME_SINK_METHODS


def _batch_write(sink: SinkCall, batches: str) -> str | None:
    """How to write ``batches`` so that together they make what the sink writes whole (a
    frame writer, ``json.dump``); None for a sink that takes each batch as it is."""
    name, method = sink.kind
    if method and name not in FRAME_SINK_METHODS:
        return None
    form = _BATCH_WRITES.get(name)
    return form.format(batches) if form else None


def _engine(analysis: ModuleAnalysis, method: str) -> str | None:
    """Which engine pulls with ``method``: ``toPandas`` is Spark's, ``compute`` Dask's;
    ``collect`` is Spark's or polars', told apart by the module's imports."""
    if method == "toPandas":
        return "Spark"
    if method == "compute":
        return "Dask"
    imported = {q.split(".", 1)[0] for q in analysis.imports.imports.values()}
    if "polars" in imported and "pyspark" not in imported:
        return "polars"
    if "pyspark" in imported and "polars" not in imported:
        return "Spark"
    return None


def message(
    analysis: ModuleAnalysis, scope: Scope, sink: SinkCall, materialization: Materialization
) -> str:
    """One sentence: what is held whole, by which sink, and what streams instead (inside
    the ``with`` block that the source needs open, when the sink is after it)."""
    problem, advice = _problem_and_advice(analysis, scope, sink, materialization)
    target = _closed_with_target(scope, sink, materialization.node)
    where = ""
    if target is not None:
        where = f"inside `with ... as {target}`, " if target else "inside the `with` block, "
    # The first wording that fits, the names it quotes left out if need be.
    texts = [f"{problem}; {where}{a}" for a in advice]
    return next((t for t in texts if len(t) <= MESSAGE_BUDGET), texts[-1])


def _problem_and_advice(
    analysis: ModuleAnalysis, scope: Scope, sink: SinkCall, materialization: Materialization
) -> tuple[str, tuple[str, ...]]:
    """What is held whole for which sink, and the advice: its wordings, longest first."""
    import libcst as cst  # loaded already: there is a tree

    node = materialization.node
    label = sink_label(sink, analysis)
    kind = materialization.kind
    name = sink.kind[0]
    output = _OUTPUT_KINDS.get(name) or ("table" if name in _TABLE_SINKS else "file")
    if kind in {"whole-read", "driver-pull"}:
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        method = node.func.attr.value
        receiver = _short(analysis, node.func.value)
        called = f"`{receiver}.{method}()`" if receiver else f"`{method}()`"
        frame = receiver or "df"
        if kind == "whole-read":
            problem = f"{called} reads the whole result for {label}"
            part, unit = _READ_PARTS[method]
            read = f"`{receiver or ('cursor' if method == 'fetchall' else 'result')}.{part}`"
            named, plain = (
                _batch_write(sink, f"{r} {_PLURALS[unit]}") for r in (read, f"`{part}`")
            )
            if named and plain:
                return problem, (named, plain)
            return problem, (f"write each {read} {unit}",)
        engine = _engine(analysis, method)
        if engine is None:
            spark, polars = ENGINE_WRITERS["Spark"][output], ENGINE_WRITERS["polars"][output]
            return (
                f"{called} pulls all the data for {label}",
                (f"use the engine's writer: Spark `.{spark}()`, polars `.{polars}()`",),
            )
        writer = ENGINE_WRITERS[engine][output]
        where = "to the driver" if engine == "Spark" else "into memory"
        return (
            f"{called} pulls all the data {where} for {label}",
            (f"write with {engine}'s own `{frame}.{writer}(...)`",),
        )
    if materialization.read:
        return _helper_read_message(analysis, sink, node, materialization.read, label, output)
    if materialization.helper:
        return _helper_materialization_message(analysis, sink, node, label)
    direct = _is_direct(scope, sink, node)
    if kind == "reader":
        assert isinstance(node, cst.Call)
        source = _short(analysis, node.args[0].value)
        shown = f"`{source}`" if source else "the reader"
        problem = f"`{_short(analysis, node) or 'list(...)'}` reads every row for {label}"
        if direct and accepts_iterator(sink):
            return problem, (f"pass {shown} itself to it",)
        return problem, _chunked(sink, f"`{source}`" if source else None, "its rows") or (
            f"iterate {shown} and write in bounded batches",
        )
    problem = f"{_what(analysis, scope, node)} materialises an unbounded source for {label}"
    if direct and accepts_iterator(sink):
        held = _held_whole(analysis, scope, materialization)
        if held is not None:
            # A generator in its place would still hold what it iterates.
            copied, advice = held
            what = _what(analysis, scope, node)
            return f"{what} copies {copied}, which is held whole, for {label}", (advice,)
        comprehension = isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp)
        advice = (
            "pass it a generator expression instead"
            if comprehension
            else "pass it the iterator instead"
        )
        return problem, (advice,)
    if _frame_sink(sink) or sink.kind[0] in _CHUNKED_FUNCTIONS:
        # No loop to write in: the chunks are the source's, written one after another.
        source = _source(analysis, scope, node)
        chunked = _chunked(sink, f"`{source}`" if source else None, "the source")
        return problem, chunked or ("write the source one chunk at a time",)
    return problem, (_WHOLE_VALUE_ADVICE.get(sink.kind[0], "write per item or in batches"),)


def _chunked(sink: SinkCall, source: str | None, unnamed: str) -> tuple[str, ...]:
    """The advice to write a source in chunks that together make what the sink writes
    whole, naming the source when it is short (and the message can take it)."""
    named = _batch_write(sink, f"chunks of {source}") if source else None
    plain = _batch_write(sink, f"{unnamed} in chunks")
    return (named, plain) if named and plain else (plain,) if plain else ()


def _source(analysis: ModuleAnalysis, scope: Scope, node: cst.BaseExpression) -> str | None:
    """What a materialisation iterates, if short: a comprehension's first unbounded ``for``
    clause's iterable, or the argument of ``list(...)`` (``[*...]``)."""
    import libcst as cst  # loaded already: there is a tree

    iterable: cst.BaseExpression | None = None
    if isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp):
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            if not analysis.bounded.is_bounded_iterable(clause.iter, scope):
                iterable = clause.iter
                break
            clause = clause.inner_for_in
    elif isinstance(node, cst.Call) and node.args:
        iterable = node.args[0].value
        if isinstance(iterable, cst.GeneratorExp):
            return _source(analysis, scope, cst.ListComp(iterable.elt, iterable.for_in))
    elif isinstance(node, cst.List) and node.elements:
        element = node.elements[0]
        iterable = element.value if isinstance(element, cst.StarredElement) else None
    return _short(analysis, iterable) if iterable is not None else None


def _closed_with_target(scope: Scope, sink: SinkCall, node: cst.BaseExpression) -> str | None:
    """The ``as`` target of a ``with`` statement of the scope that the materialised source
    depends on (``with open(p) as fh: rows = list(csv.reader(fh))``, ``with con.cursor() as
    cur``), when the sink is after that statement: what streams must be written inside it,
    since the file or cursor is closed by then. ``""`` for a target that is not a name;
    None when no ``with`` closes the source before the write."""
    import libcst as cst  # loaded already: there is a tree

    withs = _withs(scope.node)
    if not withs:
        return None
    depends = _names(node)
    pending = list(depends)
    while pending:  # through the assignments it was built from: ``reader = csv.reader(fh)``
        name = pending.pop()
        for assignment in scope.assignments:
            if scope.key_of(assignment.target) == name:
                for used in _names(assignment.value) - depends:
                    depends.add(used)
                    pending.append(used)
    for statement in withs:
        if _contains(statement, sink.call.node) or not _contains(statement, node):
            continue
        for item in statement.items:
            target = item.asname.name if item.asname is not None else None
            if target is not None and _names(target) & depends:
                return target.value if isinstance(target, cst.Name) else ""
    return None


def _withs(root: cst.CSTNode) -> list[cst.With]:
    """The ``with`` statements of a scope's own code (not those of nested functions)."""
    import libcst as cst  # loaded already: there is a tree

    found: list[cst.With] = []
    pending = list(root.children)
    while pending:
        node = pending.pop()
        if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda):
            continue
        if isinstance(node, cst.With):
            found.append(node)
        pending.extend(node.children)
    return found


def _names(root: cst.CSTNode) -> set[str]:
    """The names an expression uses (not attribute names: ``fh`` in ``fh.read()``)."""
    import libcst as cst  # loaded already: there is a tree

    found: set[str] = set()
    pending: list[cst.CSTNode] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        elif isinstance(node, cst.Attribute):
            pending.append(node.value)
        else:
            pending.extend(node.children)
    return found


def _held_whole(
    analysis: ModuleAnalysis, scope: Scope, materialization: Materialization
) -> tuple[str, str] | None:
    """For a comprehension over an accumulated collection or an accumulating helper's
    result (EXL001, EXL003): what it copies, and what to do where that is built."""
    held = analysis.iterated(scope, materialization.node, materialization.site.order)
    if not held:
        return None
    for accumulation in analysis.accumulations(scope):
        if accumulation.binding.assignment in held:
            key = accumulation.key
            return f"`{key}`", f"write `{key}` in batches where it grows"
    for helper_call in analysis.helper_calls(scope):
        node = helper_call.call.node
        if node in held:
            name = analysis.code(node.func).rsplit(".", 1)[-1]
            shown = _short(analysis, node) or f"{name}(...)"
            return f"`{shown}`", f"make `{name}()` yield its items"
    return None


def _helper_read_message(
    analysis: ModuleAnalysis,
    sink: SinkCall,
    node: cst.BaseExpression,
    method: str,
    label: str,
    output: str,
) -> tuple[str, tuple[str, ...]]:
    """The message for the call of a project function that returns a whole read (SPEC
    2.6): what it reads with, and what streams instead, as for the read itself."""
    import libcst as cst  # loaded already: there is a tree

    assert isinstance(node, cst.Call)
    name = analysis.code(node.func).rsplit(".", 1)[-1]
    shown = _short(analysis, node) or (f"{name}(...)" if len(name) <= TEXT_LIMIT else None)
    called = f"`{shown}`" if shown else "this call"
    if method == "list":
        problem = f"{called} returns every row of a reader for {label}"
        return problem, _chunked(sink, None, "its rows") or ("iterate it in batches",)
    problem = f"{called} returns `{method}()` whole for {label}"
    if method in WHOLE_READ_METHODS:
        part, unit = _READ_PARTS.get(method, ("fetchmany(n)", "batch"))
        written = _batch_write(sink, f"`{part}` {_PLURALS[unit]}")
        return problem, (written or f"loop over `{part}`",)
    engine = _engine(analysis, method)
    if engine is None:
        return problem, ("use the engine's own writer",)
    writer = ENGINE_WRITERS[engine][output]
    return problem, (f"use {engine}'s `.{writer}(...)`",)


def _helper_materialization_message(
    analysis: ModuleAnalysis, sink: SinkCall, node: cst.BaseExpression, label: str
) -> tuple[str, tuple[str, ...]]:
    """The message for the call of a project function that returns a list, set or dict it
    built from an unbounded source (SPEC 2.6): it should hand the items out one by one."""
    import libcst as cst  # loaded already: there is a tree

    assert isinstance(node, cst.Call)
    name = analysis.code(node.func).rsplit(".", 1)[-1]
    shown = _short(analysis, node) or (f"{name}(...)" if len(name) <= TEXT_LIMIT else None)
    called = f"`{shown}`" if shown else "this call"
    problem = f"{called} returns an unbounded source whole for {label}"
    helper = f"`{name}()`" if len(name) <= TEXT_LIMIT else "it"
    if accepts_iterator(sink):
        return problem, (f"make {helper} yield its items",)
    if _frame_sink(sink):
        written = _batch_write(sink, "each")
        return problem, (f"make {helper} yield chunks and {written or 'write each'}",)
    return problem, (_WHOLE_VALUE_ADVICE.get(sink.kind[0], "write per item or in batches"),)


def _what(analysis: ModuleAnalysis, scope: Scope, node: cst.BaseExpression) -> str:
    """The name a materialisation is assigned to, or its code if short, or what it is."""
    import libcst as cst  # loaded already: there is a tree

    for assignment in scope.assignments:
        if assignment.value is node:
            key = scope.key_of(assignment.target)
            if key is not None:
                return f"`{key}`"
    text = _short(analysis, node)
    if text is not None:
        return f"`{text}`"
    if isinstance(node, cst.ListComp):
        return "a list comprehension"
    if isinstance(node, cst.SetComp):
        return "a set comprehension"
    if isinstance(node, cst.DictComp):
        return "a dict comprehension"
    if isinstance(node, cst.Call):
        return f"`{analysis.code(node.func)}(...)`"
    return "`[*...]`"
