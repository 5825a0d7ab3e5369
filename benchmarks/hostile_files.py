"""How the checker copes with pathological files, each checked alone in a fresh process.

    python benchmarks/hostile_files.py [--repeat 3] [--json FILE]

Per generated file: wall seconds (median of ``--repeat`` runs), peak RSS, exit status and
what was reported. The files:

- ``loops-N``: one function with N extraction loops one after the other (the guard
  analysis must be linear: 4x the loops, about 4x the time);
- ``and-chain-8000``, ``dotted-import-8000``: flat chains that overflowed libcst's native
  parser on a main thread (a segmentation fault, exit -11, before);
- ``strings-8000``: an implicit concatenation of 8,000 string literals (valid Python,
  refused by libcst's parser before: EXL999);
- ``lines-N``: one function of N statements that reaches the analysis, for the memory
  per line (peak RSS growth divided by the lines added).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_speed import MEASURE

HEAD = "import pickle\n\n\ndef main(paths, con):\n"
WRITE = "    con.executemany('INSERT INTO t VALUES (?)', rows)\n"
ACCUMULATE = "    rows = []\n    for p in paths:\n        rows.append(pickle.load(p))\n"


def loops(n: int) -> str:
    body = "".join(
        f"    for p{i} in paths:\n        con.executemany('x', pickle.load(p{i}))\n"
        for i in range(n)
    )
    return HEAD + body


def lines(n: int) -> str:
    body = "".join(f"    x{i} = compute(rows, {i}, 'label_{i}')\n" for i in range(n))
    return HEAD + ACCUMULATE + body + WRITE


FILES = {
    "loops-1000": lambda: loops(1000),
    "loops-4000": lambda: loops(4000),
    "and-chain-8000": lambda: (
        HEAD + ACCUMULATE + "    x = " + " and ".join(["p"] * 8000) + "\n" + WRITE
    ),
    "dotted-import-8000": lambda: (
        HEAD + ACCUMULATE + "    import " + ".".join(["a"] * 8000) + "\n" + WRITE
    ),
    "strings-8000": lambda: (
        HEAD + ACCUMULATE + "    x = (" + " ".join(['"a"'] * 8000) + ")\n" + WRITE
    ),
    "lines-5000": lambda: lines(5000),
    "lines-20000": lambda: lines(20000),
}


def run(path: Path) -> tuple[float, int, int, dict]:
    command = [
        sys.executable,
        "-m",
        "extraction_lint",
        "--isolated",
        "--no-cache",
        "-j",
        "1",
        "--per-file-timeout",
        "0",
        "--format",
        "json",
        "--output",
        str(path.with_suffix(".json")),
        str(path),
    ]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    ).stdout.split()
    report_path = path.with_suffix(".json")
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return float(out[0]), int(out[1]), int(out[2]), report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, make in FILES.items():
            path = Path(directory) / f"{name.replace('-', '_')}.py"
            path.write_text(make())
            walls: list[float] = []
            peaks: list[int] = []
            code, report = 0, dict[str, dict]()
            for _ in range(args.repeat):
                wall, peak, code, report = run(path)
                walls.append(wall)
                peaks.append(peak)
            summary = report.get("summary", {})
            results[name] = {
                "seconds": statistics.median(walls),
                "peak_rss_mb": max(peaks) / 1024,
                "exit": code,
                "by_code": summary.get("by_code", {}),
                "lines": path.read_text().count("\n"),
            }
    print(f"{'file':22} {'seconds':>8} {'peak RSS':>9} {'exit':>5}  reported")
    for name, row in results.items():
        print(
            f"{name:22} {row['seconds']:8.2f} {row['peak_rss_mb']:7.0f}MB {row['exit']:>5}  "
            f"{row['by_code']}"
        )
    small, large = results["lines-5000"], results["lines-20000"]
    per_line = (
        (large["peak_rss_mb"] - small["peak_rss_mb"]) * 1024 / (large["lines"] - small["lines"])
    )
    ratio = results["loops-4000"]["seconds"] / results["loops-1000"]["seconds"]
    print(f"\nmemory per analysed line: {per_line:.1f} KB")
    print(f"4x the loops: {ratio:.1f}x the time (linear: about 4x)")
    if args.json:
        extra = {"kb_per_line": per_line, "loops_time_ratio": ratio}
        Path(args.json).write_text(json.dumps({**results, "_figures": extra}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
