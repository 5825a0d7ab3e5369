"""What can go wrong in the reference extractor, as exceptions the command line turns into messages.

:class:`InputFileError` is about one input file (it names the file and what is wrong with
it); ``--on-error skip`` records it and goes on. :class:`SetupError` is about the whole
run (a missing input directory, a database that is not ours) and always stops it, as
does :class:`DatabaseDamaged` (a database of ours that cannot be read back).
"""

from __future__ import annotations


class ExtractorError(Exception):
    """Base class of the extractor's expected errors: shown as a message, never a traceback."""


class InputFileError(ExtractorError):
    """One input file cannot be loaded; ``file`` names it, ``reason`` says why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class SetupError(ExtractorError):
    """The run cannot start: bad input directory, database or settings."""


class DatabaseDamaged(ExtractorError):
    """The output database cannot be read back: damaged blocks, a truncated file.

    ``path`` names the database; the message says what failed. Nothing more is written.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"database {path!r} is damaged: {reason}")
        self.path = path
        self.reason = reason


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM). Like ``KeyboardInterrupt``, not an ``Exception``:
    the run ends at once, committed files stay loaded."""
