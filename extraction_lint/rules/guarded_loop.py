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

    needs = frozenset({Need.GUARDED_EXTRACTION_LOOP})

    #: What is missing, for the message ("heartbeat").
    missing: ClassVar[str]

    def has_protection(self, guards: LoopGuards) -> bool:
        """Whether the loop has the protection this rule asks for."""
        raise NotImplementedError

    def advice(self, analysis: ModuleAnalysis, loop: Loop) -> str:
        """What to write instead, for the message (a clause, no final period)."""
        raise NotImplementedError

    def fix_for(self, analysis: ModuleAnalysis, loop: Loop) -> FixSpec | None:
        """An automatic fix for a loop that lacks the protection, if the rule has one."""
        return None

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        # Imported here: the registry is imported without libcst (analysis.model needs it).
        from extraction_lint.analysis.exemptions import guard_exemption

        unguarded = [
            loop
            for loop in analysis.extraction_loops
            if guard_exemption(loop, analysis.catalog) is None
            and not self.has_protection(analysis.loop_guards(loop))
        ]
        analysis.look_for_callers(loop.scope for loop in unguarded)
        for loop in unguarded:
            if analysis.called_only_in_loops(loop.scope):
                continue  # part of a caller's nest (SPEC 2.5)
            yield Finding(
                code=self.code,
                node=loop.node,
                end_node=loop.header,
                message=f"extraction loop has no {self.missing}; {self.advice(analysis, loop)}",
                fix=self.fix_for(analysis, loop),
            )


#: The longest iterable a message spells out; a longer one is written ``...``.
ITERABLE_LIMIT = 16


def iterable_text(analysis: ModuleAnalysis, loop: Loop) -> str | None:
    """The iterable of a ``for`` loop as a message writes it (progress iterators and
    ``enumerate`` around it left out: ``enumerate(track(xs))`` is ``xs``), ``...`` when
    long; None for a ``while`` loop. An ``async for`` loop's iterable counts too: the
    guardrails' ``track(...)`` and ``g.track(...)`` take async iterables."""
    import libcst as cst  # loaded already: there is a tree

    node = loop.node
    if not isinstance(node, cst.For):
        return None  # no iterable to wrap
    iterable = node.iter
    while (
        isinstance(iterable, cst.Call)
        and iterable.args
        and iterable.args[0].keyword is None
        and not iterable.args[0].star
        and analysis.resolve(iterable.func) in {*PROGRESS_ITERATORS, "enumerate"}
    ):
        # ``enumerate(xs)`` becomes ``enumerate(track(xs))``: the advice names ``xs``.
        iterable = iterable.args[0].value
    items = analysis.code(iterable)
    return items if len(items) <= ITERABLE_LIMIT else "..."


def guard_advice(analysis: ModuleAnalysis, loop: Loop, arguments: str) -> str:
    """``iterate `g.track(xs)` inside `with guard(<arguments>) as g:``` (also for an
    ``async for`` loop; ``g.tick()`` in a ``while`` loop), with a guard name the loop does
    not use."""
    guard = guard_name(analysis, loop)
    items = iterable_text(analysis, loop)
    context = f"`with guard({arguments}) as {guard}:`"
    if items is None:
        return f"call `{guard}.tick()` in it inside {context}"
    return f"iterate `{guard}.track({items})` inside {context}"


def guard_name(analysis: ModuleAnalysis, loop: Loop) -> str:
    """``g`` for the guard, unless the loop already uses that name."""
    code = analysis.module.code_for_node(loop.node)
    for name in ("g", "guarded", "extraction_guard"):
        if re.search(rf"\b{name}\b", code) is None:
            return name
    return "extraction_guard"
