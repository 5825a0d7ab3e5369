"""Following calls through the project (SPEC 2.6), on real files in a temporary project:
helpers in the same and other modules, the import forms, methods and base classes, chains
in every output format, files of the project outside the run, and the result cache."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from extraction_lint.cache import FORMAT
from tests.helpers import run_cli


def write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[tool.extraction-lint]\n", encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def findings(root: Path, *args: str) -> list[dict]:
    run = run_cli("--format", "json", "--no-cache", *args, cwd=root)
    assert run.code in (0, 1), run.err
    return json.loads(run.out)["diagnostics"]


def codes_by_line(diagnostics: list[dict]) -> set[tuple[str, int, str]]:
    return {(d["path"], d["line"], d["code"]) for d in diagnostics}


SAVE = """
SQL = "INSERT INTO t VALUES (?, ?)"

def save(con, rows):
    con.executemany(SQL, rows)
"""

CALLER = """
{import_line}

rows = []
for p in paths:
    rows.extend(load_rows(p))
{call}
"""


def test_save_in_another_module_is_a_sink_of_what_is_passed(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": SAVE,
            "run.py": CALLER.format(import_line="from jobs.io import save", call="save(con, rows)"),
        },
    )
    found = findings(tmp_path, "run.py")
    assert codes_by_line(found) == {("run.py", 6, "EXL001")}
    related = found[0]["related"]
    assert {k: related[0][k] for k in ("path", "line", "column")} == {
        "path": "jobs/io.py",
        "line": 4,
        "column": 5,
    }
    assert "`save()`" in found[0]["message"]


def test_every_import_form_resolves(tmp_path):
    forms = {
        "a.py": ("from jobs.io import save", "save(con, rows)"),
        "b.py": ("import jobs.io as io", "io.save(con, rows)"),
        "c.py": ("from jobs import io", "io.save(con, rows)"),
        "d.py": ("import jobs.io", "jobs.io.save(con, rows)"),
        "e.py": ("from jobs import save", "save(con, rows)"),  # re-exported by __init__
        "jobs/f.py": ("from .io import save", "save(con, rows)"),
        "jobs/g.py": ("from . import io", "io.save(con, rows)"),
    }
    files = {"jobs/__init__.py": "from .io import save\n", "jobs/io.py": SAVE}
    for name, (import_line, call) in forms.items():
        files[name] = CALLER.format(import_line=import_line, call=call)
    write(tmp_path, files)
    found = findings(tmp_path, *forms)
    assert codes_by_line(found) == {(name, 6, "EXL001") for name in forms}


def test_src_layout_and_a_script_next_to_its_helpers(tmp_path):
    write(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/io.py": SAVE,
            "scripts/run.py": CALLER.format(
                import_line="from pkg.io import save", call="save(con, rows)"
            ),
            "dags/common/__init__.py": "",
            "dags/common/io.py": SAVE,
            "dags/job.py": CALLER.format(
                import_line="from common.io import save", call="save(con, rows)"
            ),
        },
    )
    found = findings(tmp_path, "scripts/run.py", "dags/job.py")
    assert codes_by_line(found) == {("scripts/run.py", 6, "EXL001"), ("dags/job.py", 6, "EXL001")}


def test_unresolvable_calls_are_not_followed(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": SAVE,
            "run.py": """
            from jobs.io import save
            import thirdparty

            rows = []
            for p in paths:
                rows.extend(load_rows(p))
            writer.save(con, rows)          # another receiver
            thirdparty.save(con, rows)      # outside the project
            handlers = [save]
            handlers[0](con, rows)          # a value passed around
            """,
        },
    )
    assert findings(tmp_path, "run.py") == []


def test_the_incident_shape_in_one_module(tmp_path):
    write(
        tmp_path,
        {
            "extract.py": """
            import pickle

            def extract_signals_from_pickle(path):
                with open(path, "rb") as fh:
                    return pickle.load(fh)

            all_rows = []
            for pickle_path in pickle_files:
                for sig in extract_signals_from_pickle(pickle_path):
                    all_rows.append(to_row(sig))
            conn.executemany(SQL, all_rows)
            """
        },
    )
    found = findings(tmp_path, "extract.py")
    assert codes_by_line(found) == {
        ("extract.py", 8, "EXL101"),
        ("extract.py", 8, "EXL102"),
        ("extract.py", 8, "EXL103"),
        ("extract.py", 11, "EXL001"),
    }
    guard = next(d for d in found if d["code"] == "EXL101")
    assert ("extract.py", 5) in {(r["path"], r["line"]) for r in guard["related"]}


def test_a_loader_helper_in_a_module_outside_the_run_makes_an_extraction_loop(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/readers.py": """
            import pickle

            def read(path):
                with open(path, "rb") as fh:
                    return pickle.load(fh)

            def read_logged(path):
                return read(path)
            """,
            "pkg/job.py": """
            from .readers import read_logged

            def run(paths, out):
                for path in paths:
                    out.append(read_logged(path))
            """,
        },
    )
    found = findings(tmp_path, "pkg/job.py")  # pre-commit passes only the changed file
    assert codes_by_line(found) == {
        ("pkg/job.py", 4, "EXL101"),
        ("pkg/job.py", 4, "EXL102"),
        ("pkg/job.py", 4, "EXL103"),
    }
    assert all(d["path"] == "pkg/job.py" for d in found)  # the helper is never reported on
    chain = [(r["path"], r["line"]) for r in found[0]["related"]]
    assert chain == [("pkg/job.py", 5), ("pkg/readers.py", 8), ("pkg/readers.py", 5)]


def test_guards_in_helpers_count_for_the_loop(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/watch.py": """
            import logging
            import resource

            log = logging.getLogger(__name__)

            def progress(i):
                log.info("done %d", i)

            def check(limit):
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            """,
            "pkg/job.py": """
            import pickle
            from pkg.watch import check, progress

            def run(paths):
                for i, path in enumerate(paths):
                    with open(path, "rb") as fh:
                        pickle.load(fh)
                    progress(i)
                    check(2**30)
            """,
        },
    )
    assert codes_by_line(findings(tmp_path, "pkg/job.py")) == {("pkg/job.py", 5, "EXL103")}


WRITER = """
class Writer:
    def flush_rows(self, rows):
        self.con.executemany(self.sql, rows)
