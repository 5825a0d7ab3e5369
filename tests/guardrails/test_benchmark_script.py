"""The overhead benchmark runs and prints its table (figures are not judged here)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import REPO_ROOT, child_env


@pytest.mark.slow
def test_the_overhead_benchmark_prints_medians_and_ratios() -> None:
    script = REPO_ROOT / "benchmarks" / "guardrails_overhead.py"
    completed = subprocess.run(
        [sys.executable, str(script), "--quick", "--no-fail", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert completed.returncode == 0, completed.stderr
    number = r"\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)"
    rows = re.findall(
        rf"^(100,000 cheap items|100 items x ~1 ms work){number}{number}\s+< .*: (ok|MISSED)$",
        completed.stdout,
        re.MULTILINE,
    )
    assert [row[0] for row in rows] == ["100,000 cheap items", "100 items x ~1 ms work"], (
        completed.stdout
    )
    for row in rows:
        _, guarded_wall, wall_ratio = (float(figure) for figure in row[1:4])
        assert guarded_wall > 0
        assert wall_ratio > 0
