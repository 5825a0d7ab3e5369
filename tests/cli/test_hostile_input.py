"""Hostile input at the command line and in configuration: a clear error or a whole
report, never a traceback (issue 12's linter items)."""

from __future__ import annotations

import json
import os

import pytest

from extraction_lint import runner as runner_module
from extraction_lint.runner import MAX_JOBS, worker_count
from tests.helpers import BROKEN, run_cli, run_process, write

BAD_NAME = os.fsdecode(b"caf\xe9-\xff.py")


@pytest.fixture
def odd_names(tmp_path):
    (tmp_path / os.fsencode(BAD_NAME).decode("utf-8", "surrogateescape")).write_text(BROKEN)
    write(tmp_path / "ok.py", BROKEN)
    return tmp_path


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
@pytest.mark.parametrize("to_file", [False, True])
def test_a_file_name_that_is_not_utf8_is_reported_in_every_format(odd_names, fmt, locale, to_file):
    args = ["--no-cache", "--format", fmt, "."]
    if to_file:
        args += ["--output", "report.out"]
    run = run_process(*args, cwd=odd_names, env={"LC_ALL": locale, "PYTHONIOENCODING": None})
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "UnicodeEncodeError" not in run.stderr
    text = (odd_names / "report.out").read_text() if to_file else run.stdout
    if fmt in {"json", "sarif"}:
        data = json.loads(text)  # whole, not cut
        found = data["diagnostics"] if fmt == "json" else data["runs"][0]["results"]
        assert len(found) == 8
    else:
        assert text.count("EXL101") >= 2
    if fmt == "sarif":
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in found}
        assert uris == {"caf%E9-%FF.py", "ok.py"}
    if fmt in {"text", "github"}:
        assert "caf\\xe9-\\xff.py" in text


def test_terminal_escape_sequences_in_the_source_are_escaped(tmp_path):
    write(
        tmp_path / "job.py",
        'import pickle\n\nfor path in paths["\x1b[2J\x1b]0;owned\x07"]:\n'
        '    data = pickle.load(open(path, "rb"))\n',
    )
    run = run_process(
        "--no-cache", "--select", "EXL101", "--output-format", "full", ".",
        cwd=tmp_path, env={"FORCE_COLOR": None},
    )  # fmt: skip
    assert run.returncode == 1
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "\\x1b[2J" in run.stdout


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"tool = 5\n", "`tool` must be a table"),
        (b"[tool]\nextraction-lint = 5\n", "must be a table"),
        (b"[tool.extraction-lint]\nselect = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nested"),
        (b'[tool.extraction-lint]\nselect = ["\xff"]\n', "not valid UTF-8"),
        (b"\xff\xfe[tool.extraction-lint]\n", "not valid UTF-8"),
    ],
    ids=["tool-is-5", "table-is-5", "deep-nesting", "invalid-utf8", "utf16-bom"],
)
def test_a_broken_pyproject_is_a_configuration_error_naming_the_file(tmp_path, content, said):
    (tmp_path / "pyproject.toml").write_bytes(content)
    write(tmp_path / "a.py", "x = 1\n")
    run = run_process("--no-cache", ".", cwd=tmp_path)
    assert run.returncode == 2
    assert "configuration error" in run.stderr and "pyproject.toml" in run.stderr
    assert said in run.stderr and "Traceback" not in run.stderr


def test_a_huge_bad_list_is_not_echoed_whole(tmp_path):
    entries = ", ".join(str(i) for i in range(100_000))
    write(tmp_path / "pyproject.toml", f"[tool.extraction-lint]\nexclude = [{entries}]\n")
    run = run_cli("--no-cache", ".", cwd=tmp_path)
    assert run.code == 2
    assert "a list of 100000 entries" in run.err and len(run.err) < 400


@pytest.mark.parametrize("jobs", [str(2**31), "100000"])
def test_huge_job_counts_are_capped(tmp_path, monkeypatch, jobs):
    write(tmp_path / "a.py", BROKEN)
    started = []
    real = runner_module.Runner.__init__

    def spy(self, *args, **kwargs):
        started.append(kwargs["jobs"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(runner_module.Runner, "__init__", spy)
    run = run_cli("--no-cache", "-j", jobs, ".", cwd=tmp_path)
    assert run.code == 1 and "Found 4 problems" in run.out
    assert started == [1]  # one file: one worker


def test_worker_count_is_bounded_by_files_and_a_maximum():
    assert worker_count(2**31, 10_000) == MAX_JOBS
    assert worker_count(8, 3) == 3
    assert worker_count(4, 0) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: "a" * 5000,
        lambda: "/".join(["d" * 200] * 30) + "/x.py",
    ],
    ids=["name-too-long", "path-too-long"],
)
def test_a_path_too_long_for_the_system_is_a_clear_error(tmp_path, make):
    long_path = make()
    for args in ([long_path], ["--output", long_path, "."], ["--config", long_path, "."]):
        run = run_cli("--no-cache", *args, cwd=tmp_path)
        assert run.code == 2, args
        assert "too long" in run.err or "no such file" in run.err
        assert "cannot write the report" not in run.err
        assert len(run.err) < 600


LOOP = "import pickle\n\nfor path in paths:\n    data = pickle.load(open(path, 'rb'))\n"


def test_a_fix_the_file_encoding_cannot_hold_is_refused_and_the_run_goes_on(tmp_path):
    (tmp_path / "a_idna.py").write_bytes(b"# coding: idna\n" + LOOP.encode())
    (tmp_path / "b_latin.py").write_bytes(b"# coding: latin-1\n# caf\xe9\n" + LOOP.encode())
    before = (tmp_path / "a_idna.py").read_bytes()
    for extra in (["--fix", "--unsafe-fixes"], ["--add-noqa"]):
        run = run_process("--no-cache", "--select", "EXL101", *extra, ".", cwd=tmp_path)
        assert "Traceback" not in run.stderr, run.stderr
        assert "a_idna.py" in run.stderr and "(idna) cannot hold" in run.stderr
        assert (tmp_path / "a_idna.py").read_bytes() == before
    fixed = (tmp_path / "b_latin.py").read_bytes()
    assert b"caf\xe9" in fixed and b"for path in track(paths):" in fixed
