"""Run a job at several input sizes, each in a fresh interpreter, and judge whether its peak
memory grows with the size.

The job is called as ``job(n)``. It reaches the child process in one of two forms:

- a callable, pickled with cloudpickle: a function of the test module (nested functions and
  closures included, with what they capture: paths, numbers, strings; not open connections
  or files), or an importable function, which travels by reference;
- a string ``"package.module:function"`` or ``"path/to/file.py:function"``, imported in the
  child.

The child gets the test session's ``sys.path`` and working directory, so what the test
module imports, the child imports too.
"""

from __future__ import annotations

import collections
import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import sysconfig
import tempfile
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .measure import RSS_NOT_MEASURED
from .sites import AllocationSite

DEFAULT_MAX_GROWTH = 0.10
DEFAULT_NOISE = 10 * 1024**2
MEASURES = ("both", "traced", "rss")
# Frames kept per traced block, the same at every size (tracemalloc's own records are part of
# the RSS): enough to reach the user's line from inside a library.
NFRAMES = 16
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
# Started with -c rather than -m: runpy's two frames would sit under every block the job
# allocates, and tracemalloc's cost per allocation grows with the frames it records.
CHILD_ENTRY = (
    "import sys; from extraction_lint.pytest_plugin._child import main; "
    "sys.exit(main(sys.argv[1:]))"
)

Job = Callable[[Any], object] | str


class ScalingError(Exception):
    """The test cannot be run as written (bad arguments, a job that cannot be sent to or
    run in the child); the message says what and where."""


@dataclass(frozen=True)
class SizeRun:
    """One size's run: bytes and seconds. RSS figures are ``None`` when not measured."""

    n: float
    rss_start: int | None
    peak_rss: int | None
    peak_traced: int
    tracemalloc_overhead: int
    seconds: float
    # What the allocation-site snapshots added to the RSS, left out of peak_rss.
    rss_set_aside: int = 0


@dataclass(frozen=True)
class Growth:
    """How one measure moved from the smallest to the largest size."""

    measure: str
    first: int
    last: int
    slope: float
    span: float
    exceeded: bool
    judged: bool = True

    @property
    def growth(self) -> int:
        """Bytes from the smallest size to the largest."""
        return self.last - self.first

    @property
    def relative(self) -> float:
        """:attr:`growth` as a fraction of the smallest size's figure."""
        return self.growth / self.first if self.first > 0 else math.inf if self.growth else 0.0

    @property
    def fitted(self) -> float:
        """The fitted slope times the range of sizes: the growth a straight line sees."""
        return self.slope * self.span


