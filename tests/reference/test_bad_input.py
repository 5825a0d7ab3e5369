"""Bad input files: a message naming the file and what is wrong, nothing of them committed,
and a hostile pickle refused without running its code."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from extraction_lint.reference.unpickle import PickleReadError, RefusedGlobal, read_pickle

from .conftest import fingerprint, query, rows_by_file, run_reference, write_inputs

GOOD_SUBJECTS = 4


class _RunsACommand:
    """Unpickling this calls os.system: what a hostile pickle does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _pickle(path: Path, content: object) -> None:
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=4)


def _truncated(path: Path, marker: Path) -> None:
    _pickle(path, {"s": np.arange(1000.0)})
    path.write_bytes(path.read_bytes()[:4000])


def _corrupt(path: Path, marker: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def _trailing_garbage(path: Path, marker: Path) -> None:
    _pickle(path, {"s": np.arange(3.0)})
    with path.open("ab") as handle:
        handle.write(b"leftover")


def _two_dimensional(path: Path, marker: Path) -> None:
    _pickle(path, {"ok": np.arange(3.0), "grid": np.zeros((3, 4))})


def _integer_signal(path: Path, marker: Path) -> None:
    _pickle(path, {"counts": np.arange(5)})


def _list_signal(path: Path, marker: Path) -> None:
    _pickle(path, {"plain": [1.0, 2.0]})


def _not_a_dict(path: Path, marker: Path) -> None:
    _pickle(path, [("s", np.arange(3.0))])


def _number_as_subject(path: Path, marker: Path) -> None:
    _pickle(path, {7: np.arange(3.0)})


def _hostile(path: Path, marker: Path) -> None:
    _pickle(path, {"s": _RunsACommand(marker)})


# name -> (writer, what the message must say)
BAD_FILES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "truncated": (_truncated, "truncated pickle: the file ends after 4,000 bytes"),
    "corrupt": (_corrupt, "corrupt pickle: UnpicklingError"),
    "trailing": (_trailing_garbage, "corrupt pickle: 8 unexpected bytes after the end"),
    "shape": (_two_dimensional, "record #2 (subject 'grid'): signal has shape (3, 4)"),
    "dtype": (_integer_signal, "record #1 (subject 'counts'): signal has dtype int64"),
    "list": (_list_signal, "record #1 (subject 'plain'): signal is a list"),
    "container": (_not_a_dict, "the pickle holds a list; expected a dict"),
    "key": (_number_as_subject, "record #1: subject id is an int; expected a str"),
    "hostile": (_hostile, "refused to unpickle global posix.system"),
}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """The file a hostile pickle would create if its code ran."""
    return tmp_path / "hostile-code-ran"


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_stops_the_run_naming_the_file_and_the_reason(
    kind: str, tmp_path: Path, marker: Path
) -> None:
    data = write_inputs(tmp_path / "in", files=2, subjects=GOOD_SUBJECTS, length=20)
    writer, reason = BAD_FILES[kind]
    bad_name = f"signals_0000_{kind}.pkl"  # sorts between the two good files
    writer(data / bad_name, marker)
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db)

    assert result.returncode == 1, result.explain()
    assert f"error: {bad_name}: {reason}" in result.stderr, result.explain()
    assert "nothing of this file was committed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists(), "the hostile pickle's code ran"
    # The good file before it is committed, the bad one and everything after it is not.
    data_rows, manifest_rows = rows_by_file(db)
    assert data_rows == manifest_rows == {"signals_0000.pkl": GOOD_SUBJECTS}
    assert result.summary()["status"] == "stopped"


def test_skip_mode_records_every_bad_file_and_loads_the_good_ones(
    tmp_path: Path, marker: Path
) -> None:
    data = write_inputs(tmp_path / "in", files=3, subjects=GOOD_SUBJECTS, length=20)
    for kind, (writer, _) in BAD_FILES.items():
        writer(data / f"bad_{kind}.pkl", marker)
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db, "--on-error", "skip")

    assert result.returncode == 0, result.explain()
    assert (result.count("loaded"), result.count("failed")) == (3, len(BAD_FILES))
    assert not marker.exists(), "the hostile pickle's code ran"
    errors = dict(query(db, "SELECT file, reason FROM errors"))
    assert errors.keys() == {f"bad_{kind}.pkl" for kind in BAD_FILES}
    for kind, (_, reason) in BAD_FILES.items():
        assert errors[f"bad_{kind}.pkl"].startswith(reason), errors[f"bad_{kind}.pkl"]
    assert query(db, "SELECT count(*) FROM errors WHERE failed_at IS NULL") == [(0,)]
    data_rows, manifest_rows = rows_by_file(db)
    assert data_rows == manifest_rows
    assert set(data_rows) == {f"signals_{index:04d}.pkl" for index in range(3)}
    for kind in BAD_FILES:
        assert f"skipped bad_{kind}.pkl" in result.stderr


