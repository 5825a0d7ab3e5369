"""How ``watch`` shows its readings: a live rich panel on a terminal, timestamped lines elsewhere.

Both write to stderr, so that a job started with ``watch -- CMD`` keeps its stdout
to itself.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from extraction_lint.guardrails.units import format_bytes, format_duration, format_rate

from .logs import describe_age
from .probe import Reading
from .verdicts import Limits, Verdict


class Display(Protocol):
    """What the watch loop calls."""

    def start(self, title: str, limits_text: str) -> None:
        """Watching begins."""
        ...

    def reading(self, reading: Reading, quiet_for: float) -> None:
        """A new reading; ``quiet_for`` is the time since the last sign of life."""
        ...

    def verdict(self, verdict: Verdict) -> None:
        """A verdict."""
        ...

    def note(self, text: str) -> None:
        """Anything else worth a line (a warning, the stacks, what was done)."""
        ...

    def close(self) -> None:
        """Watching ends."""
        ...


def _stamp(when: float | None = None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def _rate(rate: float | None) -> str:
    return "?" if rate is None else f"{format_bytes(max(rate, 0.0))}/s"


def _bytes(value: int | None) -> str:
    return "?" if value is None else format_bytes(value)


def progress_text(progress: dict[str, Any] | None) -> str | None:
    """A guard's progress in a few words: ``'extract 12/136 (8.8%), 3.1/s, ETA 40s'``."""
    if progress is None:
        return None
    done, total = progress.get("done") or 0, progress.get("total")
    label = progress.get("label") or "guard"
    counted = f"{done:,}/{total:,} ({100.0 * done / total:.1f}%)" if total else f"{done:,} done"
    parts = [f"{label} {counted}"]
    rate = progress.get("rate")
    if rate is not None:
        parts.append(format_rate(float(rate)))
    eta = progress.get("eta")
    if eta is not None:
        parts.append(f"ETA {format_duration(float(eta))}")
    return ", ".join(parts)


def reading_text(reading: Reading, previous: Reading | None) -> str:
    """The figures of one reading as one line (without the timestamp)."""
    parts = [f"rss {format_bytes(reading.rss)}", f"swap {_bytes(reading.swap)}"]
    parts.append("cpu ?" if reading.cpu is None else f"cpu {reading.cpu:.0f}%")
    parts.append(f"read {_bytes(reading.read_bytes)} ({_rate(reading.read_rate)})")
    parts.append(f"write {_bytes(reading.write_bytes)} ({_rate(reading.write_rate)})")
    for path, size in reading.outputs.items():
        if size is None:
            parts.append(f"{path} missing")
            continue
        before = previous.outputs.get(path) if previous is not None else None
        growth = "" if before is None else f" ({'+' if size >= before else '-'}"
        growth += "" if before is None else f"{format_bytes(abs(size - before))})"
        parts.append(f"{path} {format_bytes(size)}{growth}")
    for path, log in reading.logs.items():
        parts.append(f"{path} last line {describe_age(log)}")
    progress = progress_text(reading.progress)
    if progress:
        parts.append(progress)
    if reading.processes > 1:
        parts.append(f"{reading.processes} processes")
    return ", ".join(parts)


class LineDisplay:
    """One timestamped line per reading, verdict and note."""

    def __init__(self, pid: int, stream: TextIO | None = None) -> None:
        self.pid = pid
        self.stream = stream
        self.previous: Reading | None = None

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        for line in text.splitlines() or [""]:
            stream.write(f"{_stamp()} watch[{self.pid}] {line}\n")
        stream.flush()

    def start(self, title: str, limits_text: str) -> None:
        """See :class:`Display`."""
        self._write(f"watching {title}; {limits_text}")

    def reading(self, reading: Reading, quiet_for: float) -> None:
        """See :class:`Display`."""
        self._write(reading_text(reading, self.previous))
        self.previous = reading

    def verdict(self, verdict: Verdict) -> None:
        """See :class:`Display`."""
        self._write(f"VERDICT {verdict.message} (exit status {verdict.exit_status})")

    def note(self, text: str) -> None:
        """See :class:`Display`."""
        self._write(text)

    def close(self) -> None:
        """See :class:`Display`."""


