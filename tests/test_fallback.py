"""A file the interpreter compiles is checked, never EXL999 (SPEC 2): a legal mix of tabs
and spaces that libcst rejects gives the findings of its tab-expanded text, at the columns
of the original lines; a construct libcst does not know costs only its own statement."""

from __future__ import annotations

import libcst as cst
import pytest

from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.fallback import blank_unparsable_statements, expand_indentation
from tests.helpers import run_cli

#: One tab and one space, then two tabs and one space: legal (tabs count to 8), and
#: rejected by libcst's tokenizer (its issue 829).
MIXED = (
    "import pickle\n"
    "\n"
    "\n"
    "def load_all(paths, con):\n"
    "\t rows = []\n"
    "\t for path in paths:  # noqa: EXL101 progress in the caller\n"
    "\t\t rows.append(pickle.load(open(path, 'rb')))\n"
    "\t con.executemany('INSERT INTO t VALUES (?)', rows)\n"
    "\t return '''\n"
    "\tkept\t as it is\n"
    "'''\n"
)


def check(text: str):
    return check_source(text.encode(), "job.py", CheckOptions())


def key(d):
    return (d.code, d.line, d.end_line, d.message)


def test_the_sample_is_legal_python_that_libcst_rejects():
    compile(MIXED, "job.py", "exec")
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(MIXED)


def test_it_has_the_findings_of_its_tab_expanded_text():
    result = check(MIXED)
    assert result.error is None
    expanded = check(MIXED.expandtabs(8))
    assert expanded.error is None and expanded.diagnostics
    assert [key(d) for d in result.diagnostics] == [key(d) for d in expanded.diagnostics]
    assert {d.code for d in result.diagnostics} == {"EXL001", "EXL102", "EXL103"}


def test_columns_are_those_of_the_original_lines():
    lines = MIXED.splitlines()
    result = check(MIXED)
    by_code = {d.code: d for d in result.diagnostics}
    loop = by_code["EXL102"]
    assert lines[loop.line - 1][loop.column - 1 :].startswith("for path in paths:")
    assert lines[loop.end_line - 1][: loop.end_column - 1].endswith("for path in paths")
    sink = by_code["EXL001"]
    assert lines[sink.line - 1][sink.column - 1 :].startswith("con.executemany(")
    growth = sink.related[0]
    assert lines[growth.line - 1][growth.column - 1 :].startswith("rows.append(")


def test_noqa_comments_apply_as_in_any_file():
    result = check(MIXED)
    assert "EXL101" not in {d.code for d in result.diagnostics}
    assert result.suppressed == 1


def test_the_fix_lands_on_the_original_columns(tmp_path):
    path = tmp_path / "job.py"
    path.write_text(MIXED.replace("  # noqa: EXL101 progress in the caller", ""))
    run_cli("--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "job.py", cwd=tmp_path)
    text = path.read_text()
    assert "\t for path in track(paths):\n" in text
    assert "\tkept\t as it is\n" in text  # the string's content is untouched
    compile(text, "job.py", "exec")


def test_indentation_inside_a_string_is_the_string_content():
    expansion = expand_indentation(MIXED)
    assert expansion is not None
    assert "\tkept\t as it is\n" in expansion.text
    assert "\n" + " " * 9 + "rows = []\n" in expansion.text  # a tab to column 8, a space
    assert "\n" + " " * 17 + "rows.append(" in expansion.text
    assert "\t" not in expansion.text.replace("\tkept\t as it is", "")
    assert expand_indentation("x = 1\ny = '\\t'\n") is None


def test_an_inconsistent_mix_is_still_a_syntax_error():
    result = check("if x:\n\ty = 1\n        z = 2\n")
    assert result.error is not None
    assert result.error.message.startswith("cannot parse: inconsistent use of tabs")
    assert result.error.line == 3


def test_on_the_command_line_the_file_is_checked_not_reported_as_exl999(tmp_path):
    (tmp_path / "job.py").write_text(MIXED)
    run = run_cli("--no-cache", "job.py", cwd=tmp_path)
    assert run.code == 1
    assert "EXL999" not in run.out
    assert "job.py:6:3: EXL102" in run.out


#: A raw f-string with a line continuation: legal, and beyond libcst's parser (its issue 951).
GAP = (
    "import pickle\n"
    "\n"
    'NOTE = fr"\\\n"\n'
    "\n"
    "rows = []\n"
    "for path in paths:\n"
    '    rows.append(pickle.load(open(path, "rb")))\n'
    'con.executemany("INSERT INTO t VALUES (?)", rows)\n'
)


def test_a_construct_libcst_does_not_know_costs_only_its_statement():
    compile(GAP, "job.py", "exec")
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(GAP)
    result = check(GAP)
    assert result.error is None
    assert {(d.code, d.line) for d in result.diagnostics} == {
        ("EXL001", 9),
        ("EXL101", 7),
        ("EXL102", 7),
        ("EXL103", 7),
    }
    blanked = blank_unparsable_statements(GAP)
    assert blanked is not None
    assert blanked.splitlines()[2:4] == ["", ""]  # the statement's two lines, kept empty
    assert blanked.count("\n") == GAP.count("\n")


def test_both_fallbacks_together():
    text = GAP.replace("    rows.append(", "\t rows.append(").replace(
        "for path in paths:\n", "for path in paths:\n\t if path:\n"
    )
    text = text.replace("\t rows.append(", "\t\t rows.append(")
    compile(text, "job.py", "exec")
    result = check(text)
    assert result.error is None
    assert "EXL001" in {d.code for d in result.diagnostics}


def test_a_helper_with_such_a_mix_still_has_its_summary(tmp_path):
    """SPEC 2 and 2.6: a helper module libcst rejects for its tabs is summarised from its
    tab-expanded text, so the caller's finding through it is the same as with spaces."""
    (tmp_path / "pyproject.toml").write_text("[tool.extraction-lint]\n")
    (tmp_path / "io_tabs.py").write_text(
        "def write_rows(con, rows):\n \tif rows:\n\t    con.executemany('I', rows)\n \treturn 1\n"
    )
    (tmp_path / "io_spaces.py").write_text(
        "def write_rows(con, rows):\n    if rows:\n        con.executemany('I', rows)\n    return 1\n"
    )
    job = (
        "import {0}\n\nrows = []\nfor p in paths:\n    rows.append(p)\n{0}.write_rows(con, rows)\n"
    )
    for name in ("io_tabs", "io_spaces"):
        (tmp_path / f"job_{name}.py").write_text(job.format(name))
    compile((tmp_path / "io_tabs.py").read_text(), "io_tabs.py", "exec")
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module((tmp_path / "io_tabs.py").read_text())
    for name in ("io_tabs", "io_spaces"):
        run = run_cli("--no-cache", "--select", "EXL001", f"job_{name}.py", cwd=tmp_path)
        assert f"job_{name}.py:6:1: EXL001" in run.out, run.out
