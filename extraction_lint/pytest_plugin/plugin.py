"""pytest plugin: fail a test when peak memory grows with the input, or passes a limit.

Registered through the ``pytest11`` entry point, so it is active wherever extraction-lint is
installed (``-p no:extraction_lint`` turns it off)::

    def test_extract_is_streaming(memory_scaling, tmp_path):
        def run(n):
            make_input(tmp_path / str(n), files=n)
            extract(tmp_path / str(n), db=tmp_path / f"{n}.duckdb")
        memory_scaling(run, sizes=[8, 32, 128], max_growth="10%")

    @pytest.mark.memory_limit("300 MiB")
    def test_small_job(): ...

Loading the plugin imports nothing beyond pytest and the standard library; the work is done
only in tests that use the fixture or the marker.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Sequence
from typing import Any

import pytest

MARKER_HELP = (
    "memory_limit(size): fail the test when its body's peak memory (traced Python allocation,"
    " or RSS above its start) passes size, e.g. '300 MiB'"
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker."""
    config.addinivalue_line("markers", MARKER_HELP)


MemoryScaling = Callable[..., Any]


@pytest.fixture
def memory_scaling(request: pytest.FixtureRequest) -> MemoryScaling:
    """``memory_scaling(job, sizes, max_growth=None, max_slope=None, noise="10 MiB",
    measure="both", timeout=None)``: run ``job(n)`` for each size in a fresh child process
    and fail the test when its peak RSS or peak traced Python allocation grows with n.

    ``max_growth`` ("10%" or 0.1; the default when no limit is given) bounds the growth
    from the smallest to the largest size relative to the smallest; ``max_slope`` ("64 KiB"
    or bytes) bounds the fitted growth per unit of n. Growth under ``noise`` over the whole
    range is never a failure. ``measure`` ("both", "traced" or "rss") is what is judged; both
    are measured and shown. Returns the
    :class:`~extraction_lint.pytest_plugin.scaling.ScalingResult`.
    """
    module = getattr(request, "module", None)

    def check(
        job: Any,
        sizes: Sequence[float],
        max_growth: float | str | None = None,
        max_slope: float | str | None = None,
        *,
        noise: float | str | None = "10 MiB",
        measure: str = "both",
        timeout: float | None = None,
    ) -> Any:
        from .scaling import ScalingError, measure_scaling

        problem: str | None = None
        try:
            result = measure_scaling(
                job,
                sizes,
                max_growth=max_growth,
                max_slope=max_slope,
                noise=noise,
                measure=measure,
                timeout=timeout,
                by_value=[module] if module is not None else [],
            )
        except ScalingError as error:
            problem = str(error)
        if problem is not None:
            # Outside the except block, so the failure is not chained to the ScalingError.
            pytest.fail(f"memory_scaling: {problem}", pytrace=False)
        if result.rss is None:
            from .measure import RSS_NOT_MEASURED

            warnings.warn(pytest.PytestWarning(f"memory_scaling: {RSS_NOT_MEASURED}"), stacklevel=2)
        if result.failed:
            pytest.fail(result.report(), pytrace=False)
        request.node.add_report_section("call", "memory_scaling", result.report())
        return result

    return check


def _marker_limit(marker: pytest.Mark) -> int:
    from extraction_lint.guardrails.units import parse_size

    values = list(marker.args) + [marker.kwargs[k] for k in ("limit", "size") if k in marker.kwargs]
    unknown = sorted(set(marker.kwargs) - {"limit", "size"})
    if unknown or len(values) != 1:
        pytest.fail(
            "memory_limit marker: give one size, as in @pytest.mark.memory_limit('300 MiB')"
            + (f" (unknown argument {', '.join(unknown)})" if unknown else ""),
            pytrace=False,
        )
    try:
        limit = parse_size(values[0], "memory_limit")
    except ValueError as error:
        problem = str(error)
    else:
        assert limit is not None
        return limit
    pytest.fail(f"memory_limit marker: {problem}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Measure the body of tests marked ``memory_limit`` and fail those over the limit."""
    marker = item.get_closest_marker("memory_limit")
    if marker is None:
        return (yield)
    limit = _marker_limit(marker)
    from .measure import RSS_NOT_MEASURED, PeakMonitor

    monitor = PeakMonitor()
    monitor.start()
    try:
        outcome = yield
    finally:
        reading = monitor.stop()
    from extraction_lint.guardrails.units import format_bytes

    over = []
    if reading.peak_traced > limit:
        over.append(f"peak traced Python allocation {format_bytes(reading.peak_traced)}")
    rss_growth = reading.rss_growth
    if rss_growth is not None:
        # tracemalloc's own records are part of the RSS but not of the test's memory.
        rss_growth = max(0, rss_growth - reading.tracemalloc_overhead)
        if rss_growth > limit:
            over.append(f"peak RSS {format_bytes(rss_growth)} above its start")
    if over:
        measured = "" if rss_growth is not None else f" ({RSS_NOT_MEASURED})"
        pytest.fail(
            f"memory_limit {format_bytes(limit)} exceeded by the test body: "
            + " and ".join(over)
            + measured,
            pytrace=False,
        )
    return outcome
