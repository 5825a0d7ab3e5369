"""The command line as a user meets it: options, exit codes, output (SPEC 3)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from extraction_lint import __version__
from extraction_lint.rules import ALL_RULES
from tests.helpers import BROKEN, CLEAN, run_cli, run_process, write


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "pkg" / "broken.py", BROKEN)
    write(tmp_path / "pkg" / "clean.py", CLEAN)
    return tmp_path


def codes(out: str) -> list[str]:
    return re.findall(r": (EXL\d{3}) ", out)


def test_clean_tree_exits_0(tmp_path):
    write(tmp_path / "a.py", CLEAN)
    run = run_cli(cwd=tmp_path)
    assert run.code == 0
    assert "All checks passed (1 file checked)." in run.out


def test_findings_exit_1_with_one_line_each(project):
    run = run_cli("pkg", cwd=project)
    assert run.code == 1
    lines = [line for line in run.out.splitlines() if ": EXL" in line]
    assert lines[0].startswith("pkg/broken.py:4:1: EXL101 extraction loop has no heartbeat")
    assert lines[-1].startswith("pkg/broken.py:6:1: EXL001 `rows` grows")
    assert run.out.splitlines()[-1] == "Found 4 problems (2 files checked)."


def test_default_path_is_current_directory(project):
    assert codes(run_cli(cwd=project).out) == codes(run_cli(".", cwd=project).out)


def test_missing_path_exits_2(tmp_path):
    run = run_cli("nope.py", cwd=tmp_path)
    assert run.code == 2
    assert "nope.py: no such file or directory" in run.err


def test_bad_option_exits_2_without_traceback(tmp_path):
    run = run_cli("--format", "xml", cwd=tmp_path)
    assert run.code == 2
    assert "invalid choice: 'xml'" in run.err
    assert "Traceback" not in run.err


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_exits_2_naming_it(tmp_path, option):
    run = run_cli(option, "EXL001,XYZ9", cwd=tmp_path)
    assert run.code == 2
    assert "'XYZ9'" in run.err and option in run.err


def test_exit_zero_reports_but_exits_0(project):
    run = run_cli("--exit-zero", cwd=project)
    assert run.code == 0
    assert "EXL001" in run.out


def test_select_prefix_and_ignore(project):
    assert codes(run_cli("--select", "EXL0", cwd=project).out) == ["EXL001"]
    assert codes(run_cli("--select", "EXL1", cwd=project).out) == ["EXL101", "EXL102", "EXL103"]
    assert codes(run_cli("--ignore", "EXL1", cwd=project).out) == ["EXL001"]
    # The more specific entry wins over a broader one.
    assert codes(run_cli("--select", "EXL1", "--ignore", "EXL102", cwd=project).out) == [
        "EXL101",
        "EXL103",
    ]


def test_extend_select_turns_on_unused_noqa(tmp_path):
    write(tmp_path / "a.py", "x = 1  # noqa: EXL001 kept for history\n")
    assert run_cli(cwd=tmp_path).code == 0
    run = run_cli("--extend-select", "EXL900", cwd=tmp_path)
    assert run.code == 1
    assert "a.py:1:8: EXL900 unused `noqa` code EXL001" in run.out


def test_output_file_gets_the_report(project):
    run = run_cli("--format", "json", "--output", "report.json", cwd=project)
    assert run.code == 1
    assert run.out == ""
    data = json.loads((project / "report.json").read_text())
    assert data["summary"]["diagnostics"] == 4


def test_output_to_unwritable_place_exits_2(project):
    run = run_cli("--output", "missing-dir/report.txt", cwd=project)
    assert run.code == 2
    assert "--output missing-dir/report.txt" in run.err


def test_statistics_counts_per_rule(project):
    out = run_cli("--statistics", cwd=project).out
    assert re.search(r"^\s+1  EXL001  accumulate-then-bulk-write$", out, re.M)
    assert re.search(r"^\s+1  EXL103  extraction-loop-without-stall-guard$", out, re.M)


def test_show_source_draws_the_frame_with_related_locations(project):
    out = run_cli("--show-source", "--select", "EXL001", cwd=project).out
    assert "6 | con.executemany(" in out
    assert "^ `rows` grows here" in out
    assert "^ unbounded loop `for path in paths` with no flush" in out


def test_list_rules_lists_every_rule(tmp_path):
    run = run_cli("--list-rules", cwd=tmp_path)
    assert run.code == 0
    for rule in ALL_RULES:
        assert f"{rule.code}\t{rule.name}\t" in run.out
    assert "EXL900\tunused-noqa\toff\t" in run.out


def test_explain_prints_the_rule_page(tmp_path):
    run = run_cli("--explain", "exl001", cwd=tmp_path)
    assert run.code == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in run.out


def test_explain_unknown_code_exits_2(tmp_path):
    run = run_cli("--explain", "EXL777", cwd=tmp_path)
    assert run.code == 2
    assert "unknown rule code 'EXL777'" in run.err


def test_version(tmp_path):
    run = run_process("--version", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout.strip() == f"extraction-lint {__version__}"


def test_stdin_filename_reports_under_the_given_name(tmp_path):
    run = run_cli(
        "--stdin-filename",
        "src/job.py",
        "--select",
        "EXL001",
        cwd=tmp_path,
        stdin=textwrap.dedent(BROKEN).lstrip().encode(),
    )
    assert run.code == 1
    assert run.out.startswith("src/job.py:6:1: EXL001 ")


def test_dash_reads_stdin(tmp_path):
    run = run_cli(
        "--select", "EXL001", "-", cwd=tmp_path, stdin=textwrap.dedent(BROKEN).lstrip().encode()
    )
    assert run.code == 1
    assert run.out.startswith("-:6:1: EXL001 ")
    named = run_cli(
        "--stdin-filename",
        "job.py",
        "-",
        cwd=tmp_path,
        stdin=textwrap.dedent(CLEAN).lstrip().encode(),
    )
    assert named.code == 0
    assert "All checks passed (1 file checked)." in named.out


def test_stdin_filename_honours_force_exclude(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.extraction-lint]\nextend-exclude = ["gen_*.py"]\n')
    args = ("--stdin-filename", "gen_job.py")
    assert run_cli(*args, cwd=tmp_path, stdin=BROKEN.encode()).code == 1
    run = run_cli(*args, "--force-exclude", cwd=tmp_path, stdin=BROKEN.encode())
    assert run.code == 0
    assert "EXL" not in run.out


def test_fix_without_fixable_findings_changes_nothing(project):
    before = (project / "pkg" / "broken.py").read_text()
    run = run_cli("--no-cache", "--fix", "--select", "EXL102", cwd=project)
    assert run.code == 1
    assert "No automatic fixes available for these findings." in run.err
    assert (project / "pkg" / "broken.py").read_text() == before
    diff = run_cli("--no-cache", "--diff", "--select", "EXL102", cwd=project)
    assert (diff.code, diff.out) == (0, "")


def test_colour_only_on_a_terminal_or_when_forced(project):
    plain = run_process("pkg", cwd=project, env={"NO_COLOR": None, "FORCE_COLOR": None})
    assert "\x1b[" not in plain.stdout
    forced = run_process("pkg", cwd=project, env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert "\x1b[" in forced.stdout
    no_color = run_process("pkg", cwd=project, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout


def test_explicit_file_is_checked_even_if_excluded_unless_forced(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.extraction-lint]\nextend-exclude = ["legacy"]\n')
    write(tmp_path / "legacy" / "job.py", BROKEN)
    assert run_cli(cwd=tmp_path).code == 0  # walked: excluded
    assert run_cli("legacy/job.py", cwd=tmp_path).code == 1  # named: checked
    assert run_cli("--force-exclude", "legacy/job.py", cwd=tmp_path).code == 0


def test_jobs_must_be_positive(tmp_path):
    run = run_cli("-j", "0", cwd=tmp_path)
    assert run.code == 2


def test_rule_pages_render_with_rich_on_a_terminal(tmp_path):
    explain = run_process("--explain", "EXL101", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert explain.returncode == 0
    assert "\x1b[" in explain.stdout and "What it does" in explain.stdout
    listing = run_process("--list-rules", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert listing.returncode == 0
    assert "accumulate-then-bulk-write" in listing.stdout


def test_the_package_passes_its_own_rules():
    from tests.helpers import REPO

    run = run_cli("--no-cache", "--isolated", "--select", "ALL", "extraction_lint", cwd=REPO)
    assert run.code == 0, run.out
    assert "All checks passed" in run.out


def test_a_report_that_cannot_be_written_is_an_error_not_a_traceback(project):
    run = run_process("--no-cache", "--output", "/dev/full", "pkg", cwd=project)
    assert run.returncode == 2
    assert "cannot write the report: No space left on device" in run.stderr
    assert "Traceback" not in run.stderr
    with open("/dev/full", "w") as full:
        redirected = subprocess.run(
            [sys.executable, "-m", "extraction_lint", "--no-cache", "pkg"],
            cwd=project,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert redirected.returncode == 2
    assert "Traceback" not in redirected.stderr


def test_output_dash_is_stdout(project):
    run = run_cli("--no-cache", "--output", "-", "pkg", cwd=project)
    assert "EXL001" in run.out
    assert not (project / "-").exists()


def test_conflicting_or_misplaced_options_are_errors(project):
    assert "cannot be used together" in run_cli("--config", "x.toml", "--isolated", cwd=project).err
    assert "is a directory" in run_cli("--config", "pkg", cwd=project).err
    no_paths = run_cli("--stdin-filename", "a.py", "pkg", cwd=project, stdin=b"x = 1\n")
    assert no_paths.code == 2 and "give no paths" in no_paths.err
    empty = run_cli("--select", "", cwd=project)
    assert empty.code == 2 and "no rule code given" in empty.err


def test_codes_on_the_command_line_are_case_insensitive(project):
    assert codes(run_cli("--no-cache", "--select", "exl0", cwd=project).out) == ["EXL001"]


def test_fix_on_stdin_prints_the_fixed_source(tmp_path):
    source = "import pickle\n\nfor path in paths:\n    data = pickle.load(open(path))\n"
    run = run_cli(
        "--no-cache", "--fix", "--unsafe-fixes", "--select", "EXL101", "--stdin-filename", "job.py",
        cwd=tmp_path, stdin=source.encode(),
    )  # fmt: skip
    assert run.out == (
        "import pickle\nfrom extraction_lint.guardrails import track\n\n"
        "for path in track(paths):\n    data = pickle.load(open(path))\n"
    )
    assert run.code == 0
    diff = run_cli(
        "--no-cache", "--diff", "--unsafe-fixes", "--select", "EXL101",
        "--stdin-filename", "job.py",
        cwd=tmp_path, stdin=source.encode(),
    )  # fmt: skip
    assert diff.code == 1 and "+for path in track(paths):" in diff.out
    quiet = run_cli(
        "--no-cache", "--diff", "--exit-zero", "--stdin-filename", "job.py",
        cwd=tmp_path, stdin=source.encode(),
    )  # fmt: skip
    assert quiet.code == 0
