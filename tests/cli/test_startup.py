"""Start-up: a file in which no rule can fire is checked without importing libcst, rich
or multiprocessing; they load when a file or the output needs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import BROKEN, CLEAN, REPO, write

HEAVY = ("libcst", "rich", "multiprocessing", "tomllib", "ctypes", "uuid")


def imported(tmp_path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages among HEAVY that a real run imports."""
    import os

    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "extraction_lint", "--no-cache", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    return {heavy for heavy in HEAVY if any(n == heavy or n.startswith(heavy + ".") for n in names)}


def test_a_clean_file_loads_neither_libcst_nor_rich(tmp_path):
    write(tmp_path / "clean.py", CLEAN)
    assert imported(tmp_path, "clean.py") == set()
    assert imported(tmp_path, "--format", "json", "clean.py") == set()


def test_a_file_with_a_finding_loads_libcst_but_a_pipe_needs_no_rich(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    assert imported(tmp_path, "job.py") == {"libcst"}


def test_the_toml_parser_loads_only_for_a_configuration_to_read(tmp_path):
    write(tmp_path / "clean.py", CLEAN)
    assert "tomllib" not in imported(tmp_path, "clean.py")
    write(tmp_path / "pyproject.toml", "[tool.extraction-lint]\nselect = ['EXL0']\n")
    assert "tomllib" in imported(tmp_path, "clean.py")


def test_colour_output_loads_rich(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    assert "rich" in imported(tmp_path, "job.py", env={"FORCE_COLOR": "1"})


def test_the_startup_benchmark_runs(tmp_path):
    pytest.importorskip("flake8")
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "startup.py"), "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode in (0, 1), run.stderr
    data = json.loads(run.stdout)
    assert set(data["ratio_to_flake8"]) == {"clean.py", "finding.py"}
    assert data["medians_seconds"]["flake8"]["clean.py"] > 0