"""


def test_methods_through_self_and_project_base_classes(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": WRITER,
            "pkg/job.py": """
            from pkg.base import Writer

            class Job(Writer):
                def run(self, paths):
                    rows = []
                    for p in paths:
                        rows.append(p)
                    self.flush_rows(rows)

                def run_super(self, paths):
                    rows = []
                    for p in paths:
                        rows.append(p)
                    super().flush_rows(rows)
            """,
        },
    )
    assert codes_by_line(findings(tmp_path, "pkg/job.py")) == {
        ("pkg/job.py", 8, "EXL001"),
        ("pkg/job.py", 14, "EXL001"),
    }


def test_self_calls_are_tried_against_the_class_that_holds_them(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": WRITER,
            "pkg/job.py": """
            from pkg.base import Writer

            class Other:
                def flush_rows(self, rows):
                    print(len(rows))

                def run(self, paths):
                    rows = []
                    for p in paths:
                        rows.append(p)
                    self.flush_rows(rows)

            def factory():
                class Job(Writer):
                    def run(self, paths):
                        rows = []
                        for p in paths:
                            rows.append(p)
                        self.flush_rows(rows)

                return Job
            """,
        },
    )
    # Only the nested class's loop: ``Other.flush_rows`` writes nothing.
    assert codes_by_line(findings(tmp_path, "pkg/job.py")) == {("pkg/job.py", 19, "EXL001")}


def test_growth_flush_and_closures_through_helpers(tmp_path):
    write(
        tmp_path,
        {
            "job.py": """
            def add(rows, item):
                rows.append(item)

            def reset(rows):
                rows.clear()

            def grows_through_a_helper(paths, con):
                rows = []
                for p in paths:
                    add(rows, p)
                con.executemany(SQL, rows)

            def flushed_through_a_helper(paths, con):
                rows = []
                for p in paths:
                    add(rows, p)
                    if len(rows) > 100:
                        con.executemany(SQL, rows)
                        reset(rows)
                con.executemany(SQL, rows)

            def closure(paths, con):
                rows = []

                def keep(p):
                    rows.append(p)

                for p in paths:
                    keep(p)
                con.executemany(SQL, rows)
            """
        },
    )
    assert codes_by_line(findings(tmp_path, "job.py", "--select", "EXL001")) == {
        ("job.py", 11, "EXL001"),
        ("job.py", 30, "EXL001"),
    }


def test_the_chain_is_in_every_output_format(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": SAVE,
            "run.py": CALLER.format(import_line="from jobs.io import save", call="save(con, rows)"),
        },
    )
    text = run_cli("--no-cache", "--show-source", "run.py", cwd=tmp_path).out
    assert "  --> jobs/io.py" in text
    assert "    con.executemany(SQL, rows)" in text.split("  --> jobs/io.py", 1)[1]
    github = run_cli("--no-cache", "--format", "github", "run.py", cwd=tmp_path).out
    assert "(through jobs/io.py:4:5)" in github
    sarif = json.loads(run_cli("--no-cache", "--format", "sarif", "run.py", cwd=tmp_path).out)
    related = sarif["runs"][0]["results"][0]["relatedLocations"]
    uris = {r["physicalLocation"]["artifactLocation"]["uri"] for r in related}
    assert "jobs/io.py" in uris


def test_editing_a_helper_rechecks_its_callers_from_the_cache(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": SAVE,
            "run.py": CALLER.format(import_line="from jobs.io import save", call="save(con, rows)"),
            "other.py": "x = 1\n",
        },
    )
    cache = str(tmp_path / "cache")

    def run() -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, ".", cwd=tmp_path).out
        return codes_by_line(json.loads(out)["diagnostics"])

    assert run() == {("run.py", 6, "EXL001")}
    assert run() == {("run.py", 6, "EXL001")}  # warm
    (tmp_path / "jobs/io.py").write_text(
        "def save(con, rows):\n    for row in rows:\n        con.execute(SQL, row)\n"
    )
    assert run() == set()  # the helper no longer writes the collection whole
    (tmp_path / "jobs/io.py").write_text(textwrap.dedent(SAVE).lstrip("\n"))
    assert run() == {("run.py", 6, "EXL001")}


def test_a_callee_is_read_only_where_it_can_add_to_the_summary(tmp_path):
    """What a function returns matters only where its caller returns or writes it: a
    helper that only returns is not parsed for a call whose result is dropped."""
    from extraction_lint.engine import check_path, project_for
    from extraction_lint.options import CheckOptions

    run = "from jobs.io import save\n\nrows = []\nfor p in paths:\n    rows.extend(load_rows(p))\nsave(con, rows)\n"
    util = "def describe(rows):\n    return sorted(rows)\n"
    io = (
        "from jobs.util import describe\n\nSQL = 'INSERT INTO t VALUES (?)'\n\n"
        "def save(con, rows):\n    {body}\n"
    )
    read = {}
    for case, body in {
        "dropped": "describe(rows)\n    con.executemany(SQL, rows)",
        "written": "con.executemany(SQL, describe(rows))",
    }.items():
        root = tmp_path / case
        root.mkdir()
        write(
            root,
            {
                "jobs/__init__.py": "",
                "jobs/util.py": util,
                "jobs/io.py": io.replace("{body}", body),
                "run.py": run,
            },
        )
        options = CheckOptions(project_root=str(root), run_id=case)
        result = check_path(root / "run.py", "run.py", options)
        assert [d.code for d in result.diagnostics] == ["EXL001"], case
        read[case] = project_for(options).modules_read
    assert read == {"dropped": 1, "written": 2}


LOADER = """
import pickle

