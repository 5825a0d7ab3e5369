"""Memory limit: a job that piles numpy rows up stops long before twice its limit."""

from __future__ import annotations

import re

import pytest

from .conftest import RunChild

pytestmark = pytest.mark.slow

MIB = 2**20


def reported_total_mib(message: str) -> float:
    """The 'RSS a + swap b = c' figure of a MemoryLimitExceeded message, in MiB."""
    match = re.search(r"= ([\d.]+) (MiB|GiB)", message)
    assert match, message
    return float(match[1]) * (1024 if match[2] == "GiB" else 1)


def test_growth_across_items_stops_with_figures_progress_and_item(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys, time
        import numpy as np
        from extraction_lint.guardrails import MemoryLimitExceeded, guard, read_memory

        rows = []  # the incident: every file's arrays kept for one write at the end
        try:
            with guard(total=400, label="extract", memory_limit="250 MiB",
                       heartbeat_every=60) as g:
                for path in g.track([f"file_{i:03d}.pkl" for i in range(400)]):
                    rows.append(np.ones(4 * 2**20 // 8))  # 4 MiB per file
                    time.sleep(0.003)
        except MemoryLimitExceeded as error:
            print(f"RSS_AT_STOP {read_memory().rss}")
            print(f"ERROR {error}")
            sys.exit(3)
        """
    )
    assert result.returncode == 3, result.explain()
    message = result.stdout.split("ERROR ", 1)[1]
    assert message.startswith("extract: memory limit exceeded: RSS ")
    assert re.search(r"over memory_limit 250\.0+ MiB", message), message
    assert re.search(r"after (\d+)/400 items \(\d+\.\d%\), current item 'file_\d{3}.pkl'", message)
    done = int(re.search(r"after (\d+)/400", message)[1])  # type: ignore[index]
    assert 20 <= done < 400
    assert 250 < reported_total_mib(message) < 2 * 250
    rss_at_stop = int(re.search(r"RSS_AT_STOP (\d+)", result.stdout)[1])  # type: ignore[index]
    assert rss_at_stop < 2 * 250 * MIB
    assert "MemoryLimitExceeded: extract: memory limit exceeded" in result.stderr  # logged too


def test_the_watchdog_stops_growth_inside_one_long_item(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        import numpy as np
        from extraction_lint.guardrails import guard

        def load_everything(path):
            chunks = []
            while True:  # one item that never ends, growing as it goes
                chunks.append(np.ones(2**20 // 8))
                time.sleep(0.001)

        with guard(total=3, label="extract", memory_limit="200 MiB", heartbeat_every=60) as g:
            for path in g.track(["a.pkl", "b.pkl", "c.pkl"]):
                load_everything(path)
                print("an item finished")
        """
    )
    assert result.returncode == 1, result.explain()
    assert "an item finished" not in result.stdout
    # Uncaught: the traceback points into the item, where the growth happened.
    traceback = result.stderr[result.stderr.index("Traceback") :]
    assert "in load_everything" in traceback
    last = traceback.strip().splitlines()[-1]
    assert last.startswith(
        "extraction_lint.guardrails.errors.MemoryLimitExceeded: extract: memory limit exceeded"
    ), last
    assert "after 0/3 items (0.0%), current item 'a.pkl'" in last
    assert reported_total_mib(last) < 2 * 200


def test_memory_guard_alone_checks_once_per_item(run_child: RunChild) -> None:
    result = run_child(
        """
        import numpy as np
        from extraction_lint.guardrails import MemoryGuard, MemoryLimitExceeded

        memory = MemoryGuard("150 MiB", label="cache")
        cache, checked = {}, 0
        try:
            for key in range(10_000):
                cache[key] = np.ones(2**20 // 8)
                memory.check()
                checked += 1
        except MemoryLimitExceeded as error:
            print(f"stopped at {checked}: {error.rss + error.swap} > {error.limit}")
            print(error)
        """
    )
    assert result.returncode == 0, result.explain()
    match = re.search(r"stopped at (\d+): (\d+) > (\d+)", result.stdout)
    assert match, result.explain()
    assert int(match[3]) == 150 * MIB
    assert 150 * MIB < int(match[2]) < 300 * MIB
    assert 50 < int(match[1]) < 10_000
    assert "cache: memory limit exceeded" in result.stdout


def test_an_allocation_known_in_advance_is_refused_before_it_is_made(run_child: RunChild) -> None:
    # One 1 GiB array at a 1 GiB limit: without the check, RSS reaches about twice
    # the limit before any reading can see it.
    result = run_child(
        """
        import numpy as np
        from extraction_lint.guardrails import MemoryLimitExceeded, guard, read_memory

        with guard(total=3, label="extract", memory_limit="1 GiB", heartbeat_every=60) as g:
            for path in g.track(["a.pkl", "b.pkl", "c.pkl"]):
                size = (2**30 if path == "b.pkl" else 2**20) // 8
                try:
                    g.check_allocation(size * 8, what=f"signal 's1' of {path!r}")
                except MemoryLimitExceeded as error:
                    print(f"REFUSED {error.requested} {error.limit} {error.what}")
                    print(f"RSS_AFTER {read_memory().rss}")
                    print(f"ERROR {error}")
                    continue
                signal = np.ones(size)
                print(f"LOADED {path}")
        """
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0] == "LOADED a.pkl"
    assert lines[1] == f"REFUSED {2**30} {2**30} signal 's1' of 'b.pkl'"
    assert int(lines[2].split()[1]) < 2**30 // 2  # nothing of the 1 GiB was allocated
    message = lines[3].removeprefix("ERROR ")
    assert re.match(
        r"extract: allocation refused: 1\.0 GiB for signal 's1' of 'b\.pkl' on top of "
        r"RSS [\d.]+ MiB \+ swap [\d.]+ (B|KiB|MiB) = [\d.]+ MiB would make 1\.\d+ GiB, "
        r"over memory_limit 1\.0+ GiB; after 1/3 items \(33\.3%\), current item 'b\.pkl', ",
        message,
    ), message
    # A refusal does not trip the guard: the job went on with the next item.
    assert lines[4] == "LOADED c.pkl"
    assert "ERROR" not in result.stderr


@pytest.mark.parametrize("calls", ["no-checks", "ticks"])
def test_a_loop_that_swallows_the_memory_error_and_goes_on_growing_is_ended(
    run_child: RunChild, calls: str
) -> None:
    result = run_child(
        """
        import sys, time
        import numpy as np
        from extraction_lint.guardrails import guard

        ticks = sys.argv[1] == "ticks"
        rows = []
        with guard(label="extract", memory_limit="300 MiB", heartbeat_every=60, grace=30) as g:
            # Swallows every exception, the guard's too, and keeps piling rows up.
            while True:
                try:
                    rows.append(np.ones(20 * 2**20 // 8))  # 20 MiB
                    time.sleep(0.02)
                    if ticks:
                        g.tick()
                except BaseException:
                    pass
        print("not stopped")
        """,
        calls,
    )
    assert result.returncode == 1, result.explain()
    assert "not stopped" not in result.stdout
    assert re.search(r"^MemoryLimitExceeded: extract: memory limit exceeded: ", result.stderr, re.M)
    match = re.search(
        r"^extract: MemoryLimitExceeded was raised in thread MainThread and the block went on: "
        r"its memory went on growing, from ([\d.]+) MiB at the error to ([\d.]+) MiB "
        r"\(memory_limit 300\.0 MiB\); ending the process \(exit status 1\)\.$",
        result.stderr,
        re.M,
    )
    assert match, result.explain()
    at_error, at_end = float(match[1]), float(match[2])
    # Ended a tenth of the limit past the error, long before the 30 s grace period.
    assert 300 < at_error < at_end < 300 * 1.5, result.explain()
    assert result.elapsed < 20, result.explain()
    assert "Thread stacks now:" in result.stderr


def test_a_job_that_takes_the_memory_error_and_cleans_up_is_left_alone(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        import numpy as np
        from extraction_lint.guardrails import MemoryLimitExceeded, guard

        rows = []
        try:
            with guard(label="extract", memory_limit="300 MiB", heartbeat_every=60) as g:
                try:
                    for _ in g.track(range(10**9)):
                        rows.append(np.ones(20 * 2**20 // 8))
                except MemoryLimitExceeded:
                    rows.clear()  # lets go of the rows, writes a little, re-raises
                    time.sleep(0.5)
                    raise
        except MemoryLimitExceeded:
            print("cleaned up")
        time.sleep(1)
        print("still alive")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout == "cleaned up\nstill alive\n"