@dataclass
class ScalingResult:
    """Every size's peaks and the verdict. :attr:`failed` is ``True`` when memory grew."""

    runs: list[SizeRun]
    max_growth: float | None
    max_slope: float | None
    noise: int
    traced: Growth
    rss: Growth | None
    sites: list[AllocationSite] = field(default_factory=list)
    sites_traced: int = 0

    @property
    def grew(self) -> list[Growth]:
        """The measures over their limit."""
        return [g for g in (self.rss, self.traced) if g is not None and g.exceeded]

    @property
    def failed(self) -> bool:
        """Whether any measure grew past the limit."""
        return bool(self.grew)

    def limit_text(self) -> str:
        """The limits as the test set them."""
        parts = []
        if self.max_growth is not None:
            parts.append(f"max_growth {self.max_growth:.0%}")
        if self.max_slope is not None:
            parts.append(f"max_slope {_bytes(self.max_slope)} per unit of n")
        noise = f"growth under {_bytes(self.noise)} is noise" if self.noise else "no noise floor"
        return " or ".join(parts) + f"; {noise}"

    def verdict(self) -> str:
        """One sentence: which measure grew, by how much, over which limit (or that none did)."""
        first, last = _n(self.runs[0].n), _n(self.runs[-1].n)
        measures = [g for g in (self.rss, self.traced) if g is not None]
        described = [
            f"{g.measure} {'grew' if g.exceeded else 'moved'} {_signed(g.growth)} "
            f"({_percent(g.relative)}) from n={first} to n={last}, "
            f"{_signed(g.slope)} per unit of n" + ("" if g.judged else " (not judged)")
            for g in measures
        ]
        if not self.failed:
            return f"memory stays flat ({self.limit_text()}): " + "; ".join(described)
        names = " and ".join(g.measure for g in self.grew)
        verdict = f"memory grows with n: {names} over the limit ({self.limit_text()}): "
        verdict += "; ".join(described)
        if self.rss is not None and self.rss.exceeded and not self.traced.exceeded:
            verdict += (
                ". Traced Python allocation stayed flat, so the growth is in memory that Python's"
                " allocators do not see: a C library's own buffers (Arrow tables, a database's"
                " cache). A cache that stops at its own limit (DuckDB's memory_limit) can be"
                " bounded and the sizes started where it is full, or Python's side judged alone"
                " with measure='traced'"
            )
        return verdict

    def table(self) -> str:
        """The table of sizes and peaks, with the fitted growth per unit."""
        header = ("n", "peak RSS", "RSS at start", "peak traced", "seconds")
        rows = [
            (
                _n(run.n),
                _maybe_bytes(run.peak_rss),
                _maybe_bytes(run.rss_start),
                _bytes(run.peak_traced),
                f"{run.seconds:.2f}",
            )
            for run in self.runs
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        lines = [
            "  ".join(cell.rjust(widths[i]) for i, cell in enumerate(r)) for r in (header, *rows)
        ]
        fitted = [f"traced {_signed(self.traced.slope)}"]
        if self.rss is not None:
            fitted.insert(0, f"RSS {_signed(self.rss.slope)}")
        lines.append("fitted growth per unit of n: " + ", ".join(fitted))
        if self.rss is None:
            lines.append(RSS_NOT_MEASURED + "; the verdict is on traced Python allocation only")
        else:
            overhead = max(run.tracemalloc_overhead for run in self.runs)
            if overhead >= 1024**2:
                lines.append(
                    f"(RSS includes tracemalloc's own records of live blocks: up to "
                    f"{_bytes(overhead)})"
                )
            set_aside = self.runs[-1].rss_set_aside
            if self.sites and set_aside >= 1024**2:
                lines.append(
                    f"(peak RSS at n={_n(self.runs[-1].n)} leaves out the {_bytes(set_aside)} "
                    "the snapshots taken to find the allocation sites added)"
                )
        return "\n".join(lines)

    def sites_text(self) -> str:
        """The largest allocation sites of the largest run, one per line."""
        if not self.sites:
            return ""
        cwd = os.getcwd()
        lines = [
            f"largest allocation sites at n={_n(self.runs[-1].n)} (tracemalloc, "
            f"{_bytes(self.sites_traced)} traced when taken):"
        ]
        for site in self.sites:
            where = f"{_short(site.filename, cwd)}:{site.lineno}"
            line = f"  {_bytes(site.size):>10} in {site.count:,} blocks at {where}"
            if site.source:
                line += f": {site.source}"
            lines.append(line)
            if (site.origin_filename, site.origin_lineno) != (site.filename, site.lineno):
                origin = f"{_short(site.origin_filename, cwd)}:{site.origin_lineno}"
                lines.append(f"  {'':>10}    allocated in {origin}")
        return "\n".join(lines)

    def report(self) -> str:
        """Verdict, table and allocation sites."""
        parts = [self.verdict(), self.table()]
        if self.sites:
            parts.append(self.sites_text())
        return "\n".join(parts)


def _short(filename: str, cwd: str) -> str:
    try:
        relative = os.path.relpath(filename, cwd)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


def _bytes(size: float) -> str:
    from extraction_lint.guardrails.units import format_bytes

    return format_bytes(size)


def _signed(delta: float) -> str:
    from extraction_lint.guardrails.units import format_signed_bytes

    return format_signed_bytes(delta)


def _maybe_bytes(size: int | None) -> str:
    return "n/a" if size is None else _bytes(size)


def _percent(fraction: float) -> str:
    return "+inf%" if math.isinf(fraction) else f"{fraction:+.0%}"


def _n(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:g}"


def parse_growth(value: object) -> float | None:
    """``"10%"`` or ``0.1`` -> ``0.1``; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ScalingError(f"max_growth: cannot read {value!r}; use a string such as '10%'")
    if isinstance(value, int | float):
        fraction = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            fraction = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ScalingError(
                f"max_growth: cannot read {value!r}; use a string such as '10%'"
            ) from None
    else:
        raise ScalingError(
            f"max_growth: cannot read {value!r}; use a percentage such as '10%' or a fraction "
            "such as 0.1"
        )
    if not math.isfinite(fraction) or fraction < 0:
        raise ScalingError(f"max_growth: {value!r} is not a growth of zero or more")
    return fraction


def parse_bytes(value: object, name: str) -> float | None:
    """A size in bytes (``"100 KiB"``, ``4096``, ``0``); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    from extraction_lint.guardrails.units import parse_size

    try:
        return float(parse_size(value, name) or 0)  # type: ignore[arg-type]
    except ValueError as error:
        raise ScalingError(str(error)) from None


def parse_sizes(sizes: object) -> list[float]:
    """The sizes, sorted; at least two distinct numbers of zero or more."""
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise ScalingError(f"sizes: expected a list of numbers such as [8, 32, 128], not {sizes!r}")
    values: set[float] = set()
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size):
            raise ScalingError(f"sizes: {size!r} is not a number")
        if size < 0:
            raise ScalingError(f"sizes: {size!r} is negative")
        values.add(size)
    if len(values) < 2:
        raise ScalingError(
            f"sizes: at least two different sizes are needed to see growth, got {list(sizes)!r}"
        )
    return sorted(values)


