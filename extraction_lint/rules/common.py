"""Wording shared by the rules' messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from extraction_lint.rules.base import Related

if TYPE_CHECKING:
    from extraction_lint.analysis.calls import SinkCall
    from extraction_lint.analysis.collections import Accumulation
    from extraction_lint.analysis.module import ModuleAnalysis


def sink_label(sink: SinkCall) -> str:
    """``executemany()`` for a method sink, ``json.dump()`` for a function sink."""
    if sink.call.method == sink.name:
        return f"`.{sink.name}()`"
    return f"`{sink.name}()`"


def accumulation_related(analysis: ModuleAnalysis, accumulation: Accumulation) -> list[Related]:
    """Related locations of an accumulation: each growth site, then the loop header."""
    related = [
        Related(growth.node, f"`{accumulation.key}` grows here") for growth in accumulation.growths
    ]
    loop = accumulation.loop
    related.append(
        Related(loop.node, f"unbounded loop `{analysis.describe_loop(loop)}` with no flush")
    )
    return related
