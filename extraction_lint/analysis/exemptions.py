"""Loops that EXL101-EXL103 leave to their caller (SPEC 2.5, "Not checked").

A loop inside a generator function hands each item to the consumer, and a loop inside a
function that implements a loader, a sink or the iteration protocol (``fetchall``,
``executemany``, ``__iter__``, ...) is the body of a call that the caller's own loop makes:
in either case the caller's loop is the one that runs as long as the data, and the one
that owns the heartbeat and the guards.
"""

from __future__ import annotations

from typing import Literal

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.analysis.facts import name_exemption
from extraction_lint.analysis.model import Loop

GuardExemption = Literal["generator", "iteration-protocol", "loader-or-sink"]


def guard_exemption(loop: Loop, catalog: Catalog) -> GuardExemption | None:
    """Why the guard rules do not check ``loop`` whatever calls its function, or None when
    they may. (A function the project calls only from inside extraction loops is the other
    case: :meth:`ModuleAnalysis.called_only_in_loops`, which follows the calls.)

    What counts is the function that holds the loop directly: a loop in a function nested
    in a generator runs when that function is called, not as the generator iterates.
    """
    scope = loop.scope
    if scope.kind != "function":
        return None
    if scope.is_generator:
        return "generator"
    return name_exemption(scope.name, catalog)