def test_a_fixed_file_loads_on_the_next_run(tmp_path: Path, marker: Path) -> None:
    data = write_inputs(tmp_path / "in", files=2, subjects=GOOD_SUBJECTS, length=20)
    _corrupt(data / "late.pkl", marker)
    db = tmp_path / "out.duckdb"
    run_reference("extract", data, "--db", db, "--on-error", "skip")
    _pickle(data / "late.pkl", {"s": np.arange(4.0)})

    result = run_reference("extract", data, "--db", db, "--on-error", "skip")

    assert (result.count("loaded"), result.count("skipped")) == (1, 2)
    assert rows_by_file(db)[1]["late.pkl"] == 1
    assert fingerprint(db).consistent
    assert query(db, "SELECT file FROM errors") == [("late.pkl",)]


# -- the restricted unpickler on its own ---------------------------------------------


@pytest.mark.parametrize(
    "module, name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("builtins", "eval"),
        ("builtins", "getattr"),
        ("subprocess", "Popen"),
        ("numpy", "load"),
        ("numpy.testing._private.utils", "runstring"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "decode"),
    ],
)
def test_globals_outside_the_allow_list_are_refused_before_import(
    module: str, name: str, tmp_path: Path
) -> None:
    path = tmp_path / "refused.pkl"
    # Protocol 0 by hand: GLOBAL 'module name', an empty tuple, REDUCE, STOP.
    path.write_bytes(f"c{module}\n{name}\n(tR.".encode())
    with pytest.raises(PickleReadError, match=f"refused to unpickle global {module}.{name}"):
        read_pickle(path)


def test_numpy_1_module_paths_load_under_numpy_2(tmp_path: Path) -> None:
    signal = np.arange(5.0)
    data = pickle.dumps({"s": signal}, protocol=2)
    assert b"numpy._core.multiarray" in data or b"numpy.core.multiarray" in data
    path = tmp_path / "numpy1.pkl"
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert "numpy.core.multiarray _reconstruct" in _globals_of(path.read_bytes())
    content = read_pickle(path)
    assert isinstance(content.obj, dict)
    assert np.array_equal(content.obj["s"], signal)


def test_protocol_5_arrays_load_through_frombuffer(tmp_path: Path) -> None:
    path = tmp_path / "p5.pkl"
    path.write_bytes(pickle.dumps({"s": np.arange(4.0)}, protocol=5))
    assert "numpy._core.numeric _frombuffer" in _globals_of(path.read_bytes())
    content = read_pickle(path)
    assert isinstance(content.obj, dict)
    assert content.obj["s"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_refused_global_is_an_unpickling_error() -> None:
    assert issubclass(RefusedGlobal, pickle.UnpicklingError)


def _globals_of(data: bytes) -> set[str]:
    found = set()
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
        if opcode.name == "GLOBAL":
            found.add(str(arg))
        elif isinstance(arg, str):
            strings.append(arg)
        if opcode.name == "STACK_GLOBAL":
            found.add(" ".join(strings[-2:]))
    return found


def test_the_hostile_file_of_these_tests_does_run_code_under_plain_pickle(
    tmp_path: Path, marker: Path
) -> None:
    # The control: without the restricted unpickler, the same file runs its command.
    path = tmp_path / "hostile.pkl"
    _hostile(path, marker)
    with path.open("rb") as handle:
        pickle.load(handle)  # the unsafe call the extractor never makes
    assert marker.exists()


def test_a_file_name_that_is_not_utf8_is_a_bad_file_in_skip_mode(tmp_path: Path) -> None:
    data = write_inputs(tmp_path / "in", files=2, subjects=GOOD_SUBJECTS, length=20)
    raw = os.fsencode(data) + b"/signals_0000_\xff.pkl"
    with open(raw, "wb") as handle:
        pickle.dump({"s": np.arange(3.0)}, handle, protocol=4)
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db, "--on-error", "skip")

    assert result.returncode == 0, result.explain()
    assert (result.count("loaded"), result.count("failed")) == (2, 1)
    assert "Traceback" not in result.stderr
    assert query(db, "SELECT file, reason FROM errors") == [
        (
            "signals_0000_\\xff.pkl",
            "the file name is not valid UTF-8, so the manifest cannot record it: rename it",
        )
    ]
    failed = run_reference("extract", data, "--db", tmp_path / "fail.duckdb")
    assert failed.returncode == 1, failed.explain()
    assert "error: signals_0000_\\xff.pkl: the file name is not valid UTF-8" in failed.stderr
