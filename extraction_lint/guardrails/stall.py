"""Stall detection: :class:`StallDetector` stops a job that stopped making progress.

Progress is any item counted by ``track``/``update``, any ``tick`` or ``heartbeat``,
including those of guards nested inside this one in the same thread.
"""

from __future__ import annotations

import logging
import time
from types import FrameType

from ._component import SupervisedComponent
from ._stacks import format_thread_stacks
from ._supervisor import DEFAULT_GRACE
from .errors import StallDetected
from .progress import ProgressTracker
from .units import DurationLike, format_duration, parse_duration


class StallDetector(SupervisedComponent):
    """Raises :class:`StallDetected` when no progress is seen for ``timeout`` seconds.

    The error carries every thread's stack at the moment of detection. It reaches
    the main thread even inside ``time.sleep``, a blocking read or a regular
    expression that backtracks for ever; if the thread does not take it within
    ``grace`` seconds the process ends (see docs/guardrails.md for the exact rules).
    """

    def __init__(
        self,
        timeout: DurationLike,
        *,
        label: str = "stall",
        progress: ProgressTracker | None = None,
        grace: DurationLike = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        seconds = parse_duration(timeout, "stall_timeout")
        if seconds is None:
            raise ValueError("stall_timeout: StallDetector needs a timeout; got None")
        super().__init__(label, progress, grace, hard_exit, logger)
        self.timeout = seconds
        self.description = f"stall timeout {format_duration(seconds)}"

    def tick(self, **counters: float) -> None:
        """Record progress (named counters are added to the tracker's)."""
        self.progress.tick(**counters)

    def heartbeat(self, status: str | None = None) -> None:
        """Record a sign of life."""
        self.progress.heartbeat(status)

    reset = heartbeat

    def latest_progress(self) -> float:
        """Monotonic time of the last progress seen."""
        if self._supervisor is not None:
            return self._supervisor.latest_beat()
        return self.progress.last_beat

    def idle(self, now: float | None = None) -> float:
        """Seconds since the last progress."""
        now = time.monotonic() if now is None else now
        return now - self.latest_progress()

    def check(self) -> None:
        """Raise :class:`StallDetected` now if the job has stalled."""
        self._raise_tripped()
        error = self.urgent(time.monotonic(), None)
        if error is not None:
            self._fail(error)

    # -- monitor protocol ----------------------------------------------------------

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self.latest_progress() + self.timeout

    def poll(self, now: float) -> StallDetected | None:
        """See :class:`._supervisor.Monitor`."""
        return self.urgent(now, None)

    def at_checkpoint(self, now: float) -> StallDetected | None:
        """See :class:`._supervisor.Monitor`: a checkpoint is itself progress."""
        return None

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`."""
        return self.latest_progress() + self.timeout

    def urgent(self, now: float, frame: FrameType | None) -> StallDetected | None:
        """See :class:`._supervisor.Monitor`."""
        idle = now - self.latest_progress()
        if idle < self.timeout:
            return None
        summary = (
            f"{self.label}: no progress for {format_duration(idle)} (stall_timeout "
            f"{format_duration(self.timeout)}); {self.progress.where(now)}"
        )
        return StallDetected(
            summary, idle=idle, limit=self.timeout, thread_stacks=format_thread_stacks(frame)
        )
