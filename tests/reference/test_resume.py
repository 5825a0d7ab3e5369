"""A run killed with SIGKILL at random moments, resumed each time, ends with exactly the table
of one uninterrupted run: nothing lost, nothing duplicated."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from .conftest import fingerprint, run_reference, start_extract, write_inputs

FILES = 200
KILLS = 6
# One insert and one commit per subject and file makes the run last a few seconds, so that
# kills land in inserts, commits, checkpoints and manifest writes alike.
SLOW_ARGS = ("--batch-rows", "1")


def _wait_for_start(log: Path, process_timeout: float = 30.0) -> None:
    deadline = time.monotonic() + process_timeout
    while b"extract: started" not in log.read_bytes():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize(("layout", "rows_per_subject"), [("wide", 1), ("long", 500)])
def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_table(
    tmp_path: Path, layout: str, rows_per_subject: int
) -> None:
    data = write_inputs(tmp_path / "in", files=FILES, subjects=5, length=500, seed=3)
    args = (*SLOW_ARGS, "--layout", layout)
    reference_db = tmp_path / "reference.duckdb"
    uninterrupted = run_reference("extract", data, "--db", reference_db, *args)
    assert uninterrupted.returncode == 0, uninterrupted.explain()
    expected = fingerprint(reference_db)
    assert expected.rows == FILES * 5 * rows_per_subject
    loop_seconds = float(uninterrupted.summary()["seconds"])

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    db = tmp_path / "killed.duckdb"
    log = tmp_path / "killed.log"
    progress = [0]
    for attempt in range(KILLS):
        process = start_extract(data, db, log, *args)
        _wait_for_start(log)
        # Each resumed run has less left to do; aim inside what remains of it.
        remaining = loop_seconds * (FILES - progress[-1]) / FILES
        time.sleep(rng.uniform(0.0, 0.7 * remaining))
        assert process.poll() is None, f"run {attempt} ended before its kill (seed {seed})"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        state = fingerprint(db)
        assert state.consistent, f"after kill {attempt}: {state} (seed {seed})"
        progress.append(state.manifest_files)

    resumed = run_reference("extract", data, "--db", db, *args)

    assert resumed.returncode == 0, resumed.explain()
    assert fingerprint(db) == expected, f"kills left {progress} files loaded (seed {seed})"
    assert resumed.count("skipped") == progress[-1]
    assert resumed.count("loaded") == FILES - progress[-1]
    # The kills landed mid-run: some files were loaded, not all.
    assert 0 < progress[-1] < FILES, progress
    assert progress == sorted(progress), "a kill undid committed files"
