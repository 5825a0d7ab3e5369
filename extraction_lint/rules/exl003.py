"""EXL003 accumulating-helper-then-bulk-write (SPEC 2.4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.rules.base import Finding, Need, Related, Rule
from extraction_lint.rules.common import (
    accepts_iterator,
    accumulation_related,
    sink_label,
    writes,
)

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis


class AccumulatingHelperThenBulkWrite(Rule):
    code = "EXL003"
    needs = frozenset({Need.ACCUMULATING_HELPER})
    name = "accumulating-helper-then-bulk-write"
    summary = (
        "A helper returns a collection it grew without bound, and its result is written in bulk."
    )
    what_it_does = """
Reports a bulk write (a *sink*) of the result of a call to a helper defined in the same
module, when the helper grows a collection in an unbounded loop, never flushes it, and
returns it (or a value derived from it). The call's result may reach the sink directly or
through a derivation (`pd.DataFrame(helper(...))`).

Methods called as `self.helper(...)` count when the helper is defined in the same class.
A call made inside an unbounded loop is per-item and not reported.
"""
    why_bad = """
It is EXL001 split over two functions: the helper holds every record of the input in memory
before the caller writes the first one.
"""
    example = """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

con.executemany(SQL, collect(paths))
"""
    use_instead = """
def iter_rows(paths):
    for path in paths:
        yield from load(path)              # one file in memory at a time

for path in paths:
    con.executemany(SQL, load(path))       # one write per file

# or, where the writer takes an iterator, stream the helper's output:
writer.writerows(iter_rows(paths))
"""
    known_problems = """
Helpers are followed through the project's own calls (SPEC 2.6): the same module, project
imports, `self.`/`cls.` methods and project base classes, to any depth. A helper reached
through another receiver, `getattr` or a function passed as a value is not followed.
"""
    options = """
- `bounded-range-limit`, `extend-sink-methods`, `extend-sink-functions` as for EXL001.
"""
    valid = (
        # SPEC 2.6: a flush through a call in the helper's loop bounds what it returns.
        """
def reset(out):
    out.clear()


def collect(con, paths):
    out = []
    for p in paths:
        out.append(p)
        if len(out) > 10:
            con.executemany("INSERT INTO t VALUES (?)", out)
            reset(out)
    return out


con.executemany("INSERT INTO t VALUES (?)", collect(con, paths))
""",
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

for path in paths:
    con.executemany(SQL, collect([path]))
""",
        # The helper flushes its collection inside the loop: it is bounded.
        """
def collect_tail(cur, con):
    batch = []
    for rec in cur:
        batch.append(rec)
        if len(batch) >= 5_000:
            con.executemany("INSERT INTO t VALUES (?, ?)", batch)
            batch.clear()
    return batch

con.executemany("INSERT INTO t VALUES (?, ?)", collect_tail(cur, con))
""",
        # A generator helper streams: nothing is accumulated.
        """
def iter_rows(paths):
    for path in paths:
        yield from load(path)

writer.writerows(iter_rows(paths))
""",
        # Per-item: the helper is called inside an unbounded loop, one file at a time.
        """
def read_file(path):
    rows = []
    for line in open(path):
        rows.append(line.rstrip("\\n").split(","))
    return rows

for path in Path("incoming").glob("*.csv"):
    writer.writerows(read_file(path))
""",
        # Per-item: the call sits inside a `while chunk := cur.fetchmany(n)` loop.
        """
def expand(chunk):
    out = []
    for order in chunk:
        out.extend(order_lines(order))
    return out

while chunk := cur.fetchmany(1_000):
    con.executemany("INSERT INTO lines VALUES (?, ?, ?)", expand(chunk))
""",
        # Per-item: the call sits inside an `async for` loop.
        """
def decode_all(messages):
    rows = []
    for msg in messages:
        rows.append(decode(msg))
    return rows

async def consume(con, stream):
    async for batch in stream:
        await con.executemany("INSERT INTO m VALUES ($1, $2)", decode_all(batch))
""",
        # A helper imported from another module is not followed.
        """
from etl.readers import collect_rows

con.executemany("INSERT INTO t VALUES (?, ?)", collect_rows(paths))
""",
        # `self.collect()` where `collect` is defined in another class, not this one.
        """
class Reader:
    def collect(self, paths):
        rows = []
        for path in paths:
            rows.extend(load(path))
        return rows


class Writer(Base):
    def run(self, paths):
        self.con.executemany("INSERT INTO t VALUES (?, ?)", self.collect(paths))
""",
        # The helper grows its collection in a bounded loop only.
        """
def monthly_partitions(year):
    parts = []
    for month in range(1, 13):
        parts.append({"year": year, "month": month})
    return parts

session.bulk_insert_mappings(Partition, monthly_partitions(2024))
""",
        # The helper returns a count, not the collection.
        """
def count_rows(cur):
    seen = []
    for rec in cur:
        seen.append(rec[0])
    return len(seen)

with open("stats.json", "w") as fh:
    json.dump({"rows": count_rows(cur)}, fh)
""",
        # The helper's result never reaches a sink.
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

