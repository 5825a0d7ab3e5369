"""EXL002 materialize-then-bulk-write (SPEC 2.3)."""

from __future__ import annotations

from collections.abc import Iterator


from extraction_lint.analysis.dataflow import Source
from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.rules.base import Finding, Related, Rule
from extraction_lint.rules.common import sink_label


class MaterializeThenBulkWrite(Rule):
    code = "EXL002"
    name = "materialize-then-bulk-write"
    summary = "An unbounded source is materialised whole in memory and then written in bulk."
    what_it_does = """
Reports a bulk write (a *sink*) of a value that materialises an unbounded source whole:

- a list, set or dict comprehension with at least one `for` clause that is not bounded;
- `list(...)`, `tuple(...)`, `set(...)`, `sorted(...)` or `[*...]` whose argument is a
  generator expression or a call (`list(map(load, paths))`,
  `list(itertools.chain.from_iterable(...))`).

The materialisation may reach the sink directly, through a name it is assigned to, or
through a derivation (`pd.DataFrame([...])`). A plain name as the argument (`list(rows)`)
is a copy, not a materialisation. A materialisation inside an unbounded loop (or inside an
unbounded comprehension) holds one iteration's worth and is not reported; a generator
expression passed straight to the sink is fine.
"""
    why_bad = """
The whole source is held in memory before the first record is written: the same failure as
accumulating in a loop (EXL001), written as one expression. Memory grows with the input and
a crash loses everything.
"""
    example = """
rows = [to_row(rec) for path in paths for rec in load(path)]
con.executemany(SQL, rows)
"""
    use_instead = """
for path in paths:
    con.executemany(SQL, [to_row(rec) for rec in load(path)])   # one file at a time

# or stream a generator straight into the sink:
writer.writerows(to_row(rec) for path in paths for rec in load(path))
"""
    known_problems = """
Whether a comprehension over a name is large is not known from the source: iterating a
parameter or a local list counts as unbounded unless it is a display or a module constant
bound once to a display.
"""
    options = """
- `bounded-range-limit` (default 1000): the largest `range` of literals that counts as
  bounded.
- `extend-sink-methods`, `extend-sink-functions`: more bulk writes.
"""
    valid = (
        """
writer.writerows(to_row(rec) for path in paths for rec in load(path))
""",
        """
for path in paths:
    rows = [to_row(rec) for rec in load(path)]
    con.executemany(SQL, rows)
""",
    )
    invalid = (
        """
rows = [to_row(rec) for path in paths for rec in load(path)]
con.executemany(SQL, rows)  # EXL002
""",
        """
import itertools
import pandas as pd

records = list(itertools.chain.from_iterable(map(load, paths)))
pd.DataFrame(records).to_parquet("out.parquet")  # EXL002
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            materializations = analysis.materializations(scope)
            if not materializations:
                continue
            sinks = analysis.sinks(scope)
            if not sinks:
                continue
            flow = analysis.dataflow(scope)
            for sink in sinks:
                carried: set[Source] = set()
                for data in sink.data:
                    carried |= flow.carried(data)
                for materialization in materializations:
                    if materialization.node not in carried:
                        continue
                    if materialization.site.order > sink.call.end:
                        continue
                    text = _shorten(analysis.code(materialization.node))
                    yield Finding(
                        code=self.code,
                        node=sink.call.node,
                        message=(
                            f"`{text}` materialises an unbounded source whole and is written "
                            f"by {sink_label(sink)}; pass a generator to the sink or write in "
                            f"bounded batches inside the loop"
                        ),
                        related=(Related(materialization.node, "materialised here"),),
                    )


def _shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."