def load_rows(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)
"""


def test_a_call_of_a_project_loader_is_judged_where_it_is_made(tmp_path, monkeypatch):
    """A file that calls a project function that loads is parsed with libcst only when a
    rule can fire where the call is made (here: in an unbounded loop), not for any call."""
    import extraction_lint.engine as engine
    from extraction_lint.options import CheckOptions

    parsed: list[str] = []
    real_parse = engine.parse_checked

    def parse_checked(source: str):
        parsed.append(source)
        return real_parse(source)

    monkeypatch.setattr(engine, "parse_checked", parse_checked)
    cases = {
        "once": ("rows = load_rows('a.pkl')\nprint(len(rows))\n", set()),
        "bounded loop": ("for p in ('a', 'b'):\n    print(len(load_rows(p)))\n", set()),
        "loop": (
            "for p in paths:\n    print(len(load_rows(p)))\n",
            {("EXL102", 3), ("EXL103", 3)},
        ),
    }
    for case, (body, expected) in cases.items():
        root = tmp_path / case.replace(" ", "-")
        root.mkdir()
        write(root, {"jobs/__init__.py": "", "jobs/io.py": LOADER})
        (root / "run.py").write_text(f"from jobs.io import load_rows\n\n{body}", encoding="utf-8")
        parsed.clear()
        options = CheckOptions(project_root=str(root), run_id=case)
        result = engine.check_path(root / "run.py", "run.py", options)
        assert {(d.code, d.line) for d in result.diagnostics} == expected, case
        # libcst parses the file only where a rule can fire.
        assert len(parsed) == (1 if expected else 0), case
        # Without the prefilter: the same findings.
        found = findings(root, "--no-prefilter", "run.py")
        assert {(d["code"], d["line"]) for d in found} == expected, case


def test_what_project_helpers_do_is_seen_with_and_without_the_prefilter(tmp_path):
    """Growths, accumulations and whole reads through helpers of another module (whose own
    text names no sink or loader) are found the same with the prefilter as without it."""
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/acc.py": """
            def add(rows, item):
                rows.append(item)

            def collect(paths):
                out = []
                for p in paths:
                    out = out + [p.stem]
                return out

            def pull(sdf):
                return sdf.toPandas()
            """,
            "grows.py": """
            from jobs.acc import add

            def job(con, paths):
                rows = []
                for p in paths:
                    add(rows, p)
                con.executemany("INSERT INTO t VALUES (?)", rows)
            """,
            "accumulates.py": """
            from jobs.acc import collect

            def job(con, paths):
                con.executemany("INSERT INTO t VALUES (?)", collect(paths))
            """,
            "pulls.py": """
            from jobs.acc import pull

            def job(sdf):
                pull(sdf).to_parquet("out.parquet")
            """,
        },
    )
    expected = {
        ("grows.py", 7, "EXL001"),
        ("accumulates.py", 4, "EXL003"),
        ("pulls.py", 4, "EXL002"),
    }
    files = ("grows.py", "accumulates.py", "pulls.py")
    found = findings(tmp_path, *files)
    assert codes_by_line(found) == expected
    assert codes_by_line(findings(tmp_path, "--no-prefilter", *files)) == expected
    pulled = next(d for d in found if d["path"] == "pulls.py")
    assert pulled["message"] == (
        "`pull(sdf)` returns `toPandas()` whole for `.to_parquet()`; "
        "use Spark's `.write.parquet(...)`"
    )
    chain = [(r["path"], r["line"]) for r in pulled["related"]]
    assert chain == [("pulls.py", 4), ("jobs/acc.py", 11)]


def test_a_loop_through_a_helper_is_checked_in_a_file_with_triggers_of_its_own(tmp_path):
    """Where a rule can fire on the file's own loader call, the definitions that only call a
    project function that loads are checked too: the rules look there as well."""
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": LOADER,
            "run.py": """
            import pickle

            from jobs.io import load_rows


            def direct(paths):
                for path in paths:
                    with open(path, "rb") as fh:
                        print(len(pickle.load(fh)))


            def through_the_helper(paths):
                for p in paths:
                    print(len(load_rows(p)))
            """,
        },
    )
    expected = {(("run.py", line, code)) for line in (7, 13) for code in ("EXL102", "EXL103")}
    assert codes_by_line(findings(tmp_path, "run.py")) == expected
    assert codes_by_line(findings(tmp_path, "--no-prefilter", "run.py")) == expected


def test_whole_reads_returned_by_helpers_say_what_streams_instead(tmp_path):
    """EXL002 at the call of a helper that returns a whole read: the message names the
    read and the streaming alternative, within the message length, whatever the names."""
    write(
        tmp_path,
        {
            "reads.py": """
            def read_all(cur):
                return cur.fetchall()

            def read_every_measurement_of_the_day(cur):
                return cur.fetchall()

            def gather(frame):
                return frame.collect()

            def copy(src, dst, frame, path):
                dst.executemany("INSERT INTO t VALUES (?)", read_all(src))
                dst.executemany("INSERT INTO t VALUES (?)", read_every_measurement_of_the_day(src))
                gather(frame).to_parquet(path)
            """
        },
    )
    messages = {d["line"]: d["message"] for d in findings(tmp_path, "reads.py")}
    assert messages == {
        11: "`read_all(src)` returns `fetchall()` whole for `.executemany()`; "
        "loop over `fetchmany(n)`",
        12: "this call returns `fetchall()` whole for `.executemany()`; loop over `fetchmany(n)`",
        13: "`gather(frame)` returns `collect()` whole for `.to_parquet()`; "
        "use the engine's own writer",
    }


def test_functions_defined_twice_or_in_blocks_are_followed_with_the_prefilter(tmp_path):
    """A nested function defined twice (either may run) and a module function defined in
    ``if``/``else`` are followed the same with the prefilter as without it."""
    write(
        tmp_path,
        {
            "nested.py": """
            def job(con, paths, dry_run):
                rows = []
                if dry_run:
                    def add(p):
                        print(p)
                else:
                    def add(p):
                        rows.append(p.stem)
                for p in paths:
                    add(p)
                con.executemany("INSERT INTO t VALUES (?)", rows)
            """,
            "blocks.py": """
            try:
                import orjson
            except ImportError:
                orjson = None

            if orjson is None:
                def save(con, rows):
                    con.executemany("INSERT INTO t VALUES (?)", rows)
            else:
                def save(con, rows):
                    con.executemany("INSERT INTO t VALUES (?)", rows)

            def job(con, paths):
                rows = []
                for p in paths:
                    rows.append(p.stem)
                save(con, rows)
            """,
        },
    )
    expected = {("nested.py", 11, "EXL001"), ("blocks.py", 17, "EXL001")}
    files = ("nested.py", "blocks.py")
    assert codes_by_line(findings(tmp_path, *files)) == expected
    assert codes_by_line(findings(tmp_path, "--no-prefilter", *files)) == expected


def test_a_helper_that_returns_a_comprehension_returns_a_materialisation(tmp_path):
    """SPEC 2.6 "returns a materialization": a comprehension over what the caller passed,
    returned from another module, is EXL002 at the write of the call's result; the message
    fits the sink (a generator for ``executemany``, JSON lines for ``json.dump``)."""
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/read.py": """
            def load_all(paths):
                return [load(p) for p in paths]
            """,
            "run.py": """
            import json
            from jobs.read import load_all

            def run(dst, paths, fh):
                dst.executemany("INSERT INTO t VALUES (?)", load_all(paths))
                json.dump(load_all(paths), fh)
                for p in paths:
                    dst.executemany("INSERT INTO t VALUES (?)", load_all([p]))
            """,
        },
    )
    found = findings(tmp_path, "--select", "EXL0")
    assert codes_by_line(found) == {("run.py", 5, "EXL002"), ("run.py", 6, "EXL002")}
    messages = {d["line"]: d["message"] for d in found}
    assert messages[5].endswith("make `load_all()` yield its items")
    assert "JSON lines" in messages[6]
    assert found[0]["related"][0]["path"] == "run.py"
    assert any(r["path"] == "jobs/read.py" and r["line"] == 2 for r in found[0]["related"])


def test_helpers_that_grow_or_flush_through_calls_decide_what_they_return(tmp_path):
    """SPEC 2.4 with 2.6: a helper whose collection grows through a call of another
    module's function returns an accumulation (EXL003 at the caller, the chain down to the
    growth); one whose loop flushes the collection through a call does not."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/util.py": """
            def add(out, item):
                out.append(item)

            def reset(out):
                out.clear()
            """,
            "pkg/collect.py": """
            from pkg.util import add, reset

            def collect(paths):
                out = []
                for p in paths:
                    add(out, p)
                return out

            def collect_in_batches(con, paths):
                out = []
                for p in paths:
                    out.append(p)
                    if len(out) > 100:
                        con.executemany("INSERT INTO t VALUES (?)", out)
                        reset(out)
                return out
            """,
            "main.py": """
            from pkg.collect import collect, collect_in_batches

            def run(con, paths):
                con.executemany("INSERT INTO t VALUES (?)", collect(paths))
                con.executemany("INSERT INTO t VALUES (?)", collect_in_batches(con, paths))
            """,
        },
    )
    found = findings(tmp_path, "--select", "EXL003", "main.py")
    assert codes_by_line(found) == {("main.py", 4, "EXL003")}
    related = [(r["path"], r["line"]) for r in found[0]["related"]]
    assert ("pkg/collect.py", 6) in related
    assert ("pkg/util.py", 2) in related


