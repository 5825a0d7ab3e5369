"""A healthy run raises nothing and leaves nothing behind; a tripped guard stays tripped."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import RunChild

pytestmark = pytest.mark.slow


def test_a_healthy_run_raises_nothing_and_cleans_up_threads_signals_and_timers(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import faulthandler, json, signal, threading, time
        from extraction_lint.guardrails import guard

        def state():
            return {
                "threads": sorted(t.name for t in threading.enumerate()),
                "handler": repr(signal.getsignal(signal.SIGVTALRM)),
                "cpu_timer": signal.getitimer(signal.ITIMER_VIRTUAL),
            }

        before = state()
        with open("out.bin", "wb") as out:
            with guard(total=20, label="extract", heartbeat_every=0.2, memory_limit="4 GiB",
                       stall_timeout=0.5, timeout=60, watch_output="out.bin",
                       output_stall=5, grace=0.3) as g:
                inside = state()
                for i in g.track(range(20)):
                    time.sleep(0.05)
                    out.write(b"x" * 100)
                    out.flush()
                    g.tick(rows=3)
                g.check()
                reading = g.check_memory()
        after = state()
        # Longer than stall_timeout + grace + 1 s: a last-resort timer left armed would
        # end the process here.
        time.sleep(2.5)
        print(json.dumps({"before": before, "inside": inside, "after": after,
                          "done": g.done, "rss": reading.rss, "rows": g.snapshot().counters}))
        """
    )
    assert result.returncode == 0, result.explain()
    report = json.loads(result.stdout)
    assert report["done"] == 20
    assert report["rows"] == {"rows": 60}
    assert report["rss"] > 0
    watchdogs = [n for n in report["inside"]["threads"] if "guardrails-watchdog" in n]
    assert watchdogs == ["extraction_lint.guardrails-watchdog[extract]"]
    assert report["after"] == report["before"]  # thread gone, handler and timer restored
    assert report["inside"]["handler"] != report["before"]["handler"]
    assert not result.records("ERROR"), result.explain()
    assert "extract: finished: 20/20 items" in result.stderr


