"""Guards inside guards, and guards in threads other than the main one.

The rules under test:

- Nested in one thread, both guards are active; each counts its own items; the
  inner guard's progress is a sign of life for the outer one (a long outer item
  whose inner loop advances is not a stall), while the outer timeout still applies.
- In another thread, a guard installs no signal handler: its error is logged at once
  (with every thread's stack) and raised at that thread's next ``track``/``tick``
  call; it ends the process only when asked to (``hard_exit=True``).
- ``tick`` from worker threads counts for a guard entered in the main thread.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from .conftest import RunChild

pytestmark = pytest.mark.slow


def test_inner_progress_keeps_the_outer_guard_alive_and_each_counts_its_own(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        with guard(total=2, label="files", stall_timeout=0.8, heartbeat_every=0.4) as outer:
            for path in outer.track(["a.pkl", "b.pkl"]):
                # Each file takes 1.5 s, longer than the outer stall timeout.
                with guard(total=10, label="subjects", stall_timeout=0.8,
                           heartbeat_every=0.4) as inner:
                    for subject in inner.track(range(10)):
                        time.sleep(0.15)
        print("done", outer.done, inner.done)
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "done 2 10"
    assert not result.records("ERROR"), result.explain()
    messages = [m for _, m in result.records("INFO") if " now, " in m]
    assert any(re.match(r"files: [01]/2 \(", m) for m in messages), messages
    assert any(re.match(r"subjects: \d+/10 \(", m) for m in messages), messages


def test_a_stalled_inner_loop_is_reported_by_the_inner_guard(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys, time
        from extraction_lint.guardrails import StallDetected, guard

        try:
            with guard(total=2, label="files", stall_timeout=3, heartbeat_every=60) as outer:
                for path in outer.track(["a.pkl", "b.pkl"]):
                    with guard(total=5, label="subjects", stall_timeout=0.6,
                               heartbeat_every=60) as inner:
                        for subject in inner.track(range(5)):
                            time.sleep(30 if subject == 2 else 0.01)
        except StallDetected as error:
            print(error.summary)
            sys.exit(3)
        """
    )
    assert result.returncode == 3, result.explain()
    assert re.match(
        r"subjects: no progress for [\d.]+s \(stall_timeout 0\.6s\); after 2/5 items "
        r"\(40\.0%\), current item 2",
        result.stdout,
    ), result.explain()
    assert result.elapsed < 0.6 + 6


def test_the_outer_timeout_applies_inside_an_inner_guard(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys, time
        from extraction_lint.guardrails import DeadlineExceeded, guard

        try:
            with guard(total=3, label="files", timeout=1.2, heartbeat_every=60) as outer:
                for path in outer.track(["a.pkl", "b.pkl", "c.pkl"]):
                    with guard(total=1000, label="subjects", stall_timeout=5,
                               heartbeat_every=60) as inner:
                        for subject in inner.track(range(1000)):
                            time.sleep(0.05)  # steady inner progress, for ever
        except DeadlineExceeded as error:
            print(error.summary)
            sys.exit(3)
        """
    )
    assert result.returncode == 3, result.explain()
    assert result.stdout.startswith("files: timeout of 1.2s exceeded"), result.explain()
    assert "current item 'a.pkl'" in result.stdout


def test_a_worker_thread_guard_raises_at_its_next_call_and_logs_at_once(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import json, signal, threading, time
        from datetime import datetime
        from extraction_lint.guardrails import StallDetected, guard

        report = {}

        def worker():
            report["started"] = datetime.now().isoformat(sep=" ")
            start = time.monotonic()
            try:
                # grace=0.3: were the process ended by default, it would die at ~0.8 s.
                with guard(total=5, label="worker-job", stall_timeout=0.5, grace=0.3,
                           heartbeat_every=60) as g:
                    report["handler"] = repr(signal.getsignal(signal.SIGVTALRM))
                    for i in g.track(range(5)):
                        if i == 1:
                            time.sleep(1.5)  # no progress, and no way to interrupt it
                        report["last_finished"] = i
            except StallDetected as error:
                report["raised_after"] = time.monotonic() - start
                report["error"] = error.summary

        thread = threading.Thread(target=worker, name="worker")
        thread.start()
        main_loops = 0
        while thread.is_alive():
            time.sleep(0.05)
            main_loops += 1
        report["main_loops"] = main_loops
        print(json.dumps(report))
        """
    )
    assert result.returncode == 0, result.explain()
    report = json.loads(result.stdout)
    assert report["handler"] == "<Handlers.SIG_DFL: 0>"  # no signal handler from a thread
    assert report["last_finished"] == 1  # the stuck item ran to its end...
    assert report["raised_after"] >= 1.5  # ...and the next track call raised
    assert report["error"].startswith("worker-job: no progress for ")
    assert report["main_loops"] >= 20  # the main thread went on meanwhile
    errors = result.records("ERROR")
    assert len(errors) == 1, result.explain()
    logged_at, message = errors[0]
    started = datetime.fromisoformat(report["started"])
    # Logged when detected (~0.5 s in), well before the thread could take it.
    assert 0.4 <= (logged_at - started).total_seconds() < 1.3, (logged_at, started)
    assert "raised in thread worker at its next track/tick call" in message
    assert 'Thread "worker"' in result.stderr
    assert "in worker" in result.stderr


def test_a_stuck_worker_thread_ends_the_process_only_when_asked(run_child: RunChild) -> None:
    result = run_child(
        """
        import os, threading, time
        from extraction_lint.guardrails import guard

        def worker():
            with guard(total=2, label="worker-job", stall_timeout=0.5, grace=0.5,
                       hard_exit=True, heartbeat_every=60) as g:
                for i in g.track(range(2)):
                    readable, writable = os.pipe()
                    os.read(readable, 1)  # never returns

        thread = threading.Thread(target=worker, name="worker")
        thread.start()
        thread.join()
        print("not reached")
        """
    )
    assert result.returncode == 1, result.explain()
    assert "not reached" not in result.stdout
    assert 1.0 <= result.elapsed < 1.0 + 6
    assert "StallDetected: worker-job: no progress for" in result.stderr
    assert "thread worker did not respond within the grace period of 0.5s" in result.stderr


def test_ticks_from_worker_threads_count_for_a_main_thread_guard(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from concurrent.futures import ThreadPoolExecutor
        from extraction_lint.guardrails import guard

        with guard(total=1, label="pool", stall_timeout=0.6, heartbeat_every=60) as g:
            for batch in g.track(["batch-1"]):
                def work(n):
                    for _ in range(10):
                        time.sleep(0.1)
                        g.tick(rows=1)
                # The main thread waits 1 s on the pool, longer than stall_timeout.
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(work, range(4)))
        print(g.snapshot().counters)
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "{'rows': 40}"
    assert not result.records("ERROR")