DRAIN = """
def drain(cur, con):
    while True:
        chunk = cur.fetchmany(100)
        if not chunk:
            break
        con.executemany("INSERT INTO t VALUES (?)", chunk)
"""


#: A module that calls ``drain`` of ``pkg/read.py`` from inside an extraction loop.
LOOP_CALLER = """
from pkg.read import drain

def run(tables, con):
    for t in tables:
        drain(t, con)
"""


def test_a_helper_called_only_from_extraction_loops_of_other_modules_is_not_checked(tmp_path):
    """SPEC 2.5: the loop of a function that the project calls only from inside
    extraction loops (here from other modules: an import, a relative import, a method
    inherited from a base class of another module) belongs to the caller's nest."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/read.py": DRAIN,
            "pkg/base.py": """
            class Copier:
                def copy(self, cur):
                    for row in cur.fetchall():
                        self.con.execute("INSERT INTO t VALUES (?)", row)
            """,
            "pkg/job.py": """
            from .base import Copier
            from .read import drain

            class Job(Copier):
                def run(self, tables, con):
                    for t in tables:
                        drain(t, con)
                        self.copy(t)
            """,
        },
    )
    for jobs in ("1", "2"):
        found = findings(tmp_path, "-j", jobs)
        assert codes_by_line(found) == {
            ("pkg/job.py", 6, code) for code in ("EXL101", "EXL102", "EXL103")
        }


def test_a_helper_also_called_outside_a_loop_or_alone_in_the_run_is_checked(tmp_path):
    """One call outside every loop, anywhere in the run, leaves the helper's loop to be
    checked on its own; so does a run of the helper's file alone (no call of it in the
    run), as pre-commit makes when only the helper changed."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/read.py": DRAIN,
            "main.py": LOOP_CALLER,
            "once.py": """
            from pkg import read

            def once(cur, con):
                read.drain(cur, con)
            """,
        },
    )
    helper = {("pkg/read.py", 2, code) for code in ("EXL101", "EXL102", "EXL103")}
    caller = {("main.py", 4, code) for code in ("EXL101", "EXL102", "EXL103")}
    assert codes_by_line(findings(tmp_path)) == helper | caller
    assert codes_by_line(findings(tmp_path, "main.py", "pkg/read.py")) == caller
    assert codes_by_line(findings(tmp_path, "pkg/read.py")) == helper


BASE = """
class Base:
    def save(self, rows):
        self.con.executemany("INSERT", rows)
"""


def test_super_calls_reach_a_base_in_another_module_past_an_override(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": BASE,
            "pkg/job.py": """
            from pkg.base import Base

            class Job(Base):
                def save(self, rows):
                    pass

                def run(self, paths):
                    rows = []
                    for p in paths:
                        rows.append(p)
                    super().save(rows)
            """,
            "pkg/job2.py": """
            from pkg.base import Base

            class Job(Base):
                def save(self, rows):
                    super().save(rows)

                def run(self, paths):
                    rows = []
                    for p in paths:
                        rows.append(p)
                    self.save(rows)
            """,
        },
    )
    for args in ((), ("--no-prefilter",)):
        found = findings(tmp_path, "pkg/job.py", "pkg/job2.py", *args)
        assert codes_by_line(found) == {("pkg/job.py", 11, "EXL001"), ("pkg/job2.py", 11, "EXL001")}
        related = {d["path"]: [(r["path"], r["line"]) for r in d["related"]] for d in found}
        assert related["pkg/job.py"][0] == ("pkg/base.py", 3)  # not the override
        assert related["pkg/job2.py"][:2] == [("pkg/job2.py", 5), ("pkg/base.py", 3)]


