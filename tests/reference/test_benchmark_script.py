"""``benchmarks/reference_bench.py`` runs end to end on a tiny input and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, child_env

SCRIPT = REPO_ROOT / "benchmarks" / "reference_bench.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layout", "subset_rows", "rows_per_subject"), [("wide", 3, 1), ("long", 2 * 50, 50)]
)
def test_the_benchmark_measures_every_mode_and_writes_json(
    tmp_path: Path, layout: str, subset_rows: int, rows_per_subject: int
) -> None:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--layout", layout,
            "--files", "2", "--subjects", "3", "--length", "50",
            "--executemany-files", "1", "--executemany-subjects", "2",
            "--repeat", "1", "--json", str(out), "--work", str(tmp_path / "work"),
        ],
        capture_output=True, text=True, env=child_env(), timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(out.read_text())
    assert result["layout"] == layout
    rows = {(row["mode"], row["dataset"]): row["rows"] for row in result["medians"]}
    assert rows == {
        ("incident", "subset"): subset_rows,
        ("executemany", "subset"): subset_rows,
        ("reference", "subset"): subset_rows,
        ("reference", "base"): 6 * rows_per_subject,
        ("floor", "base"): 6 * rows_per_subject,
        ("reference", "large"): 24 * rows_per_subject,
    }
    assert all(row["peak_rss_mib"] > 10 for row in result["medians"])
    assert set(result["targets"]) == {
        "reference_vs_floor_throughput",
        "reference_vs_executemany_rows_per_s",
        "reference_peak_rss_large_vs_base",
    }
    assert "reference_vs_floor_throughput" in completed.stdout
    assert not list((tmp_path / "work").iterdir()), "the generated input was not removed"
