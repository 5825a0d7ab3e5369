"""Helpers for the guardrails tests: run a job in a real child process, timed from outside.

The guardrails act on a whole process (signals, threads, ``os._exit``), so almost
every behaviour is proven on a child running a short script, with its stderr sent to
a real file as a background job's would be.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Heartbeat and error records in the format the guardrails use when the program
# configured no logging: "2024-05-01 12:00:00,123 extraction_lint.guardrails INFO ..."
LOG_RECORD = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) extraction_lint\.guardrails "
    r"(?P<level>[A-Z]+) (?P<message>.*)$",
    re.MULTILINE,
)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this checkout importable, no colour or terminal tricks."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for name in ("FORCE_COLOR", "NO_COLOR", "PYTHONWARNINGS"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class ChildResult:
    """What a finished child left behind."""

    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    def records(self, level: str | None = None) -> list[tuple[datetime, str]]:
        """The guardrails' log records on stderr, as (time, message)."""
        found = []
        for match in LOG_RECORD.finditer(self.stderr):
            if level is None or match["level"] == level:
                when = datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S,%f")
                found.append((when, match["message"]))
        return found

    def explain(self) -> str:
        """For assertion messages."""
        return (
            f"exit status {self.returncode} after {self.elapsed:.2f}s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


RunChild = Callable[..., ChildResult]


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[[str], Path]:
    """Write a child script (dedented) into the test's temporary directory."""
    counter = iter(range(1_000_000))

    def write(source: str) -> Path:
        path = tmp_path / f"child_{next(counter)}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def run_child(tmp_path: Path, write_script: Callable[[str], Path]) -> RunChild:
    """Run a script in a child Python with stdout and stderr sent to files; time it."""

    def run(source: str, *args: str, timeout: float = 60, **env: str) -> ChildResult:
        script = write_script(source)
        out_path = tmp_path / f"{script.stem}.stdout"
        err_path = tmp_path / f"{script.stem}.stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.monotonic()
            completed = subprocess.run(
                [sys.executable, str(script), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=tmp_path,
                env=child_env(**env),
                timeout=timeout,
            )
            elapsed = time.monotonic() - start
        return ChildResult(
            completed.returncode,
            out_path.read_text(errors="replace"),
            err_path.read_text(errors="replace"),
            elapsed,
        )

    return run
