"""Notebooks (SPEC 3): code cells checked as one module, IPython syntax left out, positions
in cells in every format, noqa per cell line, --fix writing only the changed cells back."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import hypothesmith
import jsonschema
from hypothesis import HealthCheck, given, settings

from extraction_lint.notebook import CodeCell, module_of, python_lines
from tests.helpers import BROKEN, run_cli, run_process, write
from tests.notebooks.nb import ACCUMULATE, FIXABLE, code, markdown, notebook, save

SCHEMA = Path(__file__).parent.parent / "data" / "sarif-2.1.0.json"


def _findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": EXL" in line]


def test_cells_are_one_module_and_findings_name_their_cell(tmp_path):
    save(tmp_path / "extract.ipynb", ACCUMULATE)
    run = run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path)
    assert run.code == 1
    # The list grows in cell 3 and is written whole in cell 5: one finding across cells.
    (line,) = _findings(run.out)
    assert line.startswith("extract.ipynb:cell 5:1:1: EXL001 `rows` grows")
    assert "(1 file checked)" in run.out


def test_ipython_syntax_is_left_out_without_moving_lines():
    lines, replaced = python_lines(
        "%matplotlib inline\nimport os\n!ls \\\n  -l\nfiles = !ls\nlen?\nx = (1\n     % 2)\n"
    )
    assert lines == [
        "pass",
        "import os",
        "pass",
        "",
        "files = ...",
        "pass",
        "x = (1",
        "     % 2)",
    ]
    assert replaced == {0, 2, 3, 4, 5}
    # A cell magic of another language leaves the cell out; a Python one only its line.
    assert python_lines("%%bash\necho hi\nfor x in\n") == ([], set())
    assert python_lines("%%time\nfor x in y:\n    !echo {x}\n") == (
        ["", "for x in y:", "    pass"],
        {0, 2},
    )
    # A string that an earlier line opened is not a magic.
    assert python_lines('s = """\n% of rows\n"""')[1] == set()


def test_module_lines_map_back_to_cells():
    cells = [CodeCell(2, 1, "a = 1\nb = 2"), CodeCell(4, 3, "%%bash\nls"), CodeCell(5, 4, "c")]
    module = module_of(cells)
    assert module.text == "a = 1\nb = 2\nc\n"
    assert [module.locate(n) for n in (1, 2, 3)] == [(2, 1), (2, 2), (5, 1)]


def test_json_sarif_and_github_carry_the_cell(tmp_path):
    save(tmp_path / "extract.ipynb", ACCUMULATE)
    run = run_cli("--no-cache", "--select", "EXL001", "--format", "json", cwd=tmp_path)
    (diagnostic,) = json.loads(run.out)["diagnostics"]
    assert (diagnostic["path"], diagnostic["cell"], diagnostic["line"]) == ("extract.ipynb", 5, 1)
    assert {(r["cell"], r["line"]) for r in diagnostic["related"]} == {(3, 2), (3, 3)}

    sarif = run_cli("--no-cache", "--select", "EXL001", "--format", "sarif", cwd=tmp_path)
    log = json.loads(sarif.out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))
    (result,) = log["runs"][0]["results"]
    (location,) = result["locations"]
    assert location["properties"] == {"cell": 5, "cellLine": 1, "cellColumn": 1}
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "extract.ipynb"
    # The region is in the file's own lines: where the flagged source line's string is.
    lines = (tmp_path / "extract.ipynb").read_text(encoding="utf-8").splitlines()
    (write_line,) = [n for n, t in enumerate(lines, 1) if '"con.executemany(' in t]
    write_column = lines[write_line - 1].index("con.executemany") + 1
    region = location["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (write_line, write_column)
    assert region["endLine"] == write_line
    assert lines[write_line - 1][region["endColumn"] - 2] == ")"  # the call's last character
    related = {r["properties"]["cell"] for r in result["relatedLocations"]}
    assert related == {3}
    grows = next(r for r in result["relatedLocations"] if r["properties"]["cellLine"] == 3)
    grows_line = grows["physicalLocation"]["region"]["startLine"]
    assert "rows.extend(" in lines[grows_line - 1]

    github = run_cli("--no-cache", "--select", "EXL001", "--format", "github", cwd=tmp_path)
    (annotation,) = github.out.splitlines()
    assert annotation.startswith(
        f"::error file=extract.ipynb,line={write_line},col={write_column},"
    )
    assert "::cell 5:1:1: EXL001 " in annotation


def test_sarif_and_github_point_at_a_later_line_of_a_cell(tmp_path):
    # A finding at column 1 of a cell's second line is on that line's string in the file,
    # not at the end of the string before it.
    nb = notebook(
        code("import pickle"),
        code(
            "rows = []",
            "for path in files:",
            '    rows.append(pickle.load(open(path, "rb")))',
            'con.executemany("INSERT INTO t VALUES (?)", rows)',
        ),
    )
    save(tmp_path / "extract.ipynb", nb)
    lines = (tmp_path / "extract.ipynb").read_text(encoding="utf-8").splitlines()
    (loop_line,) = [n for n, t in enumerate(lines, 1) if '"for path in files:' in t]
    loop_column = lines[loop_line - 1].index("for path") + 1
    (write_line,) = [n for n, t in enumerate(lines, 1) if '"con.executemany(' in t]
    write_column = lines[write_line - 1].index("con.executemany") + 1

    args = ("--no-cache", "--select", "EXL001,EXL101")
    log = json.loads(run_cli(*args, "--format", "sarif", cwd=tmp_path).out)
    regions = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]
        for r in log["runs"][0]["results"]
    }
    assert (regions["EXL101"]["startLine"], regions["EXL101"]["startColumn"]) == (
        loop_line,
        loop_column,
    )
    assert (regions["EXL001"]["startLine"], regions["EXL001"]["startColumn"]) == (
        write_line,
        write_column,
    )
    assert regions["EXL001"]["endLine"] == write_line
    github = run_cli(*args, "--format", "github", cwd=tmp_path).out
    assert f"::error file=extract.ipynb,line={write_line},col={write_column}," in github
    assert f"::error file=extract.ipynb,line={loop_line},col={loop_column}," in github


def test_noqa_works_per_cell_line(tmp_path):
    nb = copy.deepcopy(ACCUMULATE)
    nb["cells"][4]["source"][0] = nb["cells"][4]["source"][0].replace(
        "rows)\n", "rows)  # noqa: EXL001 bounded: one day of files\n"
    )
    save(tmp_path / "extract.ipynb", nb)
    run = run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path)
    assert run.code == 0, run.out
    # The same comment on another cell's line suppresses nothing.
    nb = copy.deepcopy(ACCUMULATE)
    nb["cells"][2]["source"][0] = "rows = []  # noqa: EXL001\n"
    save(tmp_path / "extract.ipynb", nb)
    run = run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path)
    assert run.code == 1


def test_show_source_frames_the_cell(tmp_path):
    save(tmp_path / "extract.ipynb", ACCUMULATE)
    run = run_cli("--no-cache", "--select", "EXL001", "--show-source", cwd=tmp_path)
    assert '1 | con.executemany("INSERT INTO t VALUES (?)", rows)' in run.out
    assert "  | ^ EXL001" in run.out
    # The growth and the loop, in cell 3, get a frame of that cell after the finding's.
    after = run.out.split("  --> extract.ipynb:cell 3\n", 1)[1]
    assert "^ `rows` grows here" in after
    assert "^ unbounded loop" in after


def test_a_syntax_error_is_reported_in_its_cell(tmp_path):
    save(tmp_path / "bad.ipynb", notebook(code("x = 1"), markdown("m"), code("y = 2", "for x in")))
    run = run_cli("--no-cache", "--format", "json", cwd=tmp_path)
    (error,) = json.loads(run.out)["errors"]
    assert (error["path"], error["cell"], error["line"]) == ("bad.ipynb", 3, 2)
    text = run_cli("--no-cache", cwd=tmp_path)
    assert text.out.startswith("bad.ipynb:cell 3:2:")


def test_a_malformed_notebook_is_named_and_the_run_goes_on(tmp_path):
    (tmp_path / "cut.ipynb").write_text('{"cells": [', encoding="utf-8")
    (tmp_path / "list.ipynb").write_text("[1, 2]\n", encoding="utf-8")
    bad_source = notebook(code("x = 1"))
    bad_source["cells"][0]["source"] = 5
    save(tmp_path / "wrong.ipynb", bad_source)
    write(tmp_path / "job.py", BROKEN)
    run = run_process("--no-cache", ".", cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stdout.splitlines()
    assert any(
        line.startswith("cut.ipynb:1:1: EXL999 cannot read notebook: invalid JSON")
        for line in lines
    )
    assert any(
        line.startswith("list.ipynb:1:1: EXL999 cannot read notebook: the top level")
        for line in lines
    )
    assert any(
        "wrong.ipynb:1:1: EXL999 cannot read notebook: cell 1: `source`" in line for line in lines
    )
    assert any(line.startswith("job.py:") for line in lines)


def test_a_notebook_of_another_language_is_not_checked(tmp_path):
    save(tmp_path / "r.ipynb", notebook(code("for x in"), language="R"))
    assert run_cli("--no-cache", cwd=tmp_path).code == 0


def test_fix_rewrites_only_the_changed_lines(tmp_path):
    for indent, ascii in ((1, False), (2, True), (4, False)):
        path = save(tmp_path / f"job_{indent}.ipynb", FIXABLE, indent=indent, ascii=ascii)
        before = path.read_text(encoding="utf-8")
        run = run_cli("--no-cache", "--fix", "--unsafe-fixes", path.name, cwd=tmp_path)
        assert "Fixed 1 problem in 1 file." in run.err
        after = path.read_text(encoding="utf-8")
        expected = copy.deepcopy(FIXABLE)
        source = expected["cells"][2]["source"]
        source[1] = source[1].replace("in sorted(paths)", "in track(sorted(paths))")
        # The import goes with the notebook's imports, in the first cell, after the first
        # (libcst's import helper: a blank line before what is not an import, the magic).
        expected["cells"][0]["source"][2:2] = [
            "from extraction_lint.guardrails import track\n",
            "\n",
        ]
        # The same document with the two fixed cells, laid out exactly as before.
        assert json.loads(after) == expected
        assert after == json.dumps(expected, indent=indent, ensure_ascii=ascii) + "\n"
        assert len(after.splitlines()) == len(before.splitlines()) + 2
        again = run_cli("--no-cache", "--select", "EXL101", path.name, cwd=tmp_path)
        assert again.code == 0, again.out


def test_fix_keeps_a_missing_final_newline_and_source_strings(tmp_path):
    nb = copy.deepcopy(FIXABLE)
    nb["cells"][2]["source"] = "".join(nb["cells"][2]["source"])  # one string, not a list
    path = tmp_path / "job.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")  # no final newline
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "job.ipynb", cwd=tmp_path)
    after = path.read_text(encoding="utf-8")
    assert not after.endswith("\n")
    cells = json.loads(after)["cells"]
    source = cells[2]["source"]
    assert isinstance(source, str)
    assert source.startswith("def main(paths, con):\n    for path in track(sorted(paths)):\n")
    assert "from extraction_lint.guardrails import track\n" in cells[0]["source"]


def test_diff_shows_cells_and_changes_nothing(tmp_path):
    path = save(tmp_path / "job.ipynb", FIXABLE)
    before = path.read_bytes()
    run = run_cli("--no-cache", "--diff", "--unsafe-fixes", "job.ipynb", cwd=tmp_path)
    assert run.code == 1
    assert "--- a/job.ipynb:cell 1\n+++ b/job.ipynb:cell 1\n" in run.out
    assert "+from extraction_lint.guardrails import track\n" in run.out
    assert "--- a/job.ipynb:cell 3\n+++ b/job.ipynb:cell 3\n" in run.out
    assert "+    for path in track(sorted(paths)):\n" in run.out
    assert path.read_bytes() == before


def test_walk_finds_notebooks_and_the_cache_keeps_cells(tmp_path):
    save(tmp_path / "pkg" / "extract.ipynb", ACCUMULATE)
    first = run_cli("--select", "EXL001", "--format", "json", cwd=tmp_path)
    second = run_cli("--select", "EXL001", "--format", "json", cwd=tmp_path)
    assert first.out == second.out
    (diagnostic,) = json.loads(second.out)["diagnostics"]
    assert (diagnostic["path"], diagnostic["cell"]) == ("pkg/extract.ipynb", 5)


def test_add_noqa_writes_on_the_cell_lines(tmp_path):
    path = save(tmp_path / "extract.ipynb", ACCUMULATE)
    before = json.loads(path.read_text(encoding="utf-8"))
    run = run_cli("--no-cache", "--add-noqa", "extract.ipynb", cwd=tmp_path)
    assert run.code == 0, run.out + run.err
    after = json.loads(path.read_text(encoding="utf-8"))
    # Only the two flagged lines changed, each with its codes and the rules' names.
    assert after["cells"][2]["source"][1] == (
        "for path in files:  # noqa: EXL101, EXL102, EXL103 extraction-loop-without-heartbeat, "
        "extraction-loop-without-memory-guard, extraction-loop-without-stall-guard\n"
    )
    assert after["cells"][4]["source"][0].endswith(
        "rows)  # noqa: EXL001 accumulate-then-bulk-write\n"
    )
    for cell in (0, 1, 3):
        assert after["cells"][cell] == before["cells"][cell]
    assert run_cli("--no-cache", "extract.ipynb", cwd=tmp_path).code == 0


def test_a_baseline_survives_a_cell_added_above(tmp_path):
    path = save(tmp_path / "extract.ipynb", ACCUMULATE)
    run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=tmp_path)
    nb = copy.deepcopy(ACCUMULATE)
    nb["cells"].insert(1, code("import os", "HOME = os.environ['HOME']"))
    nb["cells"][3]["source"].insert(0, "# rows of every file\n")
    save(path, nb)
    assert run_cli("--no-cache", "--baseline", "baseline.json", cwd=tmp_path).code == 0
    # A new finding in another cell is reported.
    nb["cells"].append(code("for p in files:", "    data = pickle.load(open(p, 'rb'))"))
    save(path, nb)
    run = run_cli("--no-cache", "--baseline", "baseline.json", cwd=tmp_path)
    assert run.code == 1
    assert {line.split(": ")[0] for line in _findings(run.out)} == {"extract.ipynb:cell 7:1:1"}


def test_two_fixes_share_one_import(tmp_path):
    nb = copy.deepcopy(FIXABLE)
    nb["cells"].append(
        code(
            "def again(paths, con):",
            "    for path in sorted(paths):",
            '        con.executemany("INSERT INTO t VALUES (?)", pickle.load(open(path, "rb")))',
        )
    )
    path = save(tmp_path / "job.ipynb", nb)
    run = run_cli("--no-cache", "--fix", "--unsafe-fixes", "job.ipynb", cwd=tmp_path)
    assert "Fixed 2 problems in 1 file." in run.err
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert text.count("from extraction_lint.guardrails import track") == 1
    assert text.count("for path in track(sorted(paths)):") == 2


def test_jupyter_checkpoints_are_not_walked(tmp_path):
    save(tmp_path / "extract.ipynb", ACCUMULATE)
    save(tmp_path / ".ipynb_checkpoints" / "extract-checkpoint.ipynb", ACCUMULATE)
    run = run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path)
    assert [line.split(":")[0] for line in _findings(run.out)] == ["extract.ipynb"]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_valid_python_is_never_taken_for_ipython_syntax(source):
    # Lines inside brackets, strings or a backslash continuation may start with % or !.
    assert python_lines(source)[1] == set()


def test_continuation_lines_are_not_magics():
    source = 'x = (a\n     % b)\ny = a \\\n    % b\ns = """\n!not a shell line\n"""\n'
    assert python_lines(source)[1] == set()


def test_a_notebook_that_calls_a_helper_in_its_loop_owns_the_helpers_loop(tmp_path):
    """SPEC 2.5 through a notebook: a project function called only from a notebook cell's
    extraction loop is part of that loop's nest (the notebook's loop is reported, the
    helper's is not); a call outside every loop leaves the helper's loop checked, on a
    warm run too."""
    (tmp_path / "pyproject.toml").write_text("[tool.extraction-lint]\n")
    write(tmp_path / "jobs/__init__.py", "")
    write(
        tmp_path / "jobs/work.py",
        """
        import pickle

        def process(paths):
            for p in paths:
                with open(p, "rb") as fh:
                    pickle.load(fh)
        """,
    )
    imports = code("from jobs.work import process")
    path = save(
        tmp_path / "nb.ipynb", notebook(imports, code("for b in batches:", "    process(b)"))
    )
    cache = str(tmp_path / "cache")

    def places() -> set[tuple[str, int, object]]:
        out = run_cli("--format", "json", "--cache-dir", cache, ".", cwd=tmp_path).out
        return {(d["path"], d["line"], d.get("cell")) for d in json.loads(out)["diagnostics"]}

    assert places() == {("nb.ipynb", 1, 2)}
    save(path, notebook(imports, code("process(batches)")))
    assert places() == {("jobs/work.py", 4, None)}


def test_a_call_in_a_cell_whose_source_is_one_string_is_found(tmp_path):
    """A cell's source saved as one JSON string escapes its line breaks (``"\\nprocess("``):
    the caller search reads the cells' code, not the JSON."""
    (tmp_path / "pyproject.toml").write_text("[tool.extraction-lint]\n")
    write(tmp_path / "jobs/__init__.py", "")
    write(
        tmp_path / "jobs/work.py",
        """
        import pickle

        def process(paths):
            for p in paths:
                pickle.load(open(p, "rb"))
        """,
    )
    write(
        tmp_path / "run.py",
        "from jobs.work import process\n\n\ndef go(batches):\n    for b in batches:\n        process(b)\n",
    )
    cell = code()
    cell["source"] = "from jobs.work import process\nprocess(paths)\n"
    save(tmp_path / "nb.ipynb", notebook(cell))
    out = run_cli("--no-cache", "--format", "json", "--select", "EXL101", ".", cwd=tmp_path).out
    assert {(d["path"], d["line"]) for d in json.loads(out)["diagnostics"]} == {
        ("jobs/work.py", 4),
        ("run.py", 5),
    }
