"""What the standalone guards share: an optional progress tracker and a ``with`` block.

Each of :class:`MemoryGuard`, :class:`StallDetector`, :class:`Deadline` and
:class:`OutputGrowthCheck` is a monitor. :func:`guard` runs several of them under one
watchdog thread; used on its own in a ``with`` block, a monitor gets its own.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from types import FrameType, TracebackType
from typing import Self

from ._supervisor import DEFAULT_GRACE, Supervisor
from .errors import GuardrailError
from .progress import ProgressTracker
from .units import DurationLike, parse_duration


class SupervisedComponent(ABC):
    """Base of the standalone guards: a monitor, a ``with`` block, error delivery helpers."""

    description = ""

    def __init__(
        self,
        label: str,
        progress: ProgressTracker | None,
        grace: DurationLike,
        hard_exit: bool | None,
        logger: logging.Logger | None,
    ) -> None:
        self.label = label
        self.progress = progress or ProgressTracker(label=label, heartbeat_every=None)
        self.grace = parse_duration(grace, "grace") or DEFAULT_GRACE
        self.hard_exit = hard_exit
        self.logger = logger
        self._supervisor: Supervisor | None = None
        self._own: Supervisor | None = None

    def bind(self, supervisor: Supervisor) -> None:
        """Called by the supervisor that runs this monitor."""
        self._supervisor = supervisor

    def __enter__(self) -> Self:
        if self._own is not None:
            raise RuntimeError(f"{self.label}: this {type(self).__name__} is already active")
        self._own = Supervisor(
            self.label,
            self.progress,
            [self],
            grace=self.grace,
            hard_exit=self.hard_exit,
            logger=self.logger,
        )
        self._own.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        own, self._own = self._own, None
        pending = own.stop(exc) if own is not None else None
        self._supervisor = None
        if pending is not None:
            raise pending from exc

    @abstractmethod
    def check(self) -> object:
        """Check now, in the calling thread; raise this guard's error if it holds."""

    @abstractmethod
    def next_poll(self, now: float) -> float:
        """See :class:`._supervisor.Monitor`."""

    @abstractmethod
    def poll(self, now: float) -> GuardrailError | None:
        """See :class:`._supervisor.Monitor`."""

    @abstractmethod
    def at_checkpoint(self, now: float) -> GuardrailError | None:
        """See :class:`._supervisor.Monitor`."""

    @abstractmethod
    def urgent_at(self) -> float | None:
        """See :class:`._supervisor.Monitor`."""

    @abstractmethod
    def urgent(self, now: float, frame: FrameType | None) -> GuardrailError | None:
        """See :class:`._supervisor.Monitor`."""

    def went_on(
        self, error: GuardrailError, delivered: bool, now: float
    ) -> tuple[str | None, float | None]:
        """See :class:`._supervisor.Monitor`: by default a block that goes on after its
        error is this monitor's concern no more than any other call's."""
        return None, None

    def _raise_tripped(self) -> None:
        """Raise an error this monitor's supervisor already tripped (in its owner thread)."""
        if self._supervisor is not None:
            self._supervisor.checkpoint(time.monotonic())

    def _fail(self, error: GuardrailError) -> None:
        """Raise ``error`` here, telling the supervisor so that it is not raised twice."""
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.trip(error, delivered=True):
            supervisor.checkpoint(time.monotonic())  # tripped earlier: raise that one
        raise error
