"""Configuration in pyproject.toml (SPEC 5): found, validated, merged with the command line."""

from __future__ import annotations

import pytest

from tests.helpers import BROKEN, run_cli, write

LOOP_ONLY = """
import pickle

for path in paths:
    data = pickle.load(open(path, "rb"))
"""


def config(tmp_path, body: str) -> None:
    write(tmp_path / "pyproject.toml", "[tool.extraction-lint]\n" + body)


def test_nearest_pyproject_upward_is_used(tmp_path):
    config(tmp_path, 'select = ["EXL001"]\n')
    write(tmp_path / "src" / "pkg" / "job.py", BROKEN)
    run = run_cli(".", cwd=tmp_path / "src" / "pkg")
    assert run.code == 1
    assert [line.split()[1] for line in run.out.splitlines() if ": EXL" in line] == ["EXL001"]


def test_pyproject_without_the_table_is_passed_over(tmp_path):
    config(tmp_path, 'ignore = ["EXL1"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "x"\n')
    write(tmp_path / "sub" / "job.py", BROKEN)
    run = run_cli(cwd=tmp_path / "sub")
    assert "EXL101" not in run.out and "EXL001" in run.out


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('selct = ["EXL001"]\n', "unknown key `selct`"),
        ('select = "EXL001"\n', "`select` must be a list of strings"),
        ('select = ["EXL00X"]\n', "`select`: unknown rule code or prefix 'EXL00X'"),
        ("bounded-range-limit = 0\n", "`bounded-range-limit` must be a positive integer"),
        ('bounded-range-limit = "10"\n', "`bounded-range-limit` must be a positive integer"),
        ('per-file-ignores = ["tests/*"]\n', "`per-file-ignores` must be a table"),
        ('[tool.extraction-lint.per-file-ignores]\n"t/*" = ["BAD1"]\n', "per-file-ignores.t/*"),
        ('extend-sink-methods = ["bulk write"]\n', "'bulk write' is not a method name"),
        ('extend-heartbeat-calls = ["not a name"]\n', "'not a name' is not a valid name"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_bad_configuration_exits_2_naming_the_key(tmp_path, body, named):
    config(tmp_path, body)
    write(tmp_path / "job.py", BROKEN)
    run = run_cli(cwd=tmp_path)
    assert run.code == 2
    assert named in run.err
    assert "pyproject.toml" in run.err
    assert run.out == ""


def test_config_option_reads_another_file(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    write(tmp_path / "lint.toml", 'select = ["EXL101"]\n')
    run = run_cli("--config", "lint.toml", cwd=tmp_path)
    assert [line.split()[1] for line in run.out.splitlines() if ": EXL" in line] == ["EXL101"]


def test_config_option_missing_file_exits_2(tmp_path):
    run = run_cli("--config", "nope.toml", cwd=tmp_path)
    assert run.code == 2
    assert "nope.toml" in run.err


def test_isolated_ignores_configuration(tmp_path):
    config(tmp_path, 'select = ["EXL001"]\nunknown-key = 1\n')
    write(tmp_path / "job.py", BROKEN)
    run = run_cli("--isolated", cwd=tmp_path)
    assert run.code == 1
    assert "EXL101" in run.out


def test_cli_select_replaces_the_files_selection_and_cli_ignore_goes_over_it(tmp_path):
    # As Ruff: the command line's --select starts afresh (the file's ignore too).
    config(tmp_path, 'select = ["EXL001"]\nignore = ["EXL103"]\n')
    write(tmp_path / "job.py", BROKEN)
    run = run_cli("--select", "EXL1", cwd=tmp_path)
    found = [line.split()[1] for line in run.out.splitlines() if ": EXL" in line]
    assert found == ["EXL101", "EXL102", "EXL103"]
    run = run_cli("--ignore", "EXL001", "--extend-select", "EXL102", cwd=tmp_path)
    found = [line.split()[1] for line in run.out.splitlines() if ": EXL" in line]
    assert found == ["EXL102"]


def test_codes_in_the_file_match_in_any_case_as_on_the_command_line(tmp_path):
    # docs/cli.md: "Codes are matched in any case"; `--ignore exl101` was accepted and
    # `ignore = ["exl101"]` refused.
    config(
        tmp_path, 'ignore = ["exl1"]\n[tool.extraction-lint.per-file-ignores]\n"*" = ["exl002"]\n'
    )
    write(tmp_path / "job.py", BROKEN)
    run = run_cli("--no-cache", cwd=tmp_path)
    assert run.code == 1, run.err
    found = [line.split()[1] for line in run.out.splitlines() if ": EXL" in line]
    assert found == ["EXL001"]
    assert run_cli("--no-cache", "--config", 'extend-select = ["exl900"]', cwd=tmp_path).code == 1


def test_per_file_ignores(tmp_path):
    config(tmp_path, '[tool.extraction-lint.per-file-ignores]\n"scripts/*" = ["EXL1"]\n')
    write(tmp_path / "scripts" / "once.py", BROKEN)
    write(tmp_path / "pkg" / "job.py", BROKEN)
    run = run_cli(cwd=tmp_path)
    found = {tuple(line.split()[:2]) for line in run.out.splitlines() if ": EXL" in line}
    assert ("scripts/once.py:6:1:", "EXL001") in found
    assert not any(p.startswith("scripts/") and c.startswith("EXL1") for p, c in found)
    assert ("pkg/job.py:4:1:", "EXL101") in found


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path):
    write(tmp_path / "build" / "gen.py", BROKEN)
    write(tmp_path / "vendor" / "lib.py", BROKEN)
    config(tmp_path, 'extend-exclude = ["vendor"]\n')
    assert run_cli(cwd=tmp_path).code == 0
    config(tmp_path, 'exclude = ["vendor"]\n')
    run = run_cli(cwd=tmp_path)
    assert "build/gen.py" in run.out and "vendor/lib.py" not in run.out


def test_default_excludes_and_virtualenvs_are_not_walked(tmp_path):
    for directory in (".git", "__pycache__", "node_modules", ".tox", "dist", "site-packages"):
        write(tmp_path / directory / "x.py", BROKEN)
    write(tmp_path / "env1" / "pyvenv.cfg", "home = /usr\n")
    write(tmp_path / "env1" / "lib" / "x.py", BROKEN)
    write(tmp_path / "real.py", "x = 1\n")
    run = run_cli(cwd=tmp_path)
    assert run.code == 0
    assert "(1 file checked)" in run.out


def test_bounded_range_limit(tmp_path):
    source = """
    out = []
    for i in range(5000):
        out.append(i)
    con.executemany(SQL, out)
    """
    write(tmp_path / "job.py", source)
    assert run_cli("--select", "EXL001", cwd=tmp_path).code == 1
    config(tmp_path, "bounded-range-limit = 10000\n")
    assert run_cli("--select", "EXL001", cwd=tmp_path).code == 0


def test_extend_sink_methods_and_functions(tmp_path):
    source = """
    import mylib.store

    rows = []
    for rec in records:
        rows.append(rec)
    table.bulk_upsert(rows)
    mylib.store.save_all(rows)
    """
    write(tmp_path / "job.py", source)
    assert run_cli("--select", "EXL001", cwd=tmp_path).code == 0
    config(
        tmp_path,
        'extend-sink-methods = ["bulk_upsert"]\nextend-sink-functions = ["mylib.store.save_all"]\n',
    )
    run = run_cli("--select", "EXL001", cwd=tmp_path)
    assert [line.split(":")[1] for line in run.out.splitlines() if "EXL001" in line] == ["6", "7"]


@pytest.mark.parametrize(
    ("key", "call", "code"),
    [
        ("extend-heartbeat-calls", "ops.beat()", "EXL101"),
        ("extend-heartbeat-calls", "reporter.ping()", "EXL101"),
        ("extend-memory-guard-calls", "ops.check_rss()", "EXL102"),
        ("extend-stall-guard-calls", "watchdog.kick()", "EXL103"),
    ],
)
def test_extend_guard_calls(tmp_path, key, call, code):
    write(tmp_path / "job.py", LOOP_ONLY + f"    {call}\n")
    assert code in run_cli("--select", code, cwd=tmp_path).out
    entry = (
        "ops." + call.split(".")[1][:-2]
        if call.startswith("ops.")
        else "." + call.split(".")[1][:-2]
    )
    config(tmp_path, f'{key} = ["{entry}"]\n')
    run = run_cli("--select", code, cwd=tmp_path)
    assert run.code == 0, run.out


def test_misspelt_table_is_an_error(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.extraction_lint]\nselect = ["EXL001"]\n')
    write(tmp_path / "job.py", BROKEN)
    run = run_cli(cwd=tmp_path)
    assert run.code == 2
    assert "name it [tool.extraction-lint]" in run.err


def test_explicit_pyproject_without_the_table_is_an_error(tmp_path):
    write(tmp_path / "other" / "pyproject.toml", '[project]\nname = "x"\n')
    run = run_cli("--config", "other/pyproject.toml", cwd=tmp_path)
    assert run.code == 2
    assert "no [tool.extraction-lint] table" in run.err


def test_configured_guards_count_as_decorators_of_the_function(tmp_path):
    write(
        tmp_path / "job.py",
        """
        import pickle
        from mylib import limits


        @limits.check_rss("2 GiB")
        @limits.deadline("1h")
        def load(paths):
            for path in paths:
                data = pickle.load(open(path, "rb"))
        """,
    )
    assert {"EXL102", "EXL103"} <= set(
        line.split()[1]
        for line in run_cli("--no-cache", cwd=tmp_path).out.splitlines()
        if ": EXL" in line
    )
    config(
        tmp_path,
        'extend-memory-guard-calls = ["mylib.limits.check_rss"]\n'
        'extend-stall-guard-calls = ["mylib.limits.deadline"]\n',
    )
    run = run_cli("--no-cache", "--select", "EXL102,EXL103", cwd=tmp_path)
    assert run.code == 0, run.out
