"""Hostile input costs one file at most: code that libcst's native parser cannot take never
reaches it, valid code it would refuse is still checked, and a file that takes too long is
reported once its time budget runs out, while the rest of the run goes on."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator

import pytest

from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.rules import RULES_BY_CODE
from extraction_lint.rules.base import Finding, Rule
from extraction_lint.source import MAX_CHAIN
from tests.helpers import BROKEN, run_cli, run_process, write

HEAD = "def main(paths, con):\n    rows = []\n    for p in paths:\n        rows.append(p)\n"
TAIL = "    con.executemany('INSERT INTO t VALUES (?)', rows)\n"


def program(middle: str) -> str:
    """The incident's shape (EXL001 on the write) with ``middle`` before the write."""
    return HEAD + middle + TAIL


def chain(word: str, n: int) -> str:
    return "    x = " + f" {word} ".join(["p"] * n) + "\n"


FLAT_CHAINS = {
    "and": chain("and", 8000),
    "or": chain("or", 8000),
    "dotted-import": "    import " + ".".join(["a"] * 8000) + "\n",
    "dotted-from-import": "    from " + ".".join(["a"] * 8000) + " import b\n",
}

CONCATENATIONS = {
    "strings": "    x = (" + " ".join(['"a"'] * 8000) + ")\n",
    "f-strings": "    x = " + " ".join(['f"{p}"'] * 5000) + "\n",
    "strings-over-lines": "    x = (\n"
    + "".join('        "a"  # part\n' for _ in range(6000))
    + "    )\n",
    "strings-continued": "    x = " + " \\\n        ".join(['"a"'] * 5000) + "\n",
    "bytes": "    x = " + " ".join(["b'a'"] * 5000) + "\n",
}


def findings(data: dict, path: str) -> list[tuple[str, int]]:
    return [(d["code"], d["line"]) for d in data["diagnostics"] if d["path"] == path]


