"""A readable dump of where every thread stands, for stall and timeout messages."""

from __future__ import annotations

import sys
import threading
import traceback
from types import FrameType


def format_thread_stacks(main_frame: FrameType | None = None) -> str:
    """Every thread's stack, most recent call last, as one block of text.

    ``main_frame`` replaces the main thread's current frame: a signal handler passes
    the frame it interrupted, so the dump shows the job's code rather than the handler.
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
        stack = "".join(traceback.format_stack(frames[ident])).rstrip("\n")
        blocks.append(f'Thread "{name}" (id {ident}), most recent call last:\n{stack}')
    return "Thread stacks at detection:\n" + "\n".join(blocks)
