"""The guard stops a run that goes wrong, and what was committed stays whole; memory does not
grow with the number of files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from extraction_lint.reference.data import DataShape, make_signals, write_file

from .conftest import fingerprint, query, rows_by_file, run_reference, write_inputs

MIB = 1024**2


def _peak_rss_mib(summary: dict[str, str]) -> float:
    return float(summary["peak_rss_mib"].replace(",", ""))


@pytest.mark.slow
def test_a_memory_limit_set_too_low_stops_the_run_and_commits_no_part_of_a_file(
    tmp_path: Path,
) -> None:
    data = write_inputs(tmp_path / "in", files=4, subjects=5, length=1_000)
    calibration = run_reference("extract", data, "--db", tmp_path / "calibration.duckdb")
    small_peak = _peak_rss_mib(calibration.summary())
    # One file far bigger than the others, loaded last: 30 signals of 400,000 samples
    # (96 MB as arrays), written in batches of two rows while DuckDB may use all it wants.
    write_file(data / "signals_9999_big.pkl", make_signals(DataShape(1, 30, 400_000, 5), 0))
    db = tmp_path / "out.duckdb"

    result = run_reference(
        "extract", data, "--db", db,
        "--memory-limit", f"{small_peak + 160:.0f} MiB",
        "--duckdb-memory", "off",
        "--batch-rows", "2",
    )  # fmt: skip

    assert result.returncode == 1, result.explain()
    assert "stopped by MemoryLimitExceeded: extract: memory limit exceeded" in result.stderr
    assert "signals_9999_big.pkl" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.summary()["status"] == "stopped"
    # The guard's last line counts the rows written: the big file was stopped mid-transaction.
    stopped = re.search(r"stopped by MemoryLimitExceeded: .* rows ([\d,]+)\)", result.stderr)
    assert stopped is not None, result.explain()
    assert int(stopped[1].replace(",", "")) > 4 * 5, "stopped before writing the big file"
    data_rows, manifest_rows = rows_by_file(db)
    assert data_rows == manifest_rows == {f"signals_{index:04d}.pkl": 5 for index in range(4)}
    assert fingerprint(db).consistent


@pytest.mark.slow
def test_a_timeout_stops_the_run_between_or_inside_files_with_every_commit_whole(
    tmp_path: Path,
) -> None:
    data = write_inputs(tmp_path / "in", files=300, subjects=5, length=500)
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db, "--batch-rows", "1", "--timeout", "1s")

    assert result.returncode == 1, result.explain()
    assert "stopped by DeadlineExceeded" in result.stderr
    assert "Traceback" not in result.stderr.split("DeadlineExceeded", 1)[0]
    state = fingerprint(db)
    assert state.consistent
    assert 0 < state.manifest_files < 300
    assert result.count("loaded") == state.manifest_files

    resumed = run_reference("extract", data, "--db", db)
    assert resumed.returncode == 0, resumed.explain()
    assert resumed.count("skipped") == state.manifest_files
    assert fingerprint(db).rows == 300 * 5


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    """Peak RSS with 16 and with 64 files of 4 MB differs by less than 20%.

    DuckDB keeps the pages it wrote cached up to its own memory limit, so RSS climbs
    until about that much has been written and stays flat from there; 64 MiB makes that
    point come before the 16th file, so the comparison is of the flat part.
    """
    many = write_inputs(tmp_path / "many", files=64, subjects=500, length=1_000)
    few = tmp_path / "few"
    few.mkdir()
    for path in sorted(many.glob("*.pkl"))[:16]:
        os.link(path, few / path.name)
    options = ("--duckdb-memory", "64 MiB")

    peaks = {}
    for name, data in (("few", few), ("many", many)):
        result = run_reference("extract", data, "--db", tmp_path / f"{name}.duckdb", *options)
        assert result.returncode == 0, result.explain()
        peaks[name] = _peak_rss_mib(result.summary())

    assert (
        fingerprint(tmp_path / "many.duckdb").rows == 4 * fingerprint(tmp_path / "few.duckdb").rows
    )
    assert abs(peaks["many"] - peaks["few"]) < 0.2 * peaks["few"], peaks


@pytest.mark.slow
def test_a_stall_while_a_file_is_unpickled_stops_the_run_as_a_stall_not_a_corrupt_file(
    tmp_path: Path,
) -> None:
    data = write_inputs(tmp_path / "in", files=1, subjects=3, length=10)
    # A valid file that takes seconds to unpickle: 200,000 one-sample signals.
    write_file(data / "signals_0001_slow.pkl", {f"s{i}": np.zeros(1) for i in range(200_000)})
    db = tmp_path / "out.duckdb"

    result = run_reference(
        "extract", data, "--db", db, "--on-error", "skip", "--stall-timeout", "1s"
    )

    assert result.returncode == 1, result.explain()
    assert "stopped by StallDetected" in result.stderr, result.explain()
    assert "corrupt" not in result.stderr
    assert "signals_0001_slow.pkl" in result.stderr
    assert result.summary()["status"] == "stopped"
    assert (result.count("loaded"), result.count("failed")) == (1, 0)
    assert query(db, "SELECT count(*) FROM errors") == [(0,)]
