"""What the pytest plugin costs a session that does not use it: collection time with and
without it.

Makes a test suite of plain tests (no fixture, no marker), then times
``pytest --collect-only -q`` on it in fresh processes, alternating the plugin on and off
(``-p no:extraction_lint``), and prints the medians and their ratio. With ``--run`` it times
running the suite as well.

    python benchmarks/plugin_overhead.py [--modules 200] [--tests 10] [--repeat 9] [--run]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_MODULE = """
import pytest

@pytest.mark.parametrize("value", range({tests}))
def test_plain(value):
    assert value >= 0

def test_other():
    assert sum(range(10)) == 45
"""


def make_suite(directory: Path, modules: int, tests: int) -> None:
    """``modules`` test modules of ``tests + 1`` plain tests each."""
    for index in range(modules):
        (directory / f"test_plain_{index:04d}.py").write_text(PLAIN_MODULE.format(tests=tests))


def time_pytest(directory: Path, args: list[str]) -> float:
    """Seconds for one ``python -m pytest ARGS`` in ``directory``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"pytest failed ({completed.returncode}):\n{completed.stdout[-2000:]}")
    return seconds


def measure(directory: Path, args: list[str], repeat: int) -> dict[str, float]:
    """Median seconds with and without the plugin, alternating to share the machine's noise."""
    with_plugin, without_plugin = [], []
    time_pytest(directory, args)  # warm the file cache and the bytecode
    for _ in range(repeat):
        with_plugin.append(time_pytest(directory, args))
        without_plugin.append(time_pytest(directory, [*args, "-p", "no:extraction_lint"]))
    with_median = statistics.median(with_plugin)
    without_median = statistics.median(without_plugin)
    return {
        "with_plugin_s": round(with_median, 4),
        "without_plugin_s": round(without_median, 4),
        "ratio": round(with_median / without_median, 4),
        "difference_ms": round((with_median - without_median) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=200)
    parser.add_argument("--tests", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--run", action="store_true", help="also time running the suite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plugin-overhead-") as temporary:
        directory = Path(temporary)
        make_suite(directory, args.modules, args.tests)
        result: dict[str, object] = {
            "tests": args.modules * (args.tests + 1),
            "repeat": args.repeat,
            "collect": measure(directory, ["--collect-only"], args.repeat),
        }
        if args.run:
            result["run"] = measure(directory, [], args.repeat)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
