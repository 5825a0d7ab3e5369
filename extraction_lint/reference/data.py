"""``make-data``: a synthetic input set shaped like the incident's.

Each file ``signals_0000.pkl``, ``signals_0001.pkl``, ... is a pickle (protocol 4, the
default of Python 3.8 to 3.13) of a ``dict`` mapping ``subject_0000``,
``subject_0001``, ... to a float64 random walk of ``length`` samples: every file holds
every subject, as the incident's 136 files each held its 507 subjects.

The bytes depend only on the arguments: file ``i`` draws from
``numpy.random.default_rng([seed, i])``, so a file's content does not depend on how
many files are made, and the same arguments give the same files on any machine with
the same numpy.

The ``incident`` preset is 136 files x 507 subjects x 6,000 samples: 3.31 GB of
pickles (24.3 MB a file). 6,000 samples is what makes the incident's list of
``signal.tolist()`` rows weigh 13.4 GB (a Python float list costs 32 bytes a sample,
a float64 array 8).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from extraction_lint.guardrails import guard

from .errors import SetupError
from .files import special_file_kind

PICKLE_PROTOCOL = 4
FILE_PATTERN = "*.pkl"


@dataclass(frozen=True)
class DataShape:
    """How many files, subjects per file and samples per signal to make."""

    files: int = 4
    subjects: int = 8
    length: int = 1_000
    seed: int = 0

    @property
    def file_bytes(self) -> int:
        """Approximate size of one file (the signals' bytes; the pickle adds a little)."""
        return self.subjects * self.length * 8

    @property
    def total_bytes(self) -> int:
        """Approximate size of the whole set."""
        return self.files * self.file_bytes


PRESETS: dict[str, DataShape] = {
    "small": DataShape(),
    "incident": DataShape(files=136, subjects=507, length=6_000),
}


def file_name(index: int, files: int) -> str:
    """``signals_0007.pkl``: zero-padded to at least four digits, so names sort in order."""
    width = max(4, len(str(max(files - 1, 0))))
    return f"signals_{index:0{width}d}.pkl"


def subject_id(index: int, subjects: int) -> str:
    """``subject_0042``: zero-padded like :func:`file_name`."""
    width = max(4, len(str(max(subjects - 1, 0))))
    return f"subject_{index:0{width}d}"


def make_signals(shape: DataShape, index: int) -> dict[str, npt.NDArray[np.float64]]:
    """The content of file ``index``: subject id -> float64 random walk."""
    rng = np.random.default_rng([shape.seed, index])
    return {
        subject_id(subject, shape.subjects): np.cumsum(rng.standard_normal(shape.length))
        for subject in range(shape.subjects)
    }


def write_file(path: Path, content: object) -> None:
    """Pickle ``content`` to ``path`` atomically: a killed run never leaves half a file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(content, out, protocol=PICKLE_PROTOCOL)
        # mkstemp makes the file private; give it the permissions of any new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_data(
    directory: Path,
    shape: DataShape,
    *,
    heartbeat_every: float | None = 30,
    memory_limit: str | None = "2 GiB",
) -> list[Path]:
    """Write ``shape.files`` input files into ``directory`` (made if missing); return their paths.

    One file's signals are in memory at a time. A name taken by a FIFO, a directory or a
    device is a :class:`SetupError` before any file is written: the rename that ends each
    write would put the file in a FIFO's place, or fail on a directory.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / file_name(index, shape.files) for index in range(shape.files)]
    for path in paths:
        kind = special_file_kind(path)
        if kind is not None:
            raise SetupError(
                f"{str(path)!r} is {kind}, not a regular file; make-data writes its files "
                "under these names: remove it or choose another DIR"
            )
    with guard(
        total=len(paths),
        label="make-data",
        heartbeat_every=heartbeat_every,
        memory_limit=memory_limit,
        stall_timeout="5m",
        watch_output=directory,
    ) as g:
        for index, path in enumerate(g.track(paths)):
            write_file(path, make_signals(shape, index))
    return paths
