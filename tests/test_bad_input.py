"""Bad input never ends in a traceback: each file is checked or reported as EXL999 with the
reason, and the other files of the run are still checked (SPEC 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings

from extraction_lint.engine import (
    CheckOptions,
    SourceError,
    check_source,
    quick_syntax_check,
    syntax_check,
)
from tests.helpers import BROKEN, REPO, run_cli, write

BROKEN_BYTES = textwrap.dedent(BROKEN).lstrip().encode()
ALL_CODES = CheckOptions(
    enabled=frozenset({"EXL001", "EXL002", "EXL003", "EXL101", "EXL102", "EXL103", "EXL900"})
)


def report(tmp_path, *args: str) -> dict:
    run = run_cli("--format", "json", *args, cwd=tmp_path)
    assert "Traceback" not in run.err
    return json.loads(run.out)


def good_file_still_checked(data: dict) -> None:
    assert any(d["path"] == "good.py" and d["code"] == "EXL001" for d in data["diagnostics"])


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "good.py").write_bytes(BROKEN_BYTES)
    return tmp_path


def errors_by_path(data: dict) -> dict[str, str]:
    return {e["path"]: e["message"] for e in data["errors"]}


def test_syntax_error(tree):
    (tree / "bad.py").write_text("def f(:\n    pass\n")
    data = report(tree)
    assert errors_by_path(data) == {"bad.py": "cannot parse: invalid syntax"}
    assert data["errors"][0]["line"] == 1
    good_file_still_checked(data)


def test_undecodable_bytes(tree):
    (tree / "latin.py").write_bytes(b"x = 1\nname = '\xe9t\xe9'\n")
    data = report(tree)
    assert errors_by_path(data) == {
        "latin.py": "cannot decode as utf-8: invalid byte 0xe9 on line 2"
    }
    good_file_still_checked(data)


def test_declared_encoding_is_honoured(tree):
    (tree / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n")
    data = report(tree)
    assert data["errors"] == []


def test_unknown_encoding_cookie(tree):
    (tree / "odd.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    data = report(tree)
    assert "odd.py" in errors_by_path(data)
    assert "klingon" in errors_by_path(data)["odd.py"]


def test_null_bytes(tree):
    (tree / "nul.py").write_bytes(b"x = 1\x00\n")
    data = report(tree)
    assert errors_by_path(data)["nul.py"].startswith("cannot parse:")
    good_file_still_checked(data)


def test_bom_is_checked_with_the_right_positions(tmp_path):
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + BROKEN_BYTES)
    data = report(tmp_path, "--select", "EXL001")
    assert data["errors"] == []
    assert [(d["line"], d["column"]) for d in data["diagnostics"]] == [(6, 1)]


def test_crlf_line_endings(tmp_path):
    (tmp_path / "crlf.py").write_bytes(BROKEN_BYTES.replace(b"\n", b"\r\n"))
    data = report(tmp_path, "--select", "EXL001")
    assert [(d["line"], d["column"]) for d in data["diagnostics"]] == [(6, 1)]


def test_tab_indentation(tmp_path):
    (tmp_path / "tabs.py").write_bytes(BROKEN_BYTES.replace(b"    ", b"\t"))
    data = report(tmp_path, "--select", "EXL001")
    assert data["errors"] == []
    assert [d["line"] for d in data["diagnostics"]] == [6]


def test_empty_file(tmp_path):
    (tmp_path / "empty.py").write_bytes(b"")
    data = report(tmp_path)
    assert data["errors"] == [] and data["diagnostics"] == []
    assert data["summary"]["files"] == 1


def test_five_megabyte_generated_file(tmp_path):
    blob = "A" * 1000
    lines = [f'BLOB_{i} = "{blob}"' for i in range(5200)]
    (tmp_path / "generated.py").write_bytes("\n".join(lines).encode() + b"\n" + BROKEN_BYTES)
    assert (tmp_path / "generated.py").stat().st_size > 5_000_000
    data = report(tmp_path, "--select", "EXL001")
    assert data["errors"] == []
    assert [d["line"] for d in data["diagnostics"]] == [5200 + 6]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "x = " + "(" * 1500 + "1" + ")" * 1500 + "\n",
            "cannot parse: too many nested parentheses",
        ),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "cannot parse: too many nested parentheses"),
        ("x = " + "1 + " * 20000 + "1\n", "cannot parse: code nested too deeply"),
    ],
)
def test_deeply_nested_expressions_are_reported(tree, source, reason):
    (tree / "deep.py").write_text(source)
    data = report(tree)
    assert errors_by_path(data) == {"deep.py": reason}
    good_file_still_checked(data)


def _verdict(check, text: str) -> str | None:
    try:
        check(text, "t.py")
    except SourceError as error:
        return error.message
    return None


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "x = " + "a + " * n + "1\n",
        lambda n: "x = " + "-" * n + "1\n",
        lambda n: "x = a" + ".b" * n + "\n",
        lambda n: "x = f" + "()" * n + "\n",
        lambda n: "x = " + "lambda a=" * min(n, 740) + "1" + ": 1" * min(n, 740) + "\n",
    ],
    ids=["sum", "negation", "attributes", "calls", "lambda-defaults"],
)
def test_quick_syntax_check_gives_the_verdict_of_the_full_one(make):
    """Files no rule can fire in get the cheaper check; at every depth around the limit it
    must accept and refuse exactly what ``ast.parse`` does, or the prefilter would change
    which files are reported as EXL999."""
    verdicts = set()
    for depth in range(2_300, 3_060, 9):
        text = make(depth)
        full = _verdict(syntax_check, text)
        assert _verdict(quick_syntax_check, text) == full, depth
        verdicts.add(full)
    if "lambda" not in make(1):
        assert verdicts == {None, "cannot parse: code nested too deeply"}


def test_quick_syntax_check_accepts_what_only_the_compiler_refuses():
    for text in ("nonlocal x\n", "def f(a, a):\n    pass\n", "return 1\n"):
        assert _verdict(syntax_check, text) is None
        assert _verdict(quick_syntax_check, text) is None


def test_long_but_valid_expression_is_checked(tmp_path):
    (tmp_path / "chain.py").write_text("x = " + "a + " * 1500 + "1\n" + BROKEN_BYTES.decode())
    data = report(tmp_path, "--select", "EXL001")
    assert data["errors"] == []
    assert [d["line"] for d in data["diagnostics"]] == [7]


def test_directory_named_like_a_python_file_is_walked(tree):
    write(tree / "x.py" / "inner.py", BROKEN)
    data = report(tree)
    assert data["errors"] == []
    assert {d["path"] for d in data["diagnostics"]} == {"good.py", "x.py/inner.py"}
    named = report(tree, "x.py")
    assert {d["path"] for d in named["diagnostics"]} == {"x.py/inner.py"}


def test_symlink_loop(tree):
    os.symlink("loop.py", tree / "loop.py")
    os.symlink(".", tree / "self")
    data = report(tree)
    assert errors_by_path(data) == {"loop.py": "cannot read: Too many levels of symbolic links"}
    good_file_still_checked(data)


def test_fifo_is_not_read(tree):
    os.mkfifo(tree / "pipe.py")
    data = report(tree)
    assert errors_by_path(data) == {"pipe.py": "cannot read: not a regular file"}
    good_file_still_checked(data)


def test_unreadable_file(tree):
    secret = tree / "secret.py"
    secret.write_bytes(BROKEN_BYTES)
    secret.chmod(0)
    command = [sys.executable, "-m", "extraction_lint", "--format", "json", "."]
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that let it ignore file permissions.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env)
    data = json.loads(proc.stdout)
    assert errors_by_path(data) == {"secret.py": "cannot read: Permission denied"}
    good_file_still_checked(data)
    assert proc.returncode == 1


def test_file_that_breaks_the_analysis_is_reported_not_raised(monkeypatch):
    from extraction_lint.analysis import module

    def explode(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(module.ModuleAnalysis, "__init__", explode)
    result = check_source(BROKEN_BYTES, "x.py", CheckOptions())
    assert result.error is not None
    assert result.error.message == "internal error while checking: KeyError: 'boom'"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_never_raises_on_generated_programs(source):
    result = check_source(source.encode("utf-8", "surrogatepass"), "gen.py", ALL_CODES)
    assert result.error is None or not result.error.message.startswith("internal error")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_never_raises_on_generated_syntax_trees(source):
    result = check_source(source.encode("utf-8", "surrogatepass"), "gen.py", ALL_CODES)
    assert result.error is None or not result.error.message.startswith("internal error")


def test_the_summary_does_not_count_a_file_that_could_not_be_checked_as_checked(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    write(tmp_path / "clean.py", "x = 1\n")
    write(tmp_path / "broken.py", "def f(:\n    pass\n")
    last = run_cli("--no-cache", "--select", "EXL001", cwd=tmp_path).out.splitlines()[-1]
    assert last == "Found 1 problem; could not check 1 file (2 files checked)."
    (tmp_path / "job.py").unlink()
    (tmp_path / "clean.py").unlink()
    last = run_cli("--no-cache", cwd=tmp_path).out.splitlines()[-1]
    assert last == "Could not check 1 file (0 files checked)."
