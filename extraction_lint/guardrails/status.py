"""Job status records and job history: what a guarded job tells the world about itself.

Two outputs, both written from the guard's watchdog thread at most once per heartbeat:

- A **status record**: one small JSON file per guard, atomically replaced (written
  to a temporary file in the same directory, then ``os.replace``), in the status
  directory: ``$EXTRACTION_LINT_STATUS_DIR``, else ``$XDG_RUNTIME_DIR/extraction-lint``,
  else ``<temp dir>/extraction-lint-<uid>``, created with mode 0700. It says what
  the job is (label, pid, host, command), how far it is (done/total, rate, ETA, last
  progress), what it holds (RSS and swap against its limit, output size) and its
  state: ``running``, then ``finished``, ``failed`` (with the error) or
  ``interrupted`` when the guard exits. ``extraction-lint status`` reads them.
  Records of jobs that ended do not pile up: once the directory holds more than
  :data:`PRUNE_ABOVE` records, the guard that exits removes those of ended jobs
  older than a day and all but the newest :data:`KEEP_ENDED_COUNT` (see
  :func:`prune_ended`), whether or not anyone ever runs ``status``.
- A **history** (``guard(..., record=FILE)``): JSON lines in the shape
  ``extraction-lint watch --record`` writes (see :data:`HISTORY_KINDS`), which
  ``extraction-lint report`` turns into plots.

Neither may ever break the job: a directory that cannot be written is logged once
and the guard carries on without it.

History lines (one JSON object each, ``kind`` first)::

    {"kind": "start", "source": "guard" | "watch", "time": <epoch s>, "label": ..,
     "pid": .., "host": .., "command": [..], "limits": {"memory": <bytes>, ..},
     "outputs": [..], "logs": [..]}
    {"kind": "reading", "time": .., "elapsed": <s>, "rss": <bytes>, "swap": <bytes>,
     "cpu": <percent of one core>, "read_bytes": .., "write_bytes": ..,
     "read_rate": <bytes/s>, "write_rate": .., "output_size": <bytes>,
     "outputs": {path: bytes}, "log_age": {path: s}, "done": .., "total": ..,
     "rate": <items/s>, "eta": <s>, "processes": <n>}
    {"kind": "verdict", "time": .., "elapsed": .., "verdict": "memory" | "swap" |
     "write-ratio" | "stall" | "timeout" | "output" | "exit" | "error",
     "exit_status": <int>, "message": <one line>}
    {"kind": "end", "time": .., "elapsed": .., "state": .., "exit_status": <int | null>}

A figure that could not be read is ``null``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from extraction_lint.atomic import write_text_atomically

from ._sysinfo import measure_output, read_memory
from .errors import (
    DeadlineExceeded,
    GuardrailError,
    MemoryLimitExceeded,
    OutputNotGrowing,
    StallDetected,
)

if TYPE_CHECKING:
    from ._supervisor import Supervisor
    from .guard import Guard

STATUS_DIR_ENV = "EXTRACTION_LINT_STATUS_DIR"
RECORD_VERSION = 1
HISTORY_KINDS = ("start", "reading", "verdict", "end")
# Without a heartbeat (heartbeat_every=None) the record is still kept this fresh.
DEFAULT_INTERVAL = 30.0
# How a guard's record ends; a record in one of these states is of a job that ended.
ENDED_STATES = ("finished", "failed", "interrupted")
# Records of ended jobs are kept this long, and no more than this many (the newest):
# enough for `status --all` to say how the last jobs ended, while a loop of short
# guarded jobs leaves a directory of a few files, not one per job.
KEEP_ENDED = 24 * 3600.0
KEEP_ENDED_COUNT = 20
# A guard reads the records to prune them only past this many files, so that most
# exits cost one directory listing.
PRUNE_ABOVE = 2 * KEEP_ENDED_COUNT

# Verdict names and the exit statuses ``watch`` uses for them; a guard's errors map
# onto the same names so that one report reads both.
VERDICT_EXIT_STATUS = {
    "memory": 3,
    "stall": 4,
    "timeout": 5,
    "write-ratio": 6,
    "swap": 7,
    "output": 4,
    "error": 1,
}

_sequence = itertools.count(1)
_warned: set[str] = set()


class StatusDirError(OSError):
    """The status directory cannot be used (not ours, not private, not creatable)."""


def status_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where status records live (the directory may not exist yet)."""
    env = os.environ if environ is None else environ
    explicit = env.get(STATUS_DIR_ENV)
    if explicit:
        return Path(explicit)
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "extraction-lint"
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"extraction-lint-{uid}"


