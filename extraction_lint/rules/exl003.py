"""EXL003 accumulating-helper-then-bulk-write (SPEC 2.4)."""

from __future__ import annotations

from collections.abc import Iterator

from extraction_lint.analysis.dataflow import Source
from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.rules.base import Finding, Rule
from extraction_lint.rules.common import accumulation_related, sink_label


class AccumulatingHelperThenBulkWrite(Rule):
    code = "EXL003"
    name = "accumulating-helper-then-bulk-write"
    summary = (
        "A helper returns a collection it grew without bound, and its result is written in bulk."
    )
    what_it_does = """
Reports a bulk write (a *sink*) of the result of a call to a helper defined in the same
module, when the helper grows a collection in an unbounded loop, never flushes it, and
returns it (or a value derived from it). The call's result may reach the sink directly or
through a derivation (`pd.DataFrame(helper(...))`).

Methods called as `self.helper(...)` count when the helper is defined in the same class.
A call made inside an unbounded loop is per-item and not reported.
"""
    why_bad = """
It is EXL001 split over two functions: the helper holds every record of the input in memory
before the caller writes the first one.
"""
    example = """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

con.executemany(SQL, collect(paths))
"""
    use_instead = """
def iter_rows(paths):
    for path in paths:
        yield from load(path)

for path in paths:
    con.executemany(SQL, load(path))       # one write per file
"""
    known_problems = """
Only helpers defined in the same module (or the same class) are followed, one call deep.
"""
    options = """
- `bounded-range-limit`, `extend-sink-methods`, `extend-sink-functions` as for EXL001.
"""
    valid = (
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

for path in paths:
    con.executemany(SQL, collect([path]))
""",
    )
    invalid = (
        """
def collect(paths):
    rows = []
    for path in paths:
        rows.extend(load(path))
    return rows

con.executemany(SQL, collect(paths))  # EXL003
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            calls = analysis.helper_calls(scope)
            if not calls:
                continue
            sinks = analysis.sinks(scope)
            if not sinks:
                continue
            flow = analysis.dataflow(scope)
            for sink in sinks:
                carried: set[Source] = set()
                for data in sink.data:
                    carried |= flow.carried(data)
                for helper_call in calls:
                    call = helper_call.call
                    if call.node not in carried or call.site.order > sink.call.end:
                        continue
                    helper = helper_call.helper
                    name = helper.scope.name
                    key = helper.accumulation.key
                    yield Finding(
                        code=self.code,
                        node=sink.call.node,
                        message=(
                            f"`{name}()` returns `{key}`, which it grows in unbounded loop "
                            f"`{analysis.describe_loop(helper.accumulation.loop)}`, and the "
                            f"result is written whole by {sink_label(sink)}; make `{name}` "
                            f"yield per item or write inside its loop in bounded batches"
                        ),
                        related=tuple(accumulation_related(analysis, helper.accumulation)),
                    )
