"""Batches inside a file are bounded by rows and by bytes, and cover the file in order."""

from __future__ import annotations

import numpy as np

from extraction_lint.reference.records import SignalRecord
from extraction_lint.reference.store import arrow_batch, arrow_samples, signal_batches


def _records(*lengths: int) -> list[SignalRecord]:
    return [SignalRecord(f"s{i}", np.full(n, float(i))) for i, n in enumerate(lengths)]


def _subjects(batches: list[list[SignalRecord]]) -> list[list[str]]:
    return [[record.subject for record in batch] for batch in batches]


def test_batches_hold_at_most_max_rows() -> None:
    batches = [list(b) for b in signal_batches(_records(*[10] * 7), max_rows=3, max_bytes=10**9)]
    assert _subjects(batches) == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]]


def test_batches_hold_at_most_max_bytes_of_signal() -> None:
    # 10 samples = 80 bytes a signal; 200 bytes fit two.
    batches = [list(b) for b in signal_batches(_records(*[10] * 5), max_rows=100, max_bytes=200)]
    assert _subjects(batches) == [["s0", "s1"], ["s2", "s3"], ["s4"]]


def test_a_signal_larger_than_max_bytes_makes_a_batch_of_its_own() -> None:
    batches = [list(b) for b in signal_batches(_records(5, 1000, 5), max_rows=10, max_bytes=100)]
    assert _subjects(batches) == [["s0"], ["s1"], ["s2"]]


def test_no_records_make_no_batches() -> None:
    assert list(signal_batches([], max_rows=10, max_bytes=100)) == []


def test_the_arrow_batch_is_a_list_column_over_the_exact_values() -> None:
    table = arrow_batch(_records(3, 0, 2))
    assert table.column_names == ["subject", "signal"]
    assert table.column("subject").to_pylist() == ["s0", "s1", "s2"]
    assert table.column("signal").to_pylist() == [[0.0, 0.0, 0.0], [], [2.0, 2.0]]


def test_the_long_batch_has_a_row_per_sample_with_its_subject_and_index() -> None:
    table = arrow_samples(_records(3, 0, 2))
    assert table.column_names == ["subject", "t", "value"]
    assert table.column("subject").to_pylist() == ["s0", "s0", "s0", "s2", "s2"]
    assert table.column("t").to_pylist() == [0, 1, 2, 0, 1]
    assert table.column("value").to_pylist() == [0.0, 0.0, 0.0, 2.0, 2.0]
    assert arrow_samples([]).num_rows == 0
