"""The errors a guardrail raises when a job goes wrong.

Every error derives from :class:`GuardrailError`, so ``except GuardrailError`` catches
any of them. None of them is raised on a healthy run. Each message is one summary line
(what tripped, the figure against the limit, the progress and the current item) and,
for stalls and timeouts, the stack of every thread at the moment of detection.

The keyword figures default to zero so that the errors survive pickling (a worker
process can raise them to its parent).
"""

from __future__ import annotations


class GuardrailError(RuntimeError):
    """Base class: a guardrail stopped the job.

    ``summary`` is the first line of the message; ``thread_stacks`` the dump of every
    thread taken when the condition was detected (empty when none was taken).
    """

    def __init__(self, summary: str, thread_stacks: str = "") -> None:
        message = summary if not thread_stacks else f"{summary}\n{thread_stacks}"
        super().__init__(message)
        self.summary = summary
        self.thread_stacks = thread_stacks


class MemoryLimitExceeded(GuardrailError):
    """The process's resident memory plus swap went over ``memory_limit``.

    Also raised by ``check_allocation`` for an allocation that would take it over:
    ``requested`` is then the size asked for and ``what`` the caller's name for it
    (``requested`` is 0 and ``what`` ``None`` when the limit was actually passed).
    """

    def __init__(
        self,
        summary: str,
        *,
        rss: int = 0,
        swap: int = 0,
        limit: int = 0,
        thread_stacks: str = "",
        requested: int = 0,
        what: str | None = None,
    ) -> None:
        super().__init__(summary, thread_stacks)
        self.rss = rss
        self.swap = swap
        self.limit = limit
        self.requested = requested
        self.what = what


class StallDetected(GuardrailError):
    """No progress was recorded for ``stall_timeout`` seconds."""

    def __init__(
        self, summary: str, *, idle: float = 0.0, limit: float = 0.0, thread_stacks: str = ""
    ) -> None:
        super().__init__(summary, thread_stacks)
        self.idle = idle
        self.limit = limit


class DeadlineExceeded(GuardrailError):
    """The block ran longer than ``timeout`` seconds."""

    def __init__(
        self, summary: str, *, elapsed: float = 0.0, limit: float = 0.0, thread_stacks: str = ""
    ) -> None:
        super().__init__(summary, thread_stacks)
        self.elapsed = elapsed
        self.limit = limit


class OutputNotGrowing(GuardrailError):
    """Items advanced but the watched output did not change for ``output_stall`` seconds."""

    def __init__(
        self, summary: str, *, size: int = 0, unchanged_for: float = 0.0, limit: float = 0.0
    ) -> None:
        super().__init__(summary)
        self.size = size
        self.unchanged_for = unchanged_for
        self.limit = limit
