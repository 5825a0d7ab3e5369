"""What a long exclude list costs a run, against the same run with none, in one process.

    python benchmarks/discovery_excludes.py [--patterns 40000] [--files 20] [--repeat 5]

A tree of ``--files`` Python files (in a few directories) is discovered with the default
configuration (the baseline), then with ``--patterns`` extra exclude patterns: half
literal names (``vendor_N``), half wildcards anchored in a directory (``gen_N/*.py``), so
that neither the dictionary look-ups nor the wildcard scan is measured alone. Each
measurement builds the configuration afresh (compiling the patterns is part of the cost),
runs ``--repeat`` times, and the median is printed, with the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extraction_lint.config import Config
from extraction_lint.discovery import discover


def _tree(root: Path, files: int) -> None:
    for i in range(files):
        path = root / f"pkg_{i % 4}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")


def _median_seconds(root: Path, patterns: tuple[str, ...], repeat: int) -> tuple[float, int]:
    times = []
    found = 0
    for _ in range(repeat):
        start = time.perf_counter()
        config = Config(root=root, extend_exclude=patterns)
        found = len(discover([str(root)], config, cwd=root))
        times.append(time.perf_counter() - start)
    return statistics.median(times), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=40_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    half = args.patterns // 2
    patterns = tuple(f"vendor_{i}" for i in range(half)) + tuple(
        f"gen_{i}/*.py" for i in range(args.patterns - half)
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        _tree(root, args.files)
        baseline, base_found = _median_seconds(root, (), args.repeat)
        loaded, found = _median_seconds(root, patterns, args.repeat)
    assert found == base_found == args.files, (found, base_found)
    print(f"{args.files} files, no extra pattern:  median {baseline * 1000:8.1f} ms")
    print(
        f"{args.files} files, {args.patterns} patterns: median {loaded * 1000:8.1f} ms "
        f"({loaded / baseline:.1f}x the baseline)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
