"""Messages say in one short sentence what is wrong and what to write instead: the long
explanation is the rule's page (``--explain``), and the advice fits the sink it names."""

from __future__ import annotations

import re
import textwrap

import pytest

from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.rules import ALL_RULES, TREE_RULES

#: A message fits a terminal line with its location in front of it: about 120 characters
#: (the names it quotes can take a few more).
MESSAGE_LIMIT = 125
#: EXL002's advice names the call that writes batches into one file or table (a
#: ``pyarrow.parquet.ParquetWriter``, ``to_sql(..., if_exists="append")``) and, after a
#: ``with`` block, that the write goes inside it: its messages keep under 160.
LIMITS = {"EXL002": 160}
TREE_CODES = frozenset(r.code for r in TREE_RULES)


def findings(source: str, *codes: str):
    text = textwrap.dedent(source).lstrip("\n")
    enabled = frozenset(codes) if codes else TREE_CODES
    result = check_source(text.encode(), "job.py", CheckOptions(enabled=enabled))
    assert result.error is None, result.error
    return result.diagnostics


def messages(source: str, *codes: str) -> list[str]:
    return [d.message for d in findings(source, *codes)]


INVALID = [
    pytest.param(rule.code, sample, id=f"{rule.code}-invalid-{index}")
    for rule in ALL_RULES
    if rule.code in TREE_CODES
    for index, sample in enumerate(rule.invalid)
]


@pytest.mark.parametrize(("code", "sample"), INVALID)
def test_every_message_of_every_sample_is_one_short_sentence(code, sample):
    reported = findings(sample, code)
    assert reported
    for diagnostic in reported:
        message = diagnostic.message
        assert len(message) <= LIMITS.get(code, MESSAGE_LIMIT), message
        assert "\n" not in message and not re.search(r"\.\s+[A-Z]", message), message
        assert ";" in message or ":" in message, f"no advice after the problem: {message}"


LONG_HEADER = """
import pickle
from pathlib import Path

rows = []
for subject_path in sorted(Path(data_dir).glob("subject_*/signals_*.pkl")):
    rows.extend(pickle.load(open(subject_path, "rb")))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)
"""


def test_messages_never_repeat_a_long_loop_header():
    reported = findings(LONG_HEADER)
    assert {d.code for d in reported} == {"EXL001", "EXL101", "EXL102", "EXL103"}
    for diagnostic in reported:
        assert "glob(" not in diagnostic.message, diagnostic.message
        assert len(diagnostic.message) <= MESSAGE_LIMIT
    exl001 = next(d for d in reported if d.code == "EXL001")
    # The collection, the loop and the sink are named; the related location shows the header.
    assert "`rows`" in exl001.message and "`for subject_path` loop" in exl001.message
    assert "`.executemany()`" in exl001.message


def test_guard_messages_say_what_to_write_for_this_loop():
    source = """
    import pickle

    for path in paths:
        data = pickle.load(open(path, "rb"))
    while chunk := cur.fetchmany(100):
        out.executemany("INSERT INTO t VALUES (?)", chunk)
    """
    by_line = {(d.line, d.code): d.message for d in findings(source)}
    assert "wrap `paths` in `track(...)`" in by_line[(3, "EXL101")]
    assert "`with guard(memory_limit=...) as g:`" in by_line[(3, "EXL102")]
    assert "`g.track(paths)`" in by_line[(3, "EXL102")]
    assert "`with guard(stall_timeout=...) as g:`" in by_line[(3, "EXL103")]
    # A while loop has no iterable to wrap: the guard is ticked in its body.
    assert "`g.tick()`" in by_line[(5, "EXL102")]
    assert ".tick()" in by_line[(5, "EXL101")]


def test_an_async_loop_is_advised_track_which_takes_async_iterables_and_not_tqdm():
    source = """
    async def copy(stream, con):
        async for batch in stream:
            await con.executemany("INSERT INTO t VALUES (?)", batch)
    """
    heartbeat, memory, stall = messages(source, "EXL101", "EXL102", "EXL103")
    assert "wrap `stream` in `track(...)`" in heartbeat and "tqdm" not in heartbeat, heartbeat
    assert "`g.track(stream)`" in memory and "`g.track(stream)`" in stall


def test_the_advice_names_the_iterable_inside_enumerate():
    source = """
    import pickle

    for i, path in enumerate(paths, start=1):
        data = pickle.load(open(path, "rb"))
    """
    for message in messages(source, "EXL101", "EXL102"):
        assert "enumerate" not in message and "paths" in message, message


