"""What a path names when it is not a regular file, so that it is refused before it is opened.

Opening a FIFO waits for the other end, for ever; a directory, a device or a socket can
hold neither a database nor a pickle.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file_kind(path: Path) -> str | None:
    """What ``path`` is (``'a FIFO (named pipe)'``...) when it exists and is not a regular
    file; ``None`` when it is one or does not exist.

    Follows symbolic links, as opening the path would; raises ``OSError`` when the path
    cannot be looked at (permissions, a file where a directory should be).
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for is_kind, kind in _KINDS if is_kind(mode)), "a special file")
