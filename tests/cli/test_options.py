"""Options as a Ruff user expects them (SPEC 3): codes that add up, per-file ignores,
noqa codes, ``--config KEY=VALUE``, ``--diff`` with every format, listings as JSON."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from tests.helpers import BROKEN, REPO, run_cli, run_process, write


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "pkg" / "broken.py", BROKEN)
    return tmp_path


def codes(out: str) -> list[str]:
    return re.findall(r": (EXL\d{3}) ", out)


@pytest.mark.parametrize(
    "args",
    [
        ("--select", "EXL001", "--select", "EXL101"),
        ("--select", "EXL001,EXL101"),
        ("--select", "EXL001", "--extend-select", "EXL101"),
        ("--select", "EXL0", "--extend-select", "EXL101", "--extend-select", "EXL900"),
    ],
)
def test_select_adds_up_when_repeated(project, args):
    assert codes(run_cli("--no-cache", *args, cwd=project).out) == ["EXL101", "EXL001"]


def test_ignore_adds_up_when_repeated(project):
    out = run_cli("--no-cache", "--ignore", "EXL101", "--ignore", "EXL102,EXL103", cwd=project).out
    assert codes(out) == ["EXL001"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # As Ruff: --select on the command line starts afresh, whatever the file says.
        (("--select", "EXL102"), ["EXL102"]),
        (("--select", "EXL0"), ["EXL001"]),
        # --extend-select on the command line turns on a code the file ignores.
        (("--extend-select", "EXL102"), ["EXL101", "EXL102", "EXL001"]),
        # --ignore on the command line turns off a code the file selects.
        (("--ignore", "EXL001"), ["EXL101"]),
    ],
)
def test_command_line_selection_goes_over_the_files_as_in_ruff(project, args, expected):
    write(
        project / "pyproject.toml",
        '[tool.extraction-lint]\nextend-select = ["EXL900"]\nignore = ["EXL102", "EXL103"]\n',
    )
    assert codes(run_cli("--no-cache", *args, cwd=project).out) == expected


def test_per_file_ignores_all(project):
    write(
        project / "pyproject.toml",
        '[tool.extraction-lint]\nper-file-ignores = {"pkg/*" = ["ALL"]}\n',
    )
    run = run_cli("--no-cache", cwd=project)
    assert run.code == 0 and codes(run.out) == []
    # ALL in per-file-ignores does not hide a file that cannot be checked.
    write(project / "pkg" / "bad.py", "def (:\n")
    assert "EXL999" in run_cli("--no-cache", cwd=project).out


def test_lower_case_noqa_code_suppresses_that_code_only(project):
    broken = project / "pkg" / "broken.py"
    broken.write_text(broken.read_text().replace("rows)\n", "rows)  # noqa: exl102\n"))
    run = run_cli("--no-cache", "--select", "EXL001", cwd=project)
    assert codes(run.out) == ["EXL001"]
    broken.write_text(broken.read_text().replace("# noqa: exl102", "# noqa: exl001"))
    assert codes(run_cli("--no-cache", "--select", "EXL001", cwd=project).out) == []


def test_noqa_colon_without_a_code_suppresses_nothing(project):
    broken = project / "pkg" / "broken.py"
    broken.write_text(broken.read_text().replace("rows)\n", "rows)  # noqa: leftover\n"))
    run = run_cli("--no-cache", "--select", "EXL001,EXL900", cwd=project)
    assert codes(run.out) == ["EXL001", "EXL900"]
    assert "names no rule code, so it suppresses nothing" in run.out


def test_unused_noqa_says_when_the_rule_is_not_enabled(project):
    broken = project / "pkg" / "broken.py"
    broken.write_text(broken.read_text().replace("rows)\n", "rows)  # noqa: EXL001, EXL003\n"))
    run = run_cli("--no-cache", "--select", "EXL001,EXL900", cwd=project)
    assert codes(run.out) == ["EXL900"]
    line = next(line for line in run.out.splitlines() if "EXL900" in line)
    assert "EXL003 of a rule not enabled in this run" in line and "unused" not in line
    run = run_cli("--no-cache", "--select", "EXL001,EXL003,EXL900", cwd=project)
    assert "unused `noqa` code EXL003" in run.out


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('select = ["EXL001"]', ["EXL001"]),
        ("ignore = ['EXL1']", ["EXL001"]),
        ('per-file-ignores = {"pkg/broken.py" = ["EXL0", "EXL101"]}', ["EXL102", "EXL103"]),
    ],
)
def test_config_key_value_overrides_one_setting(project, setting, expected):
    assert codes(run_cli("--no-cache", "--config", setting, cwd=project).out) == expected


def test_config_key_value_goes_over_the_file(project):
    write(project / "pyproject.toml", '[tool.extraction-lint]\nselect = ["EXL101"]\n')
    assert codes(run_cli("--no-cache", cwd=project).out) == ["EXL101"]
    run = run_cli("--no-cache", "--config", "select = ['EXL001']", cwd=project)
    assert codes(run.out) == ["EXL001"]
    both = run_cli(
        "--no-cache", "--config", "pyproject.toml", "--config", "extend-select=['EXL001']",
        cwd=project,
    )  # fmt: skip
    assert codes(both.out) == ["EXL101", "EXL001"]


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("bounded-range-limit = 'x'", "must be a positive integer"),
        ("nonsense = 1", "unknown key `nonsense`"),
        ("select = [", "invalid TOML"),
        ("select = ['NOPE1']", "unknown rule code"),
    ],
)
def test_bad_config_key_value_exits_2_naming_it(project, setting, said):
    run = run_cli("--config", setting, cwd=project)
    assert run.code == 2 and said in run.err and "--config" in run.err


@pytest.mark.parametrize("fmt", ["json", "sarif", "text", "github"])
def test_diff_goes_to_the_output_whatever_the_format(project, fmt):
    run = run_cli(
        "--no-cache", "--diff", "--unsafe-fixes", "--format", fmt, "--output", "out.txt",
        cwd=project,
    )  # fmt: skip
    assert run.code == 1 and run.out == ""
    text = (project / "out.txt").read_text()
    assert text.startswith("--- a/pkg/broken.py\n+++ b/pkg/broken.py\n")
    assert "{" not in text.splitlines()[0]
    assert "Would fix 2 problems in 1 file." in run.err  # EXL101's and EXL001's


def test_diff_on_stdout_has_no_report_head(project):
    run = run_cli("--no-cache", "--diff", "--unsafe-fixes", "--format", "json", cwd=project)
    assert run.out.startswith("--- a/pkg/broken.py\n")


def test_list_rules_and_explain_honour_format_json(tmp_path):
    listing = json.loads(run_cli("--list-rules", "--format", "json", cwd=tmp_path).out)
    assert [r["code"] for r in listing][:2] == ["EXL001", "EXL002"]
    assert {"code", "name", "summary", "default", "fix", "url"} <= set(listing[0])
    page = json.loads(run_cli("--explain", "EXL101", "--format", "json", cwd=tmp_path).out)
    assert page["code"] == "EXL101" and page["fix"] == "unsafe"
    assert "## What it does" in page["explanation"]
    assert run_cli("--list-rules", "--format", "sarif", cwd=tmp_path).code == 2
    text = run_cli("--explain", "EXL001", cwd=tmp_path).out
    assert text.rstrip().endswith(f"Online: {listing[0]['url']}")
    assert listing[0]["url"].endswith("/rules/EXL001.md")


def test_statistics_in_text_and_json_and_a_clear_error_elsewhere(project):
    text = run_cli("--no-cache", "--statistics", cwd=project).out
    assert re.search(r"^\s+1  EXL001  accumulate-then-bulk-write$", text, re.M)
    assert codes(text) == []  # as in Ruff, the counts stand in for the findings
    data = json.loads(run_cli("--no-cache", "--statistics", "--format", "json", cwd=project).out)
    assert {"code": "EXL001", "name": "accumulate-then-bulk-write", "count": 1, "fixable": 0} in (
        data["statistics"]
    )
    for fmt in ("sarif", "github"):
        run = run_cli("--no-cache", "--statistics", "--format", fmt, cwd=project)
        assert run.code == 2 and "--statistics" in run.err


def test_show_source_in_text_and_sarif_and_a_clear_error_elsewhere(project):
    run = run_cli("--no-cache", "--show-source", "--format", "sarif", cwd=project)
    sarif = json.loads(run.out)
    schema = json.loads((REPO / "tests" / "data" / "sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    result = sarif["runs"][0]["results"][-1]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["region"]["snippet"]["text"].startswith("con.executemany(")
    assert "rows.extend(" in physical["contextRegion"]["snippet"]["text"]
    for fmt in ("json", "github"):
        bad = run_cli("--no-cache", "--show-source", "--format", fmt, cwd=project)
        assert bad.code == 2 and "--show-source" in bad.err


def test_output_format_styles(project):
    grouped = run_cli("--no-cache", "--output-format", "grouped", cwd=project).out
    assert grouped.startswith("pkg/broken.py:\n  4:1 EXL101 ")
    full = run_cli("--no-cache", "--output-format", "full", "--select", "EXL001", cwd=project)
    assert "6 | con.executemany(" in full.out
    concise = run_cli("--no-cache", "--output-format", "concise", cwd=project).out
    assert "|" not in concise and len(codes(concise)) == 4
    as_json = run_cli("--no-cache", "--output-format", "json", cwd=project).out
    assert len(json.loads(as_json)["diagnostics"]) == 4
    clash = run_cli("--format", "json", "--output-format", "sarif", cwd=project)
    assert clash.code == 2


def test_quiet_prints_the_findings_only_and_silent_nothing(project):
    quiet = run_cli("--no-cache", "-q", cwd=project)
    assert quiet.code == 1 and len(quiet.out.splitlines()) == 4
    assert all(": EXL" in line for line in quiet.out.splitlines())
    silent = run_cli("--no-cache", "--silent", cwd=project)
    assert silent.code == 1 and silent.out == "" and silent.err == ""
    fixing = run_cli("--no-cache", "-q", "--fix", "--unsafe-fixes", cwd=project)
    assert fixing.err == "" and all(": EXL" in line for line in fixing.out.splitlines())
    write(project / "pkg" / "broken.py", "x = 1\n")
    assert run_cli("--no-cache", "-q", cwd=project).out == ""


@pytest.mark.parametrize("where", ["a-file", "a-file/cache"])
def test_cache_dir_that_cannot_be_a_directory_exits_2_naming_it(project, where):
    # As Ruff: an explicit --cache-dir that cannot be used is an error, not a run
    # that silently never caches.
    write(project / "a-file", "not a directory\n")
    run = run_process("--format", "json", "--cache-dir", where, "pkg", cwd=project)
    assert run.returncode == 2, run.stdout
    assert run.stderr.startswith(f"extraction-lint: error: --cache-dir {where}: ")
    assert run.stdout == ""
    assert run_process("--cache-dir", where, "--no-cache", "pkg", cwd=project).returncode == 1