def test_the_guard_name_is_not_the_loop_variable():
    source = """
    import pickle

    for g in groups:
        data = pickle.load(open(g, "rb"))
    """
    (message,) = messages(source, "EXL102")
    assert "as guarded:" in message and "`guarded.track(groups)`" in message


def test_exl003_names_the_helper_its_collection_and_the_sink():
    source = """
    def collect(paths):
        rows = []
        for path in paths:
            rows.extend(load(path))
        return rows


    con.executemany("INSERT INTO t VALUES (?)", collect(paths))
    """
    (message,) = messages(source, "EXL003")
    assert "`collect()`" in message and "`rows`" in message and "`.executemany()`" in message
    assert "yield" in message


def test_exl003_advises_a_generator_only_to_a_sink_that_takes_one():
    source = """
    import json


    def fetch_all(session, url):
        out = []
        while url:
            page = session.get(url).json()
            out.extend(page["data"])
            url = page.get("next")
        return out


    json.dump(fetch_all(session, "/items"), fh)
    """
    (message,) = messages(source, "EXL003")
    assert "`fetch_all()`" in message and "`json.dump()`" in message
    assert "yield" not in message and "write in its loop" in message


# --- EXL002: the advice fits the sink and the engine (SPEC 2.3) ------------------------------


def exl002(source: str) -> str:
    (message,) = messages(source, "EXL002")
    assert len(message) <= LIMITS["EXL002"], message
    return message


def test_a_generator_is_advised_only_where_the_sink_takes_an_iterator():
    streams = exl002(
        """
        rows = [to_row(r) for r in reader]
        con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        """
    )
    assert "generator" in streams
    for sink in (
        'json.dump(rows, open("out.json", "w"))',
        'pickle.dump(rows, open("out.pkl", "wb"))',
        'pd.DataFrame(rows).to_csv("out.csv")',
        'pd.DataFrame(rows).to_parquet("out.parquet")',
        'np.save("out.npy", np.array(rows))',
    ):
        message = exl002(
            f"""
            import json
            import pickle

            import numpy as np
            import pandas as pd

            rows = [to_row(r) for r in reader]
            {sink}
            """
        )
        assert "generator" not in message and "iterator" not in message, message


def test_a_comprehension_over_what_is_held_whole_is_not_advised_a_generator():
    # A generator over an accumulated list (EXL001) or a helper's (EXL003) still holds it.
    accumulated = exl002(
        """
        rows = []
        for r in recs:
            rows.append(r)
        con.executemany("INSERT INTO t VALUES (?, ?)", [tuple(r) for r in rows])
        """
    )
    assert "`rows`" in accumulated and "where it grows" in accumulated
    assert "generator" not in accumulated, accumulated
    helper = exl002(
        """
        def collect(recs):
            out = []
            for r in recs:
                out.append(r)
            return out

        con.executemany("INSERT INTO t VALUES (?, ?)", [tuple(r) for r in collect(recs)])
        """
    )
    assert "make `collect()` yield its items" in helper and "generator" not in helper
    # Over a list it built itself, the list is what a generator would replace.
    built = exl002(
        """
        rows = [to_row(x) for x in src]
        con.executemany("INSERT INTO t VALUES (?, ?)", (tuple(r) for r in rows))
        """
    )
    assert "`rows`" in built and "generator expression" in built


def test_a_copy_of_an_accumulated_dict_is_not_advised_an_iterator():
    # ``latest.values()`` is still the whole dict: the advice is to write where it grows.
    message = exl002(
        """
        latest = {}
        for r in recs:
            latest[r.id] = r
        con.executemany("INSERT INTO t VALUES (?, ?)", list(latest.values()))
        """
    )
    assert "`latest`" in message and "where it grows" in message
    assert "iterator" not in message, message


def test_a_comprehension_over_a_whole_read_names_the_read():
    bound = exl002(
        """
        rows = cur.fetchall()
        con.executemany("INSERT INTO t VALUES (?, ?)", (tuple(r) for r in rows))
        """
    )
    assert "`cur.fetchall()`" in bound and "`cur.fetchmany(n)`" in bound
    pulled = exl002(
        """
        import json

        from pyspark.sql import SparkSession

        json.dump([r.asDict() for r in sdf.collect()], f)
        """
    )
    assert "`sdf.collect()`" in pulled and "`sdf.write.json(...)`" in pulled


def test_json_dump_is_advised_json_lines_and_frames_appended_chunks():
    assert "JSON lines" in exl002(
        """
        import json

        json.dump([u.to_dict() for u in users.stream()], open("users.json", "w"))
        """
    )
    assert 'mode="a")`, the header once' in exl002(
        """
        import pandas as pd

        pd.DataFrame([parse(line) for line in open("m.log")]).to_csv("m.csv")
        """
    )


