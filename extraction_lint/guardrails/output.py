"""Output growth: :class:`OutputGrowthCheck` catches a job that looks busy but writes nothing.

That was the incident's symptom: items went by for hours, the database file never
grew, because every row waited in a list for one bulk write at the end.

"Output" is a file, counted together with its write-ahead log or journal
(``<file>.wal``, ``<file>-wal``, ``<file>-journal``: DuckDB and SQLite stage writes
there first), or a directory, counted as the total over every file below it. Any
change of total size, file count or latest modification time counts as output.
"""

from __future__ import annotations

import logging
import os
import time
from types import FrameType

from ._component import SupervisedComponent
from ._supervisor import DEFAULT_GRACE, Supervisor
from ._sysinfo import OutputState, measure_output
from .errors import OutputNotGrowing
from .progress import ProgressTracker
from .units import DurationLike, format_bytes, format_duration, parse_duration


class OutputGrowthCheck(SupervisedComponent):
    """Raises :class:`OutputNotGrowing` when ``path`` has not changed for ``every`` seconds.

    Given a ``progress`` tracker (as :func:`guard` does), it fires only if items or
    ticks advanced meanwhile: a job that makes no progress at all is a stall, the
    stall detector's business. Without one, time alone decides. The path is
    measured every ``poll_every`` seconds (default: ``every`` / 5, between 0.1 s and
    5 s), since walking a large directory is not free.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: DurationLike,
        *,
        label: str = "output",
        progress: ProgressTracker | None = None,
        poll_every: DurationLike | None = None,
        grace: DurationLike = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        seconds = parse_duration(every, "output_stall")
        if seconds is None:
            raise ValueError("output_stall: OutputGrowthCheck needs a duration; got None")
        super().__init__(label, progress, grace, hard_exit, logger)
        self.path = path
        self.every = seconds
        self.poll_every = parse_duration(poll_every, "poll_every") or min(
            max(seconds / 5, 0.1), 5.0
        )
        self.require_progress = progress is not None
        self.last_state: OutputState | None = None
        self.last_change = time.monotonic()
        self.work_at_change = 0
        self._next_poll = 0.0
        self.description = (
            f"output {os.fspath(path)!r} must change every {format_duration(seconds)}"
        )

    def bind(self, supervisor: Supervisor) -> None:
        """Take the baseline reading."""
        super().bind(supervisor)
        self._observe(time.monotonic(), measure_output(self.path), force=True)

    def size(self) -> int:
        """Current total size of the output, in bytes."""
        return measure_output(self.path).size

    def check(self) -> None:
        """Measure the output now; raise :class:`OutputNotGrowing` if it stopped growing."""
        self._raise_tripped()
        now = time.monotonic()
        error = self._evaluate(now, measure_output(self.path))
        if error is not None:
            self._fail(error)

    def _observe(self, now: float, state: OutputState, *, force: bool = False) -> bool:
        if force or not state.same_as(self.last_state):
            self.last_state = state
            self.last_change = now
            self.work_at_change = self.progress.work
            return True
        return False

    def _evaluate(self, now: float, state: OutputState) -> OutputNotGrowing | None:
        if self.last_state is None:
            self._observe(now, state, force=True)
            return None
        if self._observe(now, state):
            return None
        unchanged = now - self.last_change
        advanced = self.progress.work - self.work_at_change
        if unchanged < self.every or (self.require_progress and advanced <= 0):
            return None
        while_text = f" while {advanced:,} items/ticks went by" if self.require_progress else ""
        summary = (
            f"{self.label}: output {os.fspath(self.path)!r} has not grown for "
            f"{format_duration(unchanged)} (output_stall {format_duration(self.every)})"
            f"{while_text}; size {format_bytes(state.size)}"
            f"{'' if state.exists else ' (missing)'}; {self.progress.where(now)}. "
            "Is the job keeping its results in memory instead of writing them per item?"
        )
        return OutputNotGrowing(summary, size=state.size, unchanged_for=unchanged, limit=self.every)

    # -- monitor protocol ----------------------------------------------------------

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self._next_poll

    def poll(self, now: float) -> OutputNotGrowing | None:
        """See :class:`._supervisor.Monitor`."""
        self._next_poll = now + self.poll_every
        return self._evaluate(now, measure_output(self.path))

    def at_checkpoint(self, now: float) -> OutputNotGrowing | None:
        """See :class:`._supervisor.Monitor`: measuring is left to the watchdog."""
        return None

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`."""
        return None

    def urgent(self, now: float, frame: FrameType | None) -> OutputNotGrowing | None:
        """See :class:`._supervisor.Monitor`."""
        return None
