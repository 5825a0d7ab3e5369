"""Stall and timeout: the error reaches the main thread wherever it is stuck.

Each case runs a job whose second item gets stuck in one of these ways:

- ``sleep``: ``time.sleep`` for far longer than the limit;
- ``read``: a blocking read on a pipe that never gets data;
- ``regex``: catastrophic backtracking, busy in C code holding the GIL;
- ``gil-held-sleep``: a C call holding the GIL that never checks for signals
  (libc ``sleep`` through ``ctypes.PyDLL``): no Python code can run anywhere;
- ``signal-blocked``: the main thread blocks the signal the guard uses.

The first three must get the error raised in the main thread (the job catches it
and exits 3); the last two cannot, and must end the process instead.

A regex that holds the GIL is reached only by the guard's CPU-time timer, which runs
slower than the clock when other processes share the CPU; the wall-clock last resort
would then end the process first. Its case gets a grace period of ``REGEX_GRACE`` so
that it tests the raise, not the machine's load.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from .conftest import ChildResult, RunChild

pytestmark = pytest.mark.slow

REGEX_GRACE = 10.0

JOB = """
import ctypes, os, re, signal, sys, time
from extraction_lint.guardrails import DeadlineExceeded, StallDetected, guard

kind, how, catch = sys.argv[1], sys.argv[2], sys.argv[3] == "catch"
limits = {"stall": {"stall_timeout": 1}, "deadline": {"timeout": 1.5}}[kind]
grace = {"regex": REGEX_GRACE_VALUE}.get(how, 1)

def stuck_in_sleep():
    time.sleep(60)

def stuck_in_read():
    readable, writable = os.pipe()
    os.read(readable, 1)

def stuck_in_regex():
    re.match(r"(a+)+$", "a" * 40 + "b")

def stuck_in_gil_held_sleep():
    ctypes.PyDLL(None).sleep(60)

def stuck_in_signal_blocked():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM})
    time.sleep(60)

stuck = globals()["stuck_in_" + how.replace("-", "_")]
start = time.monotonic()
try:
    with guard(total=3, label="extract", heartbeat_every=60, grace=grace, **limits) as g:
        for path in g.track(["a.pkl", "b.pkl", "c.pkl"]):
            if path == "b.pkl":
                stuck()
            print("finished", path, flush=True)
except (StallDetected, DeadlineExceeded) as error:
    if not catch:
        raise
    print(f"CAUGHT {type(error).__name__} after {time.monotonic() - start:.2f}s")
    print(error)
    sys.exit(3)
""".replace("REGEX_GRACE_VALUE", str(REGEX_GRACE))

RAISED = ["sleep", "read", "regex"]


def assert_names_the_stuck_item(text: str) -> None:
    assert re.search(r"after 1/3 items \(33\.3%\), current item 'b\.pkl'", text), text


@pytest.mark.parametrize("how", RAISED)
def test_stall_is_raised_in_the_main_thread_with_every_threads_stack(
    run_child: RunChild, how: str
) -> None:
    result = run_child(JOB, "stall", how, "catch")
    assert result.returncode == 3, result.explain()
    assert result.stdout.startswith("finished a.pkl\nCAUGHT StallDetected after ")
    caught_after = float(re.search(r"after ([\d.]+)s", result.stdout)[1])  # type: ignore[index]
    slack = REGEX_GRACE if how == "regex" else 2.0
    assert 1.0 <= caught_after < 1.0 + slack  # stall_timeout, plus less than the grace...
    assert result.elapsed < 1.0 + slack + 4.0  # ...and from outside: start-up and slack
    assert re.search(r"extract: no progress for \d+\.\ds \(stall_timeout 1\.0s\)", result.stdout)
    assert_names_the_stuck_item(result.stdout)
    # The dump shows where the main thread stood, down to the stuck function.
    dump = result.stdout[result.stdout.index("Thread stacks at detection:") :]
    assert 'Thread "MainThread"' in dump
    assert f"in stuck_in_{how}" in dump
    assert "finished b.pkl" not in result.stdout


@pytest.mark.parametrize("how", RAISED)
def test_timeout_is_raised_in_the_main_thread(run_child: RunChild, how: str) -> None:
    result = run_child(JOB, "deadline", how, "catch")
    assert result.returncode == 3, result.explain()
    assert "CAUGHT DeadlineExceeded after " in result.stdout
    caught_after = float(re.search(r"after ([\d.]+)s", result.stdout)[1])  # type: ignore[index]
    slack = REGEX_GRACE if how == "regex" else 2.0
    assert 1.5 <= caught_after < 1.5 + slack
    assert result.elapsed < 1.5 + slack + 4.0
    assert re.search(r"extract: timeout of 1\.5s exceeded \(running for [\d.]+s\)", result.stdout)
    assert_names_the_stuck_item(result.stdout)
    assert f"in stuck_in_{how}" in result.stdout


def test_an_uncaught_stall_in_c_code_ends_the_process_non_zero_with_the_message(
    run_child: RunChild,
) -> None:
    result = run_child(JOB, "stall", "regex", "no-catch")
    assert result.returncode == 1, result.explain()
    assert result.elapsed < 1.0 + REGEX_GRACE + 4.0
    last = result.stderr.strip().splitlines()
    assert any(
        line.startswith("extraction_lint.guardrails.errors.StallDetected: extract: no progress")
        for line in last
    ), result.explain()
    assert "in stuck_in_regex" in result.stderr


def assert_process_ended(result: ChildResult, limit: float) -> None:
    assert result.returncode == 1, result.explain()
    assert "CAUGHT" not in result.stdout
    assert "finished b.pkl" not in result.stdout
    # limit + grace (1 s) + the last-resort margin (1 s), plus start-up and slack.
    assert limit + 1.0 <= result.elapsed < limit + 2.0 + 6.0, result.explain()


@pytest.mark.parametrize("kind", ["stall", "deadline"])
def test_gil_held_forever_in_c_ends_the_process_with_a_stack_dump(
    run_child: RunChild, kind: str
) -> None:
    result = run_child(JOB, kind, "gil-held-sleep", "catch")
    assert_process_ended(result, 1.0 if kind == "stall" else 1.5)
    # No Python code can run: faulthandler's C timer writes the dump and exits.
    assert "Timeout (0:00:0" in result.stderr
    assert re.search(r'File ".*child_0\.py", line \d+ in stuck_in_gil_held_sleep', result.stderr)


FIRST_ITEM_HELD = """
import ctypes, sys
from extraction_lint.guardrails import guard

