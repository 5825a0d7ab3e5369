"""How a user meets the plugin: the entry point, the marker, jobs given by name, xdist, a
machine without psutil, and tests written wrong."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

GROWS = """def keep(n):
    kept = [bytearray(400_000) for _ in range(n)]
    return len(kept)

def stream(n):
    for _ in range(n):
        block = bytearray(400_000)
        del block
"""


def test_the_plugin_is_registered_by_its_entry_point_and_declares_its_marker(
    pytester: pytest.Pytester,
):
    result = pytester.runpytest_subprocess("--markers")
    assert re.search(r"@pytest.mark.memory_limit\(size\): fail the test", result.stdout.str())

    pytester.makepyfile(test_uses="def test_uses(memory_scaling):\n    pass\n")
    assert pytester.runpytest_subprocess("-q").ret == 0
    disabled = pytester.runpytest_subprocess("-q", "-p", "no:extraction_lint")
    disabled.stdout.fnmatch_lines(["*fixture 'memory_scaling' not found*"])


def test_a_job_can_be_named_as_module_function_or_file_function(
    pytester: pytest.Pytester, run_user_tests
):
    pytester.makepyfile(jobs=GROWS)
    (pytester.path / "scripts").mkdir()
    (pytester.path / "scripts" / "job_file.py").write_text(GROWS)
    result = run_user_tests(
        """
        def test_module_keep(memory_scaling):
            memory_scaling("jobs:keep", sizes=[8, 128])

        def test_module_stream(memory_scaling):
            memory_scaling("jobs:stream", sizes=[8, 128])

        def test_file_keep(memory_scaling):
            memory_scaling("scripts/job_file.py:keep", sizes=[8, 128])

        def test_imported_function(memory_scaling):
            from jobs import stream
            memory_scaling(stream, sizes=[8, 128])
        """
    )

    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert re.search(r"in \d+ blocks at jobs.py:2: kept = ", out)
    assert re.search(r"in \d+ blocks at scripts/job_file.py:2: kept = ", out)


def test_it_works_under_xdist_with_two_workers(run_user_tests):
    result = run_user_tests(
        GROWS
        + """
def test_keep(memory_scaling):
    memory_scaling(keep, sizes=[8, 128])

def test_stream(memory_scaling):
    memory_scaling(stream, sizes=[8, 128])

def test_stream_again(memory_scaling):
    memory_scaling(stream, sizes=[16, 64])
""",
        "-n",
        "2",
    )

    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "bringing up nodes" in out
    assert "memory grows with n" in out
    assert re.search(r"in \d+ blocks at test_user.py:2: kept = ", out)


def test_without_psutil_it_judges_traced_allocation_and_says_rss_is_not_measured(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, run_user_tests
):
    hidden = pytester.mkdir("hide_psutil")
    (hidden / "psutil.py").write_text("raise ImportError('psutil is not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", str(hidden))
    result = run_user_tests(
        GROWS
        + """
def test_keep(memory_scaling):
    memory_scaling(keep, sizes=[8, 128])

def test_stream(memory_scaling):
    result = memory_scaling(stream, sizes=[8, 128])
    assert result.rss is None
    assert all(run.peak_rss is None for run in result.runs)
