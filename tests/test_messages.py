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
        assert len(message) <= MESSAGE_LIMIT, message
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


# --- EXL002: the advice fits the sink and the engine (SPEC 2.3) ------------------------------


def exl002(source: str) -> str:
    (message,) = messages(source, "EXL002")
    assert len(message) <= MESSAGE_LIMIT, message
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


def test_json_dump_is_advised_json_lines_and_frames_one_frame_per_chunk():
    assert "JSON lines" in exl002(
        """
        import json

        json.dump([u.to_dict() for u in users.stream()], open("users.json", "w"))
        """
    )
    assert "one frame per chunk" in exl002(
        """
        import pandas as pd

        pd.DataFrame([parse(line) for line in open("m.log")]).to_csv("m.csv")
        """
    )


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
    assert "iterate `reader`" in iterated
    called = exl002(
        """
        import csv

        with open("in.csv") as fh:
            con.executemany("INSERT INTO t VALUES (?, ?)", list(csv.reader(fh)))
        """
    )
    assert "pass `csv.reader(fh)` itself" in called
