"""What watching costs: one reading of a job, and the memory of ``watch`` itself.

    python benchmarks/watch_overhead.py [--readings 300] [--json]

- **One reading** (target: median under 5 ms): ``ProcessProbe.read()`` of a real job
  with one output file and one log file, as a single process and as a shell with
  three Python children, and with the look-up of the job's guard status record
  that ``watch`` adds to each reading. Baselines measured in the same run: a bare
  ``psutil.Process.memory_info()`` (the floor) and psutil's
  ``children(recursive=True)`` alone (the tree listing watch does without, through
  ``/proc/<pid>/task/<tid>/children``).
- **watch's own memory** (target: peak RSS under 50 MB): the peak resident set
  (``VmHWM``) of ``extraction-lint watch`` over a 5 s job, writing lines to a pipe and
  drawing its panel on a pseudo-terminal; baseline: a bare Python interpreter.

Exit status 1 when a target is missed. Medians; the machine may be shared, so read
the ratios against the baselines more than the absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from extraction_lint.watch.probe import ProcessProbe
from extraction_lint.watch.session import guard_progress

READING_TARGET_MS = 5.0
RSS_TARGET_MB = 50.0
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _median_ms(action, count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _readings(count: int, where: Path) -> dict[str, float]:
    out, log = where / "out.bin", where / "job.log"
    out.write_bytes(b"x" * 4096)
    log.write_text("a line\n" * 100)
    single = subprocess.Popen(SLEEPER)
    sleeper = " ".join(SLEEPER[:2]) + " 'import time; time.sleep(600)'"
    tree = subprocess.Popen(["sh", "-c", f"{sleeper} & {sleeper} & {sleeper} & wait"])
    try:
        time.sleep(1.0)  # let the children start
        single_probe = ProcessProbe(single.pid, outputs=[str(out)], logs=[str(log)])
        tree_probe = ProcessProbe(tree.pid, outputs=[str(out)], logs=[str(log)])
        assert tree_probe.read().processes == 4
        process = psutil.Process(tree.pid)
        host = socket.gethostname()
        return {
            "reading, 1 process (ms)": _median_ms(single_probe.read, count),
            "reading, 4 processes (ms)": _median_ms(tree_probe.read, count),
            "reading + guard status lookup, 4 processes (ms)": _median_ms(
                lambda: (tree_probe.read(), guard_progress(tree_probe.pids(), host)), count
            ),
            "baseline: memory_info() alone (ms)": _median_ms(process.memory_info, count),
            "baseline: psutil children(recursive=True) alone (ms)": _median_ms(
                lambda: process.children(recursive=True), count
            ),
            "processes on the machine": float(len(psutil.pids())),
        }
    finally:
        for child in (single, tree):
            for descendant in psutil.Process(child.pid).children(recursive=True):
                descendant.kill()
            child.kill()
            child.wait()


def _peak_rss_mb(argv: list[str], *, terminal: bool) -> float:
    """Peak RSS (VmHWM) of a command, read just before it ends."""
    master = None
    if terminal:
        master, slave = pty.openpty()
        process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
    else:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    try:
        while process.poll() is None:
            if master is not None:
                with contextlib.suppress(OSError):
                    os.read(master, 65536)
            try:
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.05)
    finally:
        process.wait()
        if master is not None:
            os.close(master)
    return peak / 1e6


def _watch_memory(where: Path) -> dict[str, float]:
    out, log = where / "out.bin", where / "job.log"
    watch = [
        sys.executable,
        "-m",
        "extraction_lint",
        "watch",
        "--every",
        "0.2",
        "--memory-limit",
        "1GiB",
        "--stall",
        "1m",
        "--output",
        str(out),
        "--log",
        str(log),
        "--record",
        str(where / "watch.jsonl"),
        "--",
        sys.executable,
        "-c",
        "import time; time.sleep(5)",
    ]
    return {
        "watch peak RSS, lines in a pipe (MB)": _peak_rss_mb(watch, terminal=False),
        "watch peak RSS, panel on a terminal (MB)": _peak_rss_mb(watch, terminal=True),
        "baseline: bare python peak RSS (MB)": _peak_rss_mb(
            [sys.executable, "-c", "import time; time.sleep(2)"], terminal=False
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=300, help="readings per median")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        where = Path(scratch)
        figures = {**_readings(args.readings, where), **_watch_memory(where)}
    reading = max(
        figures["reading, 1 process (ms)"],
        figures["reading + guard status lookup, 4 processes (ms)"],
    )
    rss = max(
        figures["watch peak RSS, lines in a pipe (MB)"],
        figures["watch peak RSS, panel on a terminal (MB)"],
    )
    met = reading < READING_TARGET_MS and rss < RSS_TARGET_MB
    if args.json:
        print(json.dumps({"figures": figures, "targets_met": met}, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:<55} {value:10.3f}")
        print(
            f"targets: one reading under {READING_TARGET_MS} ms ({reading:.2f}), watch under "
            f"{RSS_TARGET_MB:.0f} MB RSS ({rss:.1f}): {'met' if met else 'MISSED'}"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
