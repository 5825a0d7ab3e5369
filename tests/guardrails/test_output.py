"""Output growth: a job that looks busy but writes nothing is stopped."""

from __future__ import annotations

import re

import pytest

from .conftest import RunChild

pytestmark = pytest.mark.slow


def test_items_advance_but_the_database_never_grows(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys, time
        from extraction_lint.guardrails import OutputNotGrowing, guard

        open("signals.duckdb", "wb").close()
        rows = []  # the incident: all rows kept for one executemany at the end
        start = time.monotonic()
        try:
            with guard(total=200, label="extract", heartbeat_every=60,
                       watch_output="signals.duckdb", output_stall=0.8) as g:
                for path in g.track([f"file_{i:03d}.pkl" for i in range(200)]):
                    time.sleep(0.02)
                    rows.extend(range(100))
        except OutputNotGrowing as error:
            print(f"CAUGHT after {time.monotonic() - start:.2f}s")
            print(error)
            sys.exit(3)
        """
    )
    assert result.returncode == 3, result.explain()
    caught_after = float(re.search(r"after ([\d.]+)s", result.stdout)[1])  # type: ignore[index]
    assert 0.8 <= caught_after < 0.8 + 2.5
    assert re.search(
        r"extract: output 'signals\.duckdb' has not grown for [\d.]+s \(output_stall 0\.8s\) "
        r"while \d+ items/ticks went by; size 0 B; after \d+/200 items",
        result.stdout,
    ), result.explain()
    assert "instead of writing them per item?" in result.stdout


def test_a_job_writing_per_item_runs_to_the_end(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        with open("signals.duckdb", "wb") as db:
            with guard(total=40, label="extract", heartbeat_every=0.5, stall_timeout=0.5,
                       watch_output="signals.duckdb") as g:
                for path in g.track([f"file_{i:03d}.pkl" for i in range(40)]):
                    time.sleep(0.05)
                    db.write(b"row" * 100)  # written per file, as it should be
                    db.flush()
        print("done", g.done)
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "done 40"
    assert not result.records("ERROR")
    growth = [m for _, m in result.records("INFO") if "output " in m and " now, " in m]
    assert growth, result.explain()
    assert all(re.search(r"output [\d.]+ (B|KiB) \(\+[\d.]+ (B|KiB)\)", m) for m in growth)


def test_a_watched_directory_counts_every_file_below_it(run_child: RunChild) -> None:
    result = run_child(
        """
        import pathlib, sys, time
        from extraction_lint.guardrails import OutputNotGrowing, guard

        out = pathlib.Path("parquet")
        out.mkdir()
        try:
            # output_stall defaults to twice stall_timeout: 1.2 s here.
            with guard(total=100, label="export", heartbeat_every=60, stall_timeout=0.6,
                       watch_output=out) as g:
                for i in g.track(range(100)):
                    time.sleep(0.03)
                    if i < 10:  # the writer silently stops after 10 files
                        (out / f"part-{i // 5}").mkdir(exist_ok=True)
                        (out / f"part-{i // 5}" / f"{i}.parquet").write_bytes(b"p" * 1000)
        except OutputNotGrowing as error:
            print(error)
            sys.exit(3)
        """
    )
    assert result.returncode == 3, result.explain()
    assert "export: output 'parquet' has not grown for " in result.stdout
    assert "(output_stall 1.2s)" in result.stdout
    assert "size 9.8 KiB" in result.stdout  # 10 files of 1000 bytes, in subdirectories
    assert "StallDetected" not in result.stderr  # items kept coming: not a stall


def test_a_database_writing_through_its_wal_is_growing(run_child: RunChild) -> None:
    result = run_child(
        """
        import time
        from extraction_lint.guardrails import guard

        open("signals.duckdb", "wb").close()
        with open("signals.duckdb.wal", "wb") as wal:
            with guard(total=30, label="extract", heartbeat_every=60,
                       watch_output="signals.duckdb", output_stall=0.5) as g:
                for i in g.track(range(30)):
                    time.sleep(0.05)
                    wal.write(b"w" * 512)
                    wal.flush()
        print("done", g.done)
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "done 30"
