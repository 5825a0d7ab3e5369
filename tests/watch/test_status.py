"""``extraction-lint status`` and the status records ``guard(...)`` keeps."""

from __future__ import annotations

import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction_lint.guardrails import MemoryLimitExceeded, guard, status
from extraction_lint.guardrails.status import STATUS_DIR_ENV, ensure_status_dir, status_dir

from .conftest import child_env, wait_for

GUARDED_JOB = """
import sys, time
from extraction_lint.guardrails import guard
label, total = sys.argv[1], int(sys.argv[2])
with guard(total=total, label=label, heartbeat_every=0.3, memory_limit="2GiB",
           display="off", watch_output=sys.argv[3]) as g:
    for i in g.track(range(total)):
        with open(sys.argv[3], "ab") as out:
            out.write(b"x" * 1000)
        time.sleep(0.1)
"""


def _status(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extraction_lint", "status", *args],
        capture_output=True,
        text=True,
        env=child_env(**{STATUS_DIR_ENV: str(directory)}),
        timeout=60,
    )


def _jobs(directory: Path, *args: str) -> dict[str, dict]:
    done = _status(directory, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return {job["label"]: job for job in json.loads(done.stdout)["jobs"]}


@pytest.mark.slow
def test_two_guarded_jobs_at_once_are_listed_live_then_dead_and_stale(tmp_path):
    records = tmp_path / "records"
    script = tmp_path / "job.py"
    script.write_text(GUARDED_JOB)
    env = child_env(**{STATUS_DIR_ENV: str(records)})
    jobs = {
        label: subprocess.Popen(
            [sys.executable, str(script), label, "600", str(tmp_path / f"{label}.out")], env=env
        )
        for label in ("alpha", "beta")
    }
    try:
        assert wait_for(lambda: {"alpha", "beta"} <= set(_jobs(records)), timeout=60)
        assert wait_for(lambda: all(j["done"] >= 3 for j in _jobs(records).values()), timeout=60)
        seen = _jobs(records)
        for label, job in seen.items():
            assert job["status"] == "running"
            assert job["pid"] == jobs[label].pid
            assert job["total"] == 600 and job["memory_limit"] == 2 * 1024**3
            assert job["rss"] > 1024**2 and job["rate"] > 0 and job["eta"] > 0
            assert job["output"] == str(tmp_path / f"{label}.out") and job["output_size"] > 0
            assert job["host"] and job["start"] <= job["updated"]
        table = _status(records)
        assert table.returncode == 0
        for label, child in jobs.items():
            line = next(line for line in table.stdout.splitlines() if f" {label} " in f" {line} ")
            assert str(child.pid) in line and "running" in line and "/600" in line
            assert "/ 2.0 GiB" in line

        # One killed without a word: its record says running, its process is gone.
        jobs["alpha"].kill()
        jobs["alpha"].wait()
        # One suspended: its record stops being refreshed.
        jobs["beta"].send_signal(signal.SIGSTOP)
        assert wait_for(lambda: _jobs(records)["beta"]["status"] == "stale", timeout=60)
        seen = _jobs(records)
        assert seen["alpha"]["status"] == "dead"
        assert "ended without a word" in seen["alpha"]["status_reason"]
        assert "not updated for" in seen["beta"]["status_reason"]
        table = _status(records).stdout
        assert "dead alpha (pid" in table and "stale beta (pid" in table
        jobs["beta"].send_signal(signal.SIGCONT)
        assert wait_for(lambda: _jobs(records)["beta"]["status"] == "running", timeout=60)
    finally:
        for child in jobs.values():
            child.send_signal(signal.SIGCONT)
            child.kill()
            child.wait()
    # --clean removes the dead one's record, the others stay.
    cleaned = _jobs(records, "--clean")
    assert "alpha" not in cleaned


def test_a_guard_writes_at_most_one_record_per_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setenv(STATUS_DIR_ENV, str(tmp_path))
    writes: list[float] = []
    real = status.write_atomically

    def counting(path, data):
        writes.append(time.monotonic())
        real(path, data)

    monkeypatch.setattr(status, "write_atomically", counting)
    start = time.monotonic()
    with guard(total=100, label="counted", heartbeat_every=0.5, display="off") as g:
        for _ in g.track(range(100)):
            time.sleep(0.02)
    elapsed = time.monotonic() - start
    # The first record, one per heartbeat, then the last reading and the final state.
    assert 2 <= len(writes) <= elapsed / 0.5 + 3
    gaps = [b - a for a, b in itertools.pairwise(writes[:-2])]
    assert all(gap >= 0.45 for gap in gaps), gaps
    (record_path,) = tmp_path.glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["state"] == "finished" and record["done"] == 100
    assert record["label"] == "counted" and record["pid"] == os.getpid()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_failed_guard_marks_its_record_with_the_error(tmp_path, monkeypatch):
    monkeypatch.setenv(STATUS_DIR_ENV, str(tmp_path))
    with (
        pytest.raises(MemoryLimitExceeded),
        guard(label="hungry", memory_limit=1024**2, display="off") as g,
    ):
        for _ in g.track(range(10)):
            pass
    (record_path,) = tmp_path.glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["state"] == "failed"
    assert record["error"].startswith("MemoryLimitExceeded: hungry: ")
    listed = _jobs(tmp_path, "--all")
    assert listed["hungry"]["status"] == "failed"
    assert "hungry" not in _jobs(tmp_path)
    assert "failed: MemoryLimitExceeded" in _status(tmp_path, "--all").stdout


def test_status_false_keeps_no_record(tmp_path, monkeypatch):
    monkeypatch.setenv(STATUS_DIR_ENV, str(tmp_path))
    with guard(label="quiet", display="off", status=False) as g:
        for _ in g.track(range(3)):
            pass
    assert list(tmp_path.iterdir()) == []


def test_the_default_directory_is_private_to_the_user(tmp_path, monkeypatch):
    monkeypatch.delenv(STATUS_DIR_ENV, raising=False)
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert status_dir() == runtime / "extraction-lint"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    expected = tmp_path / f"extraction-lint-{os.getuid()}"
    assert status_dir() == expected
    made = ensure_status_dir()
    assert made == expected
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a directory for another user")
def test_a_default_directory_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(STATUS_DIR_ENV, raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    squatted = tmp_path / f"extraction-lint-{os.getuid()}"
    squatted.mkdir()
    os.chown(squatted, 65534, 65534)
    with pytest.raises(status.StatusDirError, match="belongs to another user"):
        ensure_status_dir()
    # The guard carries on without a record.
    with guard(label="homeless", display="off") as g:
        for _ in g.track(range(3)):
            pass
    assert list(squatted.iterdir()) == []


def test_an_empty_board_and_a_broken_record(tmp_path):
    done = _status(tmp_path)
    assert done.returncode == 0
    assert f"no guarded jobs running (status records in {tmp_path})" in done.stdout
    (tmp_path / "vm-1-1.json").write_text("{not json")
    done = _status(tmp_path)
    assert "skipped" in done.stdout and "vm-1-1.json: unreadable status record" in done.stdout
    assert _status(tmp_path, "--dir", str(tmp_path / "nowhere")).returncode == 2


MANY_GUARDS = """
import sys
from extraction_lint.guardrails import guard
for number in range(int(sys.argv[1])):
    with guard(total=1, label=f"file{number}", display="off") as g:
        for _ in g.track([number]):
            pass
"""


@pytest.mark.slow
def test_records_of_ended_jobs_do_not_pile_up_in_the_status_directory(tmp_path):
    records = tmp_path / "records"
    script = tmp_path / "many.py"
    script.write_text(MANY_GUARDS)
    # A record left by a job that ended two days ago, and one by a job still running.
    records.mkdir()
    old = {"pid": 1, "host": "vm", "label": "last-week", "state": "finished"}
    old["start"] = old["updated"] = time.time() - 2 * 24 * 3600
    (records / "vm-1-1.json").write_text(json.dumps(old))
    live = subprocess.Popen(
        [sys.executable, "-c", GUARDED_JOB, "live", "600", str(tmp_path / "live.out")],
        env=child_env(**{STATUS_DIR_ENV: str(records)}),
    )
    try:
        assert wait_for(lambda: "live" in _jobs(records), timeout=30)
        # Nobody runs `extraction-lint status` while a loop runs 60 short guarded jobs.
        subprocess.run(
            [sys.executable, str(script), "60"],
            env=child_env(**{STATUS_DIR_ENV: str(records)}),
            check=True,
            capture_output=True,
            timeout=120,
        )
        ended = [
            json.loads(path.read_text())
            for path in records.glob("*.json")
            if json.loads(path.read_text())["state"] != "running"
        ]
        # Pruned once past PRUNE_ABOVE records, down to the newest KEEP_ENDED_COUNT: the
        # newest are kept, the one from two days ago is gone, the live job stays.
        assert status.KEEP_ENDED_COUNT <= len(ended) <= status.PRUNE_ABOVE
        labels = {record["label"] for record in ended}
        assert labels <= {f"file{number}" for number in range(60 - status.PRUNE_ABOVE, 60)}
        assert {f"file{number}" for number in range(60 - status.KEEP_ENDED_COUNT, 60)} <= labels
        assert _jobs(records)["live"]["status"] == "running"
        # The board prunes too: what it lists with --all is the newest ended jobs.
        listed = _jobs(records, "--all")
        assert set(listed) == {"live"} | {
            f"file{number}" for number in range(60 - status.KEEP_ENDED_COUNT, 60)
        }
    finally:
        live.kill()
        live.wait(timeout=30)


@pytest.mark.slow
def test_an_80_column_terminal_gets_each_job_state_progress_and_memory_whole(tmp_path):
    from ..guardrails.conftest import run_in_terminal

    records = tmp_path / "records"
    script = tmp_path / "job.py"
    script.write_text(GUARDED_JOB)
    env = child_env(**{STATUS_DIR_ENV: str(records)})
    labels = ("nightly-extract-of-the-archive", "beta")
    jobs = [
        subprocess.Popen(
            [sys.executable, str(script), label, "600", str(tmp_path / f"{label}.out")], env=env
        )
        for label in labels
    ]
    board = tmp_path / "board.py"
    board.write_text(
        "import sys\nfrom extraction_lint.watch.board import main\n"
        "sys.exit(main(['--dir', sys.argv[1]]))\n"
    )
    try:
        assert wait_for(lambda: set(_jobs(records)) == set(labels), timeout=30)
        shown = run_in_terminal(board, tmp_path, str(records), columns=80)
    finally:
        for job in jobs:
            job.kill()
            job.wait(timeout=30)
    assert shown.returncode == 0, shown.explain()
    assert not any("…" in line for line in shown.screen), shown.explain()
    header = next(line for line in shown.screen if line.lstrip().startswith("job "))
    for name in ("state", "progress", "memory / limit"):
        assert name in header, shown.explain()
    for label in labels:
        (row,) = (line for line in shown.screen if line.lstrip().startswith(label + " "))
        assert "running" in row and "/600 " in row and "MiB / 2.0 GiB" in row, shown.explain()
