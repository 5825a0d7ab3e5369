"""EXL001's unsafe fix: each fixed sample of ``tests/fixes/exl001`` parses and passes the
linter, its diff is exactly the one beside it, and the original and the fixed job write the
same rows to a real SQLite or DuckDB file (or the same CSV file) from the same input."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.helpers import run_cli

SAMPLES = Path(__file__).parent / "exl001"
NAMES = sorted(p.stem for p in SAMPLES.glob("*.py"))
#: Input sizes around the batch size (1_000): none, one, exactly one batch, one batch and
#: one more, several batches (DuckDB's executemany is slow per row: not for that sample).
SIZES = (0, 1, 1_000, 1_001, 3_210)
SLOW = {"fetchmany_duckdb", "pages_duckdb"}


def _fixed(tmp_path: Path, name: str) -> tuple[str, str, str]:
    """(original, fixed, --diff output) of one sample, fixed by the command line."""
    job = tmp_path / f"{name}.py"
    shutil.copy(SAMPLES / f"{name}.py", job)
    original = job.read_text()
    args = ("--no-cache", "--isolated", "--select", "EXL001", "--unsafe-fixes")
    diff = run_cli(*args, "--diff", job.name, cwd=tmp_path)
    assert job.read_text() == original
    run_cli(*args, "--fix", job.name, cwd=tmp_path)
    return original, job.read_text(), diff.out


_FIXED: dict[str, tuple[str, str, str]] = {}


@pytest.fixture(params=NAMES)
def sample(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, str, str]:
    name = request.param
    if name not in _FIXED:  # fixed once per sample, by the command line
        _FIXED[name] = _fixed(tmp_path_factory.mktemp(name), name)
    return (name, *_FIXED[name])


def test_fixed_sample_passes_the_linter(sample, tmp_path):
    name, original, fixed, _ = sample
    assert fixed != original
    compile(fixed, name, "exec")
    check = tmp_path / "check.py"
    check.write_text(fixed)
    run = run_cli("--no-cache", "--isolated", "--select", "EXL001", check.name, cwd=tmp_path)
    assert run.code == 0, run.out


def test_fixed_sample_diff_is_the_expected_one(sample):
    name, _, _, diff = sample
    assert diff == (SAMPLES / f"{name}.diff").read_text()


def test_without_unsafe_fixes_nothing_is_fixed(tmp_path):
    job = tmp_path / "job.py"
    shutil.copy(SAMPLES / "incident_sqlite.py", job)
    before = job.read_text()
    run = run_cli("--no-cache", "--isolated", "--select", "EXL001", "--fix", job.name, cwd=tmp_path)
    assert job.read_text() == before
    assert "--unsafe-fixes" in run.err


def _records(n: int) -> list[tuple[int, str]]:
    return [(i, f"name-{i % 97}") for i in range(n)]


def _run(code: str, name: str, out: Path, records: list[tuple[int, str]]) -> Any:
    """Run one version of a job; what it wrote (or the error it raised)."""
    if name.endswith("_csv"):
        try:
            exec(compile(code, name, "exec"), {"OUT": str(out), "RECORDS": records})
        except Exception as error:  # both versions must fail alike
            return type(error)
        return out.read_bytes()
    if name.endswith("_duckdb") or "duckdb" in name:
        con = duckdb.connect(str(out))
        con.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        con.close()
    else:
        with sqlite3.connect(out) as con:
            con.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        con.close()
    namespace: dict[str, Any] = {}
    exec(compile(code, name, "exec"), namespace)
    try:
        namespace["job"](str(out), records)
    except Exception as error:  # both versions must fail alike
        return type(error)
    if "duckdb" in name:
        con = duckdb.connect(str(out))
        rows = con.execute("SELECT id, name FROM t ORDER BY id").fetchall()
        con.close()
        return rows
    with sqlite3.connect(out) as con:
        rows = con.execute("SELECT id, name FROM t ORDER BY id").fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("size", SIZES)
def test_original_and_fixed_write_the_same_rows(sample, size, tmp_path):
    name, original, fixed, _ = sample
    if size > 2_000 and name in SLOW:
        pytest.skip("covered by the smaller sizes")
    records = _records(size)
    suffix = ".csv" if name.endswith("_csv") else ".db"
    before = _run(original, name, tmp_path / f"before{suffix}", records)
    after = _run(fixed, name, tmp_path / f"after{suffix}", records)
    assert after == before
    if size and not isinstance(before, type):
        assert len(before) >= size  # the job wrote something: the comparison means it


#: Shapes that are reported but get no fix: batching them would change what is written.
NOT_CANONICAL = {
    "read elsewhere": """
        rows = []
        for rec in stream:
            rows.append(rec)
        print(len(rows))
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "growth in two loops": """
        rows = []
        for rec in stream:
            rows.append(rec)
        for rec in other:
            rows.append(rec)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "sink that cannot take parts": """
        import json

        rows = []
        for rec in stream:
            rows.append(rec)
        with open("out.json", "w") as fh:
            json.dump(rows, fh)
    """,
    "to_parquet of a path": """
        import pandas as pd

        frames = []
        for chunk in stream:
            frames.append(pd.DataFrame(chunk))
        pd.concat(frames).to_parquet("out.parquet")
    """,
    "to_sql that replaces": """
        import pandas as pd

        frames = []
        for chunk in stream:
            frames.append(pd.DataFrame(chunk))
        pd.concat(frames).to_sql("t", con, if_exists="replace")
    """,
    "sink argument computed after the loop": """
        rows = []
        for rec in stream:
            rows.append(rec)
        sql = "INSERT INTO t VALUES (?)"
        con.executemany(sql, rows)
    """,
    "table created after the loop": """
        rows = []
        for rec in stream:
            rows.append(rec)
        con.execute("CREATE TABLE t (x INTEGER)")
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "with-block closing the connection between": """
        import sqlite3

        rows = []
        with sqlite3.connect("a.db") as con:
            for rec in stream:
                rows.append(rec)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "reading the connection being written": """
        rows = []
        cur = con.execute("SELECT x FROM src")
        while chunk := cur.fetchmany(100):
            rows.extend(chunk)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "reader of the same connection in a function the loop calls": """
        def stream():
            result = con.execute("SELECT x FROM src")
            while chunk := result.fetchmany(100):
                yield from chunk


        rows = []
        for rec in stream():
            rows.append(rec)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "module-level connection read in the loop": """
        import duckdb

        con = duckdb.connect("a.db")
        con.execute("SELECT x FROM src")
        rows = []
        for chunk in iter(lambda: con.fetchmany(100), []):
            rows.extend(chunk)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "sorted before the write": """
        rows = []
        for rec in stream:
            rows.append(rec)
        con.executemany("INSERT INTO t VALUES (?)", sorted(rows))
    """,
    "growth in the body of a try": """
        import csv

        rows = []
        for rec in stream:
            try:
                rows.append(parse(rec))
            except ValueError:
                continue
        csv.writer(fh).writerows(rows)
    """,
    "growth under contextlib.suppress": """
        from contextlib import suppress

        rows = []
        for rec in stream:
            with suppress(ValueError):
                rows.append(parse(rec))
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "extend with more on its line": """
        rows = []
        for rec in stream:
            rows.extend(rec); n = len(rec)
        con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "frame of records without its columns": """
        import pandas as pd

        rows = []
        for rec in stream:
            rows.append({"id": rec[0], **rec[1]})
        pd.DataFrame(rows).to_sql("t", con, if_exists="append", index=False)
    """,
    "arrow table of records without its schema": """
        import pyarrow as pa

        rows = []
        for rec in stream:
            rows.append(rec)
        con.append("t", pa.Table.from_pylist(rows))
    """,
    "sink under a condition": """
        rows = []
        for rec in stream:
            rows.append(rec)
        if rows:
            con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
}


@pytest.mark.parametrize("source", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_shapes_that_are_not_canonical_get_no_fix(source, tmp_path):
    job = tmp_path / "job.py"
    job.write_text(textwrap.dedent(source).lstrip())
    args = ("--no-cache", "--isolated", "--select", "EXL001", "--format", "json", job.name)
    run = run_cli(*args, cwd=tmp_path)
    diagnostics = json.loads(run.out)["diagnostics"]
    assert [d["code"] for d in diagnostics] == ["EXL001"]
    assert diagnostics[0]["fix"] is None


def test_a_sink_that_cannot_take_parts_says_what_to_write_instead(tmp_path):
    job = tmp_path / "job.py"
    job.write_text(textwrap.dedent(NOT_CANONICAL["sink that cannot take parts"]).lstrip())
    run = run_cli("--no-cache", "--isolated", "--select", "EXL001", job.name, cwd=tmp_path)
    assert "json.dump()` writes it whole; write JSON lines in the loop" in run.out
    parquet = tmp_path / "parquet.py"
    parquet.write_text(textwrap.dedent(NOT_CANONICAL["to_parquet of a path"]).lstrip())
    run = run_cli("--no-cache", "--isolated", "--select", "EXL001", parquet.name, cwd=tmp_path)
    assert "write with a ParquetWriter in the loop" in run.out


def test_the_constant_takes_a_free_name_and_several_fixes_share_it(tmp_path):
    job = tmp_path / "job.py"
    job.write_text(
        textwrap.dedent(
            """
            import sqlite3

            BATCH_SIZE = 10


            def a(con, stream):
                rows = []
                for rec in stream:
                    rows.append(rec)
                con.executemany("INSERT INTO t VALUES (?)", rows)


            def b(con, stream):
                rows = []
                for rec in stream:
                    rows.extend(rec)
                con.executemany("INSERT INTO u VALUES (?)", rows)
            """
        ).lstrip()
    )
    args = ("--no-cache", "--isolated", "--select", "EXL001", "--unsafe-fixes", "--fix")
    run_cli(*args, job.name, cwd=tmp_path)
    text = job.read_text()
    assert text.count("BATCH_SIZE_2 = 1_000\n") == 1
    assert text.count("if len(rows) >= BATCH_SIZE_2:") == 2
    assert "BATCH_SIZE = 10\n" in text


def _notebook(path: Path) -> None:
    code = [
        ["import sqlite3"],
        ["con = sqlite3.connect(DB)"],
        ["%time\n", "rows = []\n", "for rec in iter(RECORDS):\n", "    rows.append(rec)"],
        ['con.executemany("INSERT INTO t VALUES (?, ?)", rows)\n', "con.commit()"],
    ]
    cells: list[dict[str, Any]] = [{"cell_type": "markdown", "metadata": {}, "source": ["# Load"]}]
    for number, source in enumerate(code, 1):
        output = {"output_type": "stream", "name": "stdout", "text": [f"cell {number}\n"]}
        cells.append(
            {
                "cell_type": "code",
                "execution_count": number,
                "metadata": {},
                "outputs": [output],
                "source": source,
            }
        )
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1) + "\n")


def _run_cells(path: Path, db: Path, records: list[tuple[int, str]]) -> list[tuple[int, str]]:
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in ("".join(cell["source"]) + "\n").splitlines(keepends=True)
        if not line.startswith("%")
    ]
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    con.close()
    namespace: dict[str, Any] = {"DB": str(db), "RECORDS": records}
    exec(compile("".join(lines), path.name, "exec"), namespace)
    namespace["con"].close()
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT id, name FROM t ORDER BY id").fetchall()
    con.close()
    return rows


def test_notebook_cells_get_the_same_fix(tmp_path):
    path = tmp_path / "job.ipynb"
    _notebook(path)
    original = path.read_text()
    args = ("--no-cache", "--isolated", "--select", "EXL001", "--unsafe-fixes")
    diff = run_cli(*args, "--diff", path.name, cwd=tmp_path)
    assert path.read_text() == original
    assert diff.out == (
        "--- a/job.ipynb:cell 3\n"
        "+++ b/job.ipynb:cell 3\n"
        "@@ -1 +1,3 @@\n"
        "+BATCH_SIZE = 1_000\n"
        "+\n"
        " con = sqlite3.connect(DB)\n"
        "--- a/job.ipynb:cell 4\n"
        "+++ b/job.ipynb:cell 4\n"
        "@@ -1,4 +1,7 @@\n"
        " %time\n"
        " rows = []\n"
        " for rec in iter(RECORDS):\n"
        "+    if len(rows) >= BATCH_SIZE:\n"
        '+        con.executemany("INSERT INTO t VALUES (?, ?)", rows)\n'
        "+        rows.clear()\n"
        "     rows.append(rec)\n"
    )
    run_cli(*args, "--fix", path.name, cwd=tmp_path)
    before, after = json.loads(original), json.loads(path.read_text())
    assert [c["outputs"] for c in after["cells"][1:]] == [c["outputs"] for c in before["cells"][1:]]
    assert run_cli(*args, path.name, cwd=tmp_path).code == 0
    shutil.copy(path, tmp_path / "fixed.ipynb")
    (tmp_path / "original.ipynb").write_text(original)
    for size in (0, 1_001, 2_500):
        records = _records(size)
        fixed = _run_cells(tmp_path / "fixed.ipynb", tmp_path / f"a{size}.db", records)
        assert fixed == _run_cells(tmp_path / "original.ipynb", tmp_path / f"b{size}.db", records)
        assert len(fixed) == size


def test_the_constant_goes_below_an_import_that_another_fix_adds(tmp_path):
    job = tmp_path / "job.py"
    shutil.copy(Path(__file__).parents[2] / "examples" / "incident_extractor.py", job)
    run_cli("--no-cache", "--isolated", "--fix", "--unsafe-fixes", job.name, cwd=tmp_path)
    text = job.read_text()
    compile(text, job.name, "exec")
    assert (
        "import duckdb\nfrom extraction_lint.guardrails import track\n\nBATCH_SIZE = 1_000\n"
        in text
    )
    assert "for pickle_path in track(pickle_files):" in text
    assert "            if len(all_rows) >= BATCH_SIZE:\n" in text