def test_names_star_imports_bring_are_followed(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "from .io import *\n",
            "jobs/io.py": SAVE,
            "pkg/__init__.py": "",
            "pkg/io.py": SAVE,
            "a.py": CALLER.format(import_line="from jobs import save", call="save(con, rows)"),
            "b.py": CALLER.format(import_line="from pkg.io import *", call="save(con, rows)"),
        },
    )
    for args in ((), ("--no-prefilter",)):
        found = findings(tmp_path, "a.py", "b.py", *args)
        assert codes_by_line(found) == {("a.py", 6, "EXL001"), ("b.py", 6, "EXL001")}
        related = {d["path"]: (d["related"][0]["path"], d["related"][0]["line"]) for d in found}
        assert related == {"a.py": ("jobs/io.py", 4), "b.py": ("pkg/io.py", 4)}


def test_a_star_import_brings_only_what_the_module_exports(tmp_path):
    private = "def _save(con, rows):\n    con.executemany(SQL, rows)\n"
    write(
        tmp_path,
        {
            "listed/__init__.py": "",
            "listed/io.py": "__all__ = ['save']\n" + textwrap.dedent(SAVE).lstrip("\n"),
            "unlisted/__init__.py": "",
            "unlisted/io.py": "__all__ = ('other',)\n" + textwrap.dedent(SAVE).lstrip("\n"),
            "private/__init__.py": "",
            "private/io.py": "SQL = 'INSERT'\n" + private,
            "a.py": CALLER.format(import_line="from listed.io import *", call="save(con, rows)"),
            "b.py": CALLER.format(import_line="from unlisted.io import *", call="save(con, rows)"),
            "c.py": CALLER.format(import_line="from private.io import *", call="_save(con, rows)"),
        },
    )
    for args in ((), ("--no-prefilter",)):
        found = findings(tmp_path, "a.py", "b.py", "c.py", *args)
        assert codes_by_line(found) == {("a.py", 6, "EXL001")}


def test_editing_a_module_reached_through_a_star_import_rechecks_its_callers(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "from .io import *\n",
            "jobs/io.py": SAVE,
            "jobs/quiet.py": "def save(con, rows):\n    print(len(rows))\n",
            "a.py": CALLER.format(import_line="from jobs import save", call="save(con, rows)"),
            "b.py": CALLER.format(import_line="from jobs import save", call="save(con, rows)"),
        },
    )
    cache = str(tmp_path / "cache")

    def run() -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, "-j", "1", ".", cwd=tmp_path).out
        return codes_by_line(json.loads(out)["diagnostics"])

    both = {("a.py", 6, "EXL001"), ("b.py", 6, "EXL001")}
    assert run() == both
    assert run() == both  # warm
    # Both files depend on the package that re-exports, not only on where ``save`` was.
    (tmp_path / "jobs/__init__.py").write_text("from .quiet import *\n")
    assert run() == set()
    (tmp_path / "jobs/__init__.py").write_text("from .io import *\n")
    assert run() == both


def test_callers_are_found_however_they_reach_the_helper(tmp_path):
    """The callers that keep a helper's loop checked (a call outside every loop) are
    found through a relative import of a package that re-exports it, a re-export under
    another name, and ``self.m()`` of a class two levels down in other modules; a call in
    a class body runs outside every loop; a call of itself is not a caller."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from .read import drain\nfrom .read import drain as copy_all\n",
            "pkg/read.py": DRAIN,
            "pkg/loops.py": LOOP_CALLER,
            "pkg/rel.py": """
            from . import drain

            def once(cur, con):
                drain(cur, con)
            """,
            "renamed.py": """
            from pkg import copy_all

            def once(cur, con):
                copy_all(cur, con)
            """,
            "base.py": """
            class Base:
                def copy(self, cur):
                    while True:
                        chunk = cur.fetchmany(100)
                        if not chunk:
                            break
                        self.con.executemany("INSERT INTO t VALUES (?)", chunk)
            """,
            "mid.py": "from base import Base\n\n\nclass Mid(Base):\n    pass\n",
            "leaf.py": """
            from mid import Mid

            class Leaf(Mid):
                def run(self, tables):
                    for t in tables:
                        self.copy(t)

                def once(self, cur):
                    self.copy(cur)
            """,
            "walk.py": """
            import pickle

            def walk(paths, depth):
                for p in paths:
                    pickle.load(open(p, "rb"))
                if depth:
                    walk(paths, depth - 1)


            class Cache:
                everything = walk(["a.pkl"], 0)
            """,
        },
    )
    found = codes_by_line(findings(tmp_path))
    guards = ("EXL101", "EXL102", "EXL103")
    for where in (("pkg/read.py", 2), ("base.py", 3), ("walk.py", 4)):
        assert {(*where, code) for code in guards} <= found, where
    for name in ("renamed.py", "pkg/rel.py"):
        (tmp_path / name).unlink()
    assert not {f for f in codes_by_line(findings(tmp_path)) if f[0] == "pkg/read.py"}


def test_a_helpers_result_from_the_cache_follows_its_callers(tmp_path):
    """Whether a helper's loop is left to its callers depends on the files that call it
    and on the files of the run: editing a caller, adding one, or running a different set
    of files (pre-commit, then the whole project) re-checks the helper's file."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/read.py": DRAIN,
            "pkg/a.py": LOOP_CALLER,
            "pkg/b.py": """
            from pkg import read

            def run(tables, con):
                for t in tables:
                    read.drain(t, con)
            """,
        },
    )
    cache = str(tmp_path / "cache")
    helper = {("pkg/read.py", 2, code) for code in ("EXL101", "EXL102", "EXL103")}

    def run(*paths: str) -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, *paths, cwd=tmp_path).out
        return {f for f in codes_by_line(json.loads(out)["diagnostics"]) if f[0] == "pkg/read.py"}

    assert run(".") == set()
    (tmp_path / "pkg/b.py").write_text(
        "from pkg import read\n\n\ndef once(t, con):\n    read.drain(t, con)\n"
    )
    assert run(".") == helper  # a caller outside every loop now
    (tmp_path / "pkg/b.py").unlink()
    assert run(".") == set()
    (tmp_path / "pkg/c.py").write_text("from pkg.read import drain\n\ndrain(cur, con)\n")
    assert run(".") == helper  # a new file calls it
    (tmp_path / "pkg/c.py").unlink()
    assert run("pkg/read.py") == helper  # alone in the run: no caller
    assert run(".") == set()


