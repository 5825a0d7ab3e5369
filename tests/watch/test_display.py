"""How watch shows its readings: a live panel on a terminal, lines in a pipe; its --record."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from .conftest import LINE, child_env

pytestmark = pytest.mark.slow


def _run_on_a_terminal(argv: list[str], timeout: float = 60) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = child_env(TERM="xterm-256color", COLUMNS="110", LINES="40")
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: every writer is gone
                break
            if not data:
                break
            chunks.append(data)
        elif child.poll() is not None:
            break
    os.close(master)
    return child.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_watch_draws_a_live_panel(tmp_path):
    out = tmp_path / "out.bin"
    job = tmp_path / "job.py"
    job.write_text(
        "import time\n"
        f"for i in range(8):\n    open({str(out)!r}, 'ab').write(b'x' * 4096); time.sleep(0.2)\n"
    )
    code, screen = _run_on_a_terminal(
        [
            sys.executable,
            "-m",
            "extraction_lint",
            "watch",
            "--every",
            "0.2",
            "--memory-limit",
            "1GiB",
            "--stall",
            "1m",
            "--output",
            str(out),
            "--",
            sys.executable,
            str(job),
        ]
    )
    assert code == 0, screen
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert "╭" in text and "╰" in text, text
    assert "watch pid" in text
    for row in ("memory", "cpu", "read", "write", "output", "last sign of life", "running"):
        assert re.search(rf"│ {row} ", text), (row, text)
    assert "of 1.0 GiB" in text and "(--stall 1m00s)" in text
    assert "32.0 KiB" in text  # the output's final size
    # Redrawn in place: cursor moves, not one panel per reading scrolled down.
    assert "\x1b[" in screen
    assert "the job ended with status 0" in text


def test_in_a_pipe_watch_writes_one_timestamped_line_per_reading(run_watch, script, tmp_path):
    out = tmp_path / "out.bin"
    job = script(
        f"""
        import time
        for i in range(10):
            open({str(out)!r}, "ab").write(b"x" * 1024)
            time.sleep(0.2)
        """
    )
    result = run_watch("--every", "0.5", "--output", str(out), "--", sys.executable, str(job))
    assert result.returncode == 0, result.explain()
    lines = [line for line in result.stderr.splitlines() if LINE.match(line)]
    readings = [line for line in lines if " rss " in line]
    assert len(readings) == len(result.kinds("reading")) >= 3
    for line in readings:
        assert re.search(
            r"watch\[\d+\] rss [\d.]+ (KiB|MiB), swap 0 B, cpu (\?|\d+%), read [\d.]+ \S+ "
            r"\((\?|[\d.]+ \S+/s)\), write [\d.]+ \S+ \((\?|[\d.]+ \S+/s)\), \S*out\.bin",
            line,
        ), line
    assert "\x1b" not in result.stderr
    assert lines[0].split(" ", 3)[3].startswith("watching pid ")


def test_the_record_has_a_start_every_reading_and_an_end(run_watch, script):
    job = script("import time\ntime.sleep(1)\n")
    result = run_watch("--every", "0.2", "--memory-limit", "2GiB", "--", sys.executable, str(job))
    assert result.returncode == 0
    kinds = [line["kind"] for line in result.record]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert set(kinds[1:-1]) == {"reading"}
    start = result.record[0]
    assert start["source"] == "watch" and start["limits"]["memory"] == 2 * 1024**3
    for reading in result.kinds("reading"):
        assert {
            "time",
            "elapsed",
            "rss",
            "swap",
            "cpu",
            "read_bytes",
            "write_bytes",
            "read_rate",
            "write_rate",
            "output_size",
            "done",
            "total",
            "processes",
        } <= set(reading)
    times = [line["time"] for line in result.record]
    assert times == sorted(times)


def test_a_guarded_job_shows_its_own_progress_and_its_progress_is_a_sign_of_life(
    run_watch, script, tmp_path
):
    job = script(
        """
        import time
        from extraction_lint.guardrails import guard
        with guard(total=30, label="extract", heartbeat_every=0.2, display="off") as g:
            for i in g.track(range(30)):
                time.sleep(0.1)
        """
    )
    # No output, no log: without the guard's progress this would be a stall.
    result = run_watch(
        "--every",
        "0.25",
        "--stall",
        "1",
        "--output",
        str(tmp_path / "never"),
        "--",
        sys.executable,
        str(job),
    )
    assert result.returncode == 0, result.explain()
    assert result.verdicts == []
    done = [r["done"] for r in result.kinds("reading") if r["done"] is not None]
    assert done and done == sorted(done) and done[-1] >= 20
    assert re.search(r"extract \d+/30 \(\d+\.\d%\)", result.stderr)
    assert all(r["total"] in (None, 30) for r in result.kinds("reading"))
