"""memory_scaling in a user's test file: jobs that grow fail with the table, the fitted growth
and the allocation sites; flat jobs pass, noise included."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow


def test_a_job_that_keeps_every_item_fails_with_the_table_and_the_line_that_grows(
    run_user_tests,
):
    result = run_user_tests(
        """
        def test_keeps_everything(memory_scaling):
            def run(n):
                kept = []
                for _ in range(n):
                    kept.append(bytearray(500_000))
                return len(kept)

            memory_scaling(run, sizes=[8, 32, 128])
        """
    )

    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "memory grows with n: peak RSS and peak traced Python allocation over the limit" in out
    assert "max_growth 10%" in out
    assert re.search(r"^\s+n\s+peak RSS\s+RSS at start\s+peak traced\s+seconds$", out, re.M)
    for n in (8, 32, 128):
        assert re.search(rf"^\s*{n}\s+[\d.]+ MiB\s+[\d.]+ MiB\s+[\d.]+ MiB\s+[\d.]+$", out, re.M)
    # 500,000 bytes an item: the fitted slope says so.
    slope = re.search(
        r"fitted growth per unit of n: RSS \+([\d.]+) KiB, traced \+([\d.]+) KiB", out
    )
    assert slope is not None, out
    assert 400 < float(slope[2]) < 600, slope[0]
    assert "largest allocation sites at n=128" in out
    assert re.search(r"in \d+ blocks at test_user.py:5: kept.append\(bytearray\(500_000\)\)", out)
    assert "Traceback" not in out


def test_a_job_that_reuses_its_buffer_passes(run_user_tests):
    result = run_user_tests(
        """
        def test_streams(memory_scaling):
            def run(n):
                total = 0
                for _ in range(n):
                    block = bytearray(2_000_000)
                    total += len(block)
                return total

            result = memory_scaling(run, sizes=[8, 32, 128], max_growth="10%")
            assert not result.failed
            assert [run.n for run in result.runs] == [8, 32, 128]
            assert all(1_900_000 < run.peak_traced < 6_000_000 for run in result.runs)
        """
    )

    result.assert_outcomes(passed=1)


def test_a_flat_job_whose_allocations_vary_by_a_few_mb_is_not_flagged_by_default(run_user_tests):
    result = run_user_tests(
        """
        import random

        import numpy as np

        def test_noisy(memory_scaling):
            def run(n):
                rng = random.Random()
                for _ in range(n):
                    # 0.5 to 6 MB, whatever the size.
                    scratch = np.ones(rng.randint(64_000, 750_000))
                    scratch.sum()

            memory_scaling(run, sizes=[8, 32, 128])
        """
    )

    result.assert_outcomes(passed=1)


def test_a_job_that_starts_keeping_items_only_past_a_size_fails(run_user_tests):
    result = run_user_tests(
        """
        def test_cache_spills(memory_scaling):
            def run(n):
                kept = []
                for index in range(n):
                    item = bytearray(400_000)
                    if index >= 40:
                        kept.append(item)

            memory_scaling(run, sizes=[8, 32, 128], max_growth="25%")
        """
    )

    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "memory grows with n" in out
    assert "from n=8 to n=128" in out
    assert "test_user.py:5: item = bytearray(400_000)" in out


def test_growth_in_memory_python_does_not_trace_is_named_as_rss_only(run_user_tests):
    result = run_user_tests(
        """
        import mmap

        def test_native(memory_scaling):
            def run(n):
                # Anonymous mappings: resident once touched, invisible to tracemalloc.
                maps = []
                for _ in range(n):
                    area = mmap.mmap(-1, 1 << 20)
                    for offset in range(0, 1 << 20, 4096):
                        area[offset] = 1
                    maps.append(area)

            memory_scaling(run, sizes=[4, 16, 64])
        """
    )

    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "memory grows with n: peak RSS over the limit" in out
    assert "Traced Python allocation stayed flat" in out


def test_max_slope_bounds_the_fitted_bytes_per_unit(run_user_tests):
    result = run_user_tests(
        """
        def keep(n, each):
            kept = [bytearray(each) for _ in range(n)]
            return len(kept)

        def test_within_slope(memory_scaling):
            memory_scaling(lambda n: keep(n, 100_000), sizes=[10, 200], max_slope="200 KiB")

        def test_over_slope(memory_scaling):
            memory_scaling(lambda n: keep(n, 300_000), sizes=[10, 200], max_slope="200 KiB")
        """
    )

    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_over_slope" in out
    assert "max_slope 200.0 KiB per unit of n" in out


def test_the_result_is_returned_and_its_table_is_in_the_report_of_a_passing_test(run_user_tests):
    result = run_user_tests(
        """
        def test_flat(memory_scaling):
            result = memory_scaling(lambda n: sum(range(n)), [1000, 10], "5%")
            assert result.max_growth == 0.05
            assert [run.n for run in result.runs] == [10, 1000]
            assert result.traced.measure == "peak traced Python allocation"
            assert result.rss is not None and result.rss.first > 1_000_000
        """,
        "-rP",
    )

    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "Captured memory_scaling call" in out
    assert "memory stays flat" in out


def test_the_snapshots_that_name_the_sites_are_left_out_of_the_peak_rss(tmp_path):
    # A job of many small blocks: a tracemalloc snapshot of them holds several times their
    # memory, which is the plugin's, not the job's. The largest run takes snapshots when its
    # traced allocation fails (measure="both"), not when only RSS is judged.
    from extraction_lint.pytest_plugin.scaling import measure_scaling

    job = tmp_path / "small_blocks.py"
    job.write_text(
        "def keep(n):\n"
        "    kept = [(i, f'row-{i}') for i in range(n * 10_000)]\n"
        "    return len(kept)\n"
    )
    without_sites = measure_scaling(f"{job}:keep", [2, 40], measure="rss")
    with_sites = measure_scaling(f"{job}:keep", [2, 40])

    assert with_sites.failed and with_sites.sites
    assert not without_sites.sites
    largest = with_sites.runs[-1]
    assert largest.rss_set_aside > 0
    plain_peak = without_sites.runs[-1].peak_rss
    assert plain_peak and largest.peak_rss
    assert largest.peak_rss < 1.3 * plain_peak, (largest.peak_rss, plain_peak)
    assert "leaves out the" in with_sites.report()
