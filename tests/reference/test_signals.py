"""Ctrl-C and SIGTERM, sent for real to a running extract: it stops with 130 or 143, says
why, prints its summary, and the guard's stop line and the summary give the same figures;
what was committed stays whole and the next run resumes from it."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import COMMAND, SUMMARY, child_env, fingerprint, run_reference, write_inputs

#: Enough files that no run ends before its signal, on an idle machine too: each of the four
#: runs is stopped within its first second (at most about 150 files at full speed).
FILES = 600
SLOW_ARGS = ("--batch-rows", "1", "--heartbeat-every", "0.2s")
STOP_LINE = re.compile(
    r"extract: stopped by (?P<error>\w+): (?P<done>\d+)/(?P<total>\d+) items in [^(]*"
    r"\((?P<figures>[^)]*)\)"
)
EXPECTED = {
    signal.SIGINT: (130, "KeyboardInterrupt", "interrupted (Ctrl-C)"),
    signal.SIGTERM: (143, "Terminated", "terminated (SIGTERM)"),
}


def _ignore_sigint() -> None:
    # What a shell does for a job started in the background with '&'.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(data: Path, db: Path, log: Path, background: bool) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*COMMAND, "extract", str(data), "--db", str(db), *SLOW_ARGS],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            preexec_fn=_ignore_sigint if background else None,
        )


def _wait_for(log: Path, text: bytes, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_bytes():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.01)


def _stop_and_check(
    data: Path, db: Path, log: Path, number: signal.Signals, delay: float, background: bool
) -> int:
    """Start, send ``number`` after ``delay``; check what the run said; return files loaded."""
    process = _start(data, db, log, background)
    _wait_for(log, b"extract: started")
    time.sleep(delay)
    process.send_signal(number)
    returncode = process.wait(timeout=60)
    output = log.read_text()
    code, error, words = EXPECTED[number]

    assert returncode == code, output
    assert f"extract: {words}; committed files stay loaded" in output, output
    assert "Traceback" not in output, output
    summary = SUMMARY.search(output)
    assert summary is not None and summary["status"] == "stopped", output
    stop = STOP_LINE.search(output)
    assert stop is not None, output
    assert stop["error"] == error, output
    # The same figures in the guard's last line and in the summary.
    loaded, skipped, failed = (int(summary[k]) for k in ("loaded", "skipped", "failed"))
    assert int(stop["done"]) == loaded + skipped + failed, output
    rows = re.search(r"rows ([\d,]+)", stop["figures"])
    guard_rows = int(rows[1].replace(",", "")) if rows else 0
    assert guard_rows == int(summary["rows"].replace(",", "")), output
    state = fingerprint(db)
    assert state.consistent, output
    return loaded


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_at_random_moments_stops_the_run_cleanly_and_it_resumes(
    tmp_path: Path, number: signal.Signals
) -> None:
    data = write_inputs(tmp_path / "in", files=FILES, subjects=5, length=300, seed=4)
    db = tmp_path / "out.duckdb"
    moments = random.Random(int(number)).sample(range(5, 100), 4)
    loaded = 0
    for attempt, centiseconds in enumerate(moments):
        loaded += _stop_and_check(
            data,
            db,
            tmp_path / f"run{attempt}.log",
            number,
            centiseconds / 100,
            background=attempt % 2 == 1,
        )
    assert fingerprint(db).manifest_files == loaded

    resumed = run_reference("extract", data, "--db", db)
    assert resumed.returncode == 0, resumed.explain()
    assert resumed.count("skipped") == loaded
    assert fingerprint(db).rows == FILES * 5


@pytest.mark.slow
def test_ctrl_c_reaches_an_extract_started_in_the_background(tmp_path: Path) -> None:
    # A child of a non-interactive shell's '&' starts with SIGINT ignored; Python then
    # installs no KeyboardInterrupt handler of its own.
    data = write_inputs(tmp_path / "in", files=FILES, subjects=5, length=300)
    db = tmp_path / "out.duckdb"

    _stop_and_check(data, db, tmp_path / "run.log", signal.SIGINT, 0.5, background=True)


@pytest.mark.slow
def test_a_signal_while_the_database_is_opened_stops_without_a_traceback(
    tmp_path: Path,
) -> None:
    data = write_inputs(tmp_path / "in", files=3, subjects=5, length=300)
    db = tmp_path / "out.duckdb"
    first = run_reference("extract", data, "--db", db)
    assert first.returncode == 0, first.explain()
    log = tmp_path / "run.log"
    for number, (code, _, words) in EXPECTED.items():
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*COMMAND, "extract", str(data), "--db", str(db)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(),
            )
        # Early: in the imports, the opening of the database or the first file.
        time.sleep(0.3)
        os.kill(process.pid, number)
        returncode = process.wait(timeout=60)
        output = log.read_text()
        assert "Traceback" not in output, output
        if returncode == 0:
            continue  # the run was over before the signal came
        assert returncode in (code, -number), output
        if returncode == code:
            assert words in output, output
    assert fingerprint(db).consistent
