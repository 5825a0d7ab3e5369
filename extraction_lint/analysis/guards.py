"""Heartbeats and guards around an extraction loop (SPEC 2.5).

What counts is in :mod:`extraction_lint.analysis.catalog`; this module finds it around or
inside one loop: progress iterators in a loop's iterable, progress and memory-check calls in
the body, ``with guard(...)`` blocks around it, process-wide limits anywhere in the module
and timeout decorators on the enclosing function.

What a name is bound to (``pbar = tqdm(...)``, ``with guard(...) as g``) is known per scope:
a name bound in one function says nothing about the same name in another. A name used in a
function may have been bound in an enclosing function or at module level; ``self.x`` may
have been bound in any method of the class.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import libcst as cst

from extraction_lint.analysis.catalog import (
    CONSOLE_METHODS,
    CONSOLE_OBJECTS,
    FAULTHANDLER_LATER,
    GUARD_FACTORIES,
    HEARTBEAT_METHODS,
    LOG_FUNCTIONS,
    LOG_LEVELS,
    LOGGER_FACTORIES,
    LOGGER_NAMES,
    LOGGING_MODULE,
    MEMORY_CHECK_FUNCTIONS,
    MEMORY_CHECK_METHODS,
    MEMORY_GUARD_CHECK_METHOD,
    MEMORY_GUARD_CONTEXTS,
    MEMORY_GUARD_OBJECTS,
    MEMORY_RLIMITS,
    PROCESS_FACTORIES,
    PROCESS_MEMORY_METHODS,
    PROCESS_TIMEOUT_FUNCTIONS,
    PROGRESS_ITERATORS,
    PROGRESS_OBJECT_METHODS,
    PROGRESS_OBJECTS,
    SETRLIMIT,
    STALL_GUARD_CONTEXTS,
    TASK_DECORATORS,
    TASK_TIMEOUT_KEYWORDS,
    TIMEOUT_DECORATORS,
    TRACK_METHOD,
    Catalog,
    ExtraCalls,
)
from extraction_lint.analysis.model import CallSite, Loop, Scope, WithItem

Resolve = Callable[[cst.BaseExpression], str | None]
T = TypeVar("T")


#: ``contextlib.ExitStack``'s methods that enter a context manager and return what its
#: ``__enter__`` returns.
ENTER_CONTEXT_METHODS = frozenset({"enter_context", "enter_async_context"})


class _InOrder:
    """The events of one scope (calls, ``with`` items, loops) by their order, so that those
    inside a loop are found by bisection: the guard analysis of a function with thousands
    of loops stays linear in its size."""

    def __init__(self, scope: Scope) -> None:
        # Recorded in source order already (sorting a sorted list is one pass).
        self.calls = sorted(scope.calls, key=lambda c: c.site.order)
        self.call_orders = [c.site.order for c in self.calls]
        self.withs = sorted(scope.with_items, key=lambda w: w.site.order)
        self.with_orders = [w.site.order for w in self.withs]
        self.loops = sorted(scope.loops, key=lambda loop: loop.start)
        self.loop_orders = [loop.start for loop in self.loops]

    @staticmethod
    def within(items: Sequence[T], orders: list[int], loop: Loop) -> Sequence[T]:
        """The items whose order lies in ``loop`` (``orders``: theirs, ascending)."""
        low = bisect.bisect_left(orders, loop.start)
        high = bisect.bisect_right(orders, loop.end)
        return items[low:high]


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _in_iterable(call: CallSite) -> bool:
    """The call is part of a ``for`` loop's iterable (``for x in tqdm(xs)``)."""
    return call.site.header_of is not None


@dataclass(frozen=True, slots=True)
class FunctionGuardCalls:
    """The first call of a function's body (outside ``except`` handlers) that counts as a
    heartbeat, a memory guard or a stall guard for a loop that calls the function."""

    heartbeat: cst.Call | None = None
    memory: cst.Call | None = None
    stall: cst.Call | None = None


