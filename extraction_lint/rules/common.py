"""Wording shared by the rules' messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from extraction_lint.analysis.catalog import ITERATOR_SINK_FUNCTIONS, ITERATOR_SINK_METHODS
from extraction_lint.rules.base import Related

if TYPE_CHECKING:
    from extraction_lint.analysis.calls import SinkCall
    from extraction_lint.analysis.collections import Accumulation
    from extraction_lint.analysis.dataflow import Source
    from extraction_lint.analysis.model import Loop, Scope
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


def accepts_iterator(sink: SinkCall) -> bool:
    """The sink takes any iterable of records, so a generator streams into it (for a
    helper: the sink that writes in the end does)."""
    name, method = sink.kind
    return name in (ITERATOR_SINK_METHODS if method else ITERATOR_SINK_FUNCTIONS)


#: The longest spelling of a function sink a message uses; longer, its qualified name.
SINK_SPELLING_LIMIT = 24


def sink_label(sink: SinkCall, analysis: ModuleAnalysis | None = None) -> str:
    """```.executemany()``` for a method sink; for a function sink, as the source spells it
    when ``analysis`` is given and the spelling is short (```np.savez()```), else its
    qualified name (```numpy.savez()```); a project function that writes what it is passed
    by its name (```save()```, called as ``h.save(...)`` or ``self.save(...)``)."""
    if sink.helper:
        return f"`{sink.name}()`"
    if sink.call.method == sink.name:
        return f"`.{sink.name}()`"
    if analysis is not None:
        spelled = analysis.code(sink.call.node.func)
        if len(spelled) <= SINK_SPELLING_LIMIT:
            return f"`{spelled}()`"
    return f"`{sink.name}()`"


#: The longest loop target a message spells out (``for path``); longer is ``for ...``.
TARGET_LIMIT = 16


def loop_label(analysis: ModuleAnalysis, loop: Loop) -> str:
    """A loop as a message names it, without its whole header: ```for path``` loop,
    ```async for page``` loop, ```while``` loop."""
    import libcst as cst  # loaded already: there is a tree

    node = loop.node
    if isinstance(node, cst.While):
        return "`while` loop"
    target = analysis.code(node.target)
    if len(target) > TARGET_LIMIT:
        target = "..."
    prefix = "async for" if node.asynchronous is not None else "for"
    return f"`{prefix} {target}` loop"


def loops_label(analysis: ModuleAnalysis, loops: Sequence[Loop]) -> str:
    """``the `for path` loop``, or ``the `for a` and `for b` loops``."""
    labels = [loop_label(analysis, loop).removesuffix(" loop") for loop in loops]
    if len(labels) == 1:
        return f"the {labels[0]} loop"
    return f"the {', '.join(labels[:-1])} and {labels[-1]} loops"


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
