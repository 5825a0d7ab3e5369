"""EXL102 extraction-loop-without-memory-guard (SPEC 2.5)."""

from __future__ import annotations

from extraction_lint.analysis.guards import LoopGuards
from extraction_lint.rules.guarded_loop import GuardedLoopRule


class ExtractionLoopWithoutMemoryGuard(GuardedLoopRule):
    code = "EXL102"
    name = "extraction-loop-without-memory-guard"
    summary = "A loop that loads or writes data runs with no memory limit."
    missing = "memory guard"
    advice = "bound its memory with `guard(memory_limit=...)`: {guard_form}"
    what_it_does = """
Reports an *extraction loop* (see EXL101: an unbounded loop that calls a loader or a bulk
write; only the outermost of a nest) that runs without a memory guard. A memory guard is
any of:

- a `with guard(...)` or `with MemoryGuard(...)` block of `extraction_lint.guardrails`
  around the loop (or inside it);
- iterating `<guard>.track(...)`, where `<guard>` is bound by `with guard(...) as g:` or
  `g = guard(...)`;
- a memory check in the loop: `<x>.check_memory()`, `.check()` on a `MemoryGuard`,
  `psutil.Process(...).memory_info()`, `psutil.virtual_memory()`,
  `resource.getrusage(...)`, `tracemalloc.get_traced_memory()`;
- a process-wide limit anywhere in the module:
  `resource.setrlimit(resource.RLIMIT_AS or resource.RLIMIT_DATA, ...)`.
"""
    why_bad = """
Without a limit, a loop that accumulates more than the machine holds does not fail: it
swaps. The incident behind this tool swapped 18 TB to disk over 21 hours instead of stopping
with a clear error in the first minutes.
"""
    example = """
for path in paths:
    rows = pickle.load(open(path, "rb"))
    con.executemany(SQL, rows)
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(total=len(paths), memory_limit="2 GiB") as g:
    for path in g.track(paths):
        rows = pickle.load(open(path, "rb"))
        con.executemany(SQL, rows)
"""
    known_problems = """
A limit set in another module (or by the job's launcher, `ulimit -v`, a cgroup) is not seen.
"""
    options = """
- `extend-memory-guard-calls`: more memory guards, as qualified names (`mylib.limit_memory`)
  or method names with a leading dot (`.check_rss`). They count when called in the loop,
  used as a context manager around it, or decorating its function.
"""
    valid = (
        """
import resource
import pickle

resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
for path in paths:
    data = pickle.load(open(path, "rb"))
""",
    )
    invalid = (
        """
import pickle

for path in paths:  # EXL102
    data = pickle.load(open(path, "rb"))
""",
    )

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.memory
