"""A process forked from a guarded job is a job of its own: it may enter guards, never hangs.

Each job runs in its own session, so that a child left behind by a failing test is
killed with the whole group when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import ChildResult, child_env

pytestmark = pytest.mark.slow

RunJob = Callable[..., ChildResult]


@pytest.fixture
def run_job(tmp_path: Path) -> Iterator[RunJob]:
    sessions: list[int] = []

    def run(source: str, timeout: float = 60, **env: str) -> ChildResult:
        script = tmp_path / f"job_{len(sessions)}.py"
        script.write_text(textwrap.dedent(source))
        process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=child_env(**env),
            start_new_session=True,
        )
        sessions.append(process.pid)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(
                f"the job hung for {timeout}s\n--- stdout ---\n{out.decode(errors='replace')}"
                f"\n--- stderr ---\n{err.decode(errors='replace')}"
            )
        return ChildResult(
            process.returncode, out.decode(errors="replace"), err.decode(errors="replace"), 0.0
        )

    yield run
    for pid in sessions:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # reap whatever a failed job left behind


def test_pool_workers_forked_under_a_guard_enter_guards_of_their_own(run_job: RunJob) -> None:
    result = run_job(
        """
        import multiprocessing, os, time
        from extraction_lint.guardrails import guard

        def work(n):
            with guard(total=3, label=f"worker{n}", stall_timeout=5, timeout=30,
                       memory_limit="4 GiB", heartbeat_every=0.1) as g:
                for _ in g.track(range(3)):
                    time.sleep(0.05)
            return n, os.getpid(), g.done

        if __name__ == "__main__":
            context = multiprocessing.get_context("fork")
            # The dead-man switch (stall + timeout in the main thread) is armed while
            # the workers are forked, and again while the pool forks replacements.
            with guard(total=6, label="parent", stall_timeout=10, timeout=60,
                       memory_limit="4 GiB", heartbeat_every=0.1) as g:
                time.sleep(0.3)  # the watchdog has read memory and armed its timers
                pool = context.Pool(2, maxtasksperchild=1)
                try:
                    results = [r for r in g.track(pool.imap_unordered(work, range(6)))]
                finally:
                    pool.close()
                    pool.join()
            print(sorted(n for n, _, _ in results), len({pid for _, pid, _ in results}),
                  sorted({done for _, _, done in results}))
        """,
        timeout=40,
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.split("\n")[0] == "[0, 1, 2, 3, 4, 5] 6 [3]", result.explain()
    for n in range(6):
        assert f"worker{n}: finished: 3/3 items" in result.stderr, result.explain()
    assert result.stderr.count("parent: finished: 6/6 items") == 1, result.explain()


def test_a_forked_child_is_stopped_by_its_own_guard_and_the_parent_by_its_own(
    run_job: RunJob,
) -> None:
    result = run_job(
        """
        import multiprocessing, sys, time
        from extraction_lint.guardrails import StallDetected, guard

        def stalls():
            try:
                with guard(label="child", stall_timeout=0.5, grace=1, heartbeat_every=None):
                    time.sleep(30)
            except StallDetected as error:
                print("child caught:", error.summary.splitlines()[0], flush=True)
                sys.exit(3)

        if __name__ == "__main__":
            context = multiprocessing.get_context("fork")
            try:
                with guard(label="parent", stall_timeout=2, grace=1, heartbeat_every=None):
                    child = context.Process(target=stalls)
                    child.start()
                    child.join(20)
                    print("child exit status", child.exitcode, flush=True)
                    time.sleep(30)  # now the parent stalls
            except StallDetected as error:
                print("parent caught:", error.summary.splitlines()[0], flush=True)
        """,
        timeout=40,
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("child caught: child: no progress for "), result.explain()
    assert lines[1] == "child exit status 3", result.explain()
    assert lines[2].startswith("parent caught: parent: no progress for "), result.explain()


def test_after_a_fork_the_parents_last_resort_timer_still_ends_a_job_stuck_in_c(
    run_job: RunJob,
) -> None:
    result = run_job(
        """
        import ctypes, os, time
        from extraction_lint.guardrails import guard

        with guard(label="parent", stall_timeout=1, grace=0.5, heartbeat_every=None):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            print("forked", flush=True)
            ctypes.PyDLL(None).sleep(30)  # holds the GIL: only faulthandler's timer can act
        print("not reached")
        """,
        timeout=40,
    )
    assert result.returncode == 1, result.explain()
    assert result.stdout == "forked\n", result.explain()
    assert "Timeout (" in result.stderr, result.explain()


def test_a_child_forked_inside_a_block_leaves_the_parents_lines_and_record_alone(
    run_job: RunJob, tmp_path: Path
) -> None:
    status_dir = tmp_path / "status"
    result = run_job(
        """
        import json, os, sys, time
        from extraction_lint.guardrails import guard

        with guard(total=2, label="parent", stall_timeout=5, heartbeat_every=0.1,
                   record="history.jsonl") as g:
            for i in g.track(range(2)):
                time.sleep(0.2)
            pid = os.fork()
            if pid == 0:
                # The child runs the rest of the block and leaves it like the parent.
                with guard(total=1, label="child", stall_timeout=5, heartbeat_every=0.1) as c:
                    for _ in c.track(range(1)):
                        time.sleep(0.2)
                child = True
            else:
                child = False
                os.waitpid(pid, 0)
        if child:
            os._exit(0)
        kinds = [json.loads(line)["kind"] for line in open("history.jsonl")]
        print(kinds.count("start"), kinds.count("end"))
        directory = os.environ["EXTRACTION_LINT_STATUS_DIR"]
        records = [json.load(open(os.path.join(directory, name))) for name in os.listdir(directory)]
        print(sorted((r["label"], r["state"], r["pid"] == os.getpid()) for r in records))
        """,
        timeout=60,
        EXTRACTION_LINT_STATUS_DIR=str(status_dir),
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0] == "1 1", result.explain()
    assert lines[1] == "[('child', 'finished', False), ('parent', 'finished', True)]"
    assert result.stderr.count("parent: finished: 2/2 items") == 1, result.explain()
    assert result.stderr.count("child: finished: 1/1 items") == 1, result.explain()
    assert "parent: stopped" not in result.stderr, result.explain()
