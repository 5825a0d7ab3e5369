"""Adopting on existing code (SPEC 3): baseline files and ``--add-noqa``."""

from __future__ import annotations

import json

import pytest

from tests.helpers import BROKEN, run_cli, write

#: Two identical findings in one file: occurrence indexes keep them apart.
TWICE = """
import pickle

for path in paths:
    data = pickle.load(open(path, "rb"))

for path in paths:
    data = pickle.load(open(path, "rb"))
"""


@pytest.fixture
def repo(tmp_path):
    write(tmp_path / "pkg" / "broken.py", BROKEN)
    write(tmp_path / "pkg" / "twice.py", TWICE)
    return tmp_path


def _codes(run) -> list[tuple[str, int, str]]:
    return [(d["path"], d["line"], d["code"]) for d in json.loads(run.out)["diagnostics"]]


def test_baseline_accepts_todays_findings_and_reports_only_new_ones(repo):
    wrote = run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=repo)
    assert wrote.code == 0, wrote.out + wrote.err
    assert "wrote 10 findings in 2 files to the baseline baseline.json" in wrote.err
    data = json.loads((repo / "baseline.json").read_text())
    assert data["version"] == 1 and len(data["findings"]) == 10
    assert {f["path"] for f in data["findings"]} == {"pkg/broken.py", "pkg/twice.py"}

    clean = run_cli("--no-cache", "--baseline", "baseline.json", cwd=repo)
    assert clean.code == 0
    assert "All checks passed (2 files checked, 10 in the baseline)." in clean.out

    # Unrelated edits above the findings move every line: nothing is new.
    broken = repo / "pkg" / "broken.py"
    broken.write_text('"""Loads the rows."""\n\nimport os\n\n\n' + broken.read_text())
    moved = run_cli("--no-cache", "--baseline", "baseline.json", "--format", "json", cwd=repo)
    assert moved.code == 0 and _codes(moved) == []

    # A new finding is reported, the old ones stay accepted.
    write(repo / "pkg" / "new.py", BROKEN)
    new = run_cli("--no-cache", "--baseline", "baseline.json", "--format", "json", cwd=repo)
    assert new.code == 1
    assert {path for path, _, _ in _codes(new)} == {"pkg/new.py"}
    assert json.loads(new.out)["summary"]["baselined"] == 10


def test_a_third_copy_of_a_baselined_construct_is_new(repo):
    run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=repo)
    twice = repo / "pkg" / "twice.py"
    twice.write_text(
        twice.read_text() + '\nfor path in paths:\n    data = pickle.load(open(path, "rb"))\n'
    )
    run = run_cli("--no-cache", "--baseline", "baseline.json", "--format", "json", cwd=repo)
    assert run.code == 1
    # Three loops where two were accepted: one loop's three findings are new.
    assert len(_codes(run)) == 3


def test_an_edit_inside_the_flagged_construct_makes_it_new(repo):
    run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=repo)
    broken = repo / "pkg" / "broken.py"
    broken.write_text(broken.read_text().replace("for path in paths:", "for path in all_paths:"))
    run = run_cli("--no-cache", "--baseline", "baseline.json", "--format", "json", cwd=repo)
    assert {code for _, _, code in _codes(run)} == {"EXL101", "EXL102", "EXL103"}


def test_baseline_reads_the_same_from_another_directory(repo):
    run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=repo)
    run = run_cli("--no-cache", "--baseline", "../baseline.json", ".", cwd=repo / "pkg")
    assert run.code == 0, run.out


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read"),
        ("{not json", "invalid JSON"),
        ('{"version": 7, "findings": []}', "not a baseline of this tool"),
        ('{"version": 1, "findings": [{"path": "a.py"}]}', "finding 0 needs"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
    ],
)
def test_a_bad_baseline_is_an_error_naming_the_file(repo, content, said):
    if content is not None:
        (repo / "baseline.json").write_text(content)
    run = run_cli("--no-cache", "--baseline", "baseline.json", cwd=repo)
    assert run.code == 2
    assert "baseline.json" in run.err and said in run.err
    assert "Traceback" not in run.err


def test_sarif_carries_the_fingerprints(repo):
    run = run_cli("--no-cache", "--format", "sarif", cwd=repo)
    results = json.loads(run.out)["runs"][0]["results"]
    prints = [r["partialFingerprints"]["extractionLint/v1"] for r in results]
    assert len(prints) == len(set(prints)) == 10
    broken = repo / "pkg" / "broken.py"
    broken.write_text("import os\n\n" + broken.read_text())
    again = run_cli("--no-cache", "--format", "sarif", cwd=repo)
    moved = json.loads(again.out)["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["extractionLint/v1"] for r in moved) == sorted(prints)
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved} != {
        r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results
    }


