"""EXL900 unused-noqa: reported by the engine after suppression (see suppression.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis


class UnusedNoqa(Rule):
    code = "EXL900"
    name = "unused-noqa"
    summary = "A `# noqa` comment names an extraction-lint code that reports nothing on its line."
    default_enabled = False
    what_it_does = """
Reports a `# noqa: EXL...` comment when one of the extraction-lint codes it names reports
nothing on that line (because the code was fixed, moved, or is not selected). Codes of other
tools in the same comment (`# noqa: E501, EXL001`) are left alone, and so is a bare `# noqa`,
which other tools use too.

Off by default; enable it with `--extend-select EXL900` or `extend-select = ["EXL900"]`.
"""
    why_bad = """
A stale suppression hides the next real finding on that line, and tells a reader that a
problem is there when it is not.
"""
    example = """
con.executemany(SQL, batch)  # noqa: EXL001 leftover batch
"""
    use_instead = """
con.executemany(SQL, batch)
"""
    options = "None. Select it with `select`/`extend-select`."
    valid = (
        """
rows = []
for path in paths:
    rows.append(path)
con.executemany(SQL, rows)  # noqa: EXL001 a few hundred paths at most
""",
    )
    invalid = (
        """
con.executemany(SQL, batch)  # noqa: EXL001  # EXL900
""",
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        return iter(())
