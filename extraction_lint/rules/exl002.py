"""EXL002 materialize-then-bulk-write (SPEC 2.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.rules.base import Finding, Need, Related, Rule
from extraction_lint.rules.common import sink_label, writes

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis


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

The materialisation may reach the sink directly, through a name it is assigned to, or
through a derivation (`pd.DataFrame([...])`). A plain name as the argument (`list(rows)`)
is a copy, not a materialisation. A materialisation inside an unbounded loop (or inside an
unbounded comprehension) holds one iteration's worth and is not reported; a generator
expression passed straight to the sink is fine.
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
"""
    known_problems = """
Whether a comprehension over a name is large is not known from the source: iterating a
parameter or a local list counts as unbounded unless it is a display or a module constant
bound once to a display.
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
    rows = cur.fetchall()
    con.executemany("INSERT INTO t VALUES (?)", rows)
""",
        # SPEC 2.1: `reversed` of a display runs a known, small number of times.
        """
import json

names = list(reversed(("alpha", "beta", "gamma")))
json.dump(names, open("names.json", "w"))
""",
    )
    invalid = (
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
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            materializations = analysis.materializations(scope)
            for sink, materialization in writes(
                analysis, scope, materializations, lambda m: m.node, lambda m: m.site.order
            ):
                text = _shorten(analysis.code(materialization.node))
                yield Finding(
                    code=self.code,
                    node=sink.call.node,
                    message=(
                        f"`{text}` materialises an unbounded source whole and is written "
                        f"by {sink_label(sink)}; pass a generator to the sink or write in "
                        f"bounded batches inside the loop"
                    ),
                    related=(Related(materialization.node, "materialised here"),),
                )


def _shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
