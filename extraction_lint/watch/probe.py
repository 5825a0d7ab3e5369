"""One reading of a job from outside: its process tree's memory, CPU and I/O, its outputs, its logs.

What comes from where:

- **psutil**: the resident set (``memory_info().rss``), CPU time (``cpu_times()``,
  user + system, with the time of children already waited for) and I/O counters
  (``io_counters()``) of each process, the process's start time, and the child
  listing where the kernel has no ``/proc/<pid>/task/<tid>/children``.
- **/proc, read here**, for what psutil lacks or only has at a high price:
  ``VmSwap`` from ``/proc/<pid>/status`` (psutil's only swap figure,
  ``memory_full_info().swap``, parses ``smaps``, tens of milliseconds for a large
  process) and the children of each thread from ``/proc/<pid>/task/<tid>/children``
  (psutil's ``children(recursive=True)`` reads the ``stat`` file of every process on
  the machine), and the time each process spent runnable but waiting for a CPU, the
  second figure of ``/proc/<pid>/schedstat`` (psutil has no such figure): on a loaded
  machine a busy job runs only part of the time and waits for the CPU the rest; and
  the kernel function each sleeping process waits in, ``/proc/<pid>/wchan``
  (``anon_pipe_read``, ``hrtimer_nanosleep``), so an idle stall says what it waits on.

The watched job is the process and all its descendants, summed: ``watch -- sh -c
'python job.py'`` sees the Python process, not only the shell. Resident sets are
summed as ``top`` shows them per process, so pages shared between a parent and
its forked workers count once per process.

Bytes read and written count, for each direction, the larger of two kernel
counters: the bytes passed to ``read``/``write`` calls (``rchar``/``wchar``) and the
bytes that went to or came from storage (``read_bytes``/``write_bytes``). The first
sees a scratch file rewritten again and again in the page cache, the second writes
through ``mmap`` that no ``write`` call shows. Totals never go down: a child that
exits takes its counters with it, until its parent's own counters include them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from extraction_lint.guardrails._sysinfo import measure_output

from .logs import LogState, read_log


class JobGone(Exception):
    """The watched process does not exist (any more)."""


class NoAccess(Exception):
    """The watched process belongs to another user and cannot be read."""


@dataclass
class Reading:
    """The figures of one reading. Figures that could not be read are ``None``."""

    time: float  # epoch seconds
    elapsed: float  # seconds since watch started
    age: float  # seconds since the job's process started
    rss: int
    swap: int | None
    cpu: float | None  # percent of one core, over the interval since the previous reading
    read_bytes: int | None
    write_bytes: int | None
    read_rate: float | None
    write_rate: float | None
    processes: int
    outputs: dict[str, int | None] = field(default_factory=dict)
    output_mtimes: dict[str, int] = field(default_factory=dict)
    logs: dict[str, LogState] = field(default_factory=dict)
    progress: dict[str, Any] | None = None
    # Percent of the interval spent runnable but waiting for a CPU (summed like ``cpu``).
    cpu_wait: float | None = None
    # What each sleeping process waits in (pid -> kernel function), processes without
    # children first, parents waiting on their children in wait4 left out.
    waits: dict[int, str] = field(default_factory=dict)

    @property
    def memory(self) -> int:
        """What the job holds: resident plus swapped out."""
        return self.rss + (self.swap or 0)

    @property
    def output_size(self) -> int | None:
        """The outputs' sizes summed (``None`` without outputs)."""
        sizes = [s for s in self.outputs.values() if s is not None]
        return sum(sizes) if sizes else None

    def as_record(self) -> dict[str, Any]:
        """The ``reading`` line of a ``--record`` file (see :mod:`..guardrails.status`)."""
        progress = self.progress or {}
        return {
            "rss": self.rss,
            "swap": self.swap,
            "cpu": None if self.cpu is None else round(self.cpu, 1),
            "cpu_wait": None if self.cpu_wait is None else round(self.cpu_wait, 1),
            "read_bytes": self.read_bytes,
            "write_bytes": self.write_bytes,
            "read_rate": self.read_rate,
            "write_rate": self.write_rate,
            "output_size": self.output_size,
            "outputs": dict(self.outputs),
            "log_age": {path: log.age for path, log in self.logs.items()},
            "done": progress.get("done"),
            "total": progress.get("total"),
            "rate": progress.get("rate"),
            "eta": progress.get("eta"),
            "processes": self.processes,
            "age": round(self.age, 3),
        }


