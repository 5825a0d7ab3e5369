"""``extraction-lint status``: the jobs running under ``guard(...)`` on this machine.

Reads the status records the guards keep (see :mod:`extraction_lint.guardrails.status`)
and checks each against the machine: a record whose process is gone without saying
so is **dead** (killed, or ended by ``os._exit``); one not refreshed for three
heartbeats is **stale** (the job's watchdog is not running: the process is
suspended, or stuck holding the interpreter). Jobs that ended (finished, failed,
interrupted) are listed with ``--all``; their records are removed after a day or
past the newest 20 (here, and by a guard as it exits once there are more than 40
records), dead ones after a week, or all at once with ``--clean``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extraction_lint.guardrails.status import (
    ENDED_STATES,
    STATUS_DIR_ENV,
    prune_ended,
    read_records,
    status_dir,
)
from extraction_lint.guardrails.units import format_bytes, format_duration, format_rate

EXIT_USAGE = 2
# A record not refreshed for this many heartbeats (and at least STALE_MIN seconds) is stale.
STALE_HEARTBEATS = 3
STALE_MIN = 5.0
KEEP_DEAD = 7 * 24 * 3600.0


@dataclass
class Job:
    """One status record and what the machine says about it."""

    path: Path
    record: dict[str, Any]
    status: str  # running, stale, dead, other-host, finished, failed, interrupted
    why: str  # the reason for a stale, dead or other-host status

    def as_json(self, now: float) -> dict[str, Any]:
        """The record with its checked status, for ``--format json``."""
        updated = _number(self.record.get("updated"))
        return {
            **self.record,
            "status": self.status,
            "status_reason": self.why,
            "record_age": None if updated is None else round(now - updated, 3),
            "record_path": str(self.path),
        }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _process_started(pid: int) -> float | None:
    """Start time (epoch) of ``pid``, or ``None`` if there is no such process."""
    try:
        import psutil
    except ImportError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0.0
        return 0.0
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:
        return 0.0


def check_record(path: Path, record: dict[str, Any], now: float, host: str) -> Job:
    """Judge one record: running, stale, dead, other host, or how it ended."""
    state = str(record.get("state") or "running")
    if state in ENDED_STATES:
        return Job(path, record, state, "")
    if record.get("host") not in (None, host):
        return Job(path, record, "other-host", f"runs on {record.get('host')}")
    pid = record.get("pid")
    started = _number(record.get("start")) or 0.0
    process_start = _process_started(pid) if isinstance(pid, int) else None
    if process_start is None:
        return Job(path, record, "dead", f"no process {pid}: ended without a word (killed?)")
    # A later process that got the same pid started after the job did.
    if process_start and process_start > started + 2.0:
        return Job(path, record, "dead", f"pid {pid} now belongs to another process")
    updated = _number(record.get("updated")) or started
    interval = _number(record.get("interval")) or 30.0
    stale_after = max(STALE_HEARTBEATS * interval, STALE_MIN)
    if now - updated > stale_after:
        return Job(
            path,
            record,
            "stale",
            f"not updated for {format_duration(now - updated)} (heartbeat "
            f"{format_duration(interval)}): suspended, or stuck holding the interpreter",
        )
    return Job(path, record, "running", "")


def collect(directory: Path, now: float, *, prune: bool = True) -> tuple[list[Job], list[str]]:
    """Every record in ``directory``, checked; and the problems met (unreadable records)."""
    host = socket.gethostname()
    jobs: list[Job] = []
    problems: list[str] = []
    if prune:
        prune_ended(directory, now)
    for path, record in read_records(directory):
        if isinstance(record, str):
            problems.append(f"{path}: {record}")
            continue
        job = check_record(path, record, now, host)
        updated = _number(record.get("updated")) or 0.0
        if prune and job.status == "dead" and now - updated > KEEP_DEAD:
            _remove(path)
            continue
        jobs.append(job)
    jobs.sort(key=lambda job: (_number(job.record.get("start")) or 0.0, job.path.name))
    return jobs, problems


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``status``."""
    parser = argparse.ArgumentParser(
        prog="extraction-lint status",
        description=(
            "List the jobs running under extraction_lint.guardrails.guard(...) on this "
            "machine, from their status records; stale records and dead processes are marked."
        ),
        epilog=f"status records are read from ${STATUS_DIR_ENV} (now: {status_dir()})",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--all", action="store_true", help="list jobs that ended too (finished, failed)"
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="remove the records of ended and dead jobs, then list what is left",
    )
    parser.add_argument(
        "--dir", metavar="DIR", help=f"read records here (default ${STATUS_DIR_ENV})"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``extraction-lint status``; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    directory = Path(args.dir) if args.dir else status_dir()
    if args.dir and not directory.is_dir():
        print(
            f"extraction-lint status: error: --dir {directory}: no such directory", file=sys.stderr
        )
        return EXIT_USAGE
    now = time.time()
    jobs, problems = collect(directory, now)
    if args.clean:
        for job in jobs:
            if job.status in (*ENDED_STATES, "dead"):
                _remove(job.path)
        jobs = [job for job in jobs if job.status not in (*ENDED_STATES, "dead")]
    shown = [job for job in jobs if args.all or job.status not in ENDED_STATES]
    if args.format == "json":
        payload = {
            "status_dir": str(directory),
            "time": now,
            "jobs": [job.as_json(now) for job in shown],
            "problems": problems,
        }
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
        return 0
    _print_table(shown, problems, directory, now, hidden=len(jobs) - len(shown))
    return 0


_STYLES = {
    "running": "green",
    "stale": "yellow",
    "dead": "bold red",
    "other-host": "dim",
    "finished": "dim",
    "failed": "red",
    "interrupted": "yellow",
}


def _ago(value: Any, now: float) -> str:
    when = _number(value)
    if when is None:
        return ""
    return f"{format_duration(max(round(now - when), 0))} ago"


def _progress(record: dict[str, Any]) -> str:
    done = record.get("done") or 0
    total = record.get("total")
    if isinstance(total, int) and total > 0:
        return f"{done:,}/{total:,} {100.0 * done / total:.0f}%"
    return f"{done:,}"


def _memory(record: dict[str, Any]) -> str:
    rss = _number(record.get("rss"))
    if rss is None:
        return "?"
    text = format_bytes(rss + (_number(record.get("swap")) or 0))
    limit = _number(record.get("memory_limit"))
    return f"{text} / {format_bytes(limit)}" if limit else text


# The table's columns, and the order in which a narrow terminal gives them up: the
# job, its state, its progress and its memory stay; the notes under the table keep
# the reasons for a stale or dead state whatever the width.
_COLUMNS = (
    ("job", "left"),
    ("pid", "right"),
    ("state", "left"),
    ("progress", "right"),
    ("rate", "right"),
    ("ETA", "right"),
    ("memory / limit", "right"),
    ("output", "right"),
    ("last progress", "right"),
    ("started", "right"),
)
_DROPPED_FIRST = ("started", "output", "rate", "pid", "ETA", "last progress")
# The job's label wraps (it never loses its end) but keeps at least this width.
_LABEL_MIN_WIDTH = 12


def _cells(job: Job, now: float) -> dict[str, str]:
    """One row of the table, as rich markup, by column name."""
    from rich.markup import escape

    record = job.record
    rate = _number(record.get("rate"))
    eta = _number(record.get("eta"))
    output = _number(record.get("output_size"))
    state = job.status
    if job.status == "failed" and record.get("error"):
        state += f": {str(record['error']).split(':')[0]}"
    return {
        "job": escape(str(record.get("label", "?"))),
        "pid": str(record.get("pid", "?")),
        "state": f"[{_STYLES.get(job.status, '')}]{escape(state)}[/]",
        "progress": _progress(record),
        "rate": format_rate(rate) if rate is not None else "",
        "ETA": format_duration(eta) if eta is not None and job.status == "running" else "",
        "memory / limit": _memory(record),
        "output": format_bytes(output) if output is not None else "",
        "last progress": _ago(record.get("last_progress"), now),
        "started": _ago(record.get("start"), now),
    }


def _table(rows: list[dict[str, str]], names: list[str], title: str) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for name, justify in _COLUMNS:
        if name in names:
            table.add_column(
                name,
                justify=justify,  # type: ignore[arg-type]
                no_wrap=name != "job",
                overflow="fold" if name == "job" else "ellipsis",
                min_width=_LABEL_MIN_WIDTH if name == "job" else None,
            )
    for row in rows:
        table.add_row(*(row[name] for name in names))
    return table


def fitted_table(rows: list[dict[str, str]], title: str, console: Any) -> Any:
    """The table with the columns that fit ``console``'s width, whole.

    A column nobody has a figure for is left out; then, while the table is wider
    than the terminal, the least needed column goes (:data:`_DROPPED_FIRST`), so
    that what is shown is never cut to a few letters and an ellipsis.
    """
    from rich.measure import Measurement

    names = [name for name, _ in _COLUMNS if any(row[name] for row in rows)]
    for name in ("job", "state"):
        if name not in names:
            names.append(name)
    names.sort(key=[name for name, _ in _COLUMNS].index)
    table = _table(rows, names, title)
    # Measured without the console's own bound, which would clamp the answer to it.
    unbounded = console.options.update(max_width=1_000_000)
    for name in _DROPPED_FIRST:
        if Measurement.get(console, unbounded, table).maximum <= console.width:
            break
        if name in names:
            names.remove(name)
            table = _table(rows, names, title)
    return table


def _print_table(
    jobs: list[Job], problems: list[str], directory: Path, now: float, *, hidden: int
) -> None:
    from rich.console import Console
    from rich.markup import escape

    # A pipe or a file gets the whole table on one line per job, as a wide terminal would.
    console = Console(width=None if sys.stdout.isatty() else 160)
    if not jobs:
        ended = f" ({hidden} ended: --all lists them)" if hidden else ""
        console.print(f"no guarded jobs running (status records in {directory}){ended}")
    else:
        rows = [_cells(job, now) for job in jobs]
        console.print(fitted_table(rows, f"guarded jobs on {socket.gethostname()}", console))
        notes = [job for job in jobs if job.why]
        for job in notes:
            label = escape(str(job.record.get("label", "?")))
            console.print(
                f"[{_STYLES.get(job.status, '')}]{job.status}[/] {label} "
                f"(pid {job.record.get('pid')}): {escape(job.why)}",
                highlight=False,
            )
        if hidden:
            console.print(f"[dim]{hidden} ended job(s) not shown: --all lists them[/]")
    for problem in problems:
        console.print(f"[yellow]skipped[/] {escape(problem)}", highlight=False)
