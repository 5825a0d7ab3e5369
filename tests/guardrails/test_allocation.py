"""``check_allocation``: an allocation whose size is known is refused before it is made."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from extraction_lint.guardrails import MemoryGuard, MemoryLimitExceeded, guard, read_memory

MIB = 2**20


def limit_above_now(headroom: int) -> int:
    reading = read_memory()
    assert reading is not None
    return reading.total + headroom


def test_an_allocation_that_fits_returns_the_reading_and_one_that_does_not_is_refused() -> None:
    memory = MemoryGuard(limit_above_now(200 * MIB), label="loader")
    reading = memory.check_allocation(10 * MIB)
    assert reading.total > 0
    with pytest.raises(MemoryLimitExceeded) as caught:
        memory.check_allocation(np.int64(2**30), "the whole table")
    error = caught.value
    assert (error.requested, error.what, error.limit) == (2**30, "the whole table", memory.limit)
    assert error.rss > 0
    assert error.rss + error.swap + error.requested > error.limit
    assert error.summary.startswith("loader: allocation refused: 1.0 GiB for the whole table on ")
    assert "no item yet" not in error.summary
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.requested, copy.what, str(copy)) == (2**30, "the whole table", str(error))
    memory.check()  # the refusal did not trip anything: memory is still under the limit


def test_inside_a_guard_the_refusal_names_the_progress_and_leaves_the_guard_untripped() -> None:
    with guard(
        total=4, label="extract", memory_limit=limit_above_now(200 * MIB), heartbeat_every=None
    ) as g:
        refused = []
        for path in g.track(["a.pkl", "b.pkl", "c.pkl", "d.pkl"]):
            try:
                g.check_allocation(2**31 if path == "b.pkl" else MIB)
            except MemoryLimitExceeded as error:
                refused.append(error.summary)
        g.check()
    assert g.done == 4
    assert len(refused) == 1
    assert refused[0].startswith("extract: allocation refused: 2.0 GiB on top of RSS ")
    assert "after 1/4 items (25.0%), current item 'b.pkl'" in refused[0]
    assert refused[0].endswith("Process it in smaller pieces, or raise memory_limit.")


def test_without_a_memory_limit_nothing_is_refused() -> None:
    with guard(heartbeat_every=None) as g:
        reading = g.check_allocation(2**50, "more than any machine has")
    assert reading is not None
    assert reading.total > 0


@pytest.mark.parametrize(
    ("nbytes", "error", "message"),
    [
        (-1, ValueError, r"check_allocation: nbytes must be >= 0, got -1"),
        (1.5, TypeError, r"check_allocation: nbytes must be a number of bytes \(an int\), got 1.5"),
        ("1 GiB", TypeError, r"got '1 GiB'"),
    ],
)
def test_a_size_that_is_not_a_number_of_bytes_is_a_clear_error(
    nbytes: object, error: type[Exception], message: str
) -> None:
    for target in (MemoryGuard("1 GiB"), guard(heartbeat_every=None)):
        with pytest.raises(error, match=message):
            target.check_allocation(nbytes)  # type: ignore[arg-type]