"""
    )

    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "memory grows with n: peak traced Python allocation over the limit" in out
    assert "RSS is not measured: psutil is not installed" in out
    assert re.search(r"^\s*128\s+n/a\s+n/a\s+[\d.]+ MiB", out, re.M)
    # The passing test says so too, as a warning.
    assert "PytestWarning: memory_scaling: RSS is not measured" in out


WRONG_CALLS = [
    ("memory_scaling(stream, sizes=[8])", "sizes: at least two different sizes are needed"),
    ("memory_scaling(stream, sizes='8,32')", "sizes: expected a list of numbers"),
    ("memory_scaling(stream, sizes=[8, -1])", "sizes: -1 is negative"),
    ("memory_scaling(stream, sizes=[1, 2], max_growth='ten')", "max_growth: cannot read 'ten'"),
    ("memory_scaling(stream, sizes=[1, 2], max_slope='fast')", "max_slope: cannot read 'fast'"),
    ("memory_scaling(stream, sizes=[1, 2], timeout=-1)", "timeout: -1 is not a positive"),
    (
        "memory_scaling('stream', sizes=[1, 2])",
        "write a string job as 'package.module:function'",
    ),
    ("memory_scaling(42, sizes=[1, 2])", "job: expected a function taking the size n"),
    (
        "memory_scaling(lambda n: LOCK, sizes=[1, 2])",
        "cannot be sent to a child process: TypeError",
    ),
    (
        "memory_scaling('no_such_module:job', sizes=[1, 2])",
        "the job could not be loaded in the child process: ModuleNotFoundError",
    ),
    (
        "memory_scaling(fails_at_32, sizes=[8, 32])",
        "the job raised at n=32: ValueError: bad 32",
    ),
    (
        "memory_scaling(exits, sizes=[8, 32])",
        "the child process running the job at n=8 ended with status 3 before reporting",
    ),
    (
        "memory_scaling(killed, sizes=[8, 32])",
        "the child process running the job at n=8 was killed by SIGKILL (the kernel's",
    ),
    (
        "memory_scaling(sleeps, sizes=[8, 32], timeout=0.5)",
        "the job did not finish within 0.5 s at n=8",
    ),
    (
        "memory_scaling(yields, sizes=[8, 32])",
        "the job returned a generator at n=8, so its body never ran",
    ),
    (
        "memory_scaling(waits, sizes=[8, 32])",
        "the job returned a coroutine at n=8, so its body never ran",
    ),
    (
        "memory_scaling(raises_unprintable, sizes=[8, 32])",
        "the job raised at n=8: Unprintable",
    ),
]


def test_a_test_written_wrong_fails_with_a_message_that_says_what_is_wrong(run_user_tests):
    header = textwrap.dedent(
        """
        import os
        import threading
        import time

        LOCK = threading.Lock()

        def stream(n):
            return n

        def fails_at_32(n):
            if n == 32:
                raise ValueError(f"bad {n}")

        def exits(n):
            print("leaving now")
            os._exit(3)

        def killed(n):
            os.kill(os.getpid(), 9)

        def sleeps(n):
            time.sleep(30)

        def yields(n):
            yield from range(n)

        async def waits(n):
            return n

        class Unprintable(Exception):
            def __str__(self):
                raise RuntimeError("no text")

        def raises_unprintable(n):
            raise Unprintable()
        """
    )
    tests = "".join(
        f"\n\ndef test_case_{index}(memory_scaling):\n    {call}\n"
        for index, (call, _) in enumerate(WRONG_CALLS)
    )
    result = run_user_tests(header + tests)

    result.assert_outcomes(failed=len(WRONG_CALLS))
    out = result.stdout.str()
    sections = re.split(r"^_+ test_case_(\d+) _+$", out, flags=re.M)
    failures = dict(zip(sections[1::2], sections[2::2], strict=True))
    for index, (call, message) in enumerate(WRONG_CALLS):
        failure = failures[str(index)]
        assert f"memory_scaling: {message}" in failure or (
            "memory_scaling: " in failure and message in failure
        ), (call, failure)
        assert "During handling of the above exception" not in failure, call
        assert "extraction_lint/pytest_plugin" not in failure, (call, "the plugin's own frames")
    assert 'test_user.py", line 12, in fails_at_32' in failures["10"]
    assert "leaving now" in failures["11"]


def test_memory_limit_fails_a_test_body_over_its_limit_and_passes_one_under(run_user_tests):
    result = run_user_tests(
        """
        import pytest

        @pytest.mark.memory_limit("20 MiB")
        def test_over():
            kept = [bytearray(1_000_000) for _ in range(40)]

        @pytest.mark.memory_limit("20 MiB")
        def test_under():
            for _ in range(40):
                block = bytearray(1_000_000)

        @pytest.mark.memory_limit(limit=10_000_000)
        def test_under_in_bytes():
            block = bytearray(1_000_000)

        @pytest.mark.memory_limit("lots")
        def test_bad_size():
            pass

        @pytest.mark.memory_limit()
        def test_no_size():
            pass

        @pytest.mark.memory_limit("20 MiB")
        def test_own_failure_stays_its_own():
            assert 1 == 2
        """
    )

    result.assert_outcomes(passed=2, failed=4)
    out = result.stdout.str()
    assert re.search(
        r"memory_limit 20.0 MiB exceeded by the test body: peak traced Python allocation "
        r"3\d.\d MiB and peak RSS 3\d.\d MiB above its start",
        out,
    ), out
    assert "memory_limit marker: memory_limit: cannot read 'lots' as a size" in out
    assert "memory_limit marker: give one size" in out
    assert "assert 1 == 2" in out


def test_a_session_that_does_not_use_the_plugin_starts_no_child_and_no_tracing(
    pytester: pytest.Pytester,
):
    pytester.makepyfile(
        test_plain="""
        import sys
        import tracemalloc

        def test_plain():
            assert not tracemalloc.is_tracing()
            assert "extraction_lint.pytest_plugin.scaling" not in sys.modules
            assert "extraction_lint.guardrails" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_plugin_module_imports_only_pytest_and_the_standard_library() -> None:
    source = Path(__file__).parents[2] / "extraction_lint" / "pytest_plugin" / "plugin.py"
    top_level = [
        line
        for line in source.read_text().splitlines()
        if line.startswith(("import ", "from ")) and "__future__" not in line
    ]
    assert all(
        line.split()[1].split(".")[0] in {"warnings", "collections", "typing", "pytest"}
        for line in top_level
    ), top_level


def test_the_child_calls_the_job_from_a_shallow_stack(run_user_tests):
    # tracemalloc records up to 16 frames a block and its cost grows with each one, so every
    # frame the child puts under the job slows each allocation the job makes.
    result = run_user_tests(
        """
        import traceback

        def test_depth(memory_scaling, tmp_path):
            def run(n):
                (tmp_path / f"{n}.depth").write_text(str(len(traceback.extract_stack())))

            memory_scaling(run, sizes=[1, 2])
            below_the_job = int((tmp_path / "2.depth").read_text()) - 1
            assert below_the_job <= 3, below_the_job
        """
    )

    result.assert_outcomes(passed=1)