def test_add_noqa_silences_every_current_finding_with_a_reason(repo):
    run = run_cli("--no-cache", "--add-noqa", cwd=repo)
    assert run.code == 0, run.out + run.err
    assert "Added 10 noqa codes in 2 files." in run.err
    text = (repo / "pkg" / "broken.py").read_text()
    assert (
        "for path in paths:  # noqa: EXL101, EXL102, EXL103 extraction-loop-without-heartbeat, "
        "extraction-loop-without-memory-guard, extraction-loop-without-stall-guard\n"
    ) in text
    assert '(?)", rows)  # noqa: EXL001 accumulate-then-bulk-write\n' in text
    after = run_cli("--no-cache", "--extend-select", "EXL900", cwd=repo)
    assert after.code == 0, after.out
    assert "10 suppressed by noqa" in after.out
    # A second run has nothing left to add.
    assert "Added 0 noqa codes in 0 files." in run_cli("--no-cache", "--add-noqa", cwd=repo).err


def test_add_noqa_extends_an_existing_comment_and_keeps_other_tools_codes(tmp_path):
    source = BROKEN.replace(
        'con.executemany("INSERT INTO t VALUES (?)", rows)',
        'con.executemany("INSERT INTO t VALUES (?)", rows)  # noqa: E501 long SQL',
    )
    write(tmp_path / "job.py", source)
    run_cli("--no-cache", "--select", "EXL001", "--add-noqa", cwd=tmp_path)
    text = (tmp_path / "job.py").read_text()
    assert "rows)  # noqa: E501, EXL001 long SQL\n" in text
    assert run_cli("--no-cache", cwd=tmp_path).code == 1  # the loop rules still fire
    assert run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path).code == 0


def test_add_noqa_leaves_a_line_that_ends_in_a_string_and_says_so(tmp_path):
    write(
        tmp_path / "job.py",
        '''
        import pickle

        rows = []
        for path in paths:
            rows.extend(pickle.load(open(path, "rb")))
        con.executemany("""INSERT INTO t
            VALUES (?)""", rows)
        ''',
    )
    before = (tmp_path / "job.py").read_text()
    run = run_cli("--no-cache", "--select", "EXL001", "--add-noqa", cwd=tmp_path)
    assert run.code == 1
    assert "job.py:6: no noqa comment added: the line ends inside a string" in run.err
    assert "job.py:6:1: EXL001" in run.out
    assert (tmp_path / "job.py").read_text() == before


def test_add_noqa_keeps_crlf_and_the_declared_encoding(tmp_path):
    source = "# -*- coding: latin-1 -*-\r\n# caf\xe9\r\n" + BROKEN.replace("\n", "\r\n")
    (tmp_path / "job.py").write_bytes(source.encode("latin-1"))
    run = run_cli("--no-cache", "--select", "EXL001", "--add-noqa", cwd=tmp_path)
    assert run.code == 0, run.err
    data = (tmp_path / "job.py").read_bytes()
    assert b"caf\xe9\r\n" in data
    assert b"rows)  # noqa: EXL001 accumulate-then-bulk-write\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_add_noqa_conflicts_are_usage_errors(repo):
    for extra in (["--fix"], ["--baseline", "b.json"], ["--stdin-filename", "x.py"]):
        run = run_cli("--add-noqa", *extra, cwd=repo)
        assert run.code == 2 and "--add-noqa" in run.err


def test_add_noqa_and_baseline_in_a_notebook(tmp_path):
    from tests.notebooks.nb import code, markdown, notebook, save

    nb = notebook(
        markdown("# Load"),
        code("%matplotlib inline", "import pickle"),
        code("rows = []", "for path in paths:", '    rows.append(pickle.load(open(path, "rb")))'),
        code('con.executemany("INSERT INTO t VALUES (?)", rows)'),
    )
    path = save(tmp_path / "job.ipynb", nb)
    baseline = run_cli("--no-cache", "--write-baseline", "b.json", cwd=tmp_path)
    assert baseline.code == 0 and "wrote 4 findings in 1 file" in baseline.err
    save(path, {**nb, "cells": [markdown("# Intro"), *nb["cells"]]})  # every cell moves
    assert run_cli("--no-cache", "--baseline", "b.json", cwd=tmp_path).code == 0
    run = run_cli("--no-cache", "--add-noqa", cwd=tmp_path)
    assert run.code == 0 and "Added 4 noqa codes in 1 file." in run.err, run.err
    cells = json.loads(path.read_text())["cells"]
    assert cells[3]["source"][1].startswith("for path in paths:  # noqa: EXL101, EXL102, EXL103")
    assert cells[4]["source"] == [
        'con.executemany("INSERT INTO t VALUES (?)", rows)  # noqa: EXL001 accumulate-then-bulk-write'
    ]
    assert cells[2]["source"][0] == "%matplotlib inline\n"
    assert run_cli("--no-cache", cwd=tmp_path).code == 0


@pytest.mark.parametrize("target", ["missing/baseline.json", "a-directory"])
def test_a_baseline_that_cannot_be_written_is_said_before_the_run(repo, target):
    (repo / "a-directory").mkdir()
    run = run_cli("--no-cache", "--write-baseline", target, cwd=repo)
    assert run.code == 2 and f"--write-baseline {target}" in run.err
    assert run.out == ""  # not "All checks passed", then an error