def ensure_status_dir(path: Path | None = None) -> Path:
    """Create the status directory (mode 0700) and check that it is this user's own.

    A directory named by ``$EXTRACTION_LINT_STATUS_DIR`` is used as it is (it may be
    shared on purpose); the default one under the temp directory must belong to
    this user and be private, since anyone could have made it first.
    """
    explicit = path is not None or bool(os.environ.get(STATUS_DIR_ENV))
    target = path if path is not None else status_dir()
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise StatusDirError(f"cannot create the status directory {target}: {error}") from error
    if not explicit and hasattr(os, "getuid"):
        info = target.stat()
        if info.st_uid != os.getuid():
            raise StatusDirError(
                f"the status directory {target} belongs to another user (uid {info.st_uid}); "
                f"set ${STATUS_DIR_ENV} to a directory of your own"
            )
        if info.st_mode & 0o077:
            os.chmod(target, 0o700)
    return target


def write_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``data`` as JSON; a reader sees the old or the new file, whole."""
    write_text_atomically(path, json.dumps(data, sort_keys=True))


def read_records(directory: Path | None = None) -> Iterator[tuple[Path, dict[str, Any] | str]]:
    """Every status record in ``directory``: ``(path, record)``, or ``(path, why)`` if unusable."""
    target = directory if directory is not None else status_dir()
    try:
        paths = sorted(p for p in target.glob("*.json") if not p.name.startswith("."))
    except OSError:
        return
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # the job just removed it
        except (OSError, ValueError) as error:
            yield path, f"unreadable status record: {error}"
            continue
        if not isinstance(record, dict) or "pid" not in record:
            yield path, "not a status record (no pid)"
            continue
        yield path, record


def prune_ended(
    directory: Path,
    now: float,
    *,
    keep: float = KEEP_ENDED,
    keep_count: int = KEEP_ENDED_COUNT,
    above: int = 0,
) -> list[Path]:
    """Remove records of ended jobs older than ``keep`` seconds or past the newest ``keep_count``.

    Records of running jobs (and unreadable files) are left alone; a record another
    process removes first is no error. With ``above``, nothing is read unless the
    directory holds more than that many records. Returns the paths removed.
    """
    if above:
        try:
            count = sum(1 for p in directory.glob("*.json") if not p.name.startswith("."))
        except OSError:
            return []
        if count <= above:
            return []
    ended: list[tuple[float, str, Path]] = []
    for path, record in read_records(directory):
        if isinstance(record, dict) and record.get("state") in ENDED_STATES:
            updated = record.get("updated")
            when = float(updated) if isinstance(updated, int | float) else 0.0
            ended.append((when, path.name, path))
    ended.sort(reverse=True)
    removed: list[Path] = []
    for index, (when, _, path) in enumerate(ended):
        if index >= keep_count or now - when > keep:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def verdict_for(error: BaseException | None) -> str | None:
    """The verdict name of a guard's error (``None`` for a healthy end)."""
    if error is None:
        return None
    for kind, name in (
        (MemoryLimitExceeded, "memory"),
        (StallDetected, "stall"),
        (DeadlineExceeded, "timeout"),
        (OutputNotGrowing, "output"),
    ):
        if isinstance(error, kind):
            return name
    return "error"