# A frame writer called once per chunk replaces its file (or fails on the table it made):
# the advice names the write that adds chunks to one file or table, for each frame writer.
CHUNK_WRITES = [
    ('df.to_parquet("m.parquet")', "a `pyarrow.parquet.ParquetWriter`"),
    ('pl.DataFrame(rows).write_parquet("m.parquet")', "a `pyarrow.parquet.ParquetWriter`"),
    ('pq.write_table(pa.Table.from_pylist(rows), "m.parquet")', "`pyarrow.parquet.ParquetWriter`"),
    ('df.to_feather("m.feather")', "one `pyarrow.ipc.new_file()` writer"),
    ('df.to_sql("m", engine)', '`.to_sql(..., if_exists="append")`'),
    ('df.to_csv("m.csv")', '`.to_csv(p, mode="a")`, the header once'),
    ('df.to_json("m.json")', '`.to_json(..., orient="records", lines=True, mode="a")`'),
    ('pl.DataFrame(rows).write_csv("m.csv")', "one open file with `.write_csv(fh)`"),
    ('pl.DataFrame(rows).write_database("m", uri)', 'if_table_exists="append")`'),
    ('con.append("m", df)', '`.append("table", ...)`'),
]


@pytest.mark.parametrize(("sink", "advice"), CHUNK_WRITES)
def test_a_comprehension_written_by_a_frame_writer_is_advised_chunks_of_its_source(sink, advice):
    """No loop in the code: the advice names the comprehension's source and the write of
    each chunk, never a loop that is not there."""
    message = exl002(
        f"""
        import pandas as pd
        import polars as pl
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [parse(line) for line in open("m.log")]
        df = pd.DataFrame(rows)
        {sink}
        """
    )
    assert 'write chunks of `open("m.log")` ' in message, message
    assert advice in message, message
    assert "loop" not in message and "one frame per chunk" not in message, message


@pytest.mark.parametrize(("sink", "advice"), CHUNK_WRITES[:7])
def test_a_whole_read_written_by_a_frame_writer_is_advised_batches_into_one_file(sink, advice):
    """``fetchall()`` then a frame writer: `fetchmany(n)` batches, each written with the
    call that adds to one file or table (``to_parquet`` per batch would overwrite it)."""
    message = exl002(
        f"""
        import pandas as pd
        import polars as pl
        import pyarrow as pa
        import pyarrow.parquet as pq

        def export(cur, engine):
            cur.execute("SELECT id, total FROM orders")
            rows = cur.fetchall()
            df = pd.DataFrame(rows)
            {sink}
        """
    )
    assert "write `cur.fetchmany(n)` batches with " in message, message
    assert advice in message, message
    assert "write each batch" not in message, message


def test_a_derived_frame_written_to_parquet_is_advised_a_parquet_writer():
    message = exl002("pd.DataFrame(cur.fetchall()).dropna().to_parquet(path)\n")
    assert message == (
        "`cur.fetchall()` reads the whole result for `.to_parquet()`; "
        "write `cur.fetchmany(n)` batches with a `pyarrow.parquet.ParquetWriter`"
    )


def test_feather_is_advised_an_arrow_ipc_writer_not_a_parquet_writer():
    for source in (
        "pd.DataFrame(cur.fetchall()).to_feather(path)\n",
        "pd.DataFrame([parse(line) for line in open(p)]).to_feather(path)\n",
    ):
        message = exl002(source)
        assert "one `pyarrow.ipc.new_file()` writer" in message, message
        assert "Parquet" not in message, message
    (exl001,) = messages(
        """
        import pandas as pd

        frames = []
        for path in paths:
            frames.append(pd.read_csv(path))
        pd.concat(frames).to_feather("all.feather")
        """,
        "EXL001",
    )
    assert exl001.endswith("write with `pyarrow.ipc.new_file()` in the loop"), exl001


# --- EXL002: a source opened by a `with` statement is closed after it ------------------------


