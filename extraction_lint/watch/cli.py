"""``extraction-lint watch``: look at a running job from outside, and stop it when it goes wrong.

::

    extraction-lint watch --pid 4242 --output out.duckdb --memory-limit 8GiB \\
        --stall 10m --timeout 2h --kill
    extraction-lint watch --output out.duckdb --log job.log -- python extract.py

Exit status: the job's own when it ends healthy (``-- CMD``), 0 when a ``--pid``
job ends (its status is its parent's to know); 3 memory, 4 stall, 5 timeout,
6 write ratio, 7 swap; 2 bad arguments; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from extraction_lint.guardrails.units import (
    format_bytes,
    format_duration,
    parse_duration,
    parse_size,
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_EVERY = 5.0
DEFAULT_GRACE = 10.0
MIN_EVERY = 0.05
STACK_DUMP_TIMEOUT = 20.0
# The dependency itself: the name extraction-lint on PyPI is not this project's.
INSTALL_HINT = "pip install psutil"
STACKS_HINT = "pip install py-spy"


class UsageError(Exception):
    """Bad arguments (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``watch``."""
    parser = _Parser(
        prog="extraction-lint watch",
        description=(
            "Watch a running job from outside (memory, swap, CPU, I/O, output growth, log "
            "lines, its guard's progress) and say when it goes wrong. Give --pid PID, or the "
            "command to start after '--'."
        ),
        epilog=(
            "exit status: the job's own when it ends healthy; 3 memory, 4 stall, 5 timeout, "
            "6 write ratio, 7 swap; 2 bad arguments"
        ),
    )
    parser.add_argument("--pid", type=int, help="watch this running process (and its children)")
    parser.add_argument(
        "--every", default="5s", metavar="DURATION", help="time between readings (default 5s)"
    )
    parser.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or directory the job writes; its size is watched (repeatable)",
    )
    parser.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="FILE",
        help="a log file of the job; the age of its last line is watched (repeatable)",
    )
    parser.add_argument("--memory-limit", metavar="SIZE", help="RSS + swap limit, e.g. 8GiB")
    parser.add_argument(
        "--stall",
        metavar="DURATION",
        help="verdict when no output grows, no log line comes and the guard reports no "
        "progress for this long, e.g. 10m",
    )
    parser.add_argument(
        "--timeout", metavar="DURATION", help="verdict when the job has run this long, e.g. 2h"
    )
    parser.add_argument(
        "--write-ratio",
        default="20",
        metavar="X",
        help="verdict when bytes written exceed X times bytes read (default 20; 'off')",
    )
    parser.add_argument(
        "--write-ratio-after",
        default="1GiB",
        metavar="SIZE",
        help="judge the write ratio only once this much was written (default 1GiB)",
    )
    parser.add_argument(
        "--swap-min",
        default="64MiB",
        metavar="SIZE",
        help="verdict when the job's swap is at least this and grew at each of the last "
        "3 readings (default 64MiB; 'off')",
    )
    parser.add_argument(
        "--kill",
        action="store_true",
        help="on a verdict, end the job: SIGTERM, then SIGKILL after --grace",
    )
    parser.add_argument(
        "--grace", default="10s", metavar="DURATION", help="SIGTERM to SIGKILL (default 10s)"
    )
    parser.add_argument(
        "--record", metavar="FILE", help="write every reading as JSON lines (for 'report')"
    )
    parser.add_argument(
        "--display",
        choices=("auto", "panel", "lines"),
        default="auto",
        help="a live panel (default on a terminal) or one line per reading",
    )
    return parser


@dataclass
class Options:
    """Parsed and checked arguments."""

    pid: int | None
    command: list[str]
    every: float
    outputs: list[str]
    logs: list[str]
    grace: float
    kill: bool
    record: str | None
    display: str
    limits: Any  # verdicts.Limits


def _off(text: str) -> bool:
    return text.strip().lower() in {"off", "none", "0"}


def parse_options(argv: Sequence[str]) -> Options:
    """Split ``argv`` at ``--``, parse, and check every value (raises :class:`UsageError`)."""
    from .verdicts import Limits

    args = list(argv)
    command: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, command = args[:split], args[split + 1 :]
    ns = build_parser().parse_args(args)
    if ns.pid is not None and command:
        raise UsageError("give --pid PID or a command after '--', not both")
    if ns.pid is None and not command:
        raise UsageError("nothing to watch: give --pid PID, or the command to run after '--'")
    if ns.pid is not None and ns.pid <= 0:
        raise UsageError(f"--pid: {ns.pid} is not a process id")
    try:
        every = parse_duration(ns.every, "--every") or DEFAULT_EVERY
        grace = parse_duration(ns.grace, "--grace") or DEFAULT_GRACE
        memory = parse_size(ns.memory_limit, "--memory-limit")
        stall = parse_duration(ns.stall, "--stall")
        timeout = parse_duration(ns.timeout, "--timeout")
        after = parse_size(ns.write_ratio_after, "--write-ratio-after") or 0
        swap_min = None if _off(ns.swap_min) else parse_size(ns.swap_min, "--swap-min")
    except ValueError as error:
        raise UsageError(str(error)) from error
    if every < MIN_EVERY:
        raise UsageError(f"--every: {ns.every!r} is too short; the shortest is {MIN_EVERY}s")
    ratio: float | None
    if _off(ns.write_ratio):
        ratio = None
    else:
        try:
            ratio = float(ns.write_ratio.rstrip("xX"))
        except ValueError:
            ratio = -1.0
        if not ratio > 0:
            raise UsageError(
                f"--write-ratio: cannot read {ns.write_ratio!r}; use a number such as 20, or 'off'"
            )
    if ns.record is not None:
        parent = Path(ns.record).resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--record: the directory {parent} does not exist")
    limits = Limits(
        memory=memory,
        stall=stall,
        timeout=timeout,
        write_ratio=ratio,
        write_ratio_after=after,
        swap_min=swap_min,
    )
    return Options(
        pid=ns.pid,
        command=command,
        every=every,
        outputs=ns.output,
        logs=ns.log,
        grace=grace,
        kill=ns.kill,
        record=ns.record,
        display=ns.display,
        limits=limits,
    )


def describe_limits(options: Options) -> str:
    """The limits in force, for the first line and the panel."""
    limits = options.limits
    parts = []
    if limits.memory is not None:
        parts.append(f"memory limit {format_bytes(limits.memory)}")
    if limits.stall is not None:
        parts.append(f"stall {format_duration(limits.stall)}")
    if limits.timeout is not None:
        parts.append(f"timeout {format_duration(limits.timeout)}")
    if limits.write_ratio is not None:
        parts.append(
            f"write ratio {limits.write_ratio:g}x past {format_bytes(limits.write_ratio_after)}"
        )
    if limits.swap_min is not None:
        parts.append(f"swap from {format_bytes(limits.swap_min)}")
    parts.append("kill on a verdict" if options.kill else "no --kill")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``extraction-lint watch``; return the exit status."""
    try:
        options = parse_options(list(sys.argv[1:] if argv is None else argv))
    except UsageError as error:
        print(f"extraction-lint watch: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    try:
        import psutil  # noqa: F401
    except ImportError:
        print(
            f"extraction-lint watch: error: watch needs psutil; install it with: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from .session import WatchError, WatchSession

    try:
        session = WatchSession(options)
    except WatchError as error:
        print(f"extraction-lint watch: error: {error}", file=sys.stderr)
        return error.status
    return session.run()


# -- helpers shared with the session --------------------------------------------------


def find_py_spy() -> str | None:
    """The ``py-spy`` executable: on PATH, or next to this Python (a virtualenv's bin)."""
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def dump_stacks(pids: Sequence[int]) -> list[str]:
    """``py-spy dump`` of each process in ``pids``: the lines to log."""
    py_spy = find_py_spy()
    if py_spy is None:
        return [f"no Python stacks: py-spy is not installed ({STACKS_HINT})"]
    lines: list[str] = []
    for pid in pids:
        try:
            done = subprocess.run(
                [py_spy, "dump", "--pid", str(pid)],
                capture_output=True,
                text=True,
                timeout=STACK_DUMP_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            lines.append(f"py-spy dump --pid {pid} failed: {error}")
            continue
        text = (done.stdout or "").rstrip()
        if done.returncode != 0 or not text:
            why = (done.stderr or done.stdout or "").strip().splitlines()
            lines.append(
                f"py-spy dump --pid {pid}: no stacks ({why[-1] if why else done.returncode})"
            )
            continue
        lines.append(f"Python stacks of process {pid} (py-spy dump):")
        lines.extend(f"    {line}" for line in text.splitlines())
    return lines


def command_text(command: Sequence[str]) -> str:
    """A command line as a shell would show it, on one line."""
    return shlex.join(command).replace("\n", "\\n")


def short_label(command: Sequence[str], width: int = 60) -> str:
    """A command as a short name: the program's base name and its arguments, cut to ``width``."""
    if not command:
        return ""
    text = " ".join([os.path.basename(command[0]), *command[1:]])
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


class TerminationRequest(Exception):
    """watch itself was asked to stop (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def termination_as_exception() -> Any:
    """Turn SIGTERM and SIGHUP into :class:`TerminationRequest` for the duration."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise TerminationRequest(signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def wait_a_little(seconds: float) -> None:
    """Sleep, in steps short enough for signals to be handled on time."""
    end = time.monotonic() + max(seconds, 0.0)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))
