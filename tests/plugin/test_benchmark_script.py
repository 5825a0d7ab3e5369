"""benchmarks/plugin_overhead.py runs and reports medians with and without the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "plugin_overhead.py"


@pytest.mark.slow
def test_the_overhead_benchmark_reports_collection_with_and_without_the_plugin():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--modules", "3", "--tests", "2", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["tests"] == 9
    collect = result["collect"]
    assert collect["with_plugin_s"] > 0 and collect["without_plugin_s"] > 0
    assert collect["ratio"] == pytest.approx(
        collect["with_plugin_s"] / collect["without_plugin_s"], rel=0.01
    )