def test_a_sink_after_the_with_block_is_advised_to_write_inside_it():
    """Following ``pass `reader` itself`` after the block would read a closed file: the
    advice says where the write goes."""
    reader = exl002(
        """
        import csv

        with open(path) as fh:
            reader = csv.reader(fh); rows = list(reader)
        con.executemany(SQL, rows)
        """
    )
    assert reader == (
        "`list(reader)` reads every row for `.executemany()`; "
        "inside `with ... as fh`, pass `reader` itself to it"
    )
    cursor = exl002(
        """
        def copy(conn, dst):
            with conn.cursor() as cur:
                cur.execute("SELECT id, total FROM orders")
                rows = list(cur)
            dst.executemany("INSERT INTO t VALUES (%s, %s)", rows)
        """
    )
    assert cursor.endswith("; inside `with ... as cur`, pass `cur` itself to it"), cursor
    fetched = exl002(
        """
        def copy(conn, dst):
            with conn.cursor() as cur:
                cur.execute("SELECT id, total FROM orders")
                rows = cur.fetchall()
            dst.executemany("INSERT INTO t VALUES (%s, %s)", rows)
        """
    )
    assert fetched.endswith("; inside `with ... as cur`, write each `cur.fetchmany(n)` batch")
    parquet = exl002(
        """
        import pandas as pd

        async def export(pool, path):
            async with pool.acquire() as con:
                rows = await con.fetch("SELECT 1")
            with con.cursor() as cur:
                cur.execute("SELECT id, total FROM orders")
                rows = cur.fetchall()
            pd.DataFrame(rows).to_parquet(path)
        """
    )
    assert "; inside `with ... as cur`, write `cur.fetchmany(n)` batches with a `pyarrow" in (
        parquet
    ), parquet
    generator = exl002(
        """
        with open("events.log") as fh:
            rows = [parse(line) for line in fh]
        con.executemany(SQL, rows)
        """
    )
    assert generator.endswith("; inside `with ... as fh`, pass it a generator expression instead")


def test_a_sink_inside_the_with_block_or_a_with_the_source_does_not_need_says_nothing_of_it():
    for source in (
        """
        import csv

        with open(path) as fh:
            rows = list(csv.reader(fh))
            con.executemany(SQL, rows)
        """,
        """
        def copy(conn, dst):
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM t")
                with timer("copy") as t:
                    rows = cur.fetchall()
                dst.executemany("INSERT INTO t VALUES (%s)", rows)
        """,
        """
        with lock:
            rows = [parse(line) for line in source]
        con.executemany(SQL, rows)
        """,
    ):
        message = exl002(source)
        assert "with" not in message, message


def test_fetchall_is_advised_a_fetchmany_loop():
    message = exl002(
        """
        rows = src.fetchall()
        dst.executemany("INSERT INTO t VALUES (?, ?)", rows)
        """
    )
    assert "`src.fetchall()`" in message and "`src.fetchmany(n)`" in message


def test_spark_and_dask_are_advised_their_own_writers():
    assert "`sdf.write.parquet(...)`" in exl002("sdf.toPandas().to_parquet(path)\n")
    assert "`sdf.write.csv(...)`" in exl002("sdf.toPandas().to_csv(path)\n")
    assert "`ddf.to_parquet(...)`" in exl002("ddf.compute().to_parquet(path)\n")
    polars = exl002(
        """
        import polars as pl

        lf = pl.scan_csv("in/*.csv")
        lf.collect().write_parquet("out.parquet")
        """
    )
    assert "`lf.sink_parquet(...)`" in polars
    spark = exl002(
        """
        from pyspark.sql import SparkSession

        pd.DataFrame(sdf.collect()).to_parquet("out.parquet")
        """
    )
    assert "`sdf.write.parquet(...)`" in spark


def test_an_engine_pull_into_a_file_sink_is_advised_a_file_writer():
    # Dask arrays write with to_zarr, and nothing pulled is written into a table by a
    # numpy or pickle file.
    array = exl002("import numpy as np\n\nnp.save(out, arr.compute())\n")
    assert "`arr.to_zarr(...)`" in array and "to_sql" not in array
    pickled = exl002(
        """
        import pickle

        pickle.dump(lf.collect(), fh)
        """
    )
    assert "jdbc" not in pickled and "`.write.parquet()`" in pickled, pickled
    assert "`.sink_parquet()`" in pickled
    table = exl002('cur.executemany("INSERT INTO t VALUES (?)", ddf.compute())\n')
    assert "`ddf.to_sql(...)`" in table


def test_a_reader_is_advised_to_be_passed_or_iterated():
    passed = exl002(
        """
        import csv

        reader = csv.reader(open("in.csv"))
        csv.writer(out).writerows(list(reader))
        """
    )
    assert "pass `reader` itself" in passed
    iterated = exl002(
        """
        import csv

        import pandas as pd

        reader = csv.reader(open("in.csv"))
        pd.DataFrame(list(reader)).to_parquet("out.parquet")
        """
    )
    assert "write chunks of `reader` with a `pyarrow.parquet.ParquetWriter`" in iterated
    called = exl002(
        """
        import csv

        with open("in.csv") as fh:
            con.executemany("INSERT INTO t VALUES (?, ?)", list(csv.reader(fh)))
        """
    )
    assert "pass `csv.reader(fh)` itself" in called