def test_a_file_that_starts_calling_a_helper_rechecks_the_helpers_file(tmp_path):
    """A file of the run that did not name the helper and starts calling it in a loop
    leaves the helper's loop to that caller, on a warm run too: after a pre-commit run of
    the edited file alone, and after the edit is undone and then made again (bytes the
    cache has seen before)."""
    quiet = "def run(tables, con):\n    return len(tables)\n"
    write(tmp_path, {"pkg/__init__.py": "", "pkg/read.py": DRAIN, "pkg/a.py": quiet})
    cache = str(tmp_path / "cache")
    helper = {("pkg/read.py", 2, code) for code in ("EXL101", "EXL102", "EXL103")}

    def run(*paths: str) -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, *paths, cwd=tmp_path).out
        return {f for f in codes_by_line(json.loads(out)["diagnostics"]) if f[0] == "pkg/read.py"}

    assert run(".") == helper  # nothing calls it
    caller = tmp_path / "pkg/a.py"
    caller.write_text(textwrap.dedent(LOOP_CALLER))
    assert run(".") == set()
    caller.write_text(quiet)
    assert run(".") == helper
    caller.write_text(textwrap.dedent(LOOP_CALLER))  # bytes cached before
    assert run(".") == set()
    caller.write_text(quiet)
    assert run(".") == helper
    # A history of changes that cannot be trusted counts every file as changed.
    (tmp_path / "cache" / f"v{FORMAT}" / "history").write_text(
        '{"stamp": 1, "files": {}, "mac": ""}'
    )
    caller.write_text(textwrap.dedent(LOOP_CALLER))
    assert run(".") == set()
    caller.write_text(quiet)
    assert run(".") == helper
    # Pre-commit passes the edited file alone; the next whole run sees the new caller.
    caller.write_text(textwrap.dedent(LOOP_CALLER))
    assert run("pkg/a.py") == set()
    assert run(".") == set()


def test_a_helper_checked_earlier_in_the_run_is_a_dependency_of_its_callers(tmp_path):
    """The helper's module is a file of the run checked before its caller (it names a
    sink, so it is analysed): the caller's cached result still depends on it, and edits
    that make the helper grow, then not, show on warm runs as on cold ones."""
    quiet = "def save(con, rows):\n    con.executemany('I', rows)\n\n\ndef add(c, x):\n    pass\n"
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": quiet,
            "run.py": """
            from jobs.io import add

            def main(con, paths):
                rows = []
                for p in paths:
                    add(rows, p)
                con.executemany("I", rows)
            """,
        },
    )
    cache = str(tmp_path / "cache")

    def run(*options: str) -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", *options, "-j", "1", ".", cwd=tmp_path).out
        return codes_by_line(json.loads(out)["diagnostics"])

    assert run("--cache-dir", cache) == set()
    (tmp_path / "jobs/io.py").write_text(quiet.replace("pass", "c.append(x)"))
    assert run("--cache-dir", cache) == run("--no-cache") == {("run.py", 7, "EXL001")}
    (tmp_path / "jobs/io.py").write_text(quiet)
    assert run("--cache-dir", cache) == set()


def test_a_module_that_appears_later_rechecks_the_files_importing_it(tmp_path):
    """A caller's import that found no module depends on the places the module would be:
    creating it, deleting it, turning it into a package re-check the caller."""
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "run.py": """
            from jobs.io import save

            def main(con, paths):
                rows = []
                for p in paths:
                    rows.append(p)
                save(con, rows)
            """,
        },
    )
    cache = str(tmp_path / "cache")
    writer = "def save(con, rows):\n    con.executemany('I', rows)\n"

    def run() -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, ".", cwd=tmp_path).out
        return codes_by_line(json.loads(out)["diagnostics"])

    found = {("run.py", 7, "EXL001")}
    assert run() == set()
    (tmp_path / "jobs/io.py").write_text(writer)
    assert run() == found
    (tmp_path / "jobs/io.py").unlink()
    assert run() == set()
    (tmp_path / "jobs/io").mkdir()
    (tmp_path / "jobs/io/__init__.py").write_text(writer)
    assert run() == found


def test_a_call_resolves_to_what_the_name_is_bound_to_where_it_is_called(tmp_path):
    """Python's scoping decides what a call names (SPEC 2.6): an import made in a function
    binds there alone (Airflow's task callables import their helpers), a name the function
    binds itself (a parameter, an assignment, a loop or ``with`` target) is a value passed
    around and not followed, and at module level the last binding of a name wins."""
    writer = "def upload(con, rows):\n    con.executemany('I', rows)\n"
    write(
        tmp_path,
        {
            "helpers/__init__.py": "",
            "helpers/pg.py": writer,
            "helpers/dry.py": "def upload(con, rows):\n    print(len(rows))\n",
            "dags.py": """
            from helpers.pg import upload as module_upload

            def write(con, rows):
                con.executemany("I", rows)

            def task_dry(con, items):
                from helpers.dry import upload
                rows = []
                for it in items:
                    rows.append(it)
                upload(con, rows)

            def task_pg(con, items):
                from helpers.pg import upload
                rows = []
                for it in items:
                    rows.append(it)
                upload(con, rows)

            def no_import(con, items):
                rows = []
                for it in items:
                    rows.append(it)
                upload(con, rows)

            def parameter(con, items, write=None):
                rows = []
                for it in items:
                    rows.append(it)
                write(con, rows)

            def assigned(con, items, sinks):
                module_upload = sinks["db"]
                rows = []
                for it in items:
                    rows.append(it)
                module_upload(con, rows)

            def loop_target(con, items, writers):
                rows = []
                for it in items:
                    rows.append(it)
                for write in writers:
                    write(con, rows)

            def module_function(con, items):
                from os.path import join
                rows = []
                for it in items:
                    rows.append(it)
                write(con, rows)
            """,
            "helpers/mixed.py": """
            def store(con, rows):
                con.executemany("I", rows)

            def dry_run(con, rows):
                from helpers.dry import upload as store
                store(con, rows)
            """,
            "comprehension.py": """
            from helpers.mixed import store

            def job(con, items):
                labels = [store for store in ("a", "b")]
                rows = []
                for it in items:
                    rows.append(it)
                store(con, rows)
            """,
            "order.py": """
            def save(con, rows):
                print(len(rows))

            from helpers.pg import upload as save

            def job(con, items):
                rows = []
                for it in items:
                    rows.append(it)
                save(con, rows)
            """,
        },
    )
    (tmp_path / "tasks.py").write_text(
        textwrap.dedent(
            """
            def task_pg(con, items):
                from helpers.pg import upload
                rows = []
                for it in items:
                    rows.append(it)
                upload(con, rows)

            def task_dry(con, items):
                from helpers.dry import upload
                rows = []
                for it in items:
                    rows.append(it)
                upload(con, rows)
            """
        )
    )
    # The file names no sink: the prefilter reads each import of a name, not the last one.
    assert codes_by_line(findings(tmp_path, "--select", "EXL001", "tasks.py")) == {
        ("tasks.py", 7, "EXL001")
    }
    (tmp_path / "tasks.py").unlink()
    found = codes_by_line(findings(tmp_path, "--select", "EXL001"))
    assert found == {
        ("dags.py", 18, "EXL001"),
        ("dags.py", 51, "EXL001"),
        ("order.py", 10, "EXL001"),
        # A comprehension's target is its own; a function's import is not the module's name.
        ("comprehension.py", 8, "EXL001"),
    }
    # The prefilter reads the same bindings: the same findings without it.
    assert codes_by_line(findings(tmp_path, "--select", "EXL001", "--no-prefilter")) == found


