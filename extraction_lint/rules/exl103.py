"""EXL103 extraction-loop-without-stall-guard (SPEC 2.5)."""

from __future__ import annotations

from extraction_lint.analysis.guards import LoopGuards
from extraction_lint.rules.guarded_loop import GuardedLoopRule


class ExtractionLoopWithoutStallGuard(GuardedLoopRule):
    code = "EXL103"
    name = "extraction-loop-without-stall-guard"
    summary = "A loop that loads or writes data runs with no stall detection or timeout."
    missing = "stall or timeout guard"
    advice = "bound its time with `guard(stall_timeout=..., timeout=...)`: {guard_form}"
    what_it_does = """
Reports an *extraction loop* (see EXL101; only the outermost of a nest) that runs without
stall detection or a timeout. A stall or timeout guard is any of:

- a `with guard(...)`, `with StallDetector(...)` or `with Deadline(...)` block of
  `extraction_lint.guardrails` around the loop (or inside it);
- iterating `<guard>.track(...)`, where `<guard>` is bound by `with guard(...) as g:` or
  `g = guard(...)`;
- a process-wide timeout anywhere in the module: `signal.alarm(...)`,
  `signal.setitimer(...)`, or `faulthandler.dump_traceback_later(..., exit=True)`;
- a timeout decorator on the enclosing function: `@timeout(...)` (any decorator whose name
  contains `timeout`), or a decorator call with a `timeout`, `timeout_seconds`,
  `time_limit`, `soft_time_limit` or `execution_timeout` argument (Prefect
  `@flow(timeout_seconds=...)`/`@task(timeout_seconds=...)`, Celery, Airflow).
"""
    why_bad = """
A job that stops making progress (a lock, a network read that never returns, swapping) keeps
its machine busy until somebody notices. With a stall guard it fails in minutes with a stack
dump that shows where it hung.
"""
    example = """
while True:
    chunk = cur.fetchmany(10_000)
    if not chunk:
        break
    out.executemany(SQL, chunk)
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(label="copy", stall_timeout="5m", timeout="2h") as g:
    while chunk := cur.fetchmany(10_000):
        out.executemany(SQL, chunk)
        g.tick(rows=len(chunk))
"""
    known_problems = """
A timeout set by the job's launcher (`timeout 2h python job.py`, a scheduler's limit) is not
seen; suppress with `# noqa: EXL103 <reason>` on the loop's first line.
"""
    options = """
- `extend-stall-guard-calls`: more stall or timeout guards, as qualified names
  (`mylib.deadline`) or method names with a leading dot (`.check_deadline`). They count when
  called in the loop, used as a context manager around it, or decorating its function.
"""
    valid = (
        """
import signal
import pickle

signal.alarm(3600)
for path in paths:
    data = pickle.load(open(path, "rb"))
""",
    )
    invalid = (
        """
import pickle

for path in paths:  # EXL103
    data = pickle.load(open(path, "rb"))
""",
    )

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.stall
