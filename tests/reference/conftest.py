"""Helpers for the reference extractor's tests: the real command in a child process, a real
DuckDB file, and a fingerprint to compare what two runs left in it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from extraction_lint.reference.data import DataShape, make_data

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "extraction_lint.reference"]
SUMMARY = re.compile(
    r"^extract (?P<status>done|stopped): (?P<files>\d+) files: (?P<loaded>\d+) loaded, "
    r"(?P<skipped>\d+) skipped, (?P<failed>\d+) failed; (?P<rows>[\d,]+) rows in "
    r"(?P<seconds>[\d.]+) s \((?P<rows_per_s>[\d,]+) rows/s, (?P<mb_per_s>[\d.,]+) MB/s\); "
    r"peak RSS (?P<peak_rss_mib>[\d.,]+) MiB$",
    re.MULTILINE,
)


def child_env() -> dict[str, str]:
    """This checkout importable, no colours, no terminal."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for name in ("FORCE_COLOR", "NO_COLOR", "PYTHONWARNINGS"):
        env.pop(name, None)
    return env


@dataclass
class Run:
    """A finished command."""

    returncode: int
    stdout: str
    stderr: str

    def summary(self) -> dict[str, str]:
        """The fields of the final summary line (fails the test when there is none)."""
        match = SUMMARY.search(self.stdout)
        assert match is not None, f"no summary line\n{self.explain()}"
        return match.groupdict()

    def count(self, field: str) -> int:
        """An integer field of the summary line."""
        return int(self.summary()[field].replace(",", ""))

    def explain(self) -> str:
        """For assertion messages."""
        return (
            f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def run_reference(*args: str | Path, timeout: float = 120) -> Run:
    """``python -m extraction_lint.reference ARGS`` in a child process."""
    completed = subprocess.run(
        [*COMMAND, *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def start_extract(data_dir: Path, db: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``extract`` in the background with stdout and stderr going to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*COMMAND, "extract", str(data_dir), "--db", str(db), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )


@dataclass(frozen=True)
class Fingerprint:
    """What a database holds, in a form two runs can be compared by.

    ``content`` is the sum of the hash of every row of the data table (``signals``, or
    ``samples`` in the long layout): equal content gives equal sums whatever the row order,
    and one row lost or duplicated changes it. A row's key is (file, subject), and
    (file, subject, t) in the long layout.
    """

    rows: int
    distinct_keys: int
    content: int
    manifest_files: int
    manifest_rows: int

    @property
    def consistent(self) -> bool:
        """The manifest and the data agree, and no (file, subject) appears twice."""
        return self.rows == self.manifest_rows and self.rows == self.distinct_keys


def fingerprint(db: Path) -> Fingerprint:
    """Read the fingerprint of ``db`` (read-only)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if "samples" in tables:
            table, key, columns = "samples", "file, subject, t", "file, subject, t, value"
        else:
            table, key, columns = "signals", "file, subject", "file, subject, signal"
        row = con.execute(
            f"SELECT (SELECT count(*) FROM {table}), "
            f"(SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table})), "
            f"(SELECT coalesce(sum(hash({columns})), 0) FROM {table}), "
            "(SELECT count(*) FROM manifest), "
            "(SELECT coalesce(sum(rows), 0) FROM manifest)"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return Fingerprint(*(int(value) for value in row))


def rows_by_file(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per file in the signals table, and in the manifest."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        data = dict(con.execute("SELECT file, count(*) FROM signals GROUP BY file").fetchall())
        manifest = dict(con.execute("SELECT file, rows FROM manifest").fetchall())
    finally:
        con.close()
    return data, manifest


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Run one read-only query."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write_inputs(directory: Path, files: int, subjects: int, length: int, seed: int = 0) -> Path:
    """A synthetic input set, written in this process (faster than a child for fixtures)."""
    make_data(directory, DataShape(files, subjects, length, seed), heartbeat_every=None)
    return directory


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    """Five files x six subjects x 300 samples."""
    return write_inputs(tmp_path / "in", files=5, subjects=6, length=300, seed=7)
