"""Helpers for the watch tests: a real job in a child process, and a real ``watch`` on it.

``watch`` runs as ``python -m extraction_lint watch ...`` in its own process, its
stderr (where it reports) sent to a file, its ``--record`` read back as JSON lines:
the verdicts are asserted on the figures it recorded, not on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d watch\[\d+\] ", re.MULTILINE)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of watch and its jobs: this checkout importable, no colour tricks."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for name in ("FORCE_COLOR", "NO_COLOR", "COLUMNS"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class WatchResult:
    """What a finished ``watch`` left behind."""

    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    record: list[dict[str, Any]]

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        """The record's lines of one kind."""
        return [line for line in self.record if line.get("kind") == kind]

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """The recorded verdicts."""
        return self.kinds("verdict")

    def explain(self) -> str:
        """For assertion messages."""
        return (
            f"exit status {self.returncode} after {self.elapsed:.2f}s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


RunWatch = Callable[..., WatchResult]


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str], Path]:
    """Write a job script (dedented) into the test's directory."""
    counter = iter(range(1000))

    def write(source: str) -> Path:
        path = tmp_path / f"job_{next(counter)}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def run_watch(tmp_path: Path) -> Iterator[RunWatch]:
    """Run ``extraction-lint watch ARGS`` to its end; always with ``--record``."""
    started: list[int] = []

    def run(*args: str, timeout: float = 120, prefix: tuple[str, ...] = ()) -> WatchResult:
        record = tmp_path / f"watch_{len(started)}.jsonl"
        out = tmp_path / f"watch_{len(started)}.stdout"
        err = tmp_path / f"watch_{len(started)}.stderr"
        started.append(len(started))
        argv = [*prefix, sys.executable, "-m", "extraction_lint", "watch", "--record", str(record)]
        if "--display" not in args:
            argv += ["--display", "lines"]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            begin = time.monotonic()
            completed = subprocess.run(
                [*argv, *args],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=tmp_path,
                env=child_env(),
                timeout=timeout,
            )
            elapsed = time.monotonic() - begin
        lines = []
        if record.exists():
            lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        return WatchResult(completed.returncode, out.read_text(), err.read_text(), elapsed, lines)

    yield run


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a job of the test's own (for --pid); every one is ended after the test."""
    children: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            list(argv),
            cwd=tmp_path,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()
