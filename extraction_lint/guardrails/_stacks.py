"""A readable dump of where every thread stands, for stall and timeout messages."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from types import FrameType

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
WATCHDOG_THREAD_PREFIX = "extraction_lint.guardrails-watchdog"


def job_frame(frame: FrameType | None) -> FrameType | None:
    """``frame`` or its nearest caller outside the guardrails' own code.

    A signal handler or a watchdog taking a dump sits on top of the job's frames;
    the reader wants the line of the job that was running.
    """
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame = frame.f_back
    return frame


def job_position(thread_ident: int | None) -> tuple[int, int] | None:
    """Which frame and bytecode the job's code in a thread is at (an opaque token)."""
    if thread_ident is None:
        return None
    frame = job_frame(sys._current_frames().get(thread_ident))
    return (id(frame), frame.f_lasti) if frame is not None else None


def format_thread_stacks(
    main_frame: FrameType | None = None, title: str = "Thread stacks at detection"
) -> str:
    """Every thread's stack (watchdogs left out), most recent call last, as one block.

    ``main_frame`` replaces the main thread's current frame: a signal handler passes
    the frame it interrupted.
    """
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    main_ident = threading.main_thread().ident
    frames = sys._current_frames()
    if main_frame is not None and main_ident is not None:
        frames[main_ident] = main_frame
    blocks = []
    # The main thread first: that is where the job's own loop normally runs.
    for ident in sorted(frames, key=lambda i: (i != main_ident, names.get(i, ""))):
        name = names.get(ident, "<unknown>")
        if name.startswith(WATCHDOG_THREAD_PREFIX):
            continue
        stack = "".join(traceback.format_stack(job_frame(frames[ident]))).rstrip("\n")
        blocks.append(f'Thread "{name}" (id {ident}), most recent call last:\n{stack}')
    return f"{title}:\n" + "\n".join(blocks)