def test_flat_chains_never_crash_the_run_even_in_one_process(tmp_path):
    """libcst's parser overflows a main thread's stack on these: the run must not die."""
    for name, middle in FLAT_CHAINS.items():
        write(tmp_path / f"{name}.py", program(middle))
    write(tmp_path / "good.py", BROKEN)
    run = run_process("--format", "json", "--no-cache", "-j", "1", ".", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert ("EXL001", 6) in findings(data, "good.py")
    for name in FLAT_CHAINS:
        # Valid code within the bounds: checked, with the write reported after the chain.
        assert findings(data, f"{name}.py") == [("EXL001", 6)], name


def test_a_chain_longer_than_the_bound_is_refused_before_the_parse(tmp_path):
    write(tmp_path / "long.py", program(chain("and", MAX_CHAIN + 1)))
    write(tmp_path / "dotted.py", program("    import " + ".".join(["a"] * (MAX_CHAIN + 1)) + "\n"))
    write(tmp_path / "good.py", BROKEN)
    run = run_process("--format", "json", "--no-cache", "-j", "1", ".", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert ("EXL001", 6) in findings(data, "good.py")
    messages = {e["path"]: e["message"] for e in data["errors"]}
    assert f"a chain of {MAX_CHAIN + 1} `and` operands" in messages["long.py"]
    assert f"a dotted name of {MAX_CHAIN + 1} parts" in messages["dotted.py"]


@pytest.mark.parametrize("name", sorted(CONCATENATIONS))
def test_long_string_concatenations_are_valid_python_and_checked(name):
    text = program(CONCATENATIONS[name])
    result = check_source(text.encode(), f"{name}.py", CheckOptions())
    assert result.error is None, result.error
    write_line = text.count("\n")
    assert [(d.code, d.line) for d in result.diagnostics] == [("EXL001", write_line)]


def test_a_long_concatenation_keeps_what_the_analysis_reads_of_it():
    """The first literal stays: a query's parameters are still not rows written."""
    query = "'SELECT * FROM t WHERE id IN (?, ?)' " + " ".join(["' '"] * 4000)
    text = (
        "def main(paths, cur):\n"
        "    ids = []\n"
        "    for p in paths:\n"
        "        ids.append(p)\n"
        f"    cur.execute({query}, ids)\n"
    )
    result = check_source(text.encode(), "query.py", CheckOptions())
    assert result.error is None and result.diagnostics == ()


class Endless(Rule):
    """A rule whose check never ends on a file marked ``# endless`` (a stand-in for a
    pathological file)."""

    code = "EXL778"
    name = "endless"
    summary = "Never ends."
    what_it_does = why_bad = example = use_instead = "."

    def check(self, analysis) -> Iterator[Finding]:
        while "# endless" in analysis.module.code:
            with contextlib.suppress(Exception):  # the budget's interruption is not one
                sum(range(1000))
        yield from ()


@pytest.fixture
def endless(monkeypatch):
    """The endless rule, registered (and selectable on the command line)."""
    from extraction_lint import config

    monkeypatch.setitem(RULES_BY_CODE, Endless.code, Endless)
    monkeypatch.setattr(config, "ALL_RULES", (*config.ALL_RULES, Endless))
    return Endless


def test_a_file_over_its_time_budget_is_reported_and_not_cached(endless):
    options = CheckOptions(enabled=frozenset({"EXL001", endless.code}), file_timeout=0.5)
    result = check_source((BROKEN + "# endless\n").encode(), "slow.py", options)
    assert result.error is not None
    assert "per-file time budget of 0.5 s" in result.error.message
    assert result.transient
    # The next file is checked as usual once the endless one is stopped.
    next_file = check_source(BROKEN.encode(), "next.py", options)
    assert [d.code for d in next_file.diagnostics] == ["EXL001"]


def test_the_run_goes_on_after_a_file_over_its_budget(endless, tmp_path):
    write(tmp_path / "a_slow.py", BROKEN + "# endless\n")
    write(tmp_path / "b_good.py", BROKEN)
    cache = tmp_path / "cache"
    args = ("--format", "json", "--cache-dir", str(cache), "-j", "1")
    run = run_cli(
        *args, "--select", "EXL001,EXL778", "--per-file-timeout", "0.5", ".", cwd=tmp_path
    )
    assert run.code == 1, run.err
    data = json.loads(run.out)
    assert ("EXL001", 6) in findings(data, "b_good.py")
    assert [e["path"] for e in data["errors"]] == ["a_slow.py"]
    assert "per-file-timeout" in data["errors"][0]["message"]
    # Not cached: without the budget the file is checked again (and fully, here: the
    # endless rule is not selected).
    again = run_cli(*args, "--select", "EXL001", "--per-file-timeout", "0", ".", cwd=tmp_path)
    again_data = json.loads(again.out)
    assert again_data["errors"] == []
    assert ("EXL001", 6) in findings(again_data, "a_slow.py")


BUDGET = "--per-file-timeout"
MEMORY = "--per-file-memory must be a size of at least 1 GiB"


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        *(("--per-file-timeout", value, BUDGET) for value in ("-1", "abc", "nan", "1e9")),
        *(("--per-file-memory", value, MEMORY) for value in ("512MiB", "lots", "-1", "1e400GiB")),
    ],
)
def test_a_bad_time_budget_or_memory_bound_is_a_usage_error(tmp_path, option, value, expected):
    write(tmp_path / "good.py", BROKEN)
    run = run_cli(option, value, ".", cwd=tmp_path)
    assert run.code == 2
    assert expected in run.err


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        *(("per-file-timeout", value, "per-file-timeout") for value in ("-1", '"ten"', "true")),
        *(
            ("per-file-memory", value, "`per-file-memory` must be a size of at least 1 GiB")
            for value in ('"100 MiB"', "true", "[1]", '"ten"')
        ),
    ],
)
def test_a_bad_budget_in_the_configuration_is_a_configuration_error(tmp_path, key, value, expected):
    write(tmp_path / "pyproject.toml", f"[tool.extraction-lint]\n{key} = {value}\n")
    write(tmp_path / "good.py", BROKEN)
    run = run_cli(".", cwd=tmp_path)
    assert run.code == 2
    assert expected in run.err


def test_the_time_budget_from_the_configuration_applies(endless, tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.extraction-lint]\nper-file-timeout = 0.5\n")
    write(tmp_path / "slow.py", BROKEN + "# endless\n")
    run = run_cli("--format", "json", "--no-cache", "--select", "EXL778", ".", cwd=tmp_path)
    data = json.loads(run.out)
    assert [e["path"] for e in data["errors"]] == ["slow.py"]
    assert "0.5 s" in data["errors"][0]["message"]