def test_a_swallowed_error_is_raised_again_at_the_next_item(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import DeadlineExceeded, guard

        swallowed = 0
        try:
            with guard(total=50, label="extract", timeout=0.45, heartbeat_every=60) as g:
                for i in g.track(range(50)):
                    try:
                        time.sleep(0.3)  # the deadline falls inside the second item
                    except Exception:  # a per-item "skip bad files" handler
                        swallowed += 1
        except DeadlineExceeded as error:
            print(f"stopped after {g.done} items, {swallowed} swallowed: {error.summary}")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.startswith(
        "stopped after 2 items, 1 swallowed: extract: timeout of 0.45s"
    ), result.explain()


def test_a_guard_bound_to_a_name_guards_the_loop_that_tracks_it(run_child: RunChild) -> None:
    result = run_child(
        """
        import threading, time
        from extraction_lint.guardrails import StallDetected, guard

        g = guard(label="extract", stall_timeout=0.5, heartbeat_every=60)
        try:
            for i in g.track(range(3)):  # no `with`: track enters and leaves the guard
                time.sleep(0.1 if i == 0 else 5)
        except StallDetected as error:
            print(error.summary)
        print([t.name for t in threading.enumerate()])
        """
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert re.match(r"extract: no progress for [\d.]+s \(stall_timeout 0\.5s\)", lines[0])
    assert lines[1] == "['MainThread']"


def test_keyboard_interrupt_ends_the_block_like_any_exception(run_child: RunChild) -> None:
    result = run_child(
        """
        import os, signal, threading, time
        from extraction_lint.guardrails import guard

        # A background job starts with SIGINT ignored: ask for Ctrl-C's usual handling.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            with guard(total=100, label="extract", stall_timeout=5, heartbeat_every=60) as g:
                for i in g.track(range(100)):
                    time.sleep(0.05)
        except KeyboardInterrupt:
            print("interrupted at", g.done)
        print(sorted(t.name for t in threading.enumerate()))
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.startswith("interrupted at ")
    assert "guardrails-watchdog" not in result.stdout
    assert "extract: stopped by KeyboardInterrupt: " in result.stderr


def test_an_error_a_library_turned_into_its_own_is_reported_as_the_guards(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import DeadlineExceeded, guard

        def query():
            # What a C extension such as DuckDB does: take the exception the signal
            # handler raised, drop it, and fail with an error of its own.
            interrupted = False
            try:
                time.sleep(30)
            except BaseException:
                interrupted = True
            if interrupted:
                raise RuntimeError("Query interrupted")

        try:
            with guard(total=1, label="load", timeout=0.5, heartbeat_every=60) as g:
                for batch in g.track(["batch-1"]):
                    query()
        except DeadlineExceeded as error:
            print(error.summary)
            print("because of:", type(error.__cause__).__name__, error.__cause__)
        """
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("load: timeout of 0.5s exceeded"), result.explain()
    assert lines[1] == "because of: RuntimeError Query interrupted"
    assert "load: stopped by DeadlineExceeded" in result.stderr


def test_an_error_translated_on_purpose_is_left_alone(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import StallDetected, guard

        class JobFailed(Exception):
            pass

        try:
            with guard(total=2, label="extract", stall_timeout=0.5, heartbeat_every=60) as g:
                for path in g.track(["a", "b"]):
                    try:
                        time.sleep(30)
                    except StallDetected as error:
                        raise JobFailed(f"gave up on {path}") from error
        except JobFailed as error:
            print(f"{type(error).__name__}: {error} <- {type(error.__cause__).__name__}")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "JobFailed: gave up on a <- StallDetected"


def test_a_job_that_swallows_the_error_and_sits_still_is_ended_after_the_grace_period(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import signal, time
        from extraction_lint.guardrails import guard

        with guard(total=2, label="extract", stall_timeout=0.5, grace=1, heartbeat_every=60) as g:
            for path in g.track(["a", "b"]):
                try:
                    time.sleep(30)
                except BaseException:
                    print("swallowed", flush=True)  # and on to something that never ends
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM})
                time.sleep(30)
        print("not reached")
        """
    )
    assert result.returncode == 1, result.explain()
    assert result.stdout == "swallowed\n"
    # A second stall_timeout after the error was raised comes before the grace period.
    assert 0.5 + 0.5 <= result.elapsed < 0.5 + 1.0 + 6
    assert "extract: a second stall: StallDetected was raised in thread MainThread " in (
        result.stderr
    )


def test_the_longest_durations_accepted_arm_every_timer_without_an_error(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard
        from extraction_lint.guardrails.units import MAX_DURATION

        with guard(total=3, label="extract", heartbeat_every=MAX_DURATION,
                   stall_timeout=MAX_DURATION, timeout=MAX_DURATION, grace=MAX_DURATION,
                   watch_output="out.bin", memory_limit="4 GiB", display="log") as g:
            for i in g.track(range(3)):
                time.sleep(1.1)  # the watchdog re-arms both timers every second
        print("done", g.done)
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout == "done 3\n"
    assert "Traceback" not in result.stderr, result.explain()
    assert not result.records("ERROR"), result.explain()


def test_an_error_tripped_while_the_guard_is_entered_is_raised_inside_the_block(
    run_child: RunChild,
) -> None:
    # A 1-byte limit trips at the watchdog's first reading, sometimes before the
    # `with` statement has finished entering. Raised there, the error escaped before
    # the block and left a watchdog that nobody stopped, which ended the process a
    # grace period later.
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import MemoryLimitExceeded, guard

        escaped = inside = 0
        for attempt in range(40):
            entered = False
            try:
                with guard(label=f"hungry{attempt}", memory_limit=1, grace=1,
                           heartbeat_every=None):
                    entered = True
                    time.sleep(0.3)
            except MemoryLimitExceeded:
                inside += entered
                escaped += not entered
        print("inside", inside, "escaped", escaped, flush=True)
        time.sleep(2.5)  # longer than grace + the last resort's margin
        print("alive")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout == "inside 40 escaped 0\nalive\n", result.explain()
