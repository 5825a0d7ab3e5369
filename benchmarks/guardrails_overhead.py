"""Overhead of ``guard(...).track`` against the bare loop, measured in the same run.

Two workloads, each timed bare and guarded (every guard on: heartbeat, memory limit,
stall timeout, timeout, output watch) in pairs of alternating order; the table gives
the median times and the median of the per-pair ratios:

- 1,000,000 cheap items (``total += item``): target, under 1 s added in total;
- 1,000 items of real work, about 1 ms each (hashing a buffer): target, under 1%.

Prints a table and exits 1 if a target is missed. ``--quick`` runs fewer items and
repetitions (a smoke run, figures are noisy); ``--no-fail`` always exits 0.

    python benchmarks/guardrails_overhead.py
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extraction_lint.guardrails import guard

# A memoryview, so that slicing does not copy: the work is hashing, not allocation,
# whose cost drifts with the allocator's state and would blur a 1% comparison.
_PAYLOAD = memoryview(os.urandom(4 << 20))


def calibrate_work(target_seconds: float = 0.001) -> int:
    """Number of bytes to hash so that one item takes about ``target_seconds``."""
    size = 1 << 16
    while True:
        start = time.perf_counter()
        for _ in range(20):
            hashlib.sha256(_PAYLOAD[:size]).digest()
        per_call = (time.perf_counter() - start) / 20
        if per_call >= target_seconds or size >= len(_PAYLOAD):
            return max(1, min(len(_PAYLOAD), int(size * target_seconds / per_call)))
        size *= 2


def cheap_loop(items: Iterable[int]) -> int:
    total = 0
    for item in items:
        total += item
    return total


def work_loop(items: Iterable[int], size: int) -> int:
    total = 0
    for _ in items:
        total += hashlib.sha256(_PAYLOAD[:size]).digest()[0]
    return total


@dataclass
class Result:
    name: str
    bare: float
    guarded: float
    ratio: float
    target: str
    ok: bool

    @property
    def added(self) -> float:
        return self.guarded - self.bare


def guarded(n: int, out: Path) -> Callable[[Callable[[Iterable[int]], int]], float]:
    def run(loop: Callable[[Iterable[int]], int]) -> float:
        start = time.perf_counter()
        with guard(
            total=n,
            label="bench",
            heartbeat_every=30,
            memory_limit="64 GiB",
            stall_timeout="5m",
            timeout="2h",
            watch_output=out,
            display="log",
        ) as g:
            loop(g.track(range(n)))
        return time.perf_counter() - start

    return run


def bare(n: int) -> Callable[[Callable[[Iterable[int]], int]], float]:
    def run(loop: Callable[[Iterable[int]], int]) -> float:
        start = time.perf_counter()
        loop(iter(range(n)))
        return time.perf_counter() - start

    return run


def measure(
    loop: Callable[[Iterable[int]], int], n: int, repeats: int, out: Path
) -> tuple[float, float, float]:
    """Median bare time, median guarded time and median of the paired ratios."""
    bare_times, guarded_times, ratios = [], [], []
    run_bare, run_guarded = bare(n), guarded(n, out)
    run_bare(loop), run_guarded(loop)  # warm-up: imports, caches, allocator
    for repeat in range(repeats):
        # Pairs in alternating order, so that the drift of a shared machine hits
        # both sides alike; the ratio of each pair cancels slow drifts.
        if repeat % 2:
            guarded_time, bare_time = run_guarded(loop), run_bare(loop)
        else:
            bare_time, guarded_time = run_bare(loop), run_guarded(loop)
        bare_times.append(bare_time)
        guarded_times.append(guarded_time)
        ratios.append(guarded_time / bare_time)
    return (
        statistics.median(bare_times),
        statistics.median(guarded_times),
        statistics.median(ratios),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a target is missed")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    logging.getLogger("extraction_lint.guardrails").setLevel(logging.WARNING)

    cheap_n, work_n = (100_000, 100) if args.quick else (1_000_000, 1_000)
    repeats = args.repeats or (3 if args.quick else 11)
    size = calibrate_work()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.duckdb"
        out.write_bytes(b"x")
        b, g, ratio = measure(cheap_loop, cheap_n, repeats, out)
        budget = 1.0 * cheap_n / 1_000_000
        results.append(
            Result(f"{cheap_n:,} cheap items", b, g, ratio, f"< {budget:g} s added", g - b < budget)
        )
        b, g, ratio = measure(lambda items: work_loop(items, size), work_n, repeats, out)
        results.append(
            Result(f"{work_n:,} items x ~1 ms work", b, g, ratio, "< 1% added", ratio < 1.01)
        )

    print(
        f"Python {sys.version.split()[0]}, {repeats} paired repetitions; times are medians, "
        "ratio is the median of the per-pair ratios"
    )
    print(f"{'workload':<28} {'bare':>10} {'guarded':>10} {'added':>10} {'ratio':>8}  target")
    for r in results:
        print(
            f"{r.name:<28} {r.bare:>9.3f}s {r.guarded:>9.3f}s {r.added:>+9.3f}s "
            f"{r.ratio:>8.4f}  {r.target} {'ok' if r.ok else 'MISSED'}"
        )
    missed = [r.name for r in results if not r.ok]
    if missed and not args.no_fail:
        print("missed: " + ", ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
