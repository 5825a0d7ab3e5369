"""Heartbeat: a job says what it is doing, on a file, a pipe or a terminal."""

from __future__ import annotations

import itertools
import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from .conftest import LOG_RECORD, RunChild, child_env

pytestmark = pytest.mark.slow

PERIODIC = re.compile(r" now, .* avg \| ")


def periodic_lines(records: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    return [(when, message) for when, message in records if PERIODIC.search(message)]


def test_lines_on_a_file_every_interval_with_progress_rate_eta_memory_and_output(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        with open("out.bin", "wb") as out:
            with guard(total=8, label="extract", heartbeat_every=0.4,
                       watch_output="out.bin") as g:
                for i in g.track(range(8)):
                    time.sleep(0.25)
                    out.write(b"x" * 4096)
                    out.flush()
                    g.tick(rows=10)
        """
    )
    assert result.returncode == 0, result.explain()
    lines = periodic_lines(result.records("INFO"))
    assert len(lines) >= 3, result.explain()  # 2 s of work at one line per 0.4 s
    line = re.compile(
        r"^extract: \d/8 \(\d+\.\d%\) \| [\d.]+/s now, [\d.]+/s avg \| ETA [\d.ms]+ \| "
        r"elapsed [\d.ms]+ \| RSS [\d.]+ MiB, swap \d.* \| output [\d.]+ KiB \(\+[\d.]+ KiB\) "
        r"\| rows \d+ \| at \d$"
    )
    for _, message in lines:
        assert line.match(message), message
    times = [when for when, _ in lines]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(0.3 <= gap <= 1.5 for gap in gaps), gaps
    # Every record is a whole line: nothing glued to the next record.
    assert result.stderr.endswith("\n")
    assert all(LOG_RECORD.match(text) for text in result.stderr.splitlines()), result.stderr
    assert "extract: started (8 items; heartbeat every 0.4s" in result.stderr
    assert re.search(
        r"extract: finished: 8/8 items in [\d.]+s \([\d.]+/s, rows 80\)", result.stderr
    )


def test_unknown_total_reports_count_and_rate_without_eta(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        def records():
            for i in range(12):
                time.sleep(0.1)
                yield i

        with guard(label="stream", heartbeat_every=0.3) as g:
            for record in g.track(records()):
                pass
        """
    )
    assert result.returncode == 0, result.explain()
    lines = periodic_lines(result.records("INFO"))
    assert len(lines) >= 2, result.explain()
    for _, message in lines:
        assert re.match(r"^stream: \d+ done \| [\d.]+/s now, [\d.]+/s avg \| elapsed ", message)
        assert "ETA" not in message
    assert "stream: finished: 12 items" in result.stderr


def test_lines_keep_coming_while_the_main_thread_is_stuck_in_one_item(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        with guard(total=3, label="extract", heartbeat_every=0.3) as g:
            for path in g.track(["a.pkl", "huge.pkl", "c.pkl"]):
                time.sleep(2.0 if path == "huge.pkl" else 0.01)
        """
    )
    assert result.returncode == 0, result.explain()
    during = [m for _, m in periodic_lines(result.records()) if m.endswith("at 'huge.pkl'")]
    assert len(during) >= 4, result.explain()  # 2 s inside one item, a line every 0.3 s
    assert all(m.startswith("extract: 1/3 (33.3%)") for m in during)


def test_background_job_lines_reach_its_log_file_while_it_runs(
    tmp_path: Path, write_script: object
) -> None:
    script = write_script(  # type: ignore[operator]
        """
        import time
        from extraction_lint.guardrails import track

        for item in track(range(40), label="nightly", heartbeat_every=0.2):
            time.sleep(0.1)
        """
    )
    log = tmp_path / "job.log"
    with log.open("wb") as out:
        # Detached like `nohup python job.py > job.log 2>&1 &`: no terminal anywhere.
        job = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=child_env(),
            cwd=tmp_path,
        )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while job.poll() is None and time.monotonic() < deadline:
            seen = [line for line in log.read_text().splitlines() if PERIODIC.search(line)]
            if len(seen) >= 3:
                break
            time.sleep(0.05)
        assert job.poll() is None, "the job ended before its heartbeat showed up in the file"
        assert len(seen) >= 3
        assert all(re.search(r"nightly: \d+/40 \(", line) for line in seen)
    finally:
        job.wait(timeout=30)
    assert job.returncode == 0
    assert "nightly: finished: 40/40 items" in log.read_text()


def test_a_program_with_its_own_logging_gets_each_line_once_through_its_handler(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import logging, sys, time
        from extraction_lint.guardrails import guard

        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="APP %(name)s | %(message)s")
        with guard(total=6, label="extract", heartbeat_every=0.25) as g:
            for i in g.track(range(6)):
                time.sleep(0.15)
        """
    )
    assert result.returncode == 0, result.explain()
    ours = [line for line in result.stderr.splitlines() if "extract:" in line]
    assert len(ours) >= 4, result.explain()  # start, >= 2 periodic, finish
    assert all(line.startswith("APP extraction_lint.guardrails | extract:") for line in ours)
    assert not LOG_RECORD.search(result.stderr)  # no second copy in the fallback format


def test_logging_configured_inside_the_block_gets_each_line_once_through_its_handler(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import logging, sys, time
        from extraction_lint.guardrails import guard

        with guard(total=4, label="late", heartbeat_every=0.25) as g:
            logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                                format="APP %(name)s | %(message)s")
            for i in g.track(range(4)):
                time.sleep(0.15)
        """
    )
    assert result.returncode == 0, result.explain()
    ours = [line for line in result.stderr.splitlines() if "late:" in line]
    after_setup = ours[1:]  # the start line came before the program had any handler
    assert len(after_setup) >= 2, result.explain()  # >= 1 periodic, finish
    assert all(line.startswith("APP extraction_lint.guardrails | late:") for line in after_setup)
    assert sum("late: finished: 4/4 items" in line for line in ours) == 1, result.explain()


def test_an_unconfigured_program_gets_lines_and_its_logging_is_left_as_it_was(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import logging
        from extraction_lint.guardrails import track

        lib = logging.getLogger("extraction_lint.guardrails")
        before = (list(logging.getLogger().handlers), list(lib.handlers), lib.level)
        for i in track(range(3), label="tiny", heartbeat_every=10):
            pass
        after = (list(logging.getLogger().handlers), list(lib.handlers), lib.level)
        print("restored" if before == after else f"changed {before} -> {after}")
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "restored"
    assert [m for _, m in result.records("INFO")][-1].startswith("tiny: finished: 3/3 items")


def test_a_terminal_gets_a_rich_progress_bar_instead_of_lines(
    tmp_path: Path, write_script: object
) -> None:
    script = write_script(  # type: ignore[operator]
        """
        import time
        from extraction_lint.guardrails import guard

        with guard(total=10, label="extract", heartbeat_every=0.3) as g:
            for i in g.track(range(10)):
                time.sleep(0.1)
        """
    )
    controller, terminal = pty.openpty()
    job = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=child_env(TERM="xterm-256color", COLUMNS="120"),
        cwd=tmp_path,
        close_fds=True,
    )
    os.close(terminal)
    screen = bytearray()
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(controller)
        job.wait(timeout=30)
    text = screen.decode("utf-8", "replace")
    assert job.returncode == 0, text
    assert "━" in text, text  # rich's bar
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert re.search(r"extract.*10/10.*100%", text), text
    assert " now, " not in text  # no heartbeat log lines on a terminal


def test_the_start_line_gives_the_total_that_track_takes_from_the_iterable(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        paths = [f"batch_{i:03d}.pkl" for i in range(40)]
        with guard(label="extract", heartbeat_every=0.5, stall_timeout=60) as g:
            for path in g.track(paths):
                time.sleep(0.01)
        with guard(label="slow-start", heartbeat_every=0.2) as g:
            time.sleep(0.5)  # set-up before the loop, longer than a heartbeat
            for path in g.track(paths):
                time.sleep(0.01)
        with guard(label="stream", heartbeat_every=0.2) as g:
            for n in g.track(i for i in range(3)):
                pass
        with guard(label="ticks", heartbeat_every=0.2) as g:
            time.sleep(0.5)  # no item at all: the start line still comes, at the heartbeat
            g.tick(rows=1)
        """
    )
    assert result.returncode == 0, result.explain()
    messages = [message for _, message in result.records("INFO")]

    def lines_of(label: str) -> list[str]:
        return [m for m in messages if m.startswith(f"{label}: ")]

    extract = lines_of("extract")
    assert extract[0] == "extract: started (40 items; heartbeat every 0.5s; stall timeout 1m00s)"
    slow = lines_of("slow-start")
    assert slow[0] == "slow-start: started (heartbeat every 0.2s)", slow
    assert "slow-start: 40 items to go" in slow, slow
    assert lines_of("stream")[0] == "stream: started (unknown total; heartbeat every 0.2s)"
    assert lines_of("ticks")[0] == "ticks: started (heartbeat every 0.2s)"
    assert "unknown total" not in result.stderr.replace("stream: started (unknown total", "")
