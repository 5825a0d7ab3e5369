"""One run of ``watch``: start or find the job, read it at each interval, judge, act."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from typing import Any

import psutil

from extraction_lint.guardrails.status import HistoryWriter, read_records, status_dir

from .cli import (
    EXIT_INTERRUPTED,
    MIN_EVERY,
    Options,
    TerminationRequest,
    command_text,
    describe_limits,
    dump_stacks,
    short_label,
    termination_as_exception,
    wait_a_little,
)
from .display import Display, LineDisplay, PanelDisplay
from .probe import JobGone, NoAccess, ProcessProbe, Reading
from .verdicts import Judge, Verdict, exit_verdict

# Between readings, the job's memory is checked this often (seconds) against
# --memory-limit: a job can grow past twice its limit in one 5 s interval.
MEMORY_CHECK = 0.2


class WatchError(Exception):
    """watch cannot start (``status`` is its exit status)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _owner(pid: int) -> str:
    try:
        return str(psutil.Process(pid).username())
    except (psutil.Error, KeyError):
        return "another user"


def guard_progress(pids: set[int], host: str) -> dict[str, Any] | None:
    """The freshest running guard status record of any process in ``pids`` on this host."""
    best: dict[str, Any] | None = None
    for _, record in read_records(status_dir()):
        if not isinstance(record, dict) or record.get("host") != host:
            continue
        if record.get("pid") not in pids or record.get("state") != "running":
            continue
        if best is None or float(record.get("updated") or 0) > float(best.get("updated") or 0):
            best = record
    return best


