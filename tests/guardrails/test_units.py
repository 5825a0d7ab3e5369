"""Sizes and durations: numbers and strings accepted, bad values named in a ValueError."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extraction_lint.guardrails import guard, parse_duration, parse_size
from extraction_lint.guardrails.units import (
    MAX_DURATION,
    format_bytes,
    format_bytes_over,
    format_duration,
)

GIB = 1024**3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2 GiB", 2 * GIB),
        ("2GiB", 2 * GIB),
        ("500MB", 500_000_000),
        ("500 mb", 500_000_000),
        ("1.5g", int(1.5 * GIB)),
        ("10 k", 10 * 1024),
        ("64 KiB", 64 * 1024),
        ("1 TB", 10**12),
        (" 7 B ", 7),
        ("4096", 4096),
        ("1e3", 1000),
        (1024, 1024),
        (2.5e9, 2_500_000_000),
    ],
)
def test_sizes_accept_numbers_and_unit_strings(value: object, expected: int) -> None:
    assert parse_size(value, "memory_limit") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5m", 300.0),
        ("90s", 90.0),
        ("2h", 7200.0),
        ("1.5h", 5400.0),
        ("1h30m", 5400.0),
        ("1h 30m 15s", 5415.0),
        ("500ms", 0.5),
        ("2 days", 172_800.0),
        ("10 minutes", 600.0),
        ("45", 45.0),
        (12, 12.0),
        (0.25, 0.25),
        (timedelta(minutes=2), 120.0),
    ],
)
def test_durations_accept_numbers_strings_and_timedeltas(value: object, expected: float) -> None:
    assert parse_duration(value, "stall_timeout") == pytest.approx(expected)  # type: ignore[arg-type]


def test_none_means_disabled() -> None:
    assert parse_size(None, "memory_limit") is None
    assert parse_duration(None, "timeout") is None


BAD_SIZES = ["lots", "2 GB of RAM", "5 parsecs", "", "-5", "0", "nan", "inf", 0, -1, True, [1]]
BAD_DURATIONS = ["soon", "5 fortnights", "", "m5", "-3s", "0", "nan", 0, -1.0, False, {}]


@pytest.mark.parametrize("value", BAD_SIZES)
def test_a_bad_size_is_a_value_error_naming_parameter_and_value(value: object) -> None:
    with pytest.raises(ValueError, match=r"^memory_limit: ") as caught:
        parse_size(value, "memory_limit")  # type: ignore[arg-type]
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", BAD_DURATIONS)
def test_a_bad_duration_is_a_value_error_naming_parameter_and_value(value: object) -> None:
    with pytest.raises(ValueError, match=r"^stall_timeout: ") as caught:
        parse_duration(value, "stall_timeout")  # type: ignore[arg-type]
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "parameter", "bad"),
    [
        ({"memory_limit": "lots"}, "memory_limit", "lots"),
        ({"stall_timeout": "soon"}, "stall_timeout", "soon"),
        ({"timeout": -1}, "timeout", -1),
        ({"heartbeat_every": "often"}, "heartbeat_every", "often"),
        ({"grace": "a bit"}, "grace", "a bit"),
        ({"total": -3}, "total", -3),
        ({"display": "fancy"}, "display", "fancy"),
        ({"watch_output": "out.db", "output_stall": "never"}, "output_stall", "never"),
        ({"output_stall": "5m"}, "output_stall", "5m"),  # nothing to watch
    ],
)
def test_guard_rejects_bad_parameters_by_name(
    kwargs: dict[str, object], parameter: str, bad: object
) -> None:
    with pytest.raises(ValueError, match=rf"^{parameter}: ") as caught:
        guard(**kwargs)  # type: ignore[arg-type]
    assert repr(bad) in str(caught.value)


def test_guard_turns_off_each_guard_given_none(tmp_path: Path) -> None:
    g = guard(memory_limit=None, stall_timeout=None, timeout=None, watch_output=tmp_path)
    assert g.monitors == []


def test_output_stall_defaults_to_twice_the_stall_timeout(tmp_path: Path) -> None:
    g = guard(stall_timeout="5m", watch_output=tmp_path)
    assert g.output is not None
    assert g.output.every == 600.0
    assert guard(watch_output=tmp_path).output is None  # no stall timeout: size is only reported


@given(st.integers(min_value=1, max_value=2**50))
def test_byte_counts_read_back_exactly(n: int) -> None:
    assert parse_size(n) == n
    assert parse_size(f"{n}") == n
    assert parse_size(f"{n} B") == n


@given(
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=1, max_value=59),
)
def test_compound_durations_add_up(hours: int, minutes: int, seconds: int) -> None:
    assert parse_duration(f"{hours}h{minutes}m{seconds}s") == hours * 3600 + minutes * 60 + seconds


@given(st.floats(min_value=1, max_value=1e15))
def test_formatted_sizes_read_back_within_rounding(size: float) -> None:
    text = format_bytes(size)
    assert re.fullmatch(r"\d+(\.\d)? (B|KiB|MiB|GiB|TiB)", text)
    parsed = parse_size(text)
    assert parsed is not None
    assert abs(parsed - size) <= max(0.05 * size, 1)


@given(st.integers(min_value=1, max_value=2**50), st.integers(min_value=1, max_value=2**30))
def test_a_size_over_a_limit_is_shown_over_it(limit: int, excess: int) -> None:
    shown_size, shown_limit = format_bytes_over(limit + excess, limit)
    assert shown_size != shown_limit
    size_read, limit_read = parse_size(shown_size), parse_size(shown_limit)
    assert size_read is not None and limit_read is not None
    assert size_read > limit_read


def test_a_size_just_over_a_limit_gets_the_digits_that_show_it() -> None:
    assert format_bytes_over(250 * 2**20 + 20 * 2**10, 250 * 2**20) == ("250.02 MiB", "250.00 MiB")
    assert format_bytes_over(300 * 2**20, 250 * 2**20) == ("300.0 MiB", "250.0 MiB")
    assert format_bytes_over(2**30 + 1, 2**30) == ("1073741825 B", "1073741824 B")


def test_formatted_durations_are_compact() -> None:
    assert format_duration(0.25) == "0.25s"
    assert format_duration(0.5) == "0.5s"
    assert format_duration(1.5) == "1.5s"
    assert format_duration(90) == "1m30s"
    assert format_duration(5025) == "1h23m45s"
    assert format_duration(2 * 86400 + 3600) == "2d01h00m"


@pytest.mark.parametrize("parameter", ["stall_timeout", "timeout", "grace", "heartbeat_every"])
@pytest.mark.parametrize("value", [1e13, 10**16, "1e13s", "200000 days", timedelta.max])
def test_a_duration_no_timer_can_count_is_refused_when_the_guard_is_built(
    parameter: str, value: object
) -> None:
    with pytest.raises(ValueError, match=rf"^{parameter}: ") as caught:
        guard(**{parameter: value})  # type: ignore[arg-type]
    message = str(caught.value)
    assert repr(value) in message
    assert "longer than 100 years" in message
    assert "use None for no limit" in message


@pytest.mark.parametrize("parameter", ["stall_timeout", "timeout", "grace", "heartbeat_every"])
@pytest.mark.parametrize(
    "value", [10**400, 10**100_000, "1e400s"], ids=["1e400", "1e100000", "str"]
)
def test_a_duration_too_large_for_a_float_is_refused_as_too_long(
    parameter: str, value: object
) -> None:
    with pytest.raises(ValueError, match=rf"^{parameter}: .* is longer than 100 years") as caught:
        guard(**{parameter: value})  # type: ignore[arg-type]
    assert len(str(caught.value)) < 200  # a number of 100,000 digits is not quoted whole


@pytest.mark.parametrize(
    "value", [2**63, 10**400, "1e400 GiB", "9000000 TiB"], ids=["2**63", "1e400", "GiB", "TiB"]
)
def test_a_memory_limit_beyond_what_the_system_counts_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"^memory_limit: .* is larger than 8 EiB") as caught:
        guard(memory_limit=value)  # type: ignore[arg-type]
    assert "use None for no limit" in str(caught.value)


@pytest.mark.parametrize("value", [float("inf"), "inf", "infinity"])
def test_infinity_is_not_a_size(value: object) -> None:
    with pytest.raises(ValueError, match=r"^memory_limit: cannot read"):
        parse_size(value, "memory_limit")  # type: ignore[arg-type]


def test_the_longest_duration_accepted_is_a_hundred_years() -> None:
    assert parse_duration(MAX_DURATION, "timeout") == MAX_DURATION
    assert parse_duration("36500 days", "timeout") == MAX_DURATION
    with pytest.raises(ValueError, match="longer than 100 years"):
        parse_duration(MAX_DURATION * 1.001, "timeout")


def test_a_command_line_option_too_long_is_named_without_the_python_hint() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration("1e13", "--stall")
    assert str(caught.value) == (
        "--stall: '1e13' is longer than 100 years (3,153,600,000 s), the longest duration "
        "a guard can time"
    )
