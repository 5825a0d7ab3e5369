"""Timeout: :class:`Deadline` stops a job that runs longer than it may."""

from __future__ import annotations

import logging
import time
from types import FrameType

from ._component import SupervisedComponent
from ._stacks import format_thread_stacks
from ._supervisor import DEFAULT_GRACE, Supervisor
from .errors import DeadlineExceeded
from .progress import ProgressTracker
from .units import DurationLike, format_duration, parse_duration


class Deadline(SupervisedComponent):
    """Raises :class:`DeadlineExceeded` once ``timeout`` seconds have passed.

    The clock starts when the ``with`` block (or the guard holding it) is entered,
    or at construction when it is only used through :meth:`check`.
    """

    def __init__(
        self,
        timeout: DurationLike,
        *,
        label: str = "deadline",
        progress: ProgressTracker | None = None,
        grace: DurationLike = DEFAULT_GRACE,
        hard_exit: bool | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        seconds = parse_duration(timeout, "timeout")
        if seconds is None:
            raise ValueError("timeout: Deadline needs a timeout; got None")
        super().__init__(label, progress, grace, hard_exit, logger)
        self.timeout = seconds
        self.started_at = time.monotonic()
        self.ends_at = self.started_at + seconds
        self.description = f"timeout {format_duration(seconds)}"

    def bind(self, supervisor: Supervisor) -> None:
        """Start the clock."""
        super().bind(supervisor)
        self.started_at = time.monotonic()
        self.ends_at = self.started_at + self.timeout

    def remaining(self) -> float:
        """Seconds left (negative once expired)."""
        return self.ends_at - time.monotonic()

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` now if the deadline has passed."""
        self._raise_tripped()
        error = self.urgent(time.monotonic(), None)
        if error is not None:
            self._fail(error)

    # -- monitor protocol ----------------------------------------------------------

    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""
        return self.ends_at

    def poll(self, now: float) -> DeadlineExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        return self.urgent(now, None)

    def at_checkpoint(self, now: float) -> DeadlineExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        return self.urgent(now, None)

    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`."""
        return self.ends_at

    def urgent(self, now: float, frame: FrameType | None) -> DeadlineExceeded | None:
        """See :class:`._supervisor.Monitor`."""
        if now < self.ends_at:
            return None
        elapsed = now - self.started_at
        summary = (
            f"{self.label}: timeout of {format_duration(self.timeout)} exceeded "
            f"(running for {format_duration(elapsed)}); {self.progress.where(now)}"
        )
        return DeadlineExceeded(
            summary, elapsed=elapsed, limit=self.timeout, thread_stacks=format_thread_stacks(frame)
        )
