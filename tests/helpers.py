"""Helpers for tests that run the command line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from extraction_lint.cli import main

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> Run:
    """Call ``main(argv)`` in-process, capturing output (``cwd`` changed for the call)."""
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    old_stdin = sys.stdin
    try:
        if cwd is not None:
            os.chdir(cwd)
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(previous)
        sys.stdin = old_stdin
    return Run(code, out.getvalue(), err.getvalue())


def run_process(
    *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m extraction_lint`` in a real subprocess (``env`` values of None unset)."""
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return subprocess.run(
        [sys.executable, "-m", "extraction_lint", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, creating directories."""
    import textwrap

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


BROKEN = """
import pickle

rows = []
for path in paths:
    rows.extend(pickle.load(open(path, "rb")))
con.executemany("INSERT INTO t VALUES (?)", rows)
"""

CLEAN = """
def add(a, b):
    return a + b
"""