def test_what_a_helper_returns_accumulated_waits_for_its_calls_to_settle(tmp_path):
    """A flush three calls deep in the helper's loop bounds the collection; a function that
    returns the helper's result is no accumulating helper either (EXL003); without the
    flush, a function returning the helper's result is one."""
    write(
        tmp_path,
        {
            "lib.py": """
            def clear3(out):
                out.clear()

            def clear2(out):
                clear3(out)

            def reset(out):
                clear2(out)

            def add(out, x):
                out.append(x)

            def collect(con, paths):
                out = []
                for p in paths:
                    add(out, p)
                    if len(out) > 10:
                        con.executemany("INSERT INTO t VALUES (?)", out)
                        reset(out)
                return out

            def wrapper(con, paths):
                return collect(con, paths)

            def gather(paths):
                out = []
                for p in paths:
                    add(out, p)
                return out

            def gather_wrapper(paths):
                return gather(paths)
            """,
            "m.py": """
            from lib import collect, gather_wrapper, wrapper

            def job(con, paths):
                con.executemany("INSERT INTO t VALUES (?)", wrapper(con, paths))
                con.executemany("INSERT INTO t VALUES (?)", collect(con, paths))
                con.executemany("INSERT INTO t VALUES (?)", gather_wrapper(paths))
            """,
        },
    )
    # Without the flush, the same growth through ``add`` is returned accumulated.
    assert codes_by_line(findings(tmp_path, "--select", "EXL003", "m.py")) == {
        ("m.py", 6, "EXL003")
    }


def test_advice_and_chain_follow_what_the_helper_writes_with(tmp_path):
    """Through a helper, the advice is the one for the sink that writes in the end (a
    parquet file: Spark's ``write.parquet``, a ParquetWriter), and the chain names the
    parameter the data was passed in, not another one the sink also takes."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/out.py": """
            import json

            def save_frame(df, path):
                df.to_parquet(path)

            def save_clean(rows, fh):
                json.dump(sorted(rows), fh)
            """,
            "main.py": """
            import pandas as pd
            from pkg import out

            def pull(sdf, dest):
                out.save_frame(sdf.toPandas(), dest)

            def gather(paths, dest):
                frames = []
                for p in paths:
                    frames.append(pd.read_csv(p))
                out.save_frame(pd.concat(frames), dest)

            def dump(paths, fh):
                rows = []
                for p in paths:
                    rows.append(p)
                out.save_clean(rows, fh)
            """,
        },
    )
    found = {d["line"]: d for d in findings(tmp_path, "--select", "EXL0")}
    assert set(found) == {5, 11, 17}
    assert found[17]["message"].endswith("write JSON lines in the loop")
    assert found[5]["message"].endswith("write with Spark's own `sdf.write.parquet(...)`")
    assert "for `save_frame()`" in found[5]["message"]
    assert "ParquetWriter" in found[11]["message"]
    for line in (5, 11):
        helper = [r for r in found[line]["related"] if r["path"] == "pkg/out.py"]
        assert [(r["line"], r["message"]) for r in helper] == [(4, "`df` is written here")]


def test_a_name_over_the_caller_limit_comes_back_under_it_from_the_cache(tmp_path):
    """More files than the limit naming a function leave its loop checked; when edits bring
    them under the limit, the cached result of the function's file is checked again."""
    from extraction_lint.analysis.project import CALLER_FILES

    files = {
        "m.py": """
        import pickle

        def f(paths):
            for p in paths:
                pickle.load(open(p, "rb"))
        """
    }
    for i in range(CALLER_FILES + 1):
        files[f"c{i}.py"] = f"from m import f\n\n\ndef g{i}(xs):\n    for x in xs:\n        f(x)\n"
    write(tmp_path, files)
    cache = str(tmp_path / "cache")

    def helper_reported() -> bool:
        run = run_cli(
            "--format", "json", "--cache-dir", cache, "--select", "EXL101", ".", cwd=tmp_path
        )
        return ("m.py", 4, "EXL101") in codes_by_line(json.loads(run.out)["diagnostics"])

    assert helper_reported()  # too many files name `f` to read them all (66)
    for name in ("c0.py", "c1.py"):
        (tmp_path / name).write_text("def g(xs):\n    pass\n")
    assert not helper_reported()  # 64: every call of it read, all in loops


def test_a_helper_that_maps_its_input_carries_it_to_the_sink(tmp_path):
    """A helper returning a comprehension over its parameter, or a generator iterating it,
    holds the whole argument to be made (SPEC 2.6): an accumulated list passed through it
    to a sink is EXL001, whether or not the helper yields as EXL002 advises."""
    write(
        tmp_path,
        {
            "h.py": """
            def as_tuples(rows):
                return [tuple(r) for r in rows]

            def gen_tuples(rows):
                for r in rows:
                    yield tuple(r)

            def insert_rows(con, rows):
                con.executemany("I", rows)
            """,
            "m.py": """
            from h import as_tuples, gen_tuples, insert_rows

            def listed(con, keys, read):
                rows = []
                for k in keys:
                    rows.extend(read(k))
                insert_rows(con, as_tuples(rows))

            def generated(con, keys, read):
                rows = []
                for k in keys:
                    rows.extend(read(k))
                insert_rows(con, gen_tuples(rows))

            def streamed(con, cur):
                insert_rows(con, gen_tuples(cur))
            """,
        },
    )
    assert codes_by_line(findings(tmp_path, "--select", "EXL0")) == {
        ("m.py", 7, "EXL001"),
        ("m.py", 7, "EXL002"),
        ("m.py", 13, "EXL001"),
    }


