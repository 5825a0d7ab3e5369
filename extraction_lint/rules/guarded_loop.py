"""What EXL101, EXL102 and EXL103 share: one check per missing protection of a loop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from extraction_lint.analysis.catalog import PROGRESS_ITERATORS
from extraction_lint.rules.base import Finding, FixSpec, Need, Rule

if TYPE_CHECKING:
    from extraction_lint.analysis.guards import LoopGuards
    from extraction_lint.analysis.model import Loop
    from extraction_lint.analysis.module import ModuleAnalysis


class GuardedLoopRule(Rule):
    """Reports outermost extraction loops that lack one protection."""

    needs = frozenset({Need.EXTRACTION_LOOP})

    #: What is missing, for the message ("heartbeat").
    missing: ClassVar[str]
    #: What to do instead, for the message.
    advice: ClassVar[str]

    def has_protection(self, guards: LoopGuards) -> bool:
        """Whether the loop has the protection this rule asks for."""
        raise NotImplementedError

    def fix_for(self, analysis: ModuleAnalysis, loop: Loop) -> FixSpec | None:
        """An automatic fix for a loop that lacks the protection, if the rule has one."""
        return None

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        for loop in analysis.extraction_loops:
            if self.has_protection(analysis.loop_guards(loop)):
                continue
            yield Finding(
                code=self.code,
                node=loop.node,
                end_node=loop.header,
                message=(
                    f"extraction loop `{analysis.describe_loop(loop)}` has no {self.missing}; "
                    + self.advice.format(guard_form=guard_form(analysis, loop))
                ),
                fix=self.fix_for(analysis, loop),
            )


def guard_form(analysis: ModuleAnalysis, loop: Loop) -> str:
    """The compliant form of this loop with the guardrails API."""
    import libcst as cst  # loaded already: there is a tree

    node = loop.node
    if isinstance(node, cst.For):
        target = analysis.code(node.target)
        iterable = node.iter
        if (
            isinstance(iterable, cst.Call)
            and iterable.args
            and analysis.resolve(iterable.func) in PROGRESS_ITERATORS
        ):
            iterable = iterable.args[0].value  # track(xs) becomes g.track(xs)
        items = analysis.code(iterable)
        guard = _free_name(analysis.code(node))
        if len(items) > 30:
            items = "..."
        return f"`with guard(...) as {guard}:` / `for {target} in {guard}.track({items}):`"
    guard = _free_name(analysis.code(node))
    return f"`with guard(...) as {guard}:` around the loop and `{guard}.tick()` in its body"


def _free_name(code: str) -> str:
    """``g`` for the guard, unless the loop already uses that name."""
    for name in ("g", "guarded", "extraction_guard"):
        if re.search(rf"\b{name}\b", code) is None:
            return name
    return "extraction_guard"
