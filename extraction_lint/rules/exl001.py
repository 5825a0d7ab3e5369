"""EXL001 accumulate-then-bulk-write (SPEC 2.2)."""

from __future__ import annotations

from collections.abc import Iterator

from extraction_lint.analysis.collections import Accumulation
from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.rules.base import Finding, Related, Rule
from extraction_lint.rules.common import accumulation_related, sink_label


class AccumulateThenBulkWrite(Rule):
    code = "EXL001"
    name = "accumulate-then-bulk-write"
    summary = (
        "A collection grows without bound in a loop and is written in one bulk write after it."
    )
    what_it_does = """
Reports a bulk write (a *sink*: `executemany`, `to_parquet`, `json.dump`, ...) of a
collection that grew inside an unbounded loop and was never flushed there.

It fires when all of these hold, in one function (or one module-level block):

- a collection (`[]`, `{}`, `set()`, `list()`, `dict()`, `defaultdict(...)`, `deque()`
  without `maxlen`, a display, or an empty `pandas`/`polars` data frame) is bound outside
  every unbounded loop;
- it grows (`append`, `extend`, `insert`, `add`, `update`, `+=`, `c = c + ...`,
  `c[k] = ...`, `c[k].append(...)`, `c.setdefault(...).append(...)`,
  `c = pd.concat([c, ...])`) inside an unbounded loop;
- it is never flushed (`c.clear()`, `del c[:]`, `c[:] = []`, re-binding to a fresh
  container) anywhere inside the outermost unbounded loop that holds the growth;
- after that loop, the collection or a value derived from it (`pd.DataFrame(c)`,
  `np.array(c)`, `list(c)`, `d = c`, any method call on it) reaches a sink.

A loop is bounded when its trip count is small and known from the source: `range` of
literals (at most `bounded-range-limit` steps), a display such as `("a", "b")`, a module
constant bound once to a display, or `enumerate`/`zip`/`reversed`/`sorted` of those.
"""
    why_bad = """
Memory grows with the input instead of staying flat, and nothing is written until the very
end. This is how a job ran 21 hours at 99% CPU: 136 pickle files x 507 subjects of numpy rows
went into one list (13.4 GB) to be `executemany`'d into DuckDB at the end; the machine swapped
18 TB to disk and the database file never grew. Writing per file took it to 400 MB.
"""
    example = """
rows = []
for path in sorted(Path(d).glob("*.pkl")):
    for sig in load(path):
        rows.append((sig["id"], sig["signal"].tolist()))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)
"""
    use_instead = """
for path in sorted(Path(d).glob("*.pkl")):
    rows = [(sig["id"], sig["signal"].tolist()) for sig in load(path)]
    con.executemany("INSERT INTO s VALUES (?, ?)", rows)   # one write per file

# or in bounded batches, with the leftover written after the loop:
batch = []
for rec in records:
    batch.append(rec)
    if len(batch) >= 5_000:
        con.executemany(SQL, batch)
        batch.clear()
con.executemany(SQL, batch)
"""
    known_problems = """
Calls are not followed: a collection filled by a function that the loop calls, or written by
a function called after the loop, is not seen (EXL003 covers helpers that return what they
accumulate). Aliases made before the loop are followed only through plain assignment.
A flush anywhere inside the loop counts, even under a condition that never holds.
"""
    options = """
- `bounded-range-limit` (default 1000): the largest `range` of literals that counts as a
  bounded loop.
- `extend-sink-methods`, `extend-sink-functions`: more bulk writes.
"""
    valid = (
        # SPEC 2.2: the leftover batch after a flushed loop.
        """
batch = []
for rec in records:
    batch.append(rec)
    if len(batch) >= 5_000:
        con.executemany(SQL, batch)
        batch.clear()
con.executemany(SQL, batch)
""",
        # SPEC 2.2: a fresh collection per iteration.
        """
for path in paths:
    rows = [to_row(s) for s in load(path)]
    con.executemany(SQL, rows)
""",
        # SPEC 2.2: a bounded loop.
        """
out = []
for name in ("a", "b", "c"):
    out.append(build(name))
con.executemany(SQL, out)
""",
    )
    invalid = (
        # SPEC 2.2
        """
rows = []
for path in sorted(Path(d).glob("*.pkl")):
    for sig in load(path):
        rows.append((sig["id"], sig["signal"].tolist()))
con.executemany("INSERT INTO s VALUES (?, ?)", rows)  # EXL001
""",
        # SPEC 2.2
        """
import pandas as pd

frames = []
while True:
    chunk = cur.fetchmany(10_000)
    if not chunk:
        break
    frames.append(pd.DataFrame(chunk))
pd.concat(frames).to_parquet("out.parquet")  # EXL001
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            accumulations = analysis.accumulations(scope)
            if not accumulations:
                continue
            sinks = analysis.sinks(scope)
            if not sinks:
                continue
            flow = analysis.dataflow(scope)
            by_key: dict[str, list[Accumulation]] = {}
            for accumulation in accumulations:
                by_key.setdefault(accumulation.key, []).append(accumulation)
            for sink in sinks:
                carried = set()
                for data in sink.data:
                    carried |= flow.carried(data)
                for key in sorted(k for k in carried if isinstance(k, str) and k in by_key):
                    before = [a for a in by_key[key] if a.loop.end < sink.call.site.order]
                    if not before:
                        continue
                    loops = " and ".join(f"`{analysis.describe_loop(a.loop)}`" for a in before)
                    related: list[Related] = []
                    for accumulation in before:
                        related.extend(accumulation_related(analysis, accumulation))
                    yield Finding(
                        code=self.code,
                        node=sink.call.node,
                        message=(
                            f"`{key}` grows in unbounded loop {loops} and is written whole "
                            f"by {sink_label(sink)} after it; write inside the loop, per item "
                            f"or in bounded batches (clear `{key}` after each write)"
                        ),
                        related=tuple(related),
                    )