def _warn_once(logger: logging.Logger, key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


class HistoryWriter:
    """Writes a job's history as JSON lines (``start``, ``reading``..., ``verdict``, ``end``).

    Each line is flushed as it is written, so a job killed mid-way leaves a
    readable history up to its last reading.
    """

    def __init__(self, path: str | os.PathLike[str], handle: TextIO | None = None) -> None:
        self.path = Path(path)
        self._handle = handle if handle is not None else self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.started_at = time.time()

    def write(self, kind: str, **fields: Any) -> None:
        """One line: ``{"kind": kind, "time": now, "elapsed": .., **fields}``."""
        now = time.time()
        line: dict[str, Any] = {"kind": kind, "time": round(now, 3)}
        if kind != "start":
            line["elapsed"] = round(now - self.started_at, 3)
        else:
            self.started_at = now
        line.update(fields)
        text = json.dumps(line, default=str) + "\n"
        with self._lock:
            if self._handle.closed:
                return
            self._handle.write(text)
            self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._handle.close()


class _SelfCounters:
    """CPU and I/O of this process, for a guard's history (cheap: os.times and /proc/self/io)."""

    def __init__(self) -> None:
        self._last: tuple[float, float, int | None, int | None] | None = None

    @staticmethod
    def _io() -> tuple[int | None, int | None]:
        try:
            with open("/proc/self/io", "rb") as handle:
                fields = dict(line.split(b":", 1) for line in handle.read().splitlines())
        except (OSError, ValueError):
            return None, None
        try:
            read = max(int(fields[b"rchar"]), int(fields[b"read_bytes"]))
            written = max(int(fields[b"wchar"]), int(fields[b"write_bytes"]))
        except (KeyError, ValueError):
            return None, None
        return read, written

    def sample(self) -> dict[str, Any]:
        now = time.monotonic()
        times = os.times()
        cpu_seconds = times.user + times.system
        read, written = self._io()
        figures: dict[str, Any] = {"read_bytes": read, "write_bytes": written}
        last, self._last = self._last, (now, cpu_seconds, read, written)
        if last is not None and now > last[0]:
            span = now - last[0]
            figures["cpu"] = round(100.0 * (cpu_seconds - last[1]) / span, 1)
            figures["read_rate"] = (
                (read - last[2]) / span if read is not None and last[2] is not None else None
            )
            figures["write_rate"] = (
                (written - last[3]) / span if written is not None and last[3] is not None else None
            )
        else:
            figures.update(cpu=None, read_rate=None, write_rate=None)
        return figures


class GuardReporter:
    """The status record and history of one guard, run by the guard's watchdog thread.

    It is one more monitor of the guard's supervisor (see
    :class:`._supervisor.Monitor`): it never reports an error, it only writes, once
    per heartbeat.
    """

    description = ""

    def __init__(
        self,
        guard: Guard,
        *,
        status: bool = True,
        record: str | os.PathLike[str] | None = None,
    ) -> None:
        self.guard = guard
        self.interval = guard.progress.heartbeat_every or DEFAULT_INTERVAL
        self.logger = guard.progress.logger
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = time.time()
        self.status_path: Path | None = None
        self.history: HistoryWriter | None = None
        self._counters = _SelfCounters()
        self._next = 0.0
        self._lock = threading.Lock()
        self._closed = False
        if status:
            try:
                directory = ensure_status_dir()
                name = f"{self.host}-{self.pid}-{next(_sequence)}.json"
                self.status_path = directory / name
            except OSError as error:
                _warn_once(self.logger, "status-dir", f"{guard.label}: no status record: {error}")
        if record is not None:
            try:
                self.history = HistoryWriter(record)
            except OSError as error:
                raise ValueError(
                    f"record: cannot write the history to {record!r}: {error}"
                ) from error

    # -- monitor protocol ----------------------------------------------------------

    def bind(self, supervisor: Supervisor) -> None:
        """The guard starts: first status record and the history's start line."""
        if self.history is not None:
            guard = self.guard
            limits = {
                "memory": guard.memory.limit if guard.memory is not None else None,
                "stall": guard.stall.timeout if guard.stall is not None else None,
                "timeout": guard.deadline.timeout if guard.deadline is not None else None,
            }
            output = guard.progress.watch_output
            self._history(
                "start",
                source="guard",
                label=guard.label,
                pid=self.pid,
                host=self.host,
                command=list(sys.argv),
                limits=limits,
                outputs=[os.fspath(output)] if output is not None else [],
                logs=[],
                interval=self.interval,
            )
        self._write(time.monotonic(), "running")

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self._next

    def poll(self, now: float) -> None:
        """See :class:`._supervisor.Monitor`: write, never fail."""
        self._write(now, "running")

    def at_checkpoint(self, now: float) -> None:
        """See :class:`._supervisor.Monitor`."""
        return None

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`."""
        return None

    def urgent(self, now: float, frame: FrameType | None) -> None:
        """See :class:`._supervisor.Monitor`."""
        return None

    def went_on(self, error: GuardrailError, delivered: bool, now: float) -> tuple[None, None]:
        """See :class:`._supervisor.Monitor`."""
        return None, None

    # -- writing -----------------------------------------------------------------

    def figures(self, now: float) -> dict[str, Any]:
        """The job's figures now."""
        guard = self.guard
        progress = guard.progress
        memory = read_memory()
        output = progress.watch_output
        output_size = measure_output(output).size if output is not None else None
        wall_now = time.time()
        return {
            "done": progress.done,
            "total": progress.total,
            "rate": progress.rate(now),
            "eta": progress.eta(now),
            "rss": memory.rss if memory is not None else None,
            "swap": memory.swap if memory is not None else None,
            "output_size": output_size,
            "last_progress": wall_now - (now - progress.last_beat),
        }

    def _write(self, now: float, state: str, error: BaseException | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._next = now + self.interval
            try:
                figures = self.figures(now)
            except Exception as problem:  # a reading must never break the job
                _warn_once(self.logger, "figures", f"{self.guard.label}: status figures: {problem}")
                return
            if self.status_path is not None:
                self._status(figures, state, error)
            if self.history is not None and state == "running":
                counters = self._counters.sample()
                output = self.guard.progress.watch_output
                outputs = {os.fspath(output): figures["output_size"]} if output is not None else {}
                self._history(
                    "reading",
                    rss=figures["rss"],
                    swap=figures["swap"],
                    output_size=figures["output_size"],
                    outputs=outputs,
                    log_age={},
                    done=figures["done"],
                    total=figures["total"],
                    rate=figures["rate"],
                    eta=figures["eta"],
                    processes=1,
                    **counters,
                )

    def _status(self, figures: dict[str, Any], state: str, error: BaseException | None) -> None:
        assert self.status_path is not None
        guard = self.guard
        output = guard.progress.watch_output
        record = {
            "version": RECORD_VERSION,
            "label": guard.label,
            "pid": self.pid,
            "host": self.host,
            "command": list(sys.argv),
            "start": self.started,
            "updated": time.time(),
            "interval": self.interval,
            "memory_limit": guard.memory.limit if guard.memory is not None else None,
            "output": os.fspath(output) if output is not None else None,
            "state": state,
            "error": (
                f"{type(error).__name__}: {getattr(error, 'summary', str(error))}"
                if error is not None
                else None
            ),
            **figures,
        }
        try:
            write_atomically(self.status_path, record)
        except OSError as problem:
            _warn_once(
                self.logger,
                f"status-write-{self.status_path.parent}",
                f"{guard.label}: cannot write the status record {self.status_path}: {problem}",
            )

    def _history(self, kind: str, **fields: Any) -> None:
        if self.history is None:
            return
        try:
            self.history.write(kind, **fields)
        except (OSError, ValueError) as problem:
            _warn_once(
                self.logger,
                f"history-{self.history.path}",
                f"{self.guard.label}: cannot write the history {self.history.path}: {problem}",
            )

    def finish(self, outcome: BaseException | None) -> None:
        """The guard exits: the final status record, the verdict and the history's end."""
        if os.getpid() != self.pid:
            return  # a forked child leaving its parent's block: the record is the parent's
        now = time.monotonic()
        if outcome is None:
            state = "finished"
        elif isinstance(outcome, KeyboardInterrupt):
            state = "interrupted"
        else:
            state = "failed"
        self._write(now, "running")  # the last reading, with the final figures
        self._write(now, state, outcome)
        with self._lock:
            self._closed = True
        if self.status_path is not None:
            try:
                prune_ended(self.status_path.parent, time.time(), above=PRUNE_ABOVE)
            except Exception as problem:  # tidying up must never break the job
                _warn_once(self.logger, "status-prune", f"{self.guard.label}: {problem}")
        verdict = verdict_for(outcome) if isinstance(outcome, Exception) else None
        if verdict is not None and outcome is not None:
            message = getattr(outcome, "summary", None) or f"{type(outcome).__name__}: {outcome}"
            self._history(
                "verdict",
                verdict=verdict,
                exit_status=VERDICT_EXIT_STATUS[verdict],
                message=message.splitlines()[0] if message else type(outcome).__name__,
                error=type(outcome).__name__,
            )
        exit_status = None if outcome is None or state == "interrupted" else 1
        self._history("end", state=state, exit_status=0 if outcome is None else exit_status)
        if self.history is not None:
            self.history.close()
