"""``extract`` loads exactly the input, once, with a manifest that describes it."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import duckdb
import numpy as np
import pytest

from .conftest import fingerprint, query, rows_by_file, run_reference, write_inputs


def test_every_subject_of_every_file_becomes_one_row_with_its_exact_signal(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "out.duckdb"
    result = run_reference("extract", small_set, "--db", db)
    assert result.returncode == 0, result.explain()

    con = duckdb.connect(str(db), read_only=True)
    stored = {
        (file, subject): np.asarray(signal)
        for file, subject, signal in con.execute("SELECT * FROM signals").fetchall()
    }
    con.close()
    expected = {}
    for path in sorted(small_set.glob("*.pkl")):
        with path.open("rb") as handle:
            for subject, signal in pickle.load(handle).items():
                expected[(path.name, subject)] = signal
    assert len(stored) == len(expected) == 5 * 6
    assert stored.keys() == expected.keys()
    for key, signal in expected.items():
        assert np.array_equal(stored[key], signal), key


def test_the_manifest_lists_each_file_with_its_size_hash_and_rows(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "out.duckdb"
    run_reference("extract", small_set, "--db", db)
    manifest = {
        file: (size, sha256, rows)
        for file, size, sha256, rows in query(
            db, "SELECT file, size, sha256, rows FROM manifest ORDER BY file"
        )
    }
    for path in small_set.glob("*.pkl"):
        data = path.read_bytes()
        assert manifest[path.name] == (len(data), hashlib.sha256(data).hexdigest(), 6)
    assert len(manifest) == 5
    assert query(db, "SELECT count(*) FROM manifest WHERE loaded_at IS NULL") == [(0,)]


def test_the_summary_line_counts_files_rows_and_memory(small_set: Path, tmp_path: Path) -> None:
    result = run_reference("extract", small_set, "--db", tmp_path / "out.duckdb")
    summary = result.summary()
    assert summary["status"] == "done"
    assert (result.count("files"), result.count("loaded"), result.count("skipped")) == (5, 5, 0)
    assert (result.count("failed"), result.count("rows")) == (0, 30)
    assert float(summary["peak_rss_mib"].replace(",", "")) > 10


def test_a_second_run_skips_every_file_and_changes_nothing(small_set: Path, tmp_path: Path) -> None:
    db = tmp_path / "out.duckdb"
    run_reference("extract", small_set, "--db", db)
    before = fingerprint(db)
    again = run_reference("extract", small_set, "--db", db)
    assert again.returncode == 0, again.explain()
    assert (again.count("loaded"), again.count("skipped"), again.count("rows")) == (0, 5, 0)
    assert fingerprint(db) == before


def test_new_files_added_later_are_loaded_and_old_ones_skipped(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "out.duckdb"
    first_three = tmp_path / "partial"
    first_three.mkdir()
    for path in sorted(small_set.glob("*.pkl"))[:3]:
        (first_three / path.name).write_bytes(path.read_bytes())
    run_reference("extract", first_three, "--db", db)
    result = run_reference("extract", small_set, "--db", db)
    assert (result.count("loaded"), result.count("skipped")) == (2, 3)

    whole = tmp_path / "whole.duckdb"
    run_reference("extract", small_set, "--db", whole)
    assert fingerprint(db) == fingerprint(whole)


def test_small_batches_give_the_same_table(small_set: Path, tmp_path: Path) -> None:
    one_by_one = tmp_path / "one.duckdb"
    default = tmp_path / "default.duckdb"
    run_reference("extract", small_set, "--db", one_by_one, "--batch-rows", "1")
    run_reference("extract", small_set, "--db", default)
    assert fingerprint(one_by_one) == fingerprint(default)
    assert fingerprint(default).rows == 30


def test_a_file_changed_after_loading_is_an_error_not_a_silent_skip(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "out.duckdb"
    run_reference("extract", small_set, "--db", db)
    write_inputs(small_set, files=1, subjects=6, length=300, seed=99)  # rewrites file 0

    result = run_reference("extract", small_set, "--db", db)
    assert result.returncode == 1, result.explain()
    assert "signals_0000.pkl: changed since it was loaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_float32_and_big_endian_signals_are_stored_as_float64(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    signals = {
        "narrow": np.array([0.5, 1.25, -2.0], dtype=np.float32),
        "big_endian": np.array([3.5, 1e300], dtype=">f8"),
        "strided": np.arange(10.0)[::3],
        "empty": np.array([], dtype=np.float64),
        "with_nan": np.array([np.nan, 1.0]),
    }
    with (data / "mixed.pkl").open("wb") as handle:
        pickle.dump(signals, handle)
    db = tmp_path / "out.duckdb"
    result = run_reference("extract", data, "--db", db)
    assert result.returncode == 0, result.explain()
    stored = dict(query(db, "SELECT subject, signal FROM signals"))
    assert stored["narrow"] == [0.5, 1.25, -2.0]
    assert stored["big_endian"] == [3.5, 1e300]
    assert stored["strided"] == [0.0, 3.0, 6.0, 9.0]
    assert stored["empty"] == []
    assert np.isnan(stored["with_nan"][0]) and stored["with_nan"][1] == 1.0


def test_every_pickle_protocol_loads(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    signal = np.linspace(0, 1, 7)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with (data / f"protocol_{protocol}.pkl").open("wb") as handle:
            pickle.dump({"s": signal}, handle, protocol=protocol)
    db = tmp_path / "out.duckdb"
    result = run_reference("extract", data, "--db", db)
    assert result.returncode == 0, result.explain()
    stored = query(db, "SELECT DISTINCT signal FROM signals")
    assert stored == [(signal.tolist(),)]
    assert result.count("loaded") == pickle.HIGHEST_PROTOCOL + 1


def test_the_pattern_option_selects_input_files(small_set: Path, tmp_path: Path) -> None:
    db = tmp_path / "out.duckdb"
    result = run_reference("extract", small_set, "--db", db, "--pattern", "signals_000[12].pkl")
    assert result.returncode == 0, result.explain()
    assert rows_by_file(db)[0] == {"signals_0001.pkl": 6, "signals_0002.pkl": 6}


def test_bad_arguments_exit_2_with_a_message(small_set: Path, tmp_path: Path) -> None:
    db = tmp_path / "out.duckdb"
    cases = {
        ("extract", tmp_path / "missing", "--db", db): "does not exist",
        ("extract", tmp_path, "--db", db, "--pattern", "*.nothing"): "no files matching",
        ("extract", small_set, "--db", db, "--memory-limit", "lots"): "--memory-limit",
        ("extract", small_set, "--db", db, "--stall-timeout", "soon"): "--stall-timeout",
        ("extract", small_set, "--db", db, "--batch-rows", "0"): "--batch-rows",
        ("extract", small_set, "--db", db, "--on-error", "ignore"): "--on-error",
        ("extract", small_set): "--db",
    }
    for args, message in cases.items():
        result = run_reference(*args)
        assert result.returncode == 2, result.explain()
        assert message in result.stderr, result.explain()
        assert "Traceback" not in result.stderr
    assert not db.exists()


def test_a_database_with_another_signals_table_is_refused(small_set: Path, tmp_path: Path) -> None:
    db = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE signals (id INTEGER, value DOUBLE)")
    con.close()
    result = run_reference("extract", small_set, "--db", db)
    assert result.returncode == 2, result.explain()
    assert "has a table 'signals' with columns (id INTEGER, value DOUBLE)" in result.stderr
    assert query(db, "SELECT count(*) FROM signals") == [(0,)]


def test_the_long_layout_stores_every_sample_as_a_row_with_its_index(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "long.duckdb"
    result = run_reference("extract", small_set, "--db", db, "--layout", "long")
    assert result.returncode == 0, result.explain()
    assert result.count("rows") == 5 * 6 * 300

    stored: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for file, subject, t, value in query(db, "SELECT * FROM samples"):
        stored.setdefault((str(file), str(subject)), []).append((int(t), float(value)))
    expected = {}
    for path in sorted(small_set.glob("*.pkl")):
        with path.open("rb") as handle:
            for subject, signal in pickle.load(handle).items():
                expected[(path.name, subject)] = signal
    assert stored.keys() == expected.keys()
    for key, signal in expected.items():
        samples = sorted(stored[key])
        assert [t for t, _ in samples] == list(range(len(signal))), key
        assert np.array_equal(np.array([v for _, v in samples]), signal), key
    assert query(db, "SELECT DISTINCT rows FROM manifest") == [(6 * 300,)]
    assert query(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'signals'") == [(0,)]


def test_a_database_keeps_the_layout_it_was_made_with(small_set: Path, tmp_path: Path) -> None:
    db = tmp_path / "out.duckdb"
    assert run_reference("extract", small_set, "--db", db).returncode == 0
    before = fingerprint(db)
    other = run_reference("extract", small_set, "--db", db, "--layout", "long")
    assert other.returncode == 2, other.explain()
    assert "holds the wide layout (table 'signals'); use --layout wide" in other.stderr
    assert fingerprint(db) == before


def test_bad_patterns_and_a_too_small_duckdb_memory_exit_2_with_a_message(
    small_set: Path, tmp_path: Path
) -> None:
    db = tmp_path / "out.duckdb"
    cases = {
        "": "argument --pattern: '' is empty; give a glob such as '*.pkl'",
        "   ": "is empty",
        f"{small_set}/*.pkl": "is absolute; give it relative to DIR",
        "../*": "leaves DIR ('..'); files are read from DIR only",
        "sub/../../*.pkl": "leaves DIR",
        "a**": "is not a valid glob",
        "**a/*.pkl": "'**' can only be a whole part",
        ".": "'.' names DIR itself, not files in it",
        "./": "names DIR itself",
        ".//.": "names DIR itself",
        "*.pkl/": "ends in '/', so it selects directories only",
        "**/": "selects directories only",
        "*/./": "selects directories only",
        "*/.": "ends in '/.', which names a directory",
        "sub/**": "ends in '**', which selects directories only before Python 3.13",
        "**/**/*.pkl": "repeats '**'",
        "*/" * 2_000 + "*.pkl": "has 2,001 parts, more than 100",
    }
    for pattern, message in cases.items():
        result = run_reference("extract", small_set, "--db", db, "--pattern", pattern)
        assert result.returncode == 2, result.explain()
        assert message in result.stderr, result.explain()
        assert "Traceback" not in result.stderr
    for size in ("1B", "1 MiB"):
        result = run_reference("extract", small_set, "--db", db, "--duckdb-memory", size)
        assert result.returncode == 2, result.explain()
        assert "argument --duckdb-memory: must be at least 8.0 MiB" in result.stderr
        assert "Traceback" not in result.stderr
    assert not db.exists()


def test_the_library_refuses_the_same_patterns(small_set: Path) -> None:
    from extraction_lint.reference.errors import SetupError
    from extraction_lint.reference.extract import input_files

    for pattern in ("", "/abs/*.pkl", "../*", "a**", ".", "./", "a\x00b", "**"):
        with pytest.raises(SetupError, match=r"^--pattern "):
            input_files(small_set, pattern)


HOSTILE_PATTERNS = [
    *("", " ", ".", "./", "/", "//", "///", "**/", "**", ".//x", "a/./b", "*/.", "*/./"),
    *("sub/.", "\x00", "a\x00b", "*.pkl\x00", "\udcff*.pkl", "*\udcff/\udc80", "~", "~/x"),
    *("..", "../x", "*/..", "C:\\x", "\\\\server\\share\\x", "[", "[!]", "*.pkl\n", "**a"),
    *("a" * 5_000, "a" * 200_000, "*x" * 2_500, "*/" * 2_000, "a/" * 5_000 + "*", "**/" * 1_000),
    *("**/" * 20 + "*.pkl", "\N{SNOWMAN}*.pkl", "\udcff" * 300),
]


@pytest.mark.parametrize("pattern", HOSTILE_PATTERNS, ids=range(len(HOSTILE_PATTERNS)))
def test_no_pattern_ends_in_a_traceback(
    small_set: Path, tmp_path: Path, pattern: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from extraction_lint.reference.cli import main

    db = tmp_path / "out.duckdb"
    try:
        status = main(["extract", str(small_set), "--db", str(db), "--pattern", pattern])
    except SystemExit as stop:  # argparse refuses a bad value with exit 2
        status = stop.code
    stderr = capsys.readouterr().err
    assert status == 2, stderr
    assert "--pattern" in stderr or "no files matching" in stderr, stderr
    assert len(stderr) < 2_000, "a long pattern is shown shortened"
    assert not db.exists()


def test_patterns_with_subdirectories_and_dot_parts_select_files(tmp_path: Path) -> None:
    data = write_inputs(tmp_path / "in", files=2, subjects=1, length=3)
    write_inputs(data / "sub", files=3, subjects=1, length=3)
    expected = {
        "**/*.pkl": 5,
        "sub/*.pkl": 3,
        "./sub//*.pkl": 3,
        "sub/./signals_000[01].pkl": 2,
        "*/*.pkl": 3,
        "**/signals_0000.pkl": 2,
    }
    for pattern, files in expected.items():
        db = tmp_path / f"out{files}{len(pattern)}.duckdb"
        result = run_reference("extract", data, "--db", db, "--pattern", pattern)
        assert result.returncode == 0, (pattern, result.explain())
        assert result.count("loaded") == files, (pattern, result.explain())
