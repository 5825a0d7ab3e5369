"""Peak memory of a stretch of code in this process: resident set and traced Python allocation.

The resident set (RSS) is read with psutil, sampled by a thread, and on Linux sharpened by
the kernel's own high-water mark (``VmHWM`` in ``/proc/self/status``, reset through
``/proc/self/clear_refs`` at the start), which no sampling interval can miss. Without
psutil, RSS is not measured. Traced allocation is tracemalloc's: every block Python's
allocators hand out, numpy's array buffers included, but not the private memory of C
libraries such as DuckDB's.

tracemalloc keeps a record per live block; that bookkeeping is part of the process's RSS,
so the monitor also samples it (:attr:`PeakReading.tracemalloc_overhead`) for the report.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

PROC_STATUS = "/proc/self/status"
PROC_CLEAR_REFS = "/proc/self/clear_refs"
SAMPLE_EVERY = 0.005
RSS_NOT_MEASURED = "RSS is not measured: psutil is not installed (pip install psutil)"


@dataclass(frozen=True)
class PeakReading:
    """What a stretch of code used. Bytes; RSS figures are ``None`` when not measured."""

    rss_start: int | None
    peak_rss: int | None
    peak_traced: int
    tracemalloc_overhead: int
    seconds: float
    set_aside: int = 0

    @property
    def rss_growth(self) -> int | None:
        """Peak RSS above the RSS at the start."""
        if self.rss_start is None or self.peak_rss is None:
            return None
        return max(0, self.peak_rss - self.rss_start)


def _vm_hwm() -> int | None:
    try:
        with open(PROC_STATUS, "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def _reset_hwm() -> bool:
    """Reset the kernel's RSS high-water mark of this process (Linux 4.0 and later)."""
    try:
        with open(PROC_CLEAR_REFS, "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def psutil_process() -> Any | None:
    """This process as a ``psutil.Process``, or ``None`` without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process(os.getpid())


class PeakMonitor:
    """Measure the peaks between :meth:`start` and :meth:`stop`.

    ``on_sample(traced_now)`` is called from the sampling thread at each sample (used to
    take tracemalloc snapshots near the peak). When tracemalloc is already tracing, the
    monitor leaves it running and measures the peak above what was traced at the start.
    """

    def __init__(
        self,
        nframes: int = 1,
        sample_every: float = SAMPLE_EVERY,
        on_sample: Callable[[int], None] | None = None,
    ) -> None:
        self._nframes = nframes
        self._sample_every = sample_every
        self._on_sample = on_sample
        self._process = psutil_process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0
        self._overhead = 0
        self._rss_start: int | None = None
        self._hwm = False
        self._hwm_before_set_aside: int | None = None
        self._set_aside = 0
        self._started_tracing = False
        self._traced_base = 0
        self._started = 0.0

    @property
    def measures_rss(self) -> bool:
        """Whether RSS is measured (psutil is importable)."""
        return self._process is not None

    def _rss(self) -> int:
        assert self._process is not None
        return int(self._process.memory_info().rss)

    def _sample(self) -> None:
        if self._process is not None:
            self._peak_rss = max(self._peak_rss, self._rss() - self._set_aside)
        if tracemalloc.is_tracing():
            self._overhead = max(self._overhead, tracemalloc.get_tracemalloc_memory())
            if self._on_sample is not None:
                self._on_sample(tracemalloc.get_traced_memory()[0])

    @contextlib.contextmanager
    def set_aside(self) -> Iterator[None]:
        """Leave out of the peak RSS what the block adds to it (the caller's own memory, such
        as a tracemalloc snapshot, taken while the measured code waits).

        From the first such block on, the kernel's high-water mark would count that memory
        too: the peak is then the mark as it stood before it plus the samples less what was
        set aside."""
        if self._process is None:
            yield
            return
        before = self._rss()
        if self._hwm and self._hwm_before_set_aside is None:
            self._hwm_before_set_aside = _vm_hwm() or 0
        self._peak_rss = max(self._peak_rss, before - self._set_aside)
        try:
            yield
        finally:
            self._set_aside += self._rss() - before

    def _run(self) -> None:
        while not self._stop.wait(self._sample_every):
            self._sample()

    def start(self) -> None:
        """Start measuring (collects garbage first, so earlier garbage is not counted)."""
        gc.collect()
        if self._process is not None:
            self._rss_start = self._rss()
            self._peak_rss = self._rss_start
            self._hwm = _reset_hwm() and _vm_hwm() is not None
        if tracemalloc.is_tracing():
            tracemalloc.reset_peak()
            self._traced_base = tracemalloc.get_traced_memory()[0]
        else:
            tracemalloc.start(self._nframes)
            self._started_tracing = True
        self._thread = threading.Thread(target=self._run, name="memory-peak", daemon=True)
        self._thread.start()
        self._started = time.perf_counter()

    def stop(self) -> PeakReading:
        """Stop measuring and return the peaks."""
        seconds = time.perf_counter() - self._started
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        peak_traced = max(0, tracemalloc.get_traced_memory()[1] - self._traced_base)
        if self._started_tracing:
            tracemalloc.stop()
        peak_rss: int | None = None
        if self._process is not None:
            peak_rss = self._peak_rss
            if self._hwm:
                hwm = self._hwm_before_set_aside
                if hwm is None:
                    hwm = _vm_hwm() or 0
                peak_rss = max(peak_rss, hwm)
        return PeakReading(
            rss_start=self._rss_start,
            peak_rss=peak_rss,
            peak_traced=peak_traced,
            tracemalloc_overhead=self._overhead,
            seconds=seconds,
            set_aside=self._set_aside,
        )
