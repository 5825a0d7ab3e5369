"""The guard stops a run that goes wrong, and what was committed stays whole; memory does not
grow with the number of files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from extraction_lint.reference import cli
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
    # The guard stopped the big file's transaction, and its last line counts committed rows.
    stopped = re.search(r"stopped by MemoryLimitExceeded: .* rows ([\d,]+)\)", result.stderr)
    assert stopped is not None, result.explain()
    assert int(stopped[1].replace(",", "")) == 4 * 5 == result.count("rows")
    assert re.search(r"current item '[^']*signals_9999_big\.pkl'", result.stderr)
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
def test_peak_memory_does_not_grow_with_the_number_of_files(memory_scaling, tmp_path: Path) -> None:
    """Peak memory of extract over 16 and over 64 files of 4 MB grows by less than 20%.

    Each run is a fresh interpreter (the memory_scaling fixture); both its peak RSS and its
    peak traced Python allocation are judged. DuckDB keeps the pages it wrote cached up to
    its own memory limit, so RSS climbs until about that much has been written and stays
    flat from there; 64 MiB makes that point come before the 16th file, so the comparison
    is of the flat part.
    """
    many = write_inputs(tmp_path / "many", files=64, subjects=500, length=1_000)

    def extract(n: int) -> None:
        data = tmp_path / f"in-{n}"
        data.mkdir()
        for path in sorted(many.glob("*.pkl"))[:n]:
            os.link(path, data / path.name)
        db = tmp_path / f"{n}.duckdb"
        status = cli.main(["extract", str(data), "--db", str(db), "--duckdb-memory", "64 MiB"])
        if status != 0:
            raise AssertionError(f"extract of {n} files ended with status {status}")

    memory_scaling(extract, sizes=[16, 64], max_growth="20%")

    assert fingerprint(tmp_path / "64.duckdb").rows == 4 * fingerprint(tmp_path / "16.duckdb").rows


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


def test_duckdb_running_out_of_memory_is_reported_as_such_naming_the_file(tmp_path: Path) -> None:
    data = write_inputs(tmp_path / "in", files=1, subjects=3, length=10)
    # Four 8 MB signals: one insert of them needs 32 MiB of DuckDB's memory.
    write_file(data / "signals_0001_large.pkl", {f"s{i}": np.ones(1_000_000) for i in range(4)})
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db, "--duckdb-memory", "8 MiB")

    assert result.returncode == 1, result.explain()
    assert "DuckDB ran out of its memory (--duckdb-memory 8.0 MiB) while writing " in (
        result.stderr
    ), result.explain()
    assert "while writing signals_0001_large.pkl: Out of Memory Error" in result.stderr
    assert "TransactionException" not in result.stderr and "aborted" not in result.stderr
    hint = re.search(r"run again with --duckdb-memory ([\d.]+ \w+) or more", result.stderr)
    assert hint is not None, result.explain()
    assert result.summary()["status"] == "stopped"
    assert rows_by_file(db)[1] == {"signals_0000.pkl": 3}

    resumed = run_reference("extract", data, "--db", db, "--duckdb-memory", hint[1])
    assert resumed.returncode == 0, resumed.explain()
    assert (resumed.count("skipped"), resumed.count("loaded")) == (1, 1)


def test_duckdb_memory_grows_with_the_signals_by_default(tmp_path: Path) -> None:
    from extraction_lint.reference.data import make_data
    from extraction_lint.reference.extract import ExtractOptions, run_extract

    # 800 signals of 156 KiB: a checkpoint of the table's last row group needs far more
    # than the 32 MiB DuckDB starts with here.
    make_data(tmp_path / "in", DataShape(files=8, subjects=100, length=20_000))

    def extract(grows: bool, name: str) -> tuple[int, object, int | None]:
        options = ExtractOptions(
            tmp_path / "in",
            tmp_path / name,
            duckdb_memory=32 * 2**20,
            duckdb_memory_grows=grows,
        )
        summary = run_extract(options)
        return summary.loaded, summary.failure, summary.duckdb_memory

    loaded, failure, memory = extract(False, "fixed.duckdb")
    assert loaded < 8 and "failed to pin block" in str(failure)
    assert memory == 32 * 2**20

    loaded, failure, memory = extract(True, "grows.duckdb")
    assert (loaded, failure) == (8, None)
    assert memory is not None and 32 * 2**20 < memory <= 2**30  # within half of 2 GiB
    assert query(tmp_path / "grows.duckdb", "SELECT count(*) FROM signals") == [(800,)]


def test_the_command_line_grows_duckdb_memory_unless_a_size_is_given() -> None:
    parser = cli.build_parser()

    def options(*extra: str) -> tuple[int | None, bool]:
        parsed = cli.extract_options(parser.parse_args(["extract", "in", "--db", "x.db", *extra]))
        return parsed.duckdb_memory, parsed.duckdb_memory_grows

    assert options() == (256 * 2**20, True)
    assert options("--duckdb-memory", "auto") == (256 * 2**20, True)
    assert options("--duckdb-memory", "1GiB") == (2**30, False)
    assert options("--duckdb-memory", "off") == (None, False)
