"""Hostile pickles: what a file asks of memory is bounded before it is allocated, no array
holds memory the file did not fill, and each refusal names what was refused.

The attacks that would allocate gigabytes if they got through run in a child process
whose address space is capped, so that a regression fails the test instead of the machine.
"""

from __future__ import annotations

import gc
import json
import pickle
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from extraction_lint.guardrails import MemoryLimitExceeded, guard
from extraction_lint.guardrails._sysinfo import read_memory
from extraction_lint.reference.errors import InputFileError
from extraction_lint.reference.extract import file_limits, read_records
from extraction_lint.reference.unpickle import PickleReadError, ReadLimits, read_pickle

from .conftest import child_env, query, run_reference, write_inputs

MIB = 1024**2
# The child's address space: room for Python, numpy and DuckDB, far from the gigabytes
# the attacks ask for.
CHILD_ADDRESS_SPACE = 1536 * MIB

_READ_IN_CHILD = """
import json, sys
from pathlib import Path
from extraction_lint.reference.extract import file_limits, read_records
from extraction_lint.reference.errors import InputFileError
limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
try:
    size, _, records = read_records(Path(sys.argv[1]), "attack.pkl", file_limits(limit, None))
except InputFileError as error:
    print(json.dumps({"error": error.reason}))
else:
    print(json.dumps({"records": [[r.subject, r.signal.size] for r in records]}))
"""


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def read_in_child(path: Path, memory_limit: int | None = None) -> dict[str, object]:
    """``read_records(path)`` in a child with a capped address space: its JSON outcome."""
    args = [sys.executable, "-c", _READ_IN_CHILD, str(path)]
    if memory_limit is not None:
        args.append(str(memory_limit))
    env = child_env()
    env["OPENBLAS_NUM_THREADS"] = "1"
    completed = subprocess.run(
        args,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=_cap_address_space,
    )
    assert completed.returncode == 0, f"exit {completed.returncode}\n{completed.stderr}"
    outcome: dict[str, object] = json.loads(completed.stdout)
    return outcome


def _dump(obj: object, protocol: int = 4) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


class _Reduce:
    """Pickles as ``callable(*args)`` (with ``state`` applied by BUILD when given)."""

    def __init__(self, *reduced: object) -> None:
        self.reduced = reduced

    def __reduce__(self) -> tuple[object, ...]:
        return self.reduced


