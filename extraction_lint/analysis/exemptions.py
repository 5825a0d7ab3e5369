"""Loops that EXL101-EXL103 leave to their caller (SPEC 2.5, "Not checked").

A loop inside a generator function hands each item to the consumer, and a loop inside a
function that implements a loader, a sink or the iteration protocol (``fetchall``,
``executemany``, ``__iter__``, ...) is the body of a call that the caller's own loop makes:
in either case the caller's loop is the one that runs as long as the data, and the one
that owns the heartbeat and the guards.
"""

from __future__ import annotations

from typing import Literal

from extraction_lint.analysis.catalog import ITERATION_PROTOCOL_METHODS, Catalog
from extraction_lint.analysis.model import Loop

GuardExemption = Literal["generator", "iteration-protocol", "loader-or-sink"]


def guard_exemption(loop: Loop, catalog: Catalog) -> GuardExemption | None:
    """Why the guard rules do not check ``loop``, or None when they do.

    What counts is the function that holds the loop directly: a loop in a function nested
    in a generator runs when that function is called, not as the generator iterates.
    """
    scope = loop.scope
    if scope.kind != "function":
        return None
    if scope.is_generator:
        return "generator"
    if scope.name in ITERATION_PROTOCOL_METHODS:
        return "iteration-protocol"
    if catalog.implements_loader_or_sink(scope.name):
        return "loader-or-sink"
    return None
