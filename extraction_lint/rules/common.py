"""Wording shared by the rules' messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from extraction_lint.rules.base import Related

if TYPE_CHECKING:
    from extraction_lint.analysis.calls import SinkCall
    from extraction_lint.analysis.collections import Accumulation
    from extraction_lint.analysis.dataflow import Source
    from extraction_lint.analysis.model import Scope
    from extraction_lint.analysis.module import ModuleAnalysis

T = TypeVar("T")


def writes(
    analysis: ModuleAnalysis,
    scope: Scope,
    sources: Sequence[T],
    source_of: Callable[[T], Source],
    made_at: Callable[[T], int],
) -> Iterator[tuple[SinkCall, T]]:
    """Each (sink, source) of ``scope`` where the sink writes the source's whole data, and
    the source is made before the sink returns (assigned first, or in its arguments)."""
    if not sources:
        return
    for sink in analysis.sinks(scope):
        carried = analysis.carried_by_sink(scope, sink)
        for source in sources:
            if source_of(source) in carried and made_at(source) <= sink.call.end:
                yield sink, source


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