# -- memo indexes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        b"\x80\x04N" + b"r" + struct.pack("<I", 2**29) + b".",  # LONG_BINPUT
        b"\x80\x04N" + b"r" + struct.pack("<I", 2**28) + b".",
        b"\x80\x02" + b"}q\x00" + b"N" + b"r" + struct.pack("<I", 0xFFFFFFFF) + b"s.",
        b"N" + b"p536870912\n" + b".",  # protocol 0 PUT
        b"\x80\x04N" + b"q\x05" + b".",  # BINPUT ahead of the memo
    ],
    ids=["long-binput-2**29", "long-binput-2**28", "long-binput-max", "put-text", "binput"],
)
def test_a_memo_index_out_of_sequence_is_refused_before_the_memo_grows(
    attack: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "attack.pkl"
    path.write_bytes(attack)

    outcome = read_in_child(path)

    reason = str(outcome.get("error"))
    assert reason.startswith("corrupt pickle: "), outcome
    assert "out of sequence" in reason and "memo" in reason, outcome


def test_memo_entries_in_sequence_and_reused_load(tmp_path: Path) -> None:
    # The same array under two subjects: pickle stores it once and refers to it by memo.
    signal = np.arange(10.0)
    path = tmp_path / "shared.pkl"
    for protocol in (0, 2, 4, 5):
        path.write_bytes(_dump({"a": signal, "b": signal}, protocol))
        _, _, records = read_records(path, "shared.pkl")
        assert [(r.subject, r.signal.tolist()) for r in records] == [
            ("a", signal.tolist()),
            ("b", signal.tolist()),
        ]


# -- declared lengths ------------------------------------------------------------------


@pytest.mark.parametrize(
    "opcode, prefix",
    [
        (b"\x8e", "<Q"),  # BINBYTES8
        (b"\x8d", "<Q"),  # BINUNICODE8
        (b"\x96", "<Q"),  # BYTEARRAY8
        (b"\x95", "<Q"),  # FRAME
        (b"B", "<I"),  # BINBYTES
        (b"X", "<I"),  # BINUNICODE
        (b"\x8b", "<i"),  # LONG4
    ],
)
def test_a_length_past_the_end_of_the_file_is_refused_before_its_buffer_exists(
    opcode: bytes, prefix: str, tmp_path: Path
) -> None:
    declared = 2**40 if prefix == "<Q" else 2**31 - 1
    path = tmp_path / "attack.pkl"
    path.write_bytes(b"\x80\x04" + opcode + struct.pack(prefix, declared) + b"x" * 16 + b".")

    outcome = read_in_child(path)

    assert outcome.get("error") == (
        f"truncated pickle: the file ends after {path.stat().st_size} bytes, before the pickle "
        f"is complete ({_opname(opcode)} at byte 2 declares {declared:,} bytes, 17 are left)"
    ), outcome


def _opname(code: bytes) -> str:
    import pickletools

    return next(op.name for op in pickletools.opcodes if op.code.encode("latin-1") == code)


def test_a_negative_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "attack.pkl"
    path.write_bytes(b"\x80\x02T" + struct.pack("<i", -5) + b".")  # BINSTRING
    with pytest.raises(PickleReadError, match="negative length"):
        read_pickle(path)


# -- arrays ----------------------------------------------------------------------------


def test_an_array_of_uninitialised_memory_is_never_made(tmp_path: Path) -> None:
    path = tmp_path / "attack.pkl"
    path.write_bytes(_dump({"s": _Reduce(np.ndarray, ((1024,), "f8"))}))

    outcome = read_in_child(path)

    assert "records" not in outcome
    assert str(outcome["error"]).startswith("corrupt pickle: refused numpy.ndarray(...)"), outcome


def test_a_zero_stride_view_of_a_small_buffer_is_never_made(tmp_path: Path) -> None:
    # 4.8 GB of float64 seen through 8 bytes: the conversion to a contiguous array
    # would allocate all of it.
    path = tmp_path / "attack.pkl"
    attack = _Reduce(np.ndarray, ((600_000_000,), "f8", b"\0" * 8, 0, (0,)))
    path.write_bytes(_dump({"s": attack}))

    outcome = read_in_child(path, memory_limit=2 * 1024**3)

    assert str(outcome["error"]).startswith("corrupt pickle: refused numpy.ndarray(...)"), outcome


def _reconstruct_global() -> object:
    from numpy._core.multiarray import _reconstruct

    return _reconstruct


@pytest.mark.parametrize(
    "shape, data",
    [
        ((600_000_000,), b"\0" * 8),  # a huge shape over a small buffer
        ((4,), b"\0" * 8),  # too little data
        ((1,), b"\0" * 64),  # too much
        ((2**62, 2**62), b""),  # a size that overflows
    ],
)
def test_an_array_whose_shape_and_data_disagree_is_refused(
    shape: tuple[int, ...], data: bytes, tmp_path: Path
) -> None:
    reconstruct = _reconstruct_global()
    state = (1, shape, np.dtype("f8"), False, data)
    path = tmp_path / "attack.pkl"
    path.write_bytes(_dump({"s": _Reduce(reconstruct, (np.ndarray, (0,), b"b"), state)}, 2))

    outcome = read_in_child(path)

    assert "bytes of data, the pickle gives" in str(outcome["error"]), outcome


def test_a_protocol_5_buffer_that_does_not_match_its_shape_is_refused(tmp_path: Path) -> None:
    from numpy._core.numeric import _frombuffer

    path = tmp_path / "attack.pkl"
    attack = _Reduce(_frombuffer, (b"\0" * 8, np.dtype("f8"), (600_000_000,), "C"))
    path.write_bytes(_dump({"s": attack}, 5))

    outcome = read_in_child(path)

    assert "needs 4,800,000,000 bytes of data, the pickle gives 8" in str(outcome["error"])


@pytest.mark.parametrize(
    "code, state",
    [
        ("O8", None),  # objects: a pickle inside the pickle
        ("V8", None),
        ("U4", None),
        ("f8", (3, "<", None, ("a",), {"a": (np.dtype("f8"), 0)}, 8, 1, 16)),  # fields
        ("f8", (3, "<", (np.dtype("f8"), (10**9,)), None, None, 8, 1, 0)),  # sub-array
    ],
)
def test_only_plain_numeric_dtypes_are_built(
    code: str, state: tuple[object, ...] | None, tmp_path: Path
) -> None:
    reduced: tuple[object, ...] = (np.dtype, (code, False, True))
    if state is not None:
        reduced = (*reduced, state)
    path = tmp_path / "attack.pkl"
    path.write_bytes(_dump({"s": _Reduce(*reduced)}, 2))

    with pytest.raises(PickleReadError, match=r"^corrupt pickle: refused dtype"):
        read_pickle(path)


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_real_arrays_of_every_protocol_load_as_numpy_loads_them(
    protocol: int, tmp_path: Path
) -> None:
    arrays = {
        "f8": np.arange(300.0),
        "f4": np.arange(5, dtype="f4"),
        "f2": np.arange(3, dtype="f2"),
        "big-endian": np.arange(2000, dtype=">f8"),
        "grid": np.zeros((3, 4)),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "empty": np.empty(0),
        "ints": np.arange(5),
        "bools": np.array([True, False]),
        "complex": np.arange(3) * 1j,
        "strided": np.arange(10.0)[::2],
    }
    path = tmp_path / "real.pkl"
    path.write_bytes(_dump(arrays, protocol))

    content = read_pickle(path)

    assert isinstance(content.obj, dict)
    for name, array in arrays.items():
        expected = pickle.loads(_dump(array, protocol))
        loaded = content.obj[name]
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape, name
        assert np.array_equal(loaded, expected), name


# -- what a signal and a subject may be ------------------------------------------------


def test_float128_signals_are_refused_as_the_format_documents(tmp_path: Path) -> None:
    path = tmp_path / "wide.pkl"
    path.write_bytes(_dump({"s": np.arange(3, dtype=np.longdouble)}))
    if np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 on this platform")

    with pytest.raises(InputFileError) as caught:
        read_records(path, "wide.pkl")

    assert caught.value.reason == (
        f"record #1 (subject 's'): signal has dtype {np.dtype(np.longdouble)}; "
        "expected float16, float32 or float64"
    )


def test_a_subject_id_with_a_nul_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nul.pkl"
    path.write_bytes(_dump({"ok": np.arange(2.0), "bad\x00id": np.arange(2.0)}))

    with pytest.raises(InputFileError, match=r"record #2 .*: subject id contains a NUL"):
        read_records(path, "nul.pkl")


def test_a_subject_id_with_a_lone_surrogate_is_a_bad_file_not_a_crash(tmp_path: Path) -> None:
    data = write_inputs(tmp_path / "in", files=2, subjects=3, length=10)
    (data / "signals_0000_surrogate.pkl").write_bytes(_dump({"s\ud800x": np.arange(2.0)}))
    db = tmp_path / "out.duckdb"

    result = run_reference("extract", data, "--db", db, "--on-error", "skip")

    assert result.returncode == 0, result.explain()
    assert (result.count("loaded"), result.count("failed")) == (2, 1)
    assert "Traceback" not in result.stderr
    [(file, reason)] = query(db, "SELECT file, reason FROM errors")
    assert file == "signals_0000_surrogate.pkl"
    assert "subject id is not valid Unicode (a lone surrogate U+D800 at index 1)" in str(reason)

    resumed = run_reference("extract", data, "--db", db, "--on-error", "skip")
    assert resumed.returncode == 0, resumed.explain()
    assert (resumed.count("skipped"), resumed.count("failed")) == (2, 1)


# -- what a file may take --------------------------------------------------------------


def test_a_file_whose_objects_would_pass_its_allowance_is_refused_while_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.pkl"
    path.write_bytes(_dump({f"s{i}": np.arange(100_000.0) for i in range(60)}))  # 48 MB

    with pytest.raises(InputFileError) as caught:
        read_records(path, "big.pkl", file_limits(64 * MIB, None))

    assert caught.value.reason.startswith(
        "too large: its objects would take more than 32.0 MiB to build (half of "
        "--memory-limit 64.0 MiB), reached at BINBYTES at byte "
    ), caught.value.reason


def test_one_array_under_many_subjects_counts_once_a_subject(tmp_path: Path) -> None:
    # 2 KB of pickle that would write 8 GB of rows.
    signal = np.arange(1_000_000.0)
    path = tmp_path / "repeated.pkl"
    path.write_bytes(_dump({f"s{i}": signal for i in range(1_000)}))

    with pytest.raises(InputFileError) as caught:
        read_records(path, "repeated.pkl", file_limits(2 * 1024**3, None))

    assert caught.value.reason == (
        "too large: its 1,000 signals take 7.5 GiB as float64, over 1.0 GiB (half of "
        "--memory-limit 2.0 GiB); raise --memory-limit or split the file"
    )


def _memory_now() -> int:
    gc.collect()
    return read_memory().total


def test_a_conversion_to_float64_is_checked_against_the_memory_limit_before_it_is_made(
    tmp_path: Path,
) -> None:
    path = tmp_path / "float32.pkl"
    path.write_bytes(_dump({"s": np.ones(50_000_000, dtype=np.float32)}))  # 200 MB
    base = _memory_now()

    # Reading the 200 MB fits under the limit; the 400 MB float64 copy would not.
    with guard(memory_limit=base + 300 * MIB, heartbeat_every=None, status=False) as g:
        limits = ReadLimits(check_allocation=g.check_allocation)
        with pytest.raises(MemoryLimitExceeded) as caught:
            read_records(path, "float32.pkl", limits)

    assert caught.value.requested == 50_000_000 * 8
    assert "signal of subject 's' as float64" in str(caught.value)


def test_a_large_buffer_is_checked_against_the_memory_limit_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.pkl"
    path.write_bytes(_dump({"s": np.ones(100_000_000 // 8)}))  # one 100 MB buffer
    base = _memory_now()

    with guard(memory_limit=base + 10 * MIB, heartbeat_every=None, status=False) as g:
        limits = ReadLimits(check_allocation=g.check_allocation)
        with pytest.raises(MemoryLimitExceeded) as caught:
            read_pickle(path, limits)

    assert caught.value.requested == 100_000_000
    assert "BINBYTES of 100,000,000 bytes" in str(caught.value)
    assert read_memory().total < base + 50 * MIB


def test_a_large_frame_is_checked_against_the_memory_limit_before_it_is_read(
    tmp_path: Path,
) -> None:
    # Protocol 4's frames are read whole: one that holds 100 MB of small opcodes is one
    # 100 MB buffer.
    body = b"N0" * 50_000_000 + b"N"
    path = tmp_path / "frame.pkl"
    path.write_bytes(b"\x80\x04\x95" + struct.pack("<Q", len(body) + 1) + body + b".")
    base = _memory_now()

    with guard(memory_limit=base + 10 * MIB, heartbeat_every=None, status=False) as g:
        limits = ReadLimits(check_allocation=g.check_allocation)
        with pytest.raises(MemoryLimitExceeded) as caught:
            read_pickle(path, limits)

    assert caught.value.requested == len(body) + 1
    assert f"FRAME of {len(body) + 1:,} bytes" in str(caught.value)


# --- pickles without frames: read ahead, checked before they are used ---------------------


@pytest.mark.parametrize("protocol", [0, 2, 3])
def test_a_pickle_without_frames_is_read_in_large_chunks_and_checked_whole(
    tmp_path: Path, protocol: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiny.pkl"
    value = {"s": list(range(50)) * 4000}  # 200,000 small opcodes, no frames
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    calls = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object):
        handle = real_open(self, *args, **kwargs)
        if self == path:
            for name in ("read", "readinto", "readline"):
                method = getattr(handle, name)

                def counted(*a: object, _method=method, _name=name) -> object:
                    calls.append(_name)
                    return _method(*a)

                setattr(handle, name, counted)
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    content = read_pickle(path)
    assert content.obj == value
    assert content.size == path.stat().st_size
    # One call per opcode would be over 200,000; reading ahead takes one per 128 KiB.
    assert len(calls) <= content.size // 65536 + 10, len(calls)


def test_a_refusal_found_while_reading_ahead_keeps_its_message(tmp_path: Path) -> None:
    path = tmp_path / "memo.pkl"
    # PROTO 2, EMPTY_LIST, LONG_BINPUT 2**29, STOP: a memo index out of sequence.
    path.write_bytes(b"\x80\x02]r" + struct.pack("<I", 2**29) + b".")
    with pytest.raises(PickleReadError, match="out of sequence"):
        read_pickle(path)
