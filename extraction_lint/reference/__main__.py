"""``python -m extraction_lint.reference``."""

import signal
import sys
from types import FrameType

PROG = "python -m extraction_lint.reference"


def _stopped_early(number: int, frame: FrameType | None) -> None:
    # Until the run installs its own handlers (and after it restores these), a signal
    # ends the process quietly with the shell's status for it, never with a traceback
    # from the middle of an import.
    what = "terminated (SIGTERM)" if number == signal.SIGTERM else "interrupted (Ctrl-C)"
    print(f"{PROG}: {what}; nothing was written", file=sys.stderr, flush=True)
    raise SystemExit(128 + number)


for _number in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_number, _stopped_early)

from .cli import main  # noqa: E402  (after the handlers: the imports take a while)

raise SystemExit(main())
