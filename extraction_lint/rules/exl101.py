"""EXL101 extraction-loop-without-heartbeat (SPEC 2.5)."""

from __future__ import annotations

from extraction_lint.analysis.guards import LoopGuards
from extraction_lint.rules.guarded_loop import GuardedLoopRule


class ExtractionLoopWithoutHeartbeat(GuardedLoopRule):
    code = "EXL101"
    name = "extraction-loop-without-heartbeat"
    summary = "A loop that loads or writes data reports no progress."
    missing = "heartbeat"
    advice = "report progress with {guard_form}, a progress bar (`tqdm`) or a log line"
    what_it_does = """
Reports an *extraction loop* that reports no progress. An extraction loop is an unbounded
`for`, `async for` or `while` loop whose header or body (nested statements included, called
functions not) calls a loader (`pickle.load`, `numpy.load`, `pandas.read_*`, `json.load`,
`fetchall`/`fetchmany`/`fetchone`/`fetchdf`, ...) or a bulk write (`executemany`,
`to_parquet`, `json.dump`, ...). In a nest, only the outermost extraction loop is checked,
and a heartbeat anywhere inside it counts.

A heartbeat is any of:

- a progress iterator anywhere in the loop's iterable: `tqdm(...)` (and `tqdm.auto`,
  `tqdm.notebook`, `trange`), `rich.progress.track(...)`, `alive_progress.alive_it(...)`,
  `extraction_lint.guardrails.track(...)`, or any `<x>.track(...)`
  (`enumerate(tqdm(paths))` counts);
- `.update(...)`/`.advance(...)` on an object made by `tqdm`, `rich.progress.Progress` or
  `ProgressTracker`; `.heartbeat(...)` or `.tick(...)` on anything;
- a log call outside an `except` handler: `print`, `click.echo`, `sys.stdout.write`,
  `sys.stderr.write`, `logging.<level>(...)`, or `<logger>.<level>(...)` where the logger is
  bound to `logging.getLogger(...)` or named `log`, `logger`, `LOG`, `LOGGER`, `_log`,
  `_logger` (bare or as `self.` attribute), and `<level>` is `debug`, `info`, `warning`,
  `warn`, `error`, `critical`, `exception` or `log`. Logging under `if i % N == 0:` counts.
"""
    why_bad = """
A long job that prints nothing cannot be told apart from a stuck one. The job this tool was
written after ran 21 hours at 99% CPU, swapping, and nobody could see that it had stopped
making progress.
"""
    example = """
for path in paths:
    frame = pd.read_parquet(path)
    frame.to_sql("t", con, if_exists="append")
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(total=len(paths), label="load", heartbeat_every=30) as g:
    for path in g.track(paths):
        frame = pd.read_parquet(path)
        frame.to_sql("t", con, if_exists="append")
"""
    known_problems = """
Calls are not followed: a heartbeat in a function that the loop calls does not count, and a
loop that only calls a function which loads data is not an extraction loop. A `print` that
runs only on some iterations counts as long as it is outside an `except` handler.
"""
    options = """
- `extend-heartbeat-calls`: more heartbeats, as qualified function names
  (`mylib.progress.report`) or method names with a leading dot (`.ping`).
"""
    valid = (
        """
from tqdm import tqdm
import pickle

for path in tqdm(paths):
    data = pickle.load(open(path, "rb"))
""",
    )
    invalid = (
        """
import pickle

for path in paths:  # EXL101
    data = pickle.load(open(path, "rb"))
""",
    )

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.heartbeat