with guard(total=2, label="extract", stall_timeout=1, grace=1, display=sys.argv[1]) as g:
    for path in g.track(["a.pkl", "b.pkl"]):
        # At once, before the watchdog thread has had a single round.
        ctypes.PyDLL(None).sleep(30)
        print("finished", path, flush=True)
print("never stopped")
"""


@pytest.mark.parametrize("display", ["bar", "log", "off"])
def test_gil_held_from_the_first_item_on_ends_the_process_too(
    run_child: RunChild, display: str
) -> None:
    result = run_child(FIRST_ITEM_HELD, display)
    assert result.returncode == 1, result.explain()
    assert "finished a.pkl" not in result.stdout
    assert "Timeout (0:00:0" in result.stderr, result.explain()
    assert 2.0 <= result.elapsed < 3.0 + 6.0, result.explain()


@pytest.mark.parametrize("kind", ["stall", "deadline"])
def test_a_main_thread_that_ignores_the_error_is_ended_after_the_grace_period(
    run_child: RunChild, kind: str
) -> None:
    result = run_child(JOB, kind, "signal-blocked", "catch")
    assert_process_ended(result, 1.0 if kind == "stall" else 1.5)
    name = "StallDetected" if kind == "stall" else "DeadlineExceeded"
    assert re.search(rf"^{name}: extract: ", result.stderr, re.MULTILINE), result.explain()
    assert (
        "extract: thread MainThread did not respond within the grace period of 1.0s; "
        "ending the process (exit status 1)." in result.stderr
    )
    assert "in stuck_in_signal_blocked" in result.stderr


SWALLOWER = """
import sys, time
from extraction_lint.guardrails import guard

kind, calls_guard = sys.argv[1], sys.argv[2] == "ticks"
limits = {"stall": {"stall_timeout": 1}, "deadline": {"timeout": 1}}[kind]
start = time.monotonic()
with guard(label="extract", heartbeat_every=60, grace=30, **limits) as g:
    # Swallows every exception, the guard's too, and keeps moving: a different line
    # at every step, so the grace period for a thread stuck in one place never ends.
    while time.monotonic() - start < 20:
        try:
            for step in range(5):
                time.sleep(0.05)
                if calls_guard:
                    g.tick(steps=1)
        except BaseException:
            pass
print("not stopped")
"""


@pytest.mark.parametrize(
    ("kind", "calls"), [("stall", "no-ticks"), ("deadline", "no-ticks"), ("deadline", "ticks")]
)
def test_a_loop_that_swallows_the_error_and_goes_on_is_ended_at_the_second_stall_or_timeout(
    run_child: RunChild, kind: str, calls: str
) -> None:
    result = run_child(SWALLOWER, kind, calls)
    assert result.returncode == 1, result.explain()
    assert "not stopped" not in result.stdout
    name, what = ("StallDetected", "stall") if kind == "stall" else ("DeadlineExceeded", "timeout")
    # The first error at about 1 s, the second one stall_timeout or timeout later: far
    # sooner than the 30 s grace for a thread stuck in one place.
    assert result.elapsed < 1.0 + 1.0 + 8.0, result.explain()
    assert re.search(rf"^{name}: extract: ", result.stderr, re.MULTILINE), result.explain()
    assert re.search(
        rf"^extract: a second {what}: {name} was raised in thread MainThread [\d.]+s ago and the "
        r"block is still running \(the error was caught and not acted on\); ending the process "
        r"\(exit status 1\)\.$",
        result.stderr,
        re.MULTILINE,
    ), result.explain()
    assert "Thread stacks now:" in result.stderr


def test_a_job_that_takes_the_error_and_cleans_up_within_the_period_ends_as_it_chooses(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import StallDetected, guard

        try:
            with guard(label="extract", heartbeat_every=60, stall_timeout=1, grace=30):
                try:
                    time.sleep(30)
                except StallDetected:
                    for _ in range(10):  # saves partial results, well within stall_timeout
                        time.sleep(0.03)
                    raise
        except StallDetected:
            print("cleaned up")
        time.sleep(2.5)  # longer than a second stall: nothing is armed any more
        print("still alive")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout == "cleaned up\nstill alive\n"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_a_stall_in_c_code_is_raised_when_other_processes_share_the_cpu(
    run_child: RunChild,
) -> None:
    # The job and three busy processes on one CPU: the job gets about a quarter of
    # it, so its CPU time runs about four times slower than the clock.
    cpu = min(os.sched_getaffinity(0))
    hogs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass",
            ]
        )
        for _ in range(3)
    ]
    try:
        result = run_child(
            f"import os\nos.sched_setaffinity(0, {{{cpu}}})\n"
            + JOB.replace("grace = {", "grace = 1 or {"),
            "stall",
            "regex",
            "catch",
        )
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    # Raised inside the regular expression before the last resort (stall + grace + 1 s
    # of wall time) ends the process.
    assert result.returncode == 3, result.explain()
    assert "CAUGHT StallDetected after " in result.stdout