@dataclass(frozen=True, slots=True)
class _Outside:
    """Stands for a loop outside every ``except`` handler, to judge a function's calls."""

    except_depth: int = 0


@dataclass(frozen=True, slots=True)
class LoopGuards:
    """Which of the three protections an extraction loop has."""

    heartbeat: bool
    memory: bool
    stall: bool


class GuardFacts:
    """Module-wide facts about guards, and the per-loop verdict built on them."""

    def __init__(self, scopes: list[Scope], resolve: Resolve, catalog: Catalog) -> None:
        self._resolve = resolve
        self._catalog = catalog
        #: (id of the binding scope, name or ``self.attr``) -> qualified names of the
        #: factories it was bound to; ``self.attr`` is filed under the class.
        self._made_by: dict[tuple[int, str], set[str]] = {}
        self.process_memory_limit = False
        self.process_timeout = False
        self._in_order: dict[int, _InOrder] = {}
        for scope in scopes:
            self._scan_scope(scope)

    # --- module-wide facts ---------------------------------------------------------------

    def _scan_scope(self, scope: Scope) -> None:
        for assignment in scope.assignments:
            if assignment.operator == "=":
                self._note_binding(scope, assignment.target, assignment.value)
        for item in scope.with_items:
            if item.target is not None:
                self._note_binding(scope, item.target, item.expr)
        for call in scope.calls:
            qualname = call.qualname
            if qualname == SETRLIMIT and call.node.args:
                if _last_name(call.node.args[0].value) in MEMORY_RLIMITS:
                    self.process_memory_limit = True
            elif qualname in PROCESS_TIMEOUT_FUNCTIONS or (
                qualname == FAULTHANDLER_LATER and self._exits(call.node)
            ):
                self.process_timeout = True

    @staticmethod
    def _home(scope: Scope, key: str) -> Scope:
        """Where a binding of ``key`` made in ``scope`` is filed: ``self.x`` under the class."""
        owner = scope.enclosing_class
        if owner is not None and scope.self_name is not None and "." in key:
            return owner
        return scope

    def _note_binding(
        self, scope: Scope, target: cst.BaseExpression, value: cst.BaseExpression
    ) -> None:
        key = scope.key_of(target)
        if isinstance(value, cst.Await):
            value = value.expression  # ``await stack.enter_async_context(...)``
        if key is None or not isinstance(value, cst.Call):
            return
        func = value.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ENTER_CONTEXT_METHODS
            and len(value.args) == 1
            and isinstance(value.args[0].value, cst.Call)
        ):
            # ``stack.enter_context(tqdm(...))`` returns what ``with tqdm(...) as x`` binds:
            # the progress bar, the guard itself.
            value = value.args[0].value
            assert isinstance(value, cst.Call)
        factory = self._resolve(value.func)
        if factory is not None:
            home = self._home(scope, key)
            self._made_by.setdefault((id(home), key), set()).add(factory)

    @staticmethod
    def _exits(call: cst.Call) -> bool:
        """``faulthandler.dump_traceback_later(t, exit=True)`` (or ``exit`` as 4th argument)."""
        positional = [a for a in call.args if a.keyword is None]
        if len(positional) >= 4 and _is_true(positional[3].value):
            return True
        return any(
            a.keyword is not None and a.keyword.value == "exit" and _is_true(a.value)
            for a in call.args
        )

    def _factories(self, scope: Scope, key: str) -> set[str]:
        """What ``key`` used in ``scope`` may be bound to: the nearest scope that binds it."""
        home = self._home(scope, key)
        candidate: Scope | None = home
        while candidate is not None:
            found = self._made_by.get((id(candidate), key))
            if found is not None:
                return found
            candidate = candidate.parent
            while candidate is not None and candidate.kind == "class" and "." not in key:
                candidate = candidate.parent  # class bodies are not enclosing scopes
        return set()

    def _is_made_by(
        self, scope: Scope, node: cst.BaseExpression | None, factories: frozenset[str]
    ) -> bool:
        """Whether ``node`` is a call of one of ``factories`` or a name bound to one."""
        if node is None:
            return False
        if isinstance(node, cst.Call):
            return self._resolve(node.func) in factories
        key = scope.key_of(node)
        return key is not None and bool(self._factories(scope, key) & factories)

    def _is_logger(self, scope: Scope, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and node.value in LOGGER_NAMES:
            return True
        if (
            isinstance(node, cst.Attribute)
            and scope.key_of(node) is not None
            and node.attr.value in LOGGER_NAMES
        ):
            return True
        return self._is_made_by(scope, node, LOGGER_FACTORIES)

    # --- per call --------------------------------------------------------------------------

    def _is_guard_track(self, scope: Scope, call: CallSite, loop: Loop) -> bool:
        return (
            call.method == TRACK_METHOD
            and _in_iterable(call)
            and self._is_made_by(scope, call.receiver, GUARD_FACTORIES)
        )

    def _is_heartbeat(self, scope: Scope, call: CallSite, loop: Loop) -> bool:
        qualname, method = call.qualname, call.method
        if self._catalog.extra_heartbeats.matches(qualname, method):
            return True
        if _in_iterable(call) and (qualname in PROGRESS_ITERATORS or method == TRACK_METHOD):
            return True
        if method in HEARTBEAT_METHODS:
            return True
        if method in PROGRESS_OBJECT_METHODS and self._is_made_by(
            scope, call.receiver, PROGRESS_OBJECTS
        ):
            return True
        if call.site.except_depth > loop.except_depth:
            return False  # a message about a failure, not progress
        if qualname in LOG_FUNCTIONS:
            return True
        if (
            qualname is not None
            and qualname.startswith(LOGGING_MODULE + ".")
            and qualname.rsplit(".", 1)[1] in LOG_LEVELS
        ):
            return True
        receiver = call.receiver
        if receiver is None:
            return False
        if method in LOG_LEVELS and self._is_logger(scope, receiver):
            return True
        return method in CONSOLE_METHODS and self._is_made_by(scope, receiver, CONSOLE_OBJECTS)

    def _is_memory_check(self, scope: Scope, call: CallSite, loop: Loop) -> bool:
        qualname, method = call.qualname, call.method
        if self._is_guard_track(scope, call, loop) or qualname in MEMORY_CHECK_FUNCTIONS:
            return True
        if self._catalog.extra_memory_guards.matches(qualname, method):
            return True
        if method in MEMORY_CHECK_METHODS:
            return True
        if method == MEMORY_GUARD_CHECK_METHOD:
            return self._is_made_by(scope, call.receiver, MEMORY_GUARD_OBJECTS)
        if method in PROCESS_MEMORY_METHODS:
            return self._is_made_by(scope, call.receiver, PROCESS_FACTORIES)
        return False

    def _is_stall_check(self, scope: Scope, call: CallSite, loop: Loop) -> bool:
        return self._is_guard_track(scope, call, loop) or self._catalog.extra_stall_guards.matches(
            call.qualname, call.method
        )

    def _is_context(
        self, scope: Scope, item: WithItem, contexts: frozenset[str], extra: ExtraCalls
    ) -> bool:
        if self._is_made_by(scope, item.expr, contexts):
            return True
        expr = item.expr
        return isinstance(expr, cst.Call) and extra.matches(self._resolve(expr.func), None)

    def _decorated_by(self, scope: Scope, extra: ExtraCalls) -> bool:
        """Whether a function around the loop is decorated with a configured guard."""
        for function in scope.enclosing_functions():
            for decorator in function.decorators:
                expr = decorator.decorator
                func = expr.func if isinstance(expr, cst.Call) else expr
                if extra.matches(self._resolve(func), None):
                    return True
        return False

    def _has_timeout_decorator(self, scope: Scope) -> bool:
        if self._decorated_by(scope, self._catalog.extra_stall_guards):
            return True
        for function in scope.enclosing_functions():
            for decorator in function.decorators:
                expr = decorator.decorator
                func = expr.func if isinstance(expr, cst.Call) else expr
                name = _last_name(func)
                if name in TIMEOUT_DECORATORS:
                    return True
                if (
                    name in TASK_DECORATORS
                    and isinstance(expr, cst.Call)
                    and any(
                        a.keyword is not None and a.keyword.value in TASK_TIMEOUT_KEYWORDS
                        for a in expr.args
                    )
                ):
                    return True
        return False

    def _iterates_progress_object(self, scope: Scope, loop: Loop) -> bool:
        """``bar = tqdm(paths)`` ... ``for path in bar:`` (this loop or one nested in it)."""
        events = self._events(scope)
        return any(
            (inner is loop or loop.contains(inner.start))
            and isinstance(inner.node, cst.For)
            and self._is_made_by(scope, inner.node.iter, PROGRESS_ITERATORS)
            for inner in events.within(events.loops, events.loop_orders, loop)
        )

    def calls_in(self, loop: Loop) -> Sequence[CallSite]:
        """The calls of ``loop``'s scope in its header or body, in order (by bisection)."""
        events = self._events(loop.scope)
        return events.within(events.calls, events.call_orders, loop)

    def _events(self, scope: Scope) -> _InOrder:
        events = self._in_order.get(id(scope))
        if events is None:
            events = self._in_order[id(scope)] = _InOrder(scope)
        return events

    # --- per function (SPEC 2.6 "Summary") ------------------------------------------------

    def function_guard_calls(self, scope: Scope) -> FunctionGuardCalls:
        """What the body of ``scope`` does, outside ``except`` handlers, that 2.5 counts in a
        loop's body: progress and log calls, memory checks, stall checks, process-wide
        limits (a progress iterator over one of its own loops counts as a heartbeat)."""
        loop = cast(Loop, _Outside())
        heartbeat = memory = stall = None
        for call in scope.calls:
            if call.site.except_depth > 0:
                continue
            if heartbeat is None and self._is_heartbeat(scope, call, loop):
                heartbeat = call.node
            if memory is None and (
                self._is_memory_check(scope, call, loop) or self._sets_memory_limit(call)
            ):
                memory = call.node
            if stall is None and (
                self._is_stall_check(scope, call, loop) or self._sets_timeout(call)
            ):
                stall = call.node
        return FunctionGuardCalls(heartbeat, memory, stall)

    def _sets_memory_limit(self, call: CallSite) -> bool:
        return (
            call.qualname == SETRLIMIT
            and bool(call.node.args)
            and _last_name(call.node.args[0].value) in MEMORY_RLIMITS
        )

    def _sets_timeout(self, call: CallSite) -> bool:
        return call.qualname in PROCESS_TIMEOUT_FUNCTIONS or (
            call.qualname == FAULTHANDLER_LATER and self._exits(call.node)
        )

    # --- per loop --------------------------------------------------------------------------

    def loop_guards(self, loop: Loop) -> LoopGuards:
        """The heartbeat, memory and stall protections of ``loop`` (header and body)."""
        scope = loop.scope
        events = self._events(scope)
        calls = events.within(events.calls, events.call_orders, loop)
        withs = (*loop.enclosing_withs, *events.within(events.withs, events.with_orders, loop))
        catalog = self._catalog
        heartbeat = any(
            self._is_heartbeat(scope, c, loop) for c in calls
        ) or self._iterates_progress_object(scope, loop)
        memory = (
            self.process_memory_limit
            or any(self._is_memory_check(scope, c, loop) for c in calls)
            or any(
                self._is_context(scope, w, MEMORY_GUARD_CONTEXTS, catalog.extra_memory_guards)
                for w in withs
            )
            or self._decorated_by(scope, catalog.extra_memory_guards)
        )
        stall = (
            self.process_timeout
            or any(self._is_stall_check(scope, c, loop) for c in calls)
            or any(
                self._is_context(scope, w, STALL_GUARD_CONTEXTS, catalog.extra_stall_guards)
                for w in withs
            )
            or self._has_timeout_decorator(scope)
        )
        return LoopGuards(heartbeat=heartbeat, memory=memory, stall=stall)