def _fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def judge(
    measure: str,
    runs: Sequence[SizeRun],
    values: Sequence[int],
    max_growth: float | None,
    max_slope: float | None,
    noise: int,
    judged: bool = True,
) -> Growth:
    """How ``values`` (one per run) grew, and whether that is over the limits (never, when
    not ``judged``)."""
    ns = [run.n for run in runs]
    slope = _fit_slope(ns, values)
    span = ns[-1] - ns[0]
    growth = Growth(measure, values[0], values[-1], slope, span, exceeded=False)
    over_growth = max_growth is not None and growth.relative > max_growth and growth.growth > noise
    over_slope = max_slope is not None and slope > max_slope and growth.fitted > noise
    exceeded = judged and (over_growth or over_slope)
    return Growth(measure, values[0], values[-1], slope, span, exceeded, judged)


def _module_of(job: Callable[..., object]) -> types.ModuleType | None:
    name = getattr(job, "__module__", None)
    return sys.modules.get(name) if isinstance(name, str) else None


def encode_job(job: Job, by_value: Sequence[types.ModuleType] = ()) -> bytes | str:
    """The job in the form the child loads (see the module docstring)."""
    if isinstance(job, str):
        target, sep, qualname = job.rpartition(":")
        if not sep or not target or not qualname:
            raise ScalingError(
                f"job {job!r}: write a string job as 'package.module:function' or "
                "'path/to/file.py:function'"
            )
        return job
    if not callable(job):
        raise ScalingError(f"job: expected a function taking the size n, not {job!r}")
    try:
        import cloudpickle
    except ImportError:
        try:
            return pickle.dumps(job)
        except Exception as error:
            raise ScalingError(
                f"job {job!r} cannot be sent to a child process ({error}); install cloudpickle"
                " to pass a nested function, or pass 'module:function'"
            ) from None
    modules = [m for m in by_value if m is not None and m.__name__ != "__main__"]
    own = _module_of(job)
    if own is not None and _is_test_module(own):
        modules.append(own)
    registered = []
    for module in {id(m): m for m in modules}.values():
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:
            continue
        registered.append(module)
    try:
        return _dumps_keeping_filenames(cloudpickle, job)
    except Exception as error:
        raise ScalingError(
            f"job {getattr(job, '__qualname__', job)!r} cannot be sent to a child process: "
            f"{type(error).__name__}: {error}. What a job captures must be picklable (paths, "
            "numbers, strings); open connections or files should be made inside the job"
        ) from None
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _dumps_keeping_filenames(cloudpickle: Any, job: object) -> bytes:
    """cloudpickle's bytes for ``job``, with the code's file names kept.

    cloudpickle 3 writes ``<dynamic-code>`` as the file name of code it sends by value; the
    child's tracebacks and allocation sites would then not name the test's file.
    """
    reduce_code = getattr(getattr(cloudpickle, "cloudpickle", None), "_code_reduce", None)
    buffer = io.BytesIO()
    if reduce_code is None:
        pickler = cloudpickle.Pickler(buffer)
    else:

        def keep_filename(code: types.CodeType) -> tuple[Any, tuple[Any, ...]]:
            constructor, args = reduce_code(code)
            return constructor, tuple(
                code.co_filename if arg == "<dynamic-code>" else arg for arg in args
            )

        # The C pickler reads its dispatch table once, when it is made: set it on a class.
        pickler_class = type(
            "FilenamePickler",
            (cloudpickle.Pickler,),
            {
                "dispatch_table": collections.ChainMap(
                    {types.CodeType: keep_filename}, cloudpickle.Pickler.dispatch_table
                )
            },
        )
        pickler = pickler_class(buffer)
    pickler.dump(job)
    return buffer.getvalue()


