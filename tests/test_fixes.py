"""Automatic fixes: ``--diff`` shows them, ``--fix`` applies them (EXL101 has one)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from extraction_lint.diagnostics import Edit, Fix
from extraction_lint.fixes import apply_fixes
from tests.helpers import run_cli, write

JOB = '''
"""Load the signal files."""
import pickle

import duckdb


def main(paths, con):
    for path in sorted(paths):
        rows = pickle.load(open(path, "rb"))
        con.executemany("INSERT INTO t VALUES (?)", rows)
'''


def test_diff_shows_the_fix_and_changes_nothing(tmp_path):
    job = write(tmp_path / "job.py", JOB)
    before = job.read_text()
    run = run_cli("--no-cache", "--diff", "--unsafe-fixes", "job.py", cwd=tmp_path)
    assert run.code == 1
    assert job.read_text() == before
    assert "+from extraction_lint.guardrails import track\n" in run.out
    assert "-    for path in sorted(paths):\n" in run.out
    assert "+    for path in track(sorted(paths)):\n" in run.out
    assert "Would fix 1 problem in 1 file." in run.err


def test_fix_applies_and_reports_what_is_left(tmp_path):
    job = write(tmp_path / "job.py", JOB)
    run = run_cli("--no-cache", "--fix", "--unsafe-fixes", "job.py", cwd=tmp_path)
    assert "Fixed 1 problem in 1 file." in run.err
    assert "EXL101" not in run.out
    assert "EXL102" in run.out and "EXL103" in run.out
    assert job.read_text() == textwrap.dedent(JOB).lstrip().replace(
        "import duckdb\n", "import duckdb\nfrom extraction_lint.guardrails import track\n"
    ).replace("for path in sorted(paths):", "for path in track(sorted(paths)):")
    again = run_cli("--no-cache", "--select", "EXL101", "job.py", cwd=tmp_path)
    assert again.code == 0


def test_fix_reuses_an_existing_import_and_avoids_a_clash(tmp_path):
    reuse = write(
        tmp_path / "reuse.py",
        """
        import pickle
        from extraction_lint.guardrails import track as progress

        for path in paths:
            data = pickle.load(open(path, "rb"))
        """,
    )
    clash = write(
        tmp_path / "clash.py",
        """
        import pickle
        from rich.progress import track

        for path in paths:
            with open(path, "rb") as handle:
                data = pickle.load(handle)
        """,
    )
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", ".", cwd=tmp_path)
    assert "for path in progress(paths):" in reuse.read_text()
    assert reuse.read_text().count("import") == 2
    text = clash.read_text()
    assert "from extraction_lint.guardrails import track as guardrails_track\n" in text
    assert "for path in guardrails_track(paths):" in text


def test_import_goes_after_the_docstring_or_at_the_top(tmp_path):
    only_doc = write(
        tmp_path / "doc.py",
        '''
        """A script."""

        for path in paths:
            data = pickle.load(open(path, "rb"))
        ''',
    )
    bare = write(tmp_path / "bare.py", "for path in paths:\n    data = pickle.load(open(path))\n")
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", ".", cwd=tmp_path)
    assert only_doc.read_text().startswith(
        '"""A script."""\nfrom extraction_lint.guardrails import track\n\nfor path in track(paths):'
    )
    assert bare.read_text().startswith(
        "from extraction_lint.guardrails import track\n\nfor path in track(paths):"
    )


def test_two_loops_share_one_import_and_line_endings_are_kept(tmp_path):
    source = (
        "import pickle\r\n\r\nfor a in xs:\r\n    pickle.load(a)\r\n\r\n"
        "def f(ys):\r\n    for b in ys:\r\n        pickle.load(b)\r\n"
    )
    (tmp_path / "two.py").write_bytes(source.encode())
    run = run_cli(
        "--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "two.py", cwd=tmp_path
    )
    assert "Fixed 2 problems in 1 file." in run.err
    fixed = (tmp_path / "two.py").read_bytes().decode()
    assert fixed.count("from extraction_lint.guardrails import track\r\n") == 1
    assert "for a in track(xs):\r\n" in fixed and "for b in track(ys):\r\n" in fixed
    assert "\n" not in fixed.replace("\r\n", "")


def test_a_while_loop_has_no_fix(tmp_path):
    write(
        tmp_path / "loops.py",
        """
        while chunk := cur.fetchmany(100):
            out.executemany(SQL, chunk)
        """,
    )
    data = json.loads(
        run_cli("--no-cache", "--format", "json", "--select", "EXL101", ".", cwd=tmp_path).out
    )
    assert len(data["diagnostics"]) == 1
    assert data["diagnostics"][0]["fix"] is None


def test_an_async_loop_is_fixed_with_track_and_the_fixed_job_runs(tmp_path):
    write(
        tmp_path / "job.py",
        """
        import asyncio
        import json


        async def pages(n):
            for i in range(n):
                await asyncio.sleep(0)
                yield [i, i + 1]


        async def copy(source, out):
            async for page in source:
                json.dump(page, out)
                out.write("\\n")


        if __name__ == "__main__":
            import sys
            asyncio.run(copy(pages(5), sys.stdout))
        """,
    )
    run = run_cli(
        "--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "job.py", cwd=tmp_path
    )
    assert "Fixed 1 problem in 1 file." in run.err, run.err
    fixed = (tmp_path / "job.py").read_text()
    assert "    async for page in track(source):\n" in fixed
    assert fixed.count("from extraction_lint.guardrails import track\n") == 1
    assert run_cli("--no-cache", "--select", "EXL101", "job.py", cwd=tmp_path).code == 0
    ran = subprocess.run(
        [sys.executable, "job.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [f"[{i}, {i + 1}]" for i in range(5)]


def test_json_carries_the_fix_edits(tmp_path):
    write(tmp_path / "job.py", JOB)
    data = json.loads(
        run_cli("--no-cache", "--format", "json", "--select", "EXL101", ".", cwd=tmp_path).out
    )
    (diagnostic,) = data["diagnostics"]
    assert diagnostic["fix"] == {
        "message": "wrap the iterable in `track(...)` from `extraction_lint.guardrails`",
        "applicability": "unsafe",
        "edits": [
            {
                "line": 5,
                "column": 1,
                "end_line": 5,
                "end_column": 1,
                "content": "from extraction_lint.guardrails import track\n",
            },
            {
                "line": 8,
                "column": 17,
                "end_line": 8,
                "end_column": 30,
                "content": "track(sorted(paths))",
            },
        ],
    }


def test_overlapping_fixes_apply_the_first_only():
    text = "abcdef\n"
    first = Fix("one", (Edit(1, 2, 1, 4, "X"),))
    second = Fix("two", (Edit(1, 3, 1, 5, "Y"),))
    third = Fix("three", (Edit(1, 6, 1, 7, "Z"),))
    fixed = apply_fixes(text, [first, second, third])
    assert (fixed.text, fixed.applied) == ("aXdeZ\n", 2)


def test_fix_uses_the_enclosing_guard_keeps_enumerate_and_parentheses(tmp_path):
    job = write(
        tmp_path / "job.py",
        """
        import pickle
        from extraction_lint.guardrails import guard

        with guard(memory_limit="1 GiB", stall_timeout="5m") as g:
            for path in paths:
                data = pickle.load(open(path, "rb"))

        for i, path in enumerate(paths, start=1):
            data = pickle.load(open(path, "rb"))

        for x in (p.strip() for p in paths):
            data = pickle.load(open(x, "rb"))
        """,
    )
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "job.py", cwd=tmp_path)
    text = job.read_text()
    assert "    for path in g.track(paths):" in text
    assert "for i, path in enumerate(track(paths), start=1):" in text
    assert "for x in (track(p.strip() for p in paths)):" in text
    assert run_cli("--no-cache", "--select", "EXL1", "job.py", cwd=tmp_path).code == 1
    assert run_cli("--no-cache", "--select", "EXL101", "job.py", cwd=tmp_path).code == 0
    compile(text, "job.py", "exec")


def test_messages_do_not_reuse_the_loop_variable_for_the_guard(tmp_path):
    write(tmp_path / "job.py", "for g in groups:\n    data = pickle.load(open(g))\n")
    run = run_cli("--no-cache", "--select", "EXL102", "job.py", cwd=tmp_path)
    assert "`guarded.track(groups)` inside `with guard(memory_limit=...) as guarded:`" in run.out


def test_fix_merges_into_an_existing_guardrails_import(tmp_path):
    one_line = write(
        tmp_path / "one_line.py",
        """
        import pickle

        from extraction_lint.guardrails import guard

        for path in paths:
            data = pickle.load(open(path, "rb"))
        """,
    )
    parenthesised = write(
        tmp_path / "parenthesised.py",
        """
        import pickle

        from extraction_lint.guardrails import (
            guard,
        )

        for path in paths:
            data = pickle.load(open(path, "rb"))

        for name in names:
            data = pickle.load(open(name, "rb"))
        """,
    )
    run = run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", ".", cwd=tmp_path)
    assert "Fixed 3 problems in 2 files." in run.err
    text = one_line.read_text()
    assert "from extraction_lint.guardrails import guard, track\n" in text
    assert text.count("extraction_lint.guardrails") == 1
    assert "for path in track(paths):" in text
    text = parenthesised.read_text()
    assert "from extraction_lint.guardrails import (\n    guard,\n    track,\n)\n" in text
    assert text.count("import") == 2
    # What the fix leaves is what Ruff's isort and pyflakes accept.
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I,F811",
         "--no-cache", str(one_line), str(parenthesised)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "I001" not in ruff.stdout and "F811" not in ruff.stdout, ruff.stdout


def test_safe_fixes_stay_with_fix_and_unsafe_ones_wait(tmp_path):
    job = write(
        tmp_path / "job.py",
        """
        import pickle
        from extraction_lint.guardrails import guard

        with guard(memory_limit="1 GiB", stall_timeout="5m") as g:
            for path in paths:
                data = pickle.load(open(path, "rb"))

        for name in names:
            data = pickle.load(open(name, "rb"))
        """,
    )
    listed = run_cli("--no-cache", "--select", "EXL101", "job.py", cwd=tmp_path)
    assert "job.py:5:5: EXL101 [*] " in listed.out  # the guard's own track(): safe
    assert "job.py:8:1: EXL101 extraction" in listed.out  # a new import: unsafe
    assert "1 fix available with --unsafe-fixes" in listed.out
    assert "[*] 1 fixable with the --fix option." in listed.out
    safe = run_cli("--no-cache", "--fix", "--select", "EXL101", "job.py", cwd=tmp_path)
    assert "Fixed 1 problem in 1 file." in safe.err
    assert "can be applied with --unsafe-fixes" in safe.err
    text = job.read_text()
    assert "for path in g.track(paths):" in text and "for name in names:" in text
    (tmp_path / "pyproject.toml").write_text("[tool.extraction-lint]\nunsafe-fixes = true\n")
    refused = run_cli(
        "--no-cache", "--fix", "--no-unsafe-fixes", "--select", "EXL101", "job.py", cwd=tmp_path
    )
    assert "No safe automatic fixes" in refused.err
    configured = run_cli(
        "--no-cache", "--fix", "--show-fixes", "--select", "EXL101", "job.py", cwd=tmp_path
    )
    assert "Fixed 1 problem in 1 file." in configured.err
    assert "job.py: 1 x EXL101 (extraction-loop-without-heartbeat)" in configured.err
    assert "for name in track(names):" in job.read_text()


def test_a_tuple_iterable_is_wrapped_whole(tmp_path):
    """``for p in *paths, extra:`` iterates one tuple: the fix passes that tuple to
    ``track`` (not its items as arguments), parenthesised or not."""
    job = write(
        tmp_path / "job.py",
        """
        import pickle


        def main(paths, extra, more):
            for p in *paths, extra:
                pickle.load(open(p, "rb"))
            for p in (*paths, more):
                pickle.load(open(p, "rb"))
        """,
    )
    run = run_cli(
        "--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "job.py", cwd=tmp_path
    )
    assert "Fixed 2 problems in 1 file." in run.err
    text = job.read_text()
    assert "for p in track((*paths, extra)):" in text
    assert "for p in (track((*paths, more))):" in text
    compile(text, "job.py", "exec")
