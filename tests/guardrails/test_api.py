"""The public API: names the linter's catalogue relies on, errors, counting, optional psutil."""

from __future__ import annotations

import inspect
import pickle
import sys
import threading
import time
from pathlib import Path

import pytest

import extraction_lint.guardrails as guardrails
from extraction_lint.guardrails import (
    Deadline,
    DeadlineExceeded,
    GuardrailError,
    MemoryGuard,
    MemoryLimitExceeded,
    OutputGrowthCheck,
    OutputNotGrowing,
    ProgressTracker,
    StallDetected,
    StallDetector,
    _sysinfo,
    guard,
    track,
)

from .conftest import RunChild


def test_every_documented_name_is_exported() -> None:
    for name in (
        "guard",
        "track",
        "ProgressTracker",
        "MemoryGuard",
        "StallDetector",
        "Deadline",
        "OutputGrowthCheck",
        "GuardrailError",
        "MemoryLimitExceeded",
        "StallDetected",
        "DeadlineExceeded",
        "OutputNotGrowing",
    ):
        assert name in guardrails.__all__
        assert getattr(guardrails, name) is not None


def test_guard_keeps_the_documented_parameter_names_in_order() -> None:
    parameters = list(inspect.signature(guard).parameters)
    assert parameters[:7] == [
        "total",
        "label",
        "heartbeat_every",
        "memory_limit",
        "stall_timeout",
        "timeout",
        "watch_output",
    ]


def test_the_methods_the_linter_recognises_exist() -> None:
    g = guard()
    for method in ("track", "tick", "heartbeat", "check_memory", "check"):
        assert callable(getattr(g, method))
    tracker = ProgressTracker()
    for method in ("track", "tick", "heartbeat", "update", "advance"):
        assert callable(getattr(tracker, method))
    assert callable(MemoryGuard("1 GiB").check)
    assert callable(StallDetector("5m").heartbeat)
    assert callable(Deadline("2h").check)


@pytest.mark.parametrize(
    "error",
    [
        MemoryLimitExceeded("job: memory", rss=3, swap=1, limit=2),
        StallDetected("job: stall", idle=6.0, limit=5.0, thread_stacks="Thread stacks..."),
        DeadlineExceeded("job: deadline", elapsed=7.0, limit=6.0),
        OutputNotGrowing("job: output", size=0, unchanged_for=9.0, limit=8.0),
    ],
)
def test_errors_derive_from_guardrail_error_and_survive_pickling(error: GuardrailError) -> None:
    assert isinstance(error, GuardrailError)
    assert str(error).startswith(error.summary)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)


def test_a_tracker_counts_items_ticks_and_counters() -> None:
    tracker = ProgressTracker(label="extract", heartbeat_every=None)
    for _ in tracker.track(["a", "b", "c"]):
        tracker.tick(rows=10, bytes=100)
    tracker.update(2)
    tracker.advance()
    snapshot = tracker.snapshot()
    assert (snapshot.done, snapshot.total) == (6, 3)
    assert snapshot.counters == {"rows": 30, "bytes": 300}
    assert snapshot.current == "'c'"
    assert tracker.work == 6 + 3


def test_track_takes_the_total_from_len_and_reports_eta() -> None:
    tracker = ProgressTracker(label="extract", heartbeat_every=None)
    items = tracker.track(list(range(4)))
    next(items)
    next(items)
    assert tracker.total == 4
    eta = tracker.eta()
    assert eta is not None
    assert eta >= 0
    assert tracker.progress_text() == "extract: 1/4 (25.0%)"
    items.close()  # leaves the block that track() entered
    assert not tracker._supervisors
    assert list(track(iter(range(3)), heartbeat_every=None)) == [0, 1, 2]


def test_standalone_checks_raise_in_the_calling_thread() -> None:
    stall = StallDetector(0.05, label="poller")
    deadline = Deadline(0.05, label="batch")
    stall.check()  # fresh: fine
    time.sleep(0.1)
    with pytest.raises(StallDetected, match=r"^poller: no progress for "):
        stall.check()
    stall.heartbeat()
    stall.check()  # progress seen again
    with pytest.raises(DeadlineExceeded, match=r"^batch: timeout of 0\.05s exceeded"):
        deadline.check()
    assert deadline.expired


def test_output_check_alone_fires_on_time(tmp_path: Path) -> None:
    target = tmp_path / "out.db"
    target.write_bytes(b"x")
    check = OutputGrowthCheck(target, 0.05, label="writer")
    check.check()  # baseline
    target.write_bytes(b"xy")
    check.check()  # grew
    time.sleep(0.1)
    with pytest.raises(OutputNotGrowing, match=r"^writer: output .* has not grown for "):
        check.check()


def test_a_guard_can_be_entered_once() -> None:
    g = guard(heartbeat_every=None)
    with g:
        pass
    with pytest.raises(RuntimeError, match="entered only once"), g:
        pass


def test_without_any_way_to_read_memory_a_limit_asks_for_psutil(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_sysinfo, "PROC_STATUS", str(tmp_path / "no-such-file"))
    monkeypatch.setattr(_sysinfo, "_psutil_process", None)
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil -> ImportError
    assert _sysinfo.memory_backend() is None
    assert guardrails.read_memory() is None
    for make in (lambda: MemoryGuard("1 GiB"), lambda: guard(memory_limit="1 GiB")):
        with pytest.raises(RuntimeError, match=r"install it with: pip install psutil"):
            make()
    guard(stall_timeout="5m")  # the other guards do not need it


@pytest.mark.slow
def test_the_package_imports_and_limits_memory_without_psutil(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys
        sys.modules["psutil"] = None  # as if the extra were not installed
        import numpy as np
        from extraction_lint.guardrails import MemoryLimitExceeded, guard
        from extraction_lint.guardrails._sysinfo import memory_backend

        print("backend", memory_backend())
        rows = []
        try:
            with guard(total=100, label="extract", memory_limit="150 MiB",
                       heartbeat_every=60) as g:
                for i in g.track(range(100)):
                    rows.append(np.ones(8 * 2**20 // 8))
        except MemoryLimitExceeded as error:
            print("stopped:", error.summary)
        print("psutil loaded:", "psutil" in sys.modules and sys.modules["psutil"] is not None)
        """
    )
    assert result.returncode == 0, result.explain()
    lines = result.stdout.splitlines()
    assert lines[0] == "backend proc"  # Linux: /proc/self/status
    assert lines[1].startswith("stopped: extract: memory limit exceeded: RSS ")
    assert lines[2] == "psutil loaded: False"


def test_leaving_a_tracked_loop_early_ends_its_watchdog() -> None:
    before = {t.name for t in threading.enumerate()}
    for i in track(range(100), label="early", heartbeat_every=60, display="off"):
        inside = {t.name for t in threading.enumerate()}
        if i == 3:
            break
    assert "extraction_lint.guardrails-watchdog[early]" in inside - before
    assert {t.name for t in threading.enumerate()} == before


def test_importing_the_package_loads_neither_rich_nor_psutil(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys
        import extraction_lint.guardrails
        print(sorted(m for m in ("rich", "psutil", "numpy") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout.strip() == "[]"