rows = collect(paths)
log.info("loaded %d rows", len(rows))
""",
        # The helper flushes by re-binding its collection after each write.
        """
def pump(src, dst):
    pending = []
    for rec in src:
        pending.append(rec)
        if len(pending) == 10_000:
            dst.insert_many(pending)
            pending = []
    return pending

db.events.insert_many(pump(source, db.events))
""",
        # A method of another object with the same name as a module function is not followed.
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

con.executemany("INSERT INTO t VALUES (?, ?)", reader.collect(paths))
""",
        # The helper's flush in the outer loop of its nest bounds it.
        """
def drain(con, paths):
    rows = []
    for path in paths:
        for rec in load(path):
            rows.append(rec)
        con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        rows.clear()
    return rows

con.executemany("INSERT INTO t VALUES (?, ?)", drain(con, paths))
""",
        # A `deque` with `maxlen` in the helper is bounded.
        """
from collections import deque

def tail(lines, n=1_000):
    last = deque(maxlen=n)
    for line in lines:
        last.append(line)
    return last

out.writelines(tail(open("app.log")))
""",
        # Per-item in an `if __name__ == "__main__":` block: one call per path.
        """
import pickle

def load_subject(path):
    signals = []
    for rec in pickle.load(open(path, "rb")):
        signals.append(rec["signal"])
    return signals

if __name__ == "__main__":
    for path in sorted(Path("subjects").glob("*.pkl")):
        np.save(path.with_suffix(".npy"), np.array(load_subject(path)))
""",
        # Per-item: the call sits inside an unbounded loop in a method, via `self.helper`.
        """
class Ingest:
    def parse(self, path):
        rows = []
        for line in open(path):
            rows.append(self.decode(line))
        return rows

    def run(self, paths):
        for path in paths:
            self.con.executemany("INSERT INTO t VALUES (?, ?)", self.parse(path))
""",
        # Imported through a module attribute: `readers.collect_rows(...)` is not followed.
        """
from etl import readers

db.events.insert_many(readers.collect_rows(paths))
""",
        # SPEC 2.4: the helper's result is replaced before the write.
        """
def collect(stream):
    out = []
    for item in stream:
        out.append(item)
    return out


def run(stream, cur, con):
    data = collect(stream)
    print(len(data))
    data = cur.fetchall()
    con.executemany("INSERT INTO t VALUES (?)", data)
""",
    )
    invalid = (
        # SPEC 2.6: a growth through a call in the helper's loop is a growth.
        """
def add(out, item):
    out.append(item)


def collect(paths):
    out = []
    for p in paths:
        add(out, p)
    return out


con.executemany("INSERT INTO t VALUES (?)", collect(paths))  # EXL003
""",
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

con.executemany(SQL, collect(paths))  # EXL003
""",
        # A `while` helper over `fetchmany`, written through `pd.DataFrame(...).to_parquet`.
        """
import pandas as pd


def fetch_all(cur):
    rows = []
    while chunk := cur.fetchmany(10_000):
        rows.extend(chunk)
    return rows

pd.DataFrame(fetch_all(cur)).to_parquet("dump.parquet")  # EXL003
""",
        # The helper returns a derivation (`pd.DataFrame(rows)`); the caller calls `to_sql`.
        """
import pandas as pd


def read_events(paths):
    rows = []
    for path in paths:
        rows.extend(json.load(open(path)))
    return pd.DataFrame(rows)

read_events(paths).to_sql("events", engine, if_exists="append")  # EXL003
""",
        # The helper returns `np.array(c)`, written with `np.save`.
        """
import numpy as np


def stack_embeddings(paths):
    vectors = []
    for path in paths:
        vectors.append(np.load(path))
    return np.array(vectors)

np.save("embeddings.npy", stack_embeddings(embedding_paths))  # EXL003
""",
        # `self.helper(...)` defined in the same class.
        """
class SubjectLoader:
    def collect(self, paths):
        rows = []
        for path in paths:
            rows.extend(self.read(path))
        return rows

    def run(self, paths):
        self.con.executemany("INSERT INTO s VALUES (?, ?)", self.collect(paths))  # EXL003
""",
        # The result is assigned to a name, then written.
        """
def collect(cur):
    out = []
    for rec in cur:
        out.append(tuple(rec))
    return out

rows = collect(src_cur)
dst_cur.executemany("INSERT INTO t VALUES (?, ?)", rows)  # EXL003
""",
        # Called in an `if __name__ == "__main__":` block, written with `json.dump`.
        """
import json


def index_docs(collection):
    index = {}
    for doc in collection.find():
        index[doc["_id"]] = doc["title"]
    return index

if __name__ == "__main__":
    with open("index.json", "w") as fh:
        json.dump(index_docs(mongo.articles), fh)  # EXL003
""",
        # A helper growing a frame with `pd.concat`; the caller writes `to_csv`.
        """
import pandas as pd


def merge_chunks(path):
    df = pd.DataFrame()
    for chunk in pd.read_csv(path, chunksize=50_000):
        df = pd.concat([df, chunk])
    return df

merge_chunks("big.csv").to_csv("big_clean.csv", index=False)  # EXL003
""",
        # A decorated helper is still a helper defined in this module.
        """
import functools


@functools.lru_cache
def load_all(root):
    rows = []
    for path in Path(root).rglob("*.json"):
        rows.extend(json.load(open(path)))
    return rows

db.events.insert_many(load_all("dumps"))  # EXL003
""",
        # DuckDB `con.append("table", df)` of a helper's result through `pd.DataFrame`.
        """
import duckdb
import pandas as pd


def read_all(paths):
    frames = []
    for path in paths:
        frames.append(pd.read_parquet(path))
    return pd.concat(frames)

con = duckdb.connect("warehouse.duckdb")
con.append("readings", read_all(parquet_paths))  # EXL003
""",
        # A call in a bounded loop is not per-item.
        """
def scan_table(src, table):
    rows = []
    for rec in src.scan(table):
        rows.append(rec)
    return rows

for table in ("users", "orders", "invoices"):
    dst.executemany(INSERT_SQL[table], scan_table(src, table))  # EXL003
""",
        # The caller is a function defined before the helper; `execute_values`.
        """
from psycopg2.extras import execute_values


def main(src, pg_cur):
    execute_values(pg_cur, "INSERT INTO t VALUES %s", collect_rows(src))  # EXL003


def collect_rows(src):
    rows = []
    for rec in src:
        rows.append((rec.id, rec.value))
    return rows
""",
        # The helper grows in a nested loop; the caller writes inside a `with` block.
        """
import pickle


def group_signals(paths):
    by_subject = {}
    for path in paths:
        for rec in pickle.load(open(path, "rb")):
            by_subject.setdefault(rec["subject"], []).append(rec["signal"])
    return by_subject

with open("grouped.pkl", "wb") as fh:
    pickle.dump(group_signals(pkl_paths), fh)  # EXL003
""",
        # The helper returns a `sorted` derivation; written through `pa.Table.from_pylist`.
        """
import pyarrow as pa
import pyarrow.parquet as pq


def collect_events(consumer):
    events = []
    for msg in consumer:
        events.append(json.loads(msg.value))
    return sorted(events, key=lambda e: e["ts"])

pq.write_table(pa.Table.from_pylist(collect_events(consumer)), "events.parquet")  # EXL003
""",
        # The sink is in a `try/finally` in the caller.
        """
def drain(queue):
    items = []
    while True:
        item = queue.get()
        if item is None:
            break
        items.append(item)
    return items

try:
    session.add_all(drain(work_queue))  # EXL003
finally:
    session.commit()
""",
        # An async helper with `async for`; its awaited result goes to `copy_records_to_table`.
        """
async def fetch_records(source):
    records = []
    async for rec in source:
        records.append(tuple(rec))
    return records

async def main(con, source):
    await con.copy_records_to_table("t", records=await fetch_records(source))  # EXL003
""",
        # A polars helper; the caller writes through a method chain and `write_parquet`.
        """
import polars as pl


def combine(paths):
    out = pl.DataFrame()
    for path in paths:
        out = pl.concat([out, pl.read_csv(path)])
    return out

combine(csv_paths).unique().sort("id").write_parquet("combined.parquet")  # EXL003
""",
        # The helper returns `list(c)`, a derivation.
        """
def unique_pairs(events):
    seen = set()
    for event in events:
        seen.add((event["user_id"], event["country"]))
    return list(seen)

writer.writerows(unique_pairs(stream))  # EXL003
""",
        # The result is bound to a name, then passed through `sorted(name)`.
        """
def gather(reader):
    rows = []
    for row in reader:
        rows.append(row)
    return rows

rows = gather(csv.reader(open("raw.csv")))
writer.writerows(sorted(rows))  # EXL003
""",
        # `self.helper(...)` defined after the calling method in the same class.
        """
class Archiver:
    def run(self, cur):
        self.writer.writerows(self.fetch(cur))  # EXL003

    def fetch(self, cur):
        rows = []
        while row := cur.fetchone():
            rows.append(row)
        return rows
""",
        # The result reaches the sink through `.copy()` in a function.
        """
def collect(paths):
    docs = []
    for path in paths:
        docs.extend(json.load(open(path)))
    return docs


def main(db, paths):
    db.events.insert_many(collect(paths).copy())  # EXL003
""",
        # The helper's result passes through `sorted(...)` before `writerows`.
        """
import csv


def gather(reader):
    rows = []
    for row in reader:
        rows.append(row)
    return rows


with open("sorted.csv", "w", newline="") as fh:
    csv.writer(fh).writerows(sorted(gather(csv.reader(open("raw.csv")))))  # EXL003
""",
        # The helper's set, written through `list(...)` with `writelines`.
        """
def distinct_hosts(lines):
    hosts = set()
    for line in lines:
        hosts.add(line.split()[1])
    return hosts


with open("hosts.txt", "w") as fh:
    fh.writelines(list(distinct_hosts(open("access.log"))))  # EXL003
""",
        # SPEC 2.1: tuple unpacking of a helper's result taints each name.
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows, len(rows)


rows, count = collect(paths)
con.executemany("INSERT INTO t VALUES (?)", rows)  # EXL003
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            if not analysis.sinks(scope):
                continue  # nothing written: no accumulation is written either
            calls = analysis.helper_calls(scope)
            for sink, helper_call in writes(
                analysis, scope, calls, lambda h: h.call.node, lambda h: h.call.site.order
            ):
                helper = helper_call.helper
                if helper.scope is not None and helper.accumulation is not None:
                    name = helper.scope.name
                    key = helper.accumulation.key
                    related = accumulation_related(analysis, helper.accumulation)
                else:
                    # A helper of another module (SPEC 2.6): the call leads to its chain.
                    name, key = helper.name, helper.key
                    related = [Related(helper_call.call.node, f"`{name}()` is called here")]
                # A generator streams only into a sink that takes any iterable.
                advice = (
                    "make it yield items or write in its loop"
                    if accepts_iterator(sink)
                    else "write in its loop, per item or in bounded batches"
                )
                yield Finding(
                    code=self.code,
                    node=sink.call.node,
                    message=(
                        f"`{name}()` accumulates `{key}` unbounded for "
                        f"{sink_label(sink, analysis)}; {advice}"
                    ),
                    related=tuple(related),
                )
