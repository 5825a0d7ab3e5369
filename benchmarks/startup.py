"""Start-up latency: one file on the command line, as a pre-commit hook runs it.

Two files, each checked by a fresh process, against flake8 on the same file, in the same
run, the commands taking turns so that a busy machine slows them alike:

    clean.py    a module with no sink and no loader (what most files of a commit are)
    finding.py  a module with an extraction loop and a bulk write (four findings)

Targets: clean at most 1.5x flake8's median, finding at most 3x. Ruff is timed too when
it is installed. ``extraction-lint`` runs with ``--no-cache`` (a file in a commit has
changed, so the cache would miss anyway) and flake8 with its defaults.

Every tool runs from bytecode, as an installed tool does (``pip install`` compiles a
package; pre-commit installs its hooks that way): the timed commands run without
``PYTHONDONTWRITEBYTECODE``, so the warm-up run writes the caches of a package installed
in editable mode. With that variable set, an editable install compiles each of its
modules from source at every start, and the figure would be that compilation's.

    python benchmarks/startup.py [--runs 21] [--json]

Needs flake8 (``pip install flake8``); exits 1 when a target is missed, 2 when flake8 is
missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLEAN = '''"""Paths of the configuration files, in the order they are read."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_NAMES = ("settings.toml", "settings.local.toml")


def candidates(start: Path) -> list[Path]:
    """Every directory from ``start`` up to the root."""
    return [start, *start.parents]


def find(start: Path, names: tuple[str, ...] = DEFAULT_NAMES) -> list[Path]:
    """The configuration files found upward from ``start``."""
    found = []
    for directory in candidates(start):
        for name in names:
            path = directory / name
            if path.is_file():
                found.append(path)
    return found


def home() -> Path:
    """The user's configuration directory."""
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
'''

FINDING = '''"""Load the signal files into the database."""

import pickle

import duckdb


def main(paths, database):
    con = duckdb.connect(database)
    rows = []
    for path in sorted(paths):
        with open(path, "rb") as handle:
            rows.extend(pickle.load(handle))
    con.executemany("INSERT INTO signals VALUES (?, ?, ?)", rows)
'''

TARGETS = {"clean.py": 1.5, "finding.py": 3.0}


def _tool(name: str, module: str) -> list[str] | None:
    """The command that runs a tool: its script next to this interpreter, or ``-m``."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    if shutil.which(name):
        return [name]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return [sys.executable, "-m", module] if probe.returncode == 0 else None


def _time(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _environment() -> dict[str, str]:
    """This process's environment, with bytecode caches written and read as by default."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(runs: int) -> dict[str, object]:
    """Median seconds per tool and file, and the ratios to flake8."""
    ours = _tool("extraction-lint", "extraction_lint")
    flake8 = _tool("flake8", "flake8")
    ruff = _tool("ruff", "ruff")
    if ours is None or flake8 is None:
        raise SystemExit(2)
    tools = {"extraction-lint": [*ours, "--no-cache"], "flake8": flake8}
    if ruff is not None:
        tools["ruff"] = [*ruff, "check", "--no-cache", "--isolated"]
    env = _environment()
    with tempfile.TemporaryDirectory() as temporary:
        where = Path(temporary)
        (where / "clean.py").write_text(CLEAN, encoding="utf-8")
        (where / "finding.py").write_text(FINDING, encoding="utf-8")
        times: dict[str, dict[str, list[float]]] = {
            name: {file: [] for file in TARGETS} for name in tools
        }
        for file in TARGETS:  # one warm-up each: bytecode caches, the page cache
            for command in tools.values():
                _time([*command, file], where, env)
        for _ in range(runs):
            for file in TARGETS:
                for name, command in tools.items():
                    times[name][file].append(_time([*command, file], where, env))
    medians = {
        name: {file: statistics.median(values) for file, values in by_file.items()}
        for name, by_file in times.items()
    }
    ratios = {file: medians["extraction-lint"][file] / medians["flake8"][file] for file in TARGETS}
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "medians_seconds": medians,
        "ratio_to_flake8": ratios,
        "targets": TARGETS,
        "met": {file: ratios[file] <= TARGETS[file] for file in TARGETS},
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table (or JSON); exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per tool and file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        result = measure(max(1, args.runs))
    except SystemExit:
        print("startup benchmark: flake8 is not installed (pip install flake8)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        medians = result["medians_seconds"]
        assert isinstance(medians, dict)
        ratios = result["ratio_to_flake8"]
        assert isinstance(ratios, dict)
        print(f"median of {result['runs']} runs, one file per process (seconds)")
        print(f"{'file':<12}" + "".join(f"{name:>17}" for name in medians) + "   ratio  target")
        for file, target in TARGETS.items():
            row = "".join(f"{medians[name][file]:>17.3f}" for name in medians)
            verdict = "met" if ratios[file] <= target else "MISSED"
            print(f"{file:<12}{row}   {ratios[file]:>4.2f}x  <= {target}x {verdict}")
    met = result["met"]
    assert isinstance(met, dict)
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