def test_a_module_read_in_parts_gives_what_a_whole_read_gives(tmp_path):
    """A helper module is read with libcst only for the functions asked for (and those they
    may call); a function asked for later, by another file checked in the same process,
    is read then, with its own chain."""
    from extraction_lint.engine import check_path, project_for
    from extraction_lint.options import CheckOptions

    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": """
                import json
                import pickle

                SQL = "INSERT INTO t VALUES (?, ?)"

                def load_rows(path):
                    with open(path, "rb") as fh:
                        return pickle.load(fh)

                def unrelated(path):
                    with open(path) as fh:
                        return json.load(fh)

                def save(con, rows):
                    _insert(con, rows)

                def _insert(con, rows):
                    con.executemany(SQL, rows)
                """,
            "a.py": """
                from jobs.io import load_rows

                def read_all(paths):
                    out = {}
                    for p in paths:
                        out[p] = load_rows(p)
                    return out
                """,
            "b.py": """
                from jobs.io import save

                def run(con, batches):
                    rows = []
                    for batch in batches:
                        rows.extend(batch)
                    save(con, rows)
                """,
        },
    )
    options = CheckOptions(project_root=str(tmp_path), run_id="parts")
    first = check_path(tmp_path / "a.py", "a.py", options)
    assert [(d.code, d.line) for d in first.diagnostics] == [
        ("EXL101", 5),
        ("EXL102", 5),
        ("EXL103", 5),
    ]
    # Only load_rows was read of jobs/io.py: save and _insert are read for b.py, with
    # the chain through both.
    second = check_path(tmp_path / "b.py", "b.py", options)
    assert [(d.code, d.line) for d in second.diagnostics] == [("EXL001", 7)]
    chain = [(Path(r.path).as_posix()[-10:], r.line) for r in second.diagnostics[0].related]
    assert ("jobs/io.py", 15) in chain and ("jobs/io.py", 18) in chain, chain
    assert project_for(options).modules_read == 2
    # The same as when each file is checked by a fresh process (the module read whole
    # for what it is asked).
    alone = check_path(tmp_path / "b.py", "b.py", CheckOptions(project_root=str(tmp_path)))
    assert alone.diagnostics == second.diagnostics


IMPORTED_CONSTANT_JOB = """
import json

from {module} import MIGRATIONS


def migrate(paths):
    for name, step in MIGRATIONS.items():
        with open(name) as fh:
            step(json.load(fh))
"""


def test_a_loop_over_a_constant_of_another_module_is_bounded(tmp_path):
    """SPEC 2.1: a module-level constant bound once to a display bounds a loop over it (or
    its ``.items()``) also where another module of the project imports it (through a
    package's re-export too); one that its module changes, or that names no display, does
    not."""
    loop = {("job.py", 7, code) for code in ("EXL101", "EXL102", "EXL103")}
    cases = {
        "plain": ('MIGRATIONS = {"a": 1, "b": 2}\n', "jobs.consts", set()),
        "re-exported": ('MIGRATIONS = {"a": 1}\n', "jobs", set()),
        "changed there": ('MIGRATIONS = {"a": 1}\nMIGRATIONS["b"] = 2\n', "jobs.consts", loop),
        "bound twice": ('MIGRATIONS = {"a": 1}\nMIGRATIONS = {}\n', "jobs.consts", loop),
        "no display": ("MIGRATIONS = dict(load())\n", "jobs.consts", loop),
        "a list has no items": ('MIGRATIONS = ["a", "b"]\n', "jobs.consts", loop),
    }
    for case, (consts, module, expected) in cases.items():
        root = tmp_path / case.replace(" ", "-")
        root.mkdir()
        write(
            root,
            {
                "jobs/__init__.py": "from .consts import MIGRATIONS\n",
                "jobs/consts.py": consts,
                "job.py": IMPORTED_CONSTANT_JOB.format(module=module),
            },
        )
        assert codes_by_line(findings(root, "job.py")) == expected, case


def test_a_constant_changed_in_its_module_rechecks_the_loop_from_the_cache(tmp_path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/consts.py": 'MIGRATIONS = {"a": 1}\n',
            "job.py": IMPORTED_CONSTANT_JOB.format(module="jobs.consts"),
        },
    )
    cache = str(tmp_path / "cache")

    def run() -> set[tuple[str, int, str]]:
        out = run_cli("--format", "json", "--cache-dir", cache, "job.py", cwd=tmp_path).out
        return codes_by_line(json.loads(out)["diagnostics"])

    assert run() == set()
    assert run() == set()  # warm
    (tmp_path / "jobs/consts.py").write_text("MIGRATIONS = dict(load_migrations())\n")
    assert run() == {("job.py", 7, code) for code in ("EXL101", "EXL102", "EXL103")}


def test_a_helper_named_like_a_sink_method_is_one_sink(tmp_path):
    """``db.insert_many(con, rows)`` of a project module's function is one sink of
    ``rows`` (SPEC 2.2: one diagnostic per collection and sink), with the helper's chain."""
    write(
        tmp_path,
        {
            "etl/__init__.py": "",
            "etl/db.py": """
                def insert_many(con, rows):
                    con.executemany("INSERT INTO x VALUES (?)", rows)
                """,
            "job.py": """
                from etl import db


                def job(con, reader):
                    rows = []
                    for rec in reader:
                        rows.append((rec,))
                    db.insert_many(con, rows)


                def copy(src, dst):
                    db.insert_many(dst, src.fetchall())
                """,
        },
    )
    found = findings(tmp_path, "job.py")
    assert sorted((d["line"], d["code"]) for d in found) == [(8, "EXL001"), (12, "EXL002")]
    (exl001,) = [d for d in found if d["code"] == "EXL001"]
    assert "`insert_many()`" in exl001["message"]
    assert any(r["path"].endswith("db.py") and r["line"] == 2 for r in exl001["related"])