def _status_swap(pid: int) -> int | None:
    """``VmSwap`` of ``/proc/<pid>/status`` in bytes (``None`` where there is no such file)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    start = text.find(b"\nVmSwap:")
    if start < 0:
        return 0  # kernel threads and zombies have no memory lines
    end = text.find(b"\n", start + 1)
    try:
        return int(text[start + 8 : end].split()[0]) * 1024
    except (IndexError, ValueError):
        return None


def _run_delay(pid: int) -> int | None:
    """Nanoseconds ``pid`` has spent runnable but waiting for a CPU (``/proc/<pid>/schedstat``)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as handle:
            return int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _wait_channel(pid: int) -> str | None:
    """The kernel function ``pid`` sleeps in (``None``: running, or not readable)."""
    try:
        with open(f"/proc/{pid}/wchan", "rb") as handle:
            text = handle.read().decode("ascii", "replace").strip()
    except OSError:
        return None
    return None if text in {"", "0"} or text in CHILD_WAITS else text


# A parent waiting on its children is not what the job waits on.
CHILD_WAITS = frozenset({"do_wait", "kernel_wait4", "do_sys_wait4", "__do_sys_wait4"})


def _proc_children(pid: int) -> list[int]:
    """Direct children of ``pid``, from ``/proc/<pid>/task/*/children`` (one per thread)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                children.extend(int(part) for part in handle.read().split())
        except (OSError, ValueError):
            continue  # the thread or the process just ended
    return children


class ProcessProbe:
    """Takes readings of one job: a process and its descendants, its outputs and its logs."""

    def __init__(
        self,
        pid: int,
        *,
        outputs: list[str] | None = None,
        logs: list[str] | None = None,
        started: float | None = None,
    ) -> None:
        try:
            self.root = psutil.Process(pid)
            self.created = self.root.create_time()
            status = self.root.status()
        except psutil.NoSuchProcess as error:
            raise JobGone(f"no process with pid {pid}") from error
        except psutil.AccessDenied as error:
            raise NoAccess(f"process {pid}: access denied") from error
        if status == psutil.STATUS_ZOMBIE:
            raise JobGone(f"process {pid} has already exited (a zombie not yet waited for)")
        self.pid = pid
        self.outputs = list(outputs or [])
        self.logs = list(logs or [])
        self.started = time.time() if started is None else started
        self._processes: dict[int, psutil.Process] = {pid: self.root}
        # Kernels built without CONFIG_PROC_CHILDREN have no such file: ask psutil.
        self._use_proc_children = os.path.exists(f"/proc/{pid}/task/{pid}/children")
        self._last: tuple[float, float, int | None, int | None, float | None] | None = None
        self._cpu_total = 0.0
        self._wait_total: float | None = None
        self._read_total: int | None = None
        self._write_total: int | None = None
        self.unreadable: set[str] = set()

    def pids(self) -> set[int]:
        """The job's processes at the latest reading."""
        return set(self._processes)

    def command(self) -> list[str]:
        """The job's command line, as far as it can be read."""
        try:
            return self.root.cmdline() or [self.root.name()]
        except psutil.Error:
            return []

    def username(self) -> str | None:
        """The user the job runs as."""
        try:
            return str(self.root.username())
        except (psutil.Error, KeyError):
            return None

    # -- the process tree ------------------------------------------------------------

    def _tree(self) -> list[psutil.Process]:
        pids: list[int] = []
        if self._use_proc_children:
            queue = [self.pid]
            while queue:
                current = queue.pop()
                pids.append(current)
                queue.extend(_proc_children(current))
        else:
            try:
                pids = [self.pid, *(p.pid for p in self.root.children(recursive=True))]
            except psutil.NoSuchProcess as error:
                raise JobGone(f"process {self.pid} has exited") from error
        known = self._processes
        tree = []
        for pid in pids:
            process = known.get(pid)
            if process is None:
                try:
                    process = known[pid] = psutil.Process(pid)
                except psutil.Error:
                    continue
            tree.append(process)
        for pid in [p for p in known if p not in pids]:
            del known[pid]
        return tree

    def memory_now(self) -> int:
        """RSS plus swap of the processes found at the latest reading, read now.

        Cheap enough (one ``statm`` and one ``status`` file a process) to run between
        readings, where memory can grow past a limit and beyond.
        """
        total = 0
        for process in list(self._processes.values()):
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
            total += _status_swap(process.pid) or 0
        return total

    # -- one reading -----------------------------------------------------------------

    def read(self) -> Reading:
        """Read the job now; raises :class:`JobGone` once the root process has exited."""
        now_mono = time.monotonic()
        now = time.time()
        if not self.root.is_running():
            raise JobGone(f"process {self.pid} has exited")
        rss = 0
        swap: int | None = 0
        cpu_seconds = 0.0
        wait_seconds: float | None = 0.0
        read_total: int | None = 0
        write_total: int | None = 0
        counted = 0
        waits: dict[int, str] = {}
        parents: set[int] = set()
        for process in self._tree():
            try:
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:
                        if process.pid == self.pid:
                            raise JobGone(f"process {self.pid} has exited")
                        continue
                    rss += process.memory_info().rss
                    parents.add(process.ppid())
                    times = process.cpu_times()
                    cpu_seconds += (
                        times.user + times.system + times.children_user + times.children_system
                    )
                    read_total, write_total = self._add_io(process, read_total, write_total)
            except psutil.NoSuchProcess as error:
                if process.pid == self.pid:
                    raise JobGone(f"process {self.pid} has exited") from error
                continue
            except psutil.AccessDenied as error:
                if process.pid == self.pid and counted == 0 and rss == 0:
                    raise NoAccess(f"process {self.pid}: access denied") from error
                continue
            process_swap = _status_swap(process.pid)
            delay = _run_delay(process.pid)
            channel = _wait_channel(process.pid)
            if channel is not None:
                waits[process.pid] = channel
            wait_seconds = (
                None if wait_seconds is None or delay is None else wait_seconds + delay / 1e9
            )
            swap = None if swap is None or process_swap is None else swap + process_swap
            counted += 1
        if counted == 0:
            raise JobGone(f"process {self.pid} has exited")
        # Totals never go down (see the module docstring).
        self._cpu_total = max(self._cpu_total, cpu_seconds)
        if wait_seconds is not None:
            self._wait_total = max(self._wait_total or 0.0, wait_seconds)
        if read_total is not None:
            self._read_total = max(self._read_total or 0, read_total)
        if write_total is not None:
            self._write_total = max(self._write_total or 0, write_total)
        cpu = read_rate = write_rate = cpu_wait = None
        last, self._last = (
            self._last,
            (now_mono, self._cpu_total, self._read_total, self._write_total, self._wait_total),
        )
        if last is not None and now_mono > last[0]:
            span = now_mono - last[0]
            cpu = 100.0 * (self._cpu_total - last[1]) / span
            if self._read_total is not None and last[2] is not None:
                read_rate = (self._read_total - last[2]) / span
            if self._write_total is not None and last[3] is not None:
                write_rate = (self._write_total - last[3]) / span
            if self._wait_total is not None and last[4] is not None:
                cpu_wait = 100.0 * (self._wait_total - last[4]) / span
        outputs: dict[str, int | None] = {}
        mtimes: dict[str, int] = {}
        for path in self.outputs:
            state = measure_output(path)
            outputs[path] = state.size if state.exists else None
            mtimes[path] = state.mtime_ns
        return Reading(
            time=now,
            elapsed=now - self.started,
            age=max(now - self.created, 0.0),
            rss=rss,
            swap=swap,
            cpu=cpu,
            read_bytes=self._read_total,
            write_bytes=self._write_total,
            read_rate=read_rate,
            write_rate=write_rate,
            processes=counted,
            outputs=outputs,
            output_mtimes=mtimes,
            logs={path: read_log(Path(path), now) for path in self.logs},
            cpu_wait=cpu_wait,
            # Processes without children first: the work is there, not in the shell above it.
            waits=dict(sorted(waits.items(), key=lambda item: item[0] in parents)),
        )

    def _add_io(
        self, process: psutil.Process, read_total: int | None, write_total: int | None
    ) -> tuple[int | None, int | None]:
        try:
            io = process.io_counters()
        except psutil.AccessDenied:
            self.unreadable.add("io")
            return None, None
        except (AttributeError, NotImplementedError):  # no I/O counters on this platform
            self.unreadable.add("io")
            return None, None
        read = max(int(getattr(io, "read_chars", 0)), int(io.read_bytes))
        written = max(int(getattr(io, "write_chars", 0)), int(io.write_bytes))
        return (
            None if read_total is None else read_total + read,
            None if write_total is None else write_total + written,
        )