@pytest.mark.parametrize(
    ("codec", "reason"),
    [
        ("punycode", "cannot decode as punycode"),
        ("hex", "'hex' (the coding declaration) is not a text encoding"),
        ("zlib", "'zlib' (the coding declaration) is not a text encoding"),
        ("rot13", "'rot13' (the coding declaration) is not a text encoding"),
        ("no-such-codec", "unknown encoding"),
    ],
)
def test_a_codec_that_cannot_decode_the_file_is_a_clear_error(tmp_path, codec, reason):
    write(tmp_path / "declared.py", f"# coding: {codec}\n" + BROKEN)
    write(tmp_path / "good.py", BROKEN)
    run = run_cli("--format", "json", "--no-cache", ".", cwd=tmp_path)
    assert run.code == 1, run.err
    data = json.loads(run.out)
    assert ("EXL001", 6) in findings(data, "good.py")
    [error] = data["errors"]
    assert error["path"] == "declared.py"
    assert reason in error["message"]
    assert "internal error" not in error["message"]


def test_fix_on_a_file_whose_codec_cannot_encode_the_fix_leaves_it_and_goes_on(tmp_path):
    long_name = "connection_to_the_database_of_the_signals_and_subjects_extracted_here"
    source = (
        "# coding: idna\n"
        "import pickle\n\n\n"
        f"def main(paths, {long_name}):\n"
        "    rows = []\n"
        "    for p in paths:\n"
        "        rows.append(pickle.load(p))\n"
        f'    {long_name}.executemany("x", rows)\n'
    )
    declared = tmp_path / "declared.py"
    declared.write_bytes(source.encode("utf-8"))
    write(tmp_path / "good.py", BROKEN)
    run = run_process("--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    assert "declared.py" in run.stderr and "idna" in run.stderr
    assert declared.read_bytes() == source.encode("utf-8")
    assert "from extraction_lint.guardrails import track" in (tmp_path / "good.py").read_text()


def test_terminal_escape_sequences_quoted_from_source_are_escaped_in_text(tmp_path):
    header = 'for p in glob("\x1b[31mred\x1b]0;title\x07\u202e"):'
    source = f"import pickle\nrows = []\n{header}\n    rows.append(pickle.load(p))\n"
    source += 'con.executemany("x", rows)\n'
    (tmp_path / "e.py").write_text(source, encoding="utf-8")
    run = run_process("--no-cache", "--show-source", ".", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "EXL101" in run.stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in run.stdout
    assert "\\x1b[31mred\\x1b]0;title\\x07\\u202e" in run.stdout


def many_loops(n: int) -> str:
    """One function with ``n`` extraction loops one after the other."""
    body = "".join(
        f"    for p{i} in paths:\n        con.executemany('x', pickle.load(p{i}))\n"
        for i in range(n)
    )
    return "import pickle\n\n\ndef main(paths, con):\n" + body


def test_the_guard_analysis_of_a_loop_looks_only_inside_it(monkeypatch):
    """Finding a loop's guards must not scan the events of every other loop of its
    function: with twice the loops, the work (events looked at) doubles, not quadruples.
    Counted, not timed."""
    from extraction_lint.analysis import model

    counted = {"n": 0}
    original = model.Loop.contains

    def contains(self, order):
        counted["n"] += 1
        return original(self, order)

    monkeypatch.setattr(model.Loop, "contains", contains)
    work = {}
    for n in (100, 400):
        counted["n"] = 0
        result = check_source(many_loops(n).encode(), "loops.py", CheckOptions())
        assert len(result.diagnostics) == 3 * n  # EXL101-103 on every loop
        work[n] = counted["n"]
    assert work[400] <= 5 * work[100], work


def test_a_check_runs_even_where_no_thread_can_be_started(monkeypatch):
    """Where address space is limited, a smaller stack is tried, then the check runs inline."""
    import threading

    from extraction_lint import budget

    sizes = []

    def refuse(self):
        sizes.append(threading.stack_size())
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    result = check_source(BROKEN.encode(), "good.py", CheckOptions(file_timeout=5))
    assert [d.code for d in result.diagnostics if d.code == "EXL001"] == ["EXL001"]
    assert sizes[:2] == [budget.STACK_SIZE, budget.STACK_SIZE // 8]


def huge_module(lines: int) -> str:
    """A module of ``lines`` plain statements below the broken job (a generated file)."""
    body = "".join(f'value_{i} = compute({i}, "{i}") + other_{i}\n' for i in range(lines))
    return BROKEN + body


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_needs_more_than_per_file_memory_costs_only_itself(tmp_path, jobs):
    write(tmp_path / "a_huge.py", huge_module(40_000))  # about 2 MB: checked alone with -j 1
    write(tmp_path / "b_good.py", BROKEN)
    args = ("--format", "json", "--no-cache", "-j", jobs, "--per-file-memory", "1GiB", ".")
    run = run_process(*args, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert [e["path"] for e in data["errors"]] == ["a_huge.py"], data["errors"]
    assert "per-file-memory is 1.0 GiB" in data["errors"][0]["message"]
    assert ("EXL001", 6) in findings(data, "b_good.py")


@pytest.mark.parametrize(
    ("value", "expected"), [('"4 GiB"', 4 * 2**30), (str(3 * 2**30), 3 * 2**30), ("0", 0)]
)
def test_the_memory_bound_from_the_configuration_is_read(tmp_path, value, expected):
    from extraction_lint.config import load_config

    write(tmp_path / "pyproject.toml", f"[tool.extraction-lint]\nper-file-memory = {value}\n")
    assert load_config(tmp_path / "pyproject.toml").per_file_memory == expected


def test_the_default_memory_bound_is_half_the_machine_and_at_least_2_gib():
    from extraction_lint.runner import cgroup_memory_limit, default_file_memory

    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    total = min(total, cgroup_memory_limit() or total)
    assert default_file_memory() == max(total // 2, 2 * 2**30)


def test_a_memory_error_while_analysing_costs_the_file_and_is_not_cached(monkeypatch):
    from extraction_lint import engine

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(engine, "_check", exhausted)
    options = CheckOptions(file_memory=2**31)
    result = check_source(BROKEN.encode(), "job.py", options)
    assert result.error is not None
    assert result.error.message == (
        "cannot check: ran out of memory while analysing this file (per-file-memory is 2.0 GiB)"
    )
    assert result.transient


def test_no_reminder_of_an_ended_budget_escapes_the_check_thread(monkeypatch):
    import threading
    import time

    from extraction_lint import budget

    escaped: list[type[BaseException] | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_type))

    def stubborn() -> int:
        # Takes two reminders and goes on, then gives up at the third: the reminders
        # keep coming until the thread has ended.
        taken, start = 0, time.monotonic()
        while time.monotonic() - start < 0.3:
            try:
                sum(range(1000))
            except budget.BudgetExceeded:
                taken += 1
                if taken > 2:
                    raise
        return 1

    for _ in range(20):
        assert budget.run_bounded(stubborn, 0.01) == (False, None)
    time.sleep(0.2)
    assert escaped == []


def test_a_control_group_memory_limit_lowers_the_default_bound(tmp_path):
    from extraction_lint.runner import cgroup_memory_limit

    membership = tmp_path / "cgroup"
    root = tmp_path / "sys"
    # v2: the job's group has no limit of its own, the group above it has 3 GiB.
    membership.write_text("0::/batch/job-17\n")
    write(root / "batch" / "job-17" / "memory.max", "max\n")
    write(root / "batch" / "memory.max", f"{3 * 2**30}\n")
    assert cgroup_memory_limit(str(membership), str(root)) == 3 * 2**30
    # v1: the memory controller's own hierarchy; about 2**63 means no limit.
    membership.write_text("4:memory:/docker/abc\n3:cpuset:/\n")
    write(root / "memory" / "docker" / "abc" / "memory.limit_in_bytes", f"{2**31}\n")
    write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    assert cgroup_memory_limit(str(membership), str(root)) == 2**31
    # No group files to read (not Linux, or not mounted): no limit known.
    assert cgroup_memory_limit(str(tmp_path / "none"), str(root)) is None
