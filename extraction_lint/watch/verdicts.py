"""The verdicts ``watch`` gives on a job, from its readings alone.

:class:`Judge` is fed one :class:`~.probe.Reading` at a time and answers with the
verdicts that hold at that reading, each with its figures in one line. It keeps
only what the verdicts need (the previous reading, the last few swap figures, the
CPU seen since the last sign of life), so it works the same on live readings and on
recorded ones.

A *sign of life* is any ``--output`` path changing (size, file count or latest
modification), any ``--log`` file getting something new, or the job's own guard
reporting progress. A job given neither outputs nor logs, and not guarded, shows
life by writing anything at all (its write counter growing).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

from extraction_lint.guardrails.units import format_bytes, format_duration

from .probe import Reading

EXIT_MEMORY, EXIT_STALL, EXIT_TIMEOUT, EXIT_WRITE_RATIO, EXIT_SWAP = 3, 4, 5, 6, 7
DEFAULT_WRITE_RATIO = 20.0
DEFAULT_WRITE_RATIO_AFTER = 1024**3
DEFAULT_SWAP_MIN = 64 * 1024**2
# Swap counts as growing when it rose at each of this many readings in a row.
SWAP_GROWTH_READINGS = 3
# Mean CPU (percent of one core), run time plus time waiting for a CPU, from which a
# stalled job is called busy.
BUSY_CPU = 50.0


@dataclass(frozen=True)
class Limits:
    """What the job must stay within; ``None`` turns a verdict off."""

    memory: int | None = None
    stall: float | None = None
    timeout: float | None = None
    write_ratio: float | None = DEFAULT_WRITE_RATIO
    write_ratio_after: int = DEFAULT_WRITE_RATIO_AFTER
    swap_min: int | None = DEFAULT_SWAP_MIN


@dataclass(frozen=True)
class Verdict:
    """One finding: its name (``memory``, ``swap``...), the exit status it means, its line."""

    name: str
    exit_status: int
    message: str


@dataclass
class _Life:
    at: float
    cpu: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)


class Judge:
    """Turns readings into verdicts.

    ``life_start`` (epoch seconds) is the last sign of life known before the first
    reading: when the job started, or the newest change of its outputs and logs.
    """

    def __init__(self, limits: Limits, life_start: float) -> None:
        self.limits = limits
        self.previous: Reading | None = None
        self.life = _Life(life_start)
        self.swaps: deque[int] = deque(maxlen=SWAP_GROWTH_READINGS + 1)

    # -- signs of life -----------------------------------------------------------

    def _saw_life(self, reading: Reading) -> bool:
        previous = self.previous
        if previous is None:
            return False
        for path, size in reading.outputs.items():
            if size != previous.outputs.get(path) or reading.output_mtimes.get(
                path
            ) != previous.output_mtimes.get(path):
                return True
        for path, log in reading.logs.items():
            if log.changed_since(previous.logs.get(path)):
                return True
        progress, before = reading.progress, previous.progress
        if progress is not None:
            if before is None:
                return True
            for key in ("done", "last_progress"):
                if progress.get(key) != before.get(key):
                    return True
        if not reading.outputs and not reading.logs and progress is None:
            return (reading.write_bytes or 0) > (previous.write_bytes or 0)
        return False

    def _first_life(self, reading: Reading) -> None:
        """At the first reading: outputs or logs changed later than ``life_start`` count."""
        newest = [mtime / 1e9 for mtime in reading.output_mtimes.values() if mtime]
        newest += [log.mtime_ns / 1e9 for log in reading.logs.values() if log.exists]
        if reading.progress is not None and reading.progress.get("last_progress"):
            newest.append(float(reading.progress["last_progress"]))
        candidates = [t for t in newest if t <= reading.time]
        if candidates:
            self.life.at = max(self.life.at, max(candidates))

    # -- the verdicts --------------------------------------------------------------

    def observe(self, reading: Reading) -> list[Verdict]:
        """The verdicts that hold at ``reading``, most urgent first."""
        if self.previous is None:
            self._first_life(reading)
        elif self._saw_life(reading):
            self.life = _Life(reading.time)
        if reading.cpu is not None:
            self.life.cpu.append(reading.cpu)
        if reading.cpu_wait is not None:
            self.life.wait.append(reading.cpu_wait)
        if reading.swap is not None:
            self.swaps.append(reading.swap)
        found = [
            verdict
            for verdict in (
                self._memory(reading),
                self._swap(reading),
                self._write_ratio(reading),
                self._stall(reading),
                self._timeout(reading),
            )
            if verdict is not None
        ]
        self.previous = reading
        return found

    def due_in(self, reading: Reading) -> float | None:
        """Seconds from ``reading`` until the timeout or the stall falls due (``None``: neither).

        The reading that gives such a verdict is taken then, not up to an interval later.
        """
        due = []
        if self.limits.timeout is not None:
            due.append(self.limits.timeout - reading.age)
        if self.limits.stall is not None:
            due.append(self.life.at + self.limits.stall - reading.time)
        return max(min(due), 0.0) if due else None

    def _memory(self, reading: Reading) -> Verdict | None:
        limit = self.limits.memory
        if limit is None or reading.memory <= limit:
            return None
        swap = f" + swap {format_bytes(reading.swap)}" if reading.swap else ""
        total = f" = {format_bytes(reading.memory)}" if reading.swap else ""
        return Verdict(
            "memory",
            EXIT_MEMORY,
            f"memory: RSS {format_bytes(reading.rss)}{swap}{total} is over --memory-limit "
            f"{format_bytes(limit)} ({_processes(reading)}, {format_duration(reading.age)} in)",
        )

    def _swap(self, reading: Reading) -> Verdict | None:
        floor = self.limits.swap_min
        swaps = list(self.swaps)
        if floor is None or reading.swap is None or len(swaps) < SWAP_GROWTH_READINGS + 1:
            return None
        growing = all(later > earlier for earlier, later in pairwise(swaps))
        if reading.swap < floor or not growing:
            return None
        grown = swaps[-1] - swaps[0]
        return Verdict(
            "swap",
            EXIT_SWAP,
            f"swap: {format_bytes(reading.swap)} of the job is swapped out and growing "
            f"(+{format_bytes(grown)} over the last {SWAP_GROWTH_READINGS} readings; RSS "
            f"{format_bytes(reading.rss)}): the machine is paging the job's memory to disk",
        )

    def _write_ratio(self, reading: Reading) -> Verdict | None:
        ratio = self.limits.write_ratio
        written, read = reading.write_bytes, reading.read_bytes
        if ratio is None or written is None or read is None:
            return None
        if written < self.limits.write_ratio_after or written <= ratio * read:
            return None
        times = "nothing read"
        if read:
            ratio_now = written / read
            times = f"{ratio_now:,.0f}x" if ratio_now >= 100 else f"{ratio_now:.1f}x"
        return Verdict(
            "write-ratio",
            EXIT_WRITE_RATIO,
            f"write-ratio: wrote {format_bytes(written)} for {format_bytes(read)} read "
            f"({times}; --write-ratio {ratio:g}x past {format_bytes(self.limits.write_ratio_after)}"
            f"), now writing {_rate(reading.write_rate)}: rewriting scratch data or swapping "
            "through a file?",
        )

    def _stall(self, reading: Reading) -> Verdict | None:
        limit = self.limits.stall
        if limit is None:
            return None
        quiet = reading.time - self.life.at
        if quiet < limit:
            return None
        cpu, wait = self.life.cpu, self.life.wait
        mean = sum(cpu) / len(cpu) if cpu else None
        waiting = sum(wait) / len(wait) if wait else 0.0
        if mean is None:
            how = "CPU not measured yet"
        elif mean >= BUSY_CPU:
            how = f"busy at {mean:.0f}% CPU (mean): working, but nothing comes out"
        elif mean + waiting >= BUSY_CPU:
            how = (
                f"busy at {mean:.0f}% CPU (mean) and waiting for a CPU {waiting:.0f}% of the "
                "time (a loaded machine): working, but nothing comes out"
            )
        else:
            how = f"idle at {mean:.0f}% CPU (mean): {_waits_text(reading)}"
        return Verdict(
            "stall",
            EXIT_STALL,
            f"stall: no sign of life for {format_duration(quiet)} (--stall "
            f"{format_duration(limit)}; {_quiet_what(reading)}), {how}",
        )

    def _timeout(self, reading: Reading) -> Verdict | None:
        limit = self.limits.timeout
        if limit is None or reading.age < limit:
            return None
        return Verdict(
            "timeout",
            EXIT_TIMEOUT,
            f"timeout: the job has run {format_duration(reading.age)} (--timeout "
            f"{format_duration(limit)}); {_progress_text(reading)}",
        )


def exit_verdict(
    returncode: int, ran: float | None = None, last: Reading | None = None
) -> Verdict | None:
    """The verdict on a job that ended with ``returncode`` (``None`` when it succeeded).

    ``ran`` is how long it ran, ``last`` its last reading: the figures of the message.
    """
    if returncode == 0:
        return None
    figures = "" if ran is None else f" after {format_duration(ran)}"
    if last is not None:
        figures += f" (RSS {format_bytes(last.rss)} at the last reading)"
    if returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return Verdict("exit", 128 - returncode, f"exit: the job was killed by {name}{figures}")
    return Verdict("exit", returncode, f"exit: the job exited with status {returncode}{figures}")


def _processes(reading: Reading) -> str:
    return "1 process" if reading.processes == 1 else f"{reading.processes} processes"


def _rate(rate: float | None) -> str:
    return "?" if rate is None else f"{format_bytes(max(rate, 0))}/s"


def _quiet_what(reading: Reading) -> str:
    parts = []
    for path, size in reading.outputs.items():
        parts.append(
            f"{path} {'still missing' if size is None else format_bytes(size) + ' unchanged'}"
        )
    for path, log in reading.logs.items():
        parts.append(f"{path} {'missing' if not log.exists else 'no new line'}")
    if reading.progress is not None:
        parts.append(f"guard progress {_progress_text(reading)}")
    if not parts:
        parts.append(f"nothing written, {format_bytes(reading.write_bytes or 0)} in all")
    return ", ".join(parts)


def _waits_text(reading: Reading, most: int = 2) -> str:
    """``'waiting in the kernel at anon_pipe_read (pid 42)'``: where the job's processes sleep."""
    if not reading.waits:
        return "waiting on something"
    shown = [f"{channel} (pid {pid})" for pid, channel in list(reading.waits.items())[:most]]
    more = len(reading.waits) - most
    return (
        "waiting in the kernel at " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    )


def _progress_text(reading: Reading) -> str:
    progress = reading.progress
    if progress is None:
        return f"RSS {format_bytes(reading.rss)}"
    done, total = progress.get("done"), progress.get("total")
    return f"{done}/{total} items" if total is not None else f"{done} items"
