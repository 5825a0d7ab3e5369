"""``make-data`` writes the documented format, and the same arguments give the same bytes."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import numpy as np

from extraction_lint.reference.data import PRESETS

from .conftest import run_reference, write_inputs


def _bytes_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.pkl"))}


def test_same_arguments_write_the_same_bytes(tmp_path: Path) -> None:
    args = ("--files", "3", "--subjects", "4", "--length", "50", "--seed", "11")
    first = run_reference("make-data", tmp_path / "a", *args)
    second = run_reference("make-data", tmp_path / "b", *args)
    assert first.returncode == 0, first.explain()
    assert second.returncode == 0, second.explain()
    a, b = _bytes_of(tmp_path / "a"), _bytes_of(tmp_path / "b")
    assert list(a) == ["signals_0000.pkl", "signals_0001.pkl", "signals_0002.pkl"]
    assert a == b


def test_another_seed_writes_other_signals(tmp_path: Path) -> None:
    run_reference("make-data", tmp_path / "a", "--files", "1", "--seed", "1")
    run_reference("make-data", tmp_path / "b", "--files", "1", "--seed", "2")
    assert _bytes_of(tmp_path / "a") != _bytes_of(tmp_path / "b")


def test_a_file_does_not_depend_on_how_many_files_are_made(tmp_path: Path) -> None:
    run_reference("make-data", tmp_path / "two", "--files", "2", "--subjects", "3")
    run_reference("make-data", tmp_path / "five", "--files", "5", "--subjects", "3")
    two, five = _bytes_of(tmp_path / "two"), _bytes_of(tmp_path / "five")
    assert two == {name: five[name] for name in two}


def test_files_hold_a_dict_of_subject_ids_to_float64_signals(tmp_path: Path) -> None:
    result = run_reference(
        "make-data", tmp_path, "--files", "2", "--subjects", "3", "--length", "40"
    )
    assert result.returncode == 0, result.explain()
    assert "wrote 2 files x 3 subjects x 40 samples" in result.stdout
    with (tmp_path / "signals_0001.pkl").open("rb") as handle:
        content = pickle.load(handle)
    assert list(content) == ["subject_0000", "subject_0001", "subject_0002"]
    for signal in content.values():
        assert isinstance(signal, np.ndarray)
        assert signal.dtype == np.float64
        assert signal.shape == (40,)
    assert not np.array_equal(content["subject_0000"], content["subject_0001"])


def test_no_partial_files_are_left_behind(tmp_path: Path) -> None:
    run_reference("make-data", tmp_path, "--files", "3")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "signals_0000.pkl",
        "signals_0001.pkl",
        "signals_0002.pkl",
    ]


def test_the_incident_preset_is_136_files_of_507_subjects_and_3_3_gb() -> None:
    incident = PRESETS["incident"]
    assert (incident.files, incident.subjects, incident.length) == (136, 507, 6_000)
    assert incident.total_bytes == 3_309_696_000
    # The same signals as Python float lists (32 bytes a sample) are the incident's 13.4 GB.
    assert 13.0e9 < incident.total_bytes * 4 < 13.5e9


def test_options_override_the_preset(tmp_path: Path) -> None:
    result = run_reference(
        "make-data", tmp_path, "--preset", "incident", "--files", "1", "--subjects", "2"
    )
    assert result.returncode == 0, result.explain()
    with (tmp_path / "signals_0000.pkl").open("rb") as handle:
        content = pickle.load(handle)
    assert [signal.shape for signal in content.values()] == [(6_000,), (6_000,)]


def test_bad_arguments_exit_2_without_a_traceback(tmp_path: Path) -> None:
    for args in (("--files", "0"), ("--length", "many"), ("--preset", "huge")):
        result = run_reference("make-data", tmp_path, *args)
        assert result.returncode == 2, result.explain()
        assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.pkl"))


def test_files_get_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_inputs(tmp_path / "in", files=2, subjects=1, length=3)
    finally:
        os.umask(previous)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "in").glob("*.pkl")}
    assert modes == {0o644}


def test_make_data_into_an_existing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me\n")

    for target in (existing, existing / "sub"):
        result = run_reference("make-data", target, "--files", "1")
        assert result.returncode == 2, result.explain()
        assert "Traceback" not in result.stderr
        assert str(existing) in result.stderr
    assert "exists and is not a directory" in run_reference("make-data", existing).stderr
    assert existing.read_text() == "keep me\n"


def test_an_output_name_taken_by_a_fifo_or_a_directory_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    for kind in ("fifo", "directory"):
        target = tmp_path / kind
        target.mkdir()
        taken = target / "signals_0001.pkl"
        if kind == "fifo":
            os.mkfifo(taken)
        else:
            taken.mkdir()

        result = run_reference("make-data", target, "--files", "3", timeout=30)

        assert result.returncode == 2, result.explain()
        what = "a FIFO (named pipe)" if kind == "fifo" else "a directory"
        assert f"error: {str(taken)!r} is {what}, not a regular file" in result.stderr, (
            result.explain()
        )
        assert "Traceback" not in result.stderr
        assert sorted(path.name for path in target.iterdir()) == ["signals_0001.pkl"]


def test_make_data_into_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    result = run_reference("make-data", fifo, "--files", "1", timeout=30)

    assert result.returncode == 2, result.explain()
    assert f"{str(fifo)!r} exists and is not a directory" in result.stderr, result.explain()
