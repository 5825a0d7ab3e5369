"""A readable dump of where every thread stands, for stall and timeout messages."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from types import FrameType

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
WATCHDOG_THREAD_PREFIX = "extraction_lint.guardrails-watchdog"


def _job_frames(frame: FrameType | None) -> traceback.StackSummary:
    """The stack of ``frame`` without the guardrails' own frames on top of it.

    A signal handler or a watchdog taking the dump sits on top of the job's frames;
    the reader wants the line of the job that was running.
    """
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame = frame.f_back
    return traceback.extract_stack(frame)


def format_thread_stacks(main_frame: FrameType | None = None) -> str:
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
        stack = "".join(_job_frames(frames[ident]).format()).rstrip("\n")
        blocks.append(f'Thread "{name}" (id {ident}), most recent call last:\n{stack}')
    return "Thread stacks at detection:\n" + "\n".join(blocks)
