"""``async for x in g.track(agen())``: the same heartbeat, stall, timeout and memory checks.

The guard's error reaches an asyncio task wherever it waits: at an ``await`` (the
task is cancelled there and the block ends with the guard's error), or inside
synchronous code the coroutine is stuck in (raised there, as in a plain loop). The
event loop itself is never broken: the job catches the error and goes on awaiting.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from extraction_lint.guardrails import ProgressTracker, guard, track

from .conftest import RunChild

JOB = """
import asyncio, sys, threading, time
from extraction_lint.guardrails import GuardrailError, guard

case = sys.argv[1]

async def source(n, stuck_at=None, how="await"):
    for i in range(n):
        if i == stuck_at:
            if how == "await":
                await asyncio.sleep(30)      # the source waits for ever
            else:
                time.sleep(30)               # the source blocks the loop
        await asyncio.sleep(0.01)
        yield f"batch_{i:03d}.pkl"

async def job():
    limits = {"timeout": 1} if case == "deadline" else {"stall_timeout": 1}
    if case == "memory":
        limits = {"memory_limit": "300 MiB"}
    start = time.monotonic()
    try:
        with guard(label="extract", grace=1, heartbeat_every=60, **limits) as g:
            kept = []
            stuck = 2 if case in ("await", "sync", "thread") else None
            how = "sync" if case == "sync" else "await"
            n = 10_000 if case in ("deadline", "memory") else 5
            async for path in g.track(source(n, stuck_at=stuck, how=how)):
                if case == "body" and path == "batch_002.pkl":
                    await asyncio.sleep(30)  # the loop body waits for ever
                if case == "memory":
                    kept.append(bytearray(8 * 2**20))
    except GuardrailError as error:
        print(f"CAUGHT {type(error).__name__} after {time.monotonic() - start:.1f}s")
        print(error.summary)
    await asyncio.sleep(0.2)  # the event loop still runs
    print("loop alive")

if case == "thread":
    worker = threading.Thread(target=asyncio.run, args=(job(),))
    worker.start()
    worker.join()
else:
    asyncio.run(job())
print("end")
"""


@pytest.mark.slow
@pytest.mark.parametrize("case", ["await", "sync", "body", "thread"])
def test_a_stalled_async_loop_gets_the_error_in_its_task_and_the_event_loop_goes_on(
    run_child: RunChild, case: str
) -> None:
    result = run_child(JOB, case)
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"CAUGHT StallDetected after 1\.\ds", lines[0]), result.explain()
    assert lines[1].startswith("extract: no progress for 1."), result.explain()
    item = "batch_002.pkl" if case == "body" else "batch_001.pkl"
    assert f"after 2 items, current item '{item}'" in lines[1], result.explain()
    assert lines[2:] == ["loop alive", "end"], result.explain()


@pytest.mark.slow
def test_an_async_loop_past_its_timeout_gets_deadline_exceeded(run_child: RunChild) -> None:
    result = run_child(JOB, "deadline")
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"CAUGHT DeadlineExceeded after 1\.\ds", lines[0]), result.explain()
    assert lines[1].startswith("extract: timeout of 1.0s exceeded"), result.explain()
    assert lines[2:] == ["loop alive", "end"]


@pytest.mark.slow
def test_an_async_loop_that_keeps_its_results_is_stopped_at_the_memory_limit(
    run_child: RunChild,
) -> None:
    result = run_child(JOB, "memory")
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("CAUGHT MemoryLimitExceeded after "), result.explain()
    assert re.search(r"over memory_limit 300\.0+ MiB", lines[1]), result.explain()
    assert lines[2:] == ["loop alive", "end"]


async def numbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def test_async_iterables_are_counted_like_plain_ones() -> None:
    async def job() -> tuple[list[int], int, list[int], list[int], int, int]:
        with guard(label="extract", stall_timeout=5, heartbeat_every=None) as g:
            inside = [x async for x in g.track(numbers(20))]
        entered_guard = guard(label="entered", stall_timeout=5, heartbeat_every=None)
        entered = [x async for x in entered_guard.track(numbers(3))]
        plain = [x async for x in track(numbers(4), heartbeat_every=None)]
        tracker = ProgressTracker(total=2, heartbeat_every=None)
        async for _ in tracker.track(numbers(2)):
            tracker.tick(rows=10)
        return inside, g.done, entered, plain, entered_guard.done, tracker.work

    inside, done, entered, plain, entered_done, work = asyncio.run(job())
    assert inside == list(range(20))
    assert done == 20
    assert entered == [0, 1, 2]
    assert entered_done == 3
    assert plain == [0, 1, 2, 3]
    assert work == 2 + 2  # two items and two ticks


def test_a_plain_iterable_still_gives_a_plain_iterator() -> None:
    with guard(heartbeat_every=None) as g:
        iterator = g.track([1, 2, 3])
        assert next(iterator) == 1
        assert list(iterator) == [2, 3]