class WatchSession:
    """Everything one ``watch`` run holds."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.started = time.time()
        self.child: subprocess.Popen[bytes] | None = None
        self.probe: ProcessProbe | None = None
        self.host = socket.gethostname()
        if options.command:
            self.child = self._start(options.command)
            pid = self.child.pid
        else:
            assert options.pid is not None
            pid = options.pid
        try:
            self.probe = ProcessProbe(
                pid, outputs=options.outputs, logs=options.logs, started=self.started
            )
        except JobGone as error:
            if self.child is None:
                raise WatchError(f"--pid {pid}: {error}") from error
        except NoAccess as error:
            raise WatchError(
                f"--pid {pid}: cannot read process {pid} (it belongs to {_owner(pid)}); run "
                "watch as that user or as root"
            ) from error
        if options.kill and self.child is None:
            try:
                os.kill(pid, 0)
            except PermissionError as error:
                raise WatchError(
                    f"--kill: not allowed to signal process {pid} (it belongs to {_owner(pid)}); "
                    "run watch as that user or as root, or leave out --kill"
                ) from error
            except ProcessLookupError as error:
                raise WatchError(f"--pid {pid}: no process with pid {pid}") from error
            if pid in _own_lineage():
                raise WatchError(
                    f"--kill: process {pid} is an ancestor of watch: its tree holds watch itself"
                    f"{' and every process on the machine' if pid == 1 else ''}, and --kill "
                    "ends the whole tree; give the pid of the job itself, or leave out --kill"
                )
        self.pid = pid
        self.display = self._display()
        self.history: HistoryWriter | None = None
        if options.record is not None:
            try:
                self.history = HistoryWriter(options.record)
            except OSError as error:
                self._end_child()
                raise WatchError(f"--record: cannot write {options.record}: {error}") from error
        if self.child is None:
            life_start = self.started
            if (options.outputs or options.logs) and self.probe is not None:
                life_start = self.probe.created
        else:
            life_start = self.started
        self.judge = Judge(options.limits, life_start)
        self.warned: set[str] = set()

    # -- setting up ----------------------------------------------------------------

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(command)
        except FileNotFoundError as error:
            raise WatchError(f"cannot run {command[0]!r}: command not found", 127) from error
        except PermissionError as error:
            raise WatchError(f"cannot run {command[0]!r}: permission denied", 126) from error
        except OSError as error:
            raise WatchError(f"cannot run {command_text(command)}: {error}", 126) from error

    def _display(self) -> Display:
        mode = self.options.display
        if mode == "auto":
            try:
                mode = "panel" if os.isatty(2) else "lines"
            except OSError:
                mode = "lines"
        if mode == "panel":
            return PanelDisplay(self.pid, self.options.limits, self.options.every)
        return LineDisplay(self.pid)

    def _end_child(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> int:
        """Watch until the job ends or a verdict; return the exit status."""
        options = self.options
        command = options.command or (self.probe.command() if self.probe else [])
        title = f"pid {self.pid} ({short_label(command)})" if command else f"pid {self.pid}"
        self._record(
            "start",
            source="watch",
            label=short_label(command) or f"pid {self.pid}",
            pid=self.pid,
            host=self.host,
            command=command,
            limits={
                "memory": options.limits.memory,
                "stall": options.limits.stall,
                "timeout": options.limits.timeout,
                "write_ratio": options.limits.write_ratio,
                "write_ratio_after": options.limits.write_ratio_after,
                "swap_min": options.limits.swap_min,
            },
            outputs=options.outputs,
            logs=options.logs,
            interval=options.every,
        )
        self.display.start(title, describe_limits(options))
        try:
            with termination_as_exception():
                return self._loop()
        except KeyboardInterrupt:
            self.display.note("interrupted")
            self._wait_child_after_interrupt()
            self._record("end", state="interrupted", exit_status=EXIT_INTERRUPTED)
            return EXIT_INTERRUPTED
        except TerminationRequest as request:
            if self.child is not None:
                self.display.note(f"watch got {request}; passing it on to the job")
                self.child.send_signal(request.signum)
                self._wait_child_after_interrupt()
            else:
                self.display.note(
                    f"watch got {request}; the job (pid {self.pid}) is left running: watch did "
                    "not start it"
                )
            self._record("end", state="terminated", exit_status=128 + request.signum)
            return 128 + request.signum
        finally:
            self.display.close()
            if self.history is not None:
                self.history.close()

    def _loop(self) -> int:
        every = self.options.every
        while True:
            begun = time.monotonic()
            reading = self._read()
            if reading is None:
                return self._job_ended()
            assert self.probe is not None
            reading.progress = guard_progress(self.probe.pids(), self.host)
            verdicts = self.judge.observe(reading)
            self.display.reading(reading, reading.time - self.judge.life.at)
            self._record("reading", **reading.as_record())
            self._warn_unreadable()
            if verdicts:
                return self._act(verdicts)
            due_in = self.judge.due_in(reading)
            wait = every if due_in is None else min(every, max(due_in, MIN_EVERY))
            self._wait_until(begun + wait)

    def _wait_until(self, due: float) -> None:
        """Wait for the next reading: until ``due``, or sooner when the job ends or its
        memory (checked every ``MEMORY_CHECK`` seconds) is over ``--memory-limit``."""
        limit = self.options.limits.memory
        while True:
            left = due - time.monotonic()
            if left <= 0:
                return
            step = left if limit is None else min(left, MEMORY_CHECK)
            if self.child is not None:
                try:
                    self.child.wait(timeout=step)
                    return
                except subprocess.TimeoutExpired:
                    pass
            else:
                wait_a_little(step)
            if limit is not None and self.probe is not None and self.probe.memory_now() > limit:
                return

    def _read(self) -> Reading | None:
        if self.probe is None:
            return None
        if self.child is not None and self.child.poll() is not None:
            return None
        try:
            return self.probe.read()
        except JobGone:
            return None

    def _warn_unreadable(self) -> None:
        if self.probe is not None and "io" in self.probe.unreadable and "io" not in self.warned:
            self.warned.add("io")
            self.display.note(
                f"cannot read the I/O counters of process {self.pid} (it belongs to "
                f"{_owner(self.pid)}): read/write figures and the write-ratio verdict are off; "
                "run watch as that user or as root for them"
            )

    def _job_ended(self) -> int:
        if self.child is None:
            self.display.note(
                f"process {self.pid} has ended; its exit status is its parent's to know "
                "(watch did not start it)"
            )
            self._record("end", state="ended", exit_status=None)
            return 0
        returncode = self.child.wait()
        verdict = exit_verdict(returncode, time.time() - self.started, self.judge.previous)
        status = returncode if returncode >= 0 else 128 - returncode
        if verdict is not None:
            self.display.verdict(verdict)
            self._record_verdict(verdict)
        else:
            self.display.note("the job ended with status 0")
        self._record("end", state="exited", exit_status=status)
        return status

    def _act(self, verdicts: list[Verdict]) -> int:
        for verdict in verdicts:
            self.display.verdict(verdict)
            self._record_verdict(verdict)
        status = verdicts[0].exit_status
        assert self.probe is not None
        if not self.options.kill:
            self.display.note(
                f"the job (pid {self.pid}) is left running: watch was not asked to --kill it"
            )
            self._record("end", state="left running", exit_status=status)
            return status
        pids = sorted(self.probe.pids())
        python_pids = [pid for pid in pids if _is_python(pid)]
        for line in dump_stacks(python_pids or [self.pid]):
            self.display.note(line)
        self.display.note(self._kill(pids))
        self._record("end", state="killed", exit_status=status)
        return status

    def _kill(self, pids: list[int]) -> str:
        grace = self.options.grace
        processes = []
        for pid in [self.pid, *(p for p in pids if p != self.pid)]:
            try:
                process = psutil.Process(pid)
                process.terminate()
                processes.append(process)
            except psutil.Error:
                continue
        started = time.monotonic()
        _, alive = psutil.wait_procs(processes, timeout=grace)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                continue
        if alive:
            psutil.wait_procs(alive, timeout=5)
        if self.child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.wait(timeout=5)
        took = time.monotonic() - started
        if alive:
            return (
                f"sent SIGTERM to {len(processes)} process(es); {len(alive)} still ran after "
                f"--grace {grace:g}s and got SIGKILL"
            )
        return f"sent SIGTERM to {len(processes)} process(es); all ended within {took:.1f}s"

    def _wait_child_after_interrupt(self) -> None:
        if self.child is None:
            return
        try:
            self.child.wait(timeout=self.options.grace)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        except KeyboardInterrupt:
            self.child.kill()
            self.child.wait()

    # -- the record ------------------------------------------------------------------

    def _record(self, kind: str, **fields: Any) -> None:
        if self.history is None:
            return
        try:
            self.history.write(kind, **fields)
        except (OSError, ValueError) as error:
            if "record" not in self.warned:
                self.warned.add("record")
                self.display.note(f"--record: cannot write {self.history.path}: {error}")

    def _record_verdict(self, verdict: Verdict) -> None:
        self._record(
            "verdict",
            verdict=verdict.name,
            exit_status=verdict.exit_status,
            message=verdict.message,
        )


def _own_lineage() -> set[int]:
    """watch's own pid and its ancestors': a job whose tree holds any of them holds watch."""
    lineage = {os.getpid()}
    with contextlib.suppress(psutil.Error):
        lineage.update(parent.pid for parent in psutil.Process().parents())
    return lineage


def _is_python(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        name = process.name().lower()
        if "python" in name:
            return True
        exe = os.path.basename(process.exe()).lower()
        return "python" in exe
    except (psutil.Error, OSError):
        return False
