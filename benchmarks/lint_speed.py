"""How fast extraction-lint checks a large tree, against the parse floor, in one run.

    python benchmarks/lint_speed.py [--corpus DIR] [--repeat 3] [--json FILE]

For the full corpus and its 10% subset (see ``benchmarks/corpus.py``; built on first use),
each measurement runs in a fresh process, ``--repeat`` times, and the median is reported:

- ``ast.parse`` of every file: the floor (the interpreter's own parser, nothing else);
- ``libcst.parse_module`` of every file: what a libcst linter pays without a prefilter;
- ``extraction-lint`` cold with ``-j 1``, cold with every core, and warm (cache filled);
- side by side, where installed: ``ruff check`` with its default rules and no cache, and
  ``semgrep`` with a one-rule configuration on every core (``--semgrep PATH``).

Printed per measurement: wall seconds, files/s, lines/s, the peak RSS of the largest
process (a worker, for ``-j N``), and the ratio of the wall time to the floor's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ensure, python_files

REPO = Path(__file__).resolve().parent.parent

#: Runs a command and prints its wall time and the peak RSS of the largest process among it
#: and its descendants (every process it waited for), in KiB.
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""

PARSE = """
import sys, warnings
warnings.simplefilter("ignore")
paths = [line.rstrip("\\n") for line in open(sys.argv[2])]
if sys.argv[1] == "ast":
    import ast
    parse = ast.parse
else:
    import libcst
    parse = libcst.parse_module
for path in paths:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        parse(data)
    except Exception:
        pass
"""


def measure(command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of ``command``, run in a fresh process; an exit
    status outside ``ok`` is an error (the linter exits 1 on findings, a parse run 0)."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    code = int(out[2])
    if code not in ok:
        raise RuntimeError(f"{command} exited {code}")
    return float(out[0]), int(out[1])


def median_of(
    repeat: int, command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)
) -> dict[str, float]:
    """Median wall time and peak RSS over ``repeat`` runs."""
    walls, peaks = [], []
    for _ in range(repeat):
        wall, peak = measure(command, cwd, ok)
        walls.append(wall)
        peaks.append(peak)
    return {"seconds": statistics.median(walls), "peak_rss_mb": max(peaks) / 1024}


#: Semgrep's one rule, for its side-by-side row: a bulk write, the catalogue's commonest sink.
SEMGREP_RULE = """rules:
  - id: executemany
    pattern: $X.executemany(...)
    message: bulk write
    languages: [python]
    severity: INFO
"""


def others(jobs: int, semgrep: str | None) -> dict[str, list[str]]:
    """The other tools' commands, run side by side where they are installed: Ruff's
    default rules without its cache, and Semgrep with one rule (its own parse, every
    core)."""
    commands: dict[str, list[str]] = {}
    if importlib.util.find_spec("ruff") is not None:
        commands["ruff check (default rules)"] = [
            sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--exit-zero",
            "--quiet", ".",
        ]  # fmt: skip
    if semgrep:
        rule = Path(tempfile.mkstemp(suffix=".yaml")[1])
        rule.write_text(SEMGREP_RULE)
        commands["semgrep, one rule"] = [
            semgrep, "scan", "--config", str(rule), "--metrics=off", "--disable-version-check",
            "--jobs", str(jobs), "--quiet", "--no-git-ignore", ".",
        ]  # fmt: skip
    return commands


def bench(
    root: Path, repeat: int, jobs: int, semgrep: str | None = None
) -> dict[str, dict[str, float]]:
    """Every measurement over the files under ``root``."""
    files = python_files(root)
    lines = sum(f.read_bytes().count(b"\n") for f in files)
    listing = Path(tempfile.mkstemp(suffix=".txt")[1])
    listing.write_text("".join(f"{f}\n" for f in files))
    cache = Path(tempfile.mkdtemp(prefix="extraction-lint-cache-"))
    lint = [sys.executable, "-m", "extraction_lint", "--isolated", "--format", "json", "."]

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    results = {
        "ast.parse (floor)": median_of(
            repeat, [sys.executable, "-c", PARSE, "ast", str(listing)], root, ok=(0,)
        ),
        "libcst.parse_module": median_of(
            repeat, [sys.executable, "-c", PARSE, "libcst", str(listing)], root, ok=(0,)
        ),
        "extraction-lint cold -j 1": median_of(repeat, [*lint, "--no-cache", "-j", "1"], root),
        f"extraction-lint cold -j {jobs}": median_of(
            repeat, [*lint, "--no-cache", "-j", str(jobs)], root
        ),
    }
    for label, command in others(jobs, semgrep).items():
        results[label] = median_of(repeat, command, root, ok=(0, 1))
    warm = [*lint, "--cache-dir", str(cache), "-j", str(jobs)]
    clear_cache()
    measure(warm, root)  # fill the cache
    results[f"extraction-lint warm -j {jobs}"] = median_of(repeat, warm, root)
    clear_cache()
    listing.unlink()
    floor = results["ast.parse (floor)"]["seconds"]
    for row in results.values():
        row["files_per_s"] = len(files) / row["seconds"]
        row["lines_per_s"] = lines / row["seconds"]
        row["ratio_to_floor"] = row["seconds"] / floor
    results["_corpus"] = {"files": len(files), "lines": lines}
    return results


def show(name: str, results: dict[str, dict[str, float]]) -> None:
    corpus = results["_corpus"]
    print(f"\n{name}: {corpus['files']:,} files, {corpus['lines']:,} lines")
    print(f"{'':30} {'seconds':>8} {'files/s':>9} {'lines/s':>10} {'peak RSS':>9} {'x floor':>8}")
    for label, row in results.items():
        if label.startswith("_"):
            continue
        print(
            f"{label:30} {row['seconds']:8.2f} {row['files_per_s']:9.0f} "
            f"{row['lines_per_s']:10.0f} {row['peak_rss_mb']:7.0f}MB {row['ratio_to_floor']:8.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench-corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--json", type=Path, default=REPO / "benchmarks" / "out" / "lint_speed.json"
    )
    parser.add_argument("--only", choices=("full", "sub10"), help="one part of the corpus only")
    parser.add_argument(
        "--semgrep",
        default=shutil.which("semgrep"),
        help="the semgrep executable, for its side-by-side row (default: the one on PATH)",
    )
    args = parser.parse_args()
    corpus = ensure(args.corpus.resolve())
    report = {"python": sys.version.split()[0], "jobs": args.jobs, "repeat": args.repeat,
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
    for part in ("sub10", "full"):
        if args.only and part != args.only:
            continue
        report[part] = bench(corpus / part, args.repeat, args.jobs, args.semgrep)
        show(part, report[part])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
