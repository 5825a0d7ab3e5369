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


@dataclass
class TerminalResult:
    """What a child run on a pseudo-terminal left on it."""

    returncode: int
    raw: str
    screen: list[str]

    def explain(self) -> str:
        """For assertion messages."""
        shown = "\n".join(self.screen)
        return f"exit status {self.returncode}\n--- screen ---\n{shown}\n--- raw ---\n{self.raw!r}"


def run_in_terminal(
    script: Path,
    cwd: Path,
    *args: str,
    columns: int = 120,
    rows: int = 50,
    stdout: object = None,
    timeout: float = 60,
) -> TerminalResult:
    """Run ``script`` with stdin, stderr (and stdout, unless given) on a pseudo-terminal.

    The bytes the terminal received are played into pyte, a VT100 emulator, and the
    screen's non-blank lines returned: what a person would read at the end.
    """
    import fcntl
    import pty
    import select
    import struct
    import termios

    import pyte

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    job = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=terminal,
        stdout=terminal if stdout is None else stdout,
        stderr=terminal,
        cwd=cwd,
        env=child_env(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(rows)),
        close_fds=True,
    )
    os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if not ready:
                if job.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(controller)
        if job.poll() is None:
            job.kill()
        job.wait(timeout=30)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(bytes(received))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    return TerminalResult(job.returncode, received.decode("utf-8", "replace"), lines)