class PanelDisplay:
    """A live rich panel, redrawn at each reading; verdicts and notes are printed above it."""

    def __init__(self, pid: int, limits: Limits, every: float) -> None:
        from rich.console import Console
        from rich.live import Live

        self.pid = pid
        self.limits = limits
        self.every = every
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, auto_refresh=False, transient=False)
        self.title = f"pid {pid}"
        self.limits_text = ""
        self.previous: Reading | None = None
        self.verdicts: list[Verdict] = []

    def start(self, title: str, limits_text: str) -> None:
        """See :class:`Display`."""
        self.title = title
        self.limits_text = limits_text
        self.live.start()
        self.live.update(self._panel(None, 0.0), refresh=True)

    def reading(self, reading: Reading, quiet_for: float) -> None:
        """See :class:`Display`."""
        self.live.update(self._panel(reading, quiet_for), refresh=True)
        self.previous = reading

    def verdict(self, verdict: Verdict) -> None:
        """See :class:`Display`."""
        self.verdicts.append(verdict)
        self.console.print(
            f"[bold red]VERDICT[/] {_escape(verdict.message)} (exit status {verdict.exit_status})",
            highlight=False,
        )

    def note(self, text: str) -> None:
        """See :class:`Display`."""
        self.console.print(_escape(text), highlight=False)

    def close(self) -> None:
        """See :class:`Display`."""
        self.live.stop()

    def _panel(self, reading: Reading | None, quiet_for: float) -> Any:
        from rich.panel import Panel
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        if reading is None:
            table.add_row("", "first reading...")
        else:
            self._rows(table, reading, quiet_for)
        if self.limits_text:
            table.add_row("limits", f"[dim]{_escape(self.limits_text)}[/]")
        return Panel(
            table,
            title=f"[bold]watch[/] {_escape(self.title)}",
            border_style="red" if self.verdicts else "cyan",
        )

    def _rows(self, table: Any, reading: Reading, quiet_for: float) -> None:
        limits = self.limits
        memory = f"RSS {format_bytes(reading.rss)}, swap {_bytes(reading.swap)}"
        if limits.memory:
            share = 100.0 * reading.memory / limits.memory
            style = "red" if share >= 90 else "yellow" if share >= 70 else "green"
            memory += f"  [{style}]{share:.0f}% of {format_bytes(limits.memory)}[/]"
        if reading.processes > 1:
            memory += f"  ({reading.processes} processes)"
        table.add_row("memory", memory)
        cpu = "?" if reading.cpu is None else f"{reading.cpu:.0f}%"
        table.add_row("cpu", cpu)
        ratio = ""
        if reading.read_bytes and reading.write_bytes and reading.write_bytes > reading.read_bytes:
            ratio = f"  (written/read {reading.write_bytes / reading.read_bytes:,.1f}x)"
        table.add_row("read", f"{_bytes(reading.read_bytes)}  {_rate(reading.read_rate)}")
        table.add_row("write", f"{_bytes(reading.write_bytes)}  {_rate(reading.write_rate)}{ratio}")
        for path, size in reading.outputs.items():
            before = self.previous.outputs.get(path) if self.previous is not None else None
            if size is None:
                text = "[yellow]missing[/]"
            elif before is None:
                text = format_bytes(size)
            else:
                growth = size - before
                colour = "green" if growth > 0 else "yellow"
                sign = "+" if growth >= 0 else "-"
                text = f"{format_bytes(size)}  [{colour}]{sign}{format_bytes(abs(growth))}[/]"
            table.add_row("output", f"{_escape(path)}  {text}")
        for path, log in reading.logs.items():
            line = log.last_line if len(log.last_line) <= 48 else log.last_line[:45] + "..."
            table.add_row("log", f"{_escape(path)}  {describe_age(log)}  [dim]{_escape(line)}[/]")
        progress = progress_text(reading.progress)
        if progress:
            table.add_row("guard", _escape(progress))
        quiet = f"{format_duration(quiet_for)} ago"
        if limits.stall:
            share = quiet_for / limits.stall
            style = "red" if share >= 0.9 else "yellow" if share >= 0.5 else "green"
            quiet = f"[{style}]{quiet}[/] (--stall {format_duration(limits.stall)})"
        table.add_row("last sign of life", quiet)
        running = format_duration(reading.age)
        if limits.timeout:
            running += f" of --timeout {format_duration(limits.timeout)}"
        table.add_row("running", running)
        table.add_row("reading", f"{_stamp(reading.time)}, every {format_duration(self.every)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
