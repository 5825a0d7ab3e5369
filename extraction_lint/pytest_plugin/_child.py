"""One size of a memory-scaling test, in a fresh interpreter.

``main([REQUEST, RESULT])``, or ``python -m extraction_lint.pytest_plugin._child REQUEST RESULT``
(the parent starts it through ``python -c``, see ``scaling.CHILD_ENTRY``): ``REQUEST`` is a pickle
written by :mod:`extraction_lint.pytest_plugin.scaling` (the job, its size, the test
session's ``sys.path`` and working directory, what to measure); ``RESULT`` receives JSON:
the peaks, or the error that stopped the job with its traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import pickle
import sys
import threading
import traceback
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from .measure import PeakMonitor
from .sites import top_sites

_THIS_PACKAGE = str(Path(__file__).resolve().parent) + os.sep
SNAPSHOT_STEP = 1.25  # a new snapshot each time traced memory passes 1.25x the last one's
SNAPSHOT_FLOOR = 256 * 1024


def load_job(spec: Any) -> Callable[[Any], object]:
    """The job from its request form: pickled bytes, or ``"module:function"`` /
    ``"path/to/file.py:function"``."""
    if isinstance(spec, bytes):
        job = pickle.loads(spec)
    else:
        target, _, qualname = str(spec).rpartition(":")
        if target.endswith(".py"):
            path = Path(target).resolve()
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot import {target}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[path.stem] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
        job = module
        for part in qualname.split("."):
            job = getattr(job, part)
    if not callable(job):
        raise TypeError(f"the job {spec!r} is not callable")
    return job


class _PeakSnapshots:
    """Keep the tracemalloc snapshot taken nearest the traced peak, once traced memory is past
    ``above`` (the point where the parent's verdict on it is a failure: a snapshot costs
    memory, so it is never taken in a run that might pass)."""

    def __init__(self, above: int) -> None:
        self.above = max(above, SNAPSHOT_FLOOR)
        self.snapshot: tracemalloc.Snapshot | None = None
        self.snapshot_traced = 0
        # Set to the monitor's set_aside once it exists: the snapshots' memory is not the job's.
        self.set_aside: Callable[[], AbstractContextManager[None]] = nullcontext
        # The sampling thread and the job's thread (at its returns) both offer snapshots.
        # One at a time: a job thread that went on while the sampler's snapshot was being
        # taken could free what it held, and a late, near-empty snapshot would replace the
        # one taken at the peak. The job's thread waits here, its locals still alive.
        self._lock = threading.Lock()

    def __call__(self, traced_now: int) -> None:
        if traced_now <= self.above or traced_now < self.snapshot_traced * SNAPSHOT_STEP:
            return
        with self._lock:
            traced_now = tracemalloc.get_traced_memory()[0]
            if traced_now < self.snapshot_traced * SNAPSHOT_STEP:
                return  # the other thread took one meanwhile
            with self.set_aside():
                # Drop the old one first: two snapshots of a large heap would double it.
                self.snapshot = None
                self.snapshot = tracemalloc.take_snapshot()
            self.snapshot_traced = traced_now


def _at_returns(snapshots: _PeakSnapshots) -> Callable[[Any, str, Any], None]:
    """A profile function that offers the traced memory to ``snapshots`` at each return of
    a Python function (only in the largest run, once it is known to fail)."""
    traced = tracemalloc.get_traced_memory

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "return":
            snapshots(traced()[0])

    return hook


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Run the job once at ``request["n"]``; the result for the parent."""
    for entry in reversed(request["sys_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    os.chdir(request["cwd"])
    try:
        job = load_job(request["job"])
    except BaseException as error:  # anything the job's import or unpickling raises
        return {"error": "load", "message": _one_line(error), "traceback": _user_traceback(error)}
    above = request["sites_above"]
    snapshots = None if above is None else _PeakSnapshots(above)
    monitor = PeakMonitor(nframes=request["nframes"], on_sample=snapshots)
    monitor.start()
    if snapshots is not None:
        snapshots.set_aside = monitor.set_aside
        # A job quicker than the sampling interval frees its memory before the sampler sees
        # it: also look at each return from a function, while its locals are still alive.
        sys.setprofile(_at_returns(snapshots))
    try:
        returned = job(request["n"])
    except BaseException as error:  # the job's own failure, reported by the parent
        sys.setprofile(None)
        monitor.stop()
        return {"error": "job", "message": _one_line(error), "traceback": _user_traceback(error)}
    sys.setprofile(None)
    reading = monitor.stop()
    unrun = _unrun_body(returned)
    if unrun is not None:
        return {"error": "unrun", "message": unrun, "traceback": ""}
    result: dict[str, Any] = {
        "rss_start": reading.rss_start,
        "peak_rss": reading.peak_rss,
        "peak_traced": reading.peak_traced,
        "tracemalloc_overhead": reading.tracemalloc_overhead,
        "seconds": reading.seconds,
        "rss_set_aside": reading.set_aside,
    }
    if snapshots is not None:
        result["sites_traced"] = snapshots.snapshot_traced
        result["sites"] = (
            []
            if snapshots.snapshot is None
            else [s.to_json() for s in top_sites(snapshots.snapshot)]
        )
    return result


def _unrun_body(returned: object) -> str | None:
    """What the job returned instead of running, when it is a generator or a coroutine: its
    body has not run, so its memory would look flat at every size."""
    if inspect.isgenerator(returned) or inspect.isasyncgen(returned):
        kind = "generator"
    elif inspect.iscoroutine(returned):
        kind = "coroutine"
        returned.close()  # no "never awaited" warning: the message says it
    else:
        return None
    return kind


def _user_traceback(error: BaseException) -> str:
    """The traceback without this package's frames or the import machinery's."""
    shown = traceback.TracebackException.from_exception(error)
    shown.stack = traceback.StackSummary.from_list(
        [
            frame
            for frame in shown.stack
            if not frame.filename.startswith((_THIS_PACKAGE, "<frozen importlib"))
        ]
    )
    return "".join(shown.format())


def _one_line(error: BaseException) -> str:
    try:
        text = str(error).strip().splitlines()
    except Exception:  # an exception whose __str__ raises still names its type
        text = []
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def main(argv: list[str]) -> int:
    """Entry point: read the request, run, write the result."""
    request_path, result_path = argv
    with open(request_path, "rb") as handle:
        request = pickle.load(handle)
    result = run(request)
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