def _is_test_module(module: types.ModuleType) -> bool:
    filename = getattr(module, "__file__", None) or ""
    base = os.path.basename(filename)
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    installed = {
        os.path.realpath(path)
        for key, path in sysconfig.get_paths().items()
        if key in ("purelib", "platlib")
    }
    if os.path.realpath(_PACKAGE_ROOT) not in installed:
        # A source checkout: the child imports this package from where the session does
        # (an installed one it finds by itself, and site-packages must not go before the
        # standard library).
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
        )
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def run_size(
    encoded: bytes | str,
    n: float,
    *,
    sites_above: int | None,
    timeout: float | None,
    workdir: Path,
) -> dict[str, Any]:
    """Run the job once at ``n`` in a fresh interpreter; the child's result."""
    request = {
        "job": encoded,
        "n": int(n) if float(n).is_integer() else n,
        "sys_path": [p for p in sys.path if isinstance(p, str)],
        "cwd": os.getcwd(),
        "sites_above": sites_above,
        "nframes": NFRAMES,
    }
    tag = f"run-{_n(n)}"
    request_path = workdir / f"{tag}.request"
    result_path = workdir / f"{tag}.json"
    log_path = workdir / f"{tag}.log"
    request_path.write_bytes(pickle.dumps(request))
    command = [sys.executable, "-c", CHILD_ENTRY]
    with log_path.open("wb") as log:
        try:
            completed = subprocess.run(
                [*command, str(request_path), str(result_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ScalingError(
                f"the job did not finish within {timeout:g} s at n={_n(n)}{_log_tail(log_path)}"
            ) from None
    if not result_path.exists():
        status = completed.returncode
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            hint = " (the kernel's out-of-memory killer sends SIGKILL)" if name == "SIGKILL" else ""
            ended = f"was killed by {name}{hint}"
        else:
            ended = f"ended with status {status}"
        raise ScalingError(
            f"the child process running the job at n={_n(n)} {ended} before reporting"
            f"{_log_tail(log_path)}"
        )
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        if result["error"] == "load":
            raise ScalingError(
                f"the job could not be loaded in the child process: {result['message']}. "
                "Define it in the test module or in a module the test imports, or pass "
                f"'module:function'\n{result['traceback']}"
            )
        if result["error"] == "unrun":
            raise ScalingError(
                f"the job returned a {result['message']} at n={_n(n)}, so its body never ran: "
                "pass a plain function that does the work when called (for a generator, "
                "consume it inside the job, e.g. with for _ in ...: pass)"
            )
        raise ScalingError(
            f"the job raised at n={_n(n)}: {result['message']}\n{result['traceback']}"
            f"{_log_tail(log_path)}"
        )
    return result


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").rstrip()
    except OSError:
        return ""
    if not text:
        return ""
    tail = "\n".join(text.splitlines()[-lines:])
    return f"\n--- the job's output (last {lines} lines) ---\n{tail}"


def measure_scaling(
    job: Job,
    sizes: Sequence[float],
    *,
    max_growth: float | str | None = None,
    max_slope: float | str | None = None,
    noise: float | str | None = DEFAULT_NOISE,
    measure: str = "both",
    timeout: float | None = None,
    by_value: Sequence[types.ModuleType] = (),
) -> ScalingResult:
    """Run ``job(n)`` for each of ``sizes`` in a fresh child process and judge the growth.

    ``max_growth`` (default 10% when neither limit is given) bounds the growth from the
    smallest size to the largest, relative to the smallest; ``max_slope`` bounds the fitted
    bytes per unit of n. Growth under ``noise`` bytes over the whole range is never a
    failure. ``measure`` is what is judged: ``"both"`` (peak RSS and peak traced Python
    allocation), ``"traced"`` or ``"rss"``; both are measured and shown whatever it is.
    Once traced allocation in the largest run is past what fails, that run takes
    tracemalloc snapshots to name the allocation sites. Raises :class:`ScalingError` for a
    test that cannot run.
    """
    ordered = parse_sizes(sizes)
    growth_limit = parse_growth(max_growth)
    slope_limit = parse_bytes(max_slope, "max_slope")
    if growth_limit is None and slope_limit is None:
        growth_limit = DEFAULT_MAX_GROWTH
    noise_floor = int(parse_bytes(noise, "noise") or 0)
    if measure not in MEASURES:
        raise ScalingError(f"measure: {measure!r} is not one of {', '.join(map(repr, MEASURES))}")
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise ScalingError(f"timeout: {timeout!r} is not a positive number of seconds")
    encoded = encode_job(job, by_value)
    runs: list[SizeRun] = []
    sites: list[AllocationSite] = []
    sites_traced = 0
    with tempfile.TemporaryDirectory(prefix="memory-scaling-") as temporary:
        workdir = Path(temporary)
        for n in ordered:
            sites_above = None
            if n == ordered[-1] and measure != "rss":
                sites_above = _failing_traced(runs[0], n, growth_limit, slope_limit, noise_floor)
            data = run_size(encoded, n, sites_above=sites_above, timeout=timeout, workdir=workdir)
            runs.append(
                SizeRun(
                    n=n,
                    rss_start=data["rss_start"],
                    peak_rss=data["peak_rss"],
                    peak_traced=data["peak_traced"],
                    tracemalloc_overhead=data["tracemalloc_overhead"],
                    seconds=data["seconds"],
                    rss_set_aside=max(0, int(data.get("rss_set_aside", 0))),
                )
            )
            if "sites" in data:
                sites = [AllocationSite.from_json(site) for site in data["sites"]]
                sites_traced = int(data.get("sites_traced", 0))
        traced = judge(
            "peak traced Python allocation",
            runs,
            [run.peak_traced for run in runs],
            growth_limit,
            slope_limit,
            noise_floor,
            judged=measure in ("both", "traced"),
        )
        rss = None
        peaks = [run.peak_rss for run in runs]
        if all(peak is not None for peak in peaks):
            rss = judge(
                "peak RSS",
                runs,
                [int(peak or 0) for peak in peaks],
                growth_limit,
                slope_limit,
                noise_floor,
                judged=measure in ("both", "rss"),
            )
        elif measure == "rss":
            raise ScalingError(f"measure='rss' cannot be judged: {RSS_NOT_MEASURED}")
    return ScalingResult(
        runs, growth_limit, slope_limit, noise_floor, traced, rss, sites, sites_traced
    )


def _failing_traced(
    first: SizeRun,
    n: float,
    max_growth: float | None,
    max_slope: float | None,
    noise: int,
) -> int:
    """The traced peak at ``n`` past which the verdict on traced allocation is a failure
    (exactly for ``max_growth``; for ``max_slope``, the growth a straight line would need):
    where the largest run starts taking snapshots."""
    allowed = []
    if max_growth is not None:
        allowed.append(max_growth * first.peak_traced)
    if max_slope is not None:
        # A slope over max_slope needs at least that much growth between the end points.
        allowed.append(max_slope * (n - first.n))
    return int(first.peak_traced + max(noise, min(allowed)))
