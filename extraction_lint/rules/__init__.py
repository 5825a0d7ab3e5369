"""The rule registry: every rule, by code."""

from __future__ import annotations

from extraction_lint.rules.base import Finding, Related, Rule
from extraction_lint.rules.exl001 import AccumulateThenBulkWrite
from extraction_lint.rules.exl002 import MaterializeThenBulkWrite
from extraction_lint.rules.exl003 import AccumulatingHelperThenBulkWrite
from extraction_lint.rules.exl101 import ExtractionLoopWithoutHeartbeat
from extraction_lint.rules.exl102 import ExtractionLoopWithoutMemoryGuard
from extraction_lint.rules.exl103 import ExtractionLoopWithoutStallGuard
from extraction_lint.rules.exl900 import UnusedNoqa
from extraction_lint.rules.exl999 import FileNotChecked

ALL_RULES: tuple[type[Rule], ...] = (
    AccumulateThenBulkWrite,
    MaterializeThenBulkWrite,
    AccumulatingHelperThenBulkWrite,
    ExtractionLoopWithoutHeartbeat,
    ExtractionLoopWithoutMemoryGuard,
    ExtractionLoopWithoutStallGuard,
    UnusedNoqa,
    FileNotChecked,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
#: Codes the engine reports itself rather than through a rule's ``check``.
UNUSED_NOQA = UnusedNoqa.code
FILE_NOT_CHECKED = FileNotChecked.code
#: Codes that run as tree checks.
TREE_RULES: tuple[type[Rule], ...] = tuple(
    r for r in ALL_RULES if r.code not in {UNUSED_NOQA, FILE_NOT_CHECKED}
)


def tree_codes() -> frozenset[str]:
    """The codes of the registered rules that run as tree checks (every rule but the
    engine's own codes), read from :data:`RULES_BY_CODE` at the time of the call."""
    return frozenset(RULES_BY_CODE).difference({UNUSED_NOQA, FILE_NOT_CHECKED})


__all__ = [
    "ALL_RULES",
    "FILE_NOT_CHECKED",
    "RULES_BY_CODE",
    "TREE_RULES",
    "UNUSED_NOQA",
    "Finding",
    "Related",
    "Rule",
    "tree_codes",
]
