"""Facts decided once, for either tree: is this loop bounded, what does this call do, is
this load a round trip, what does this import bind.

The analysis reads libcst's tree; the prefilter (``extraction_lint.prefilter``) reads the
interpreter's ``ast`` tree, which the engine has anyway, to skip files before libcst
parses them. Each fact here is one implementation both use: it asks a small
:class:`Shape` for what it needs of a node (is it a display, a call of which name with
which arguments, an integer literal), and each tree answers those questions in a few
lines. What the prefilter cannot know before the analysis (a module-level constant, a
local binding that shadows an import) its shape answers the way that keeps more files,
never fewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from extraction_lint.analysis.catalog import (
    BOUNDED_WRAPPERS,
    ITERATION_PROTOCOL_METHODS,
    ROUND_TRIP_SERIALIZERS,
    Catalog,
)

N = TypeVar("N")
N_contra = TypeVar("N_contra", contravariant=True)

#: Keywords that pass ``execute``'s parameters (``cur.execute(sql, params=rows)``).
EXECUTE_PARAMETER_KEYWORDS = frozenset({"parameters", "params"})
#: Keywords that pass ``execute``'s statement (DB-API ``operation``, sqlite3 ``sql``,
#: SQLAlchemy ``statement``, DuckDB ``query``).
EXECUTE_STATEMENT_KEYWORDS = frozenset({"operation", "sql", "statement", "query"})
#: Calls whose result is one row's parameters, never rows written (``tuple(...)``).
ONE_ROW_CALLS = frozenset({"tuple", "dict", "set"})
#: What ``execute``'s parameters can be, as each tree classifies them: a tuple/dict/set
#: display, a dict or set comprehension, a literal (a string, a number, ``None``), an
#: element (a subscript by an index or key, not a slice nor a list of columns:
#: ``rows[-1]``, ``by_id[k]``).
PARAMETER_KINDS = frozenset({"display", "comprehension", "literal", "element", "other"})


def is_one_row(kind: str, callee: str | None) -> bool:
    """``execute(sql, (a, b))``, ``execute(sql, {...})``, ``execute(sql, tuple(x))``,
    ``execute(sql, rows[-1])``: one row's parameters, never rows written (``kind``: see
    :data:`PARAMETER_KINDS`; ``callee``: the bare name a call's function is, else None)."""
    return kind in {"display", "comprehension", "literal", "element"} or callee in ONE_ROW_CALLS


@dataclass(frozen=True, slots=True)
class CallParts(Generic[N]):
    """A call as the facts see it: the callee's qualified name (None when unknown), its
    positional arguments, and whether it has ``*args`` or keyword arguments."""

    name: str | None
    positional: Sequence[N]
    starred: bool
    keywords: bool


class Shape(Protocol[N]):
    """What the facts ask of one tree's nodes."""

    def fixed_display(self, node: N) -> bool:
        """A tuple/list/set/dict display with every element written out (no ``*x``)."""
        ...

    def fixed_dict(self, node: N) -> bool:
        """A dict display with every entry written out (no ``**x``)."""
        ...

    def constant(self, node: N) -> N | None:
        """The display a name stands for as a module-level constant, else None."""
        ...

    def view_receiver(self, node: N) -> tuple[N, bool] | None:
        """For ``x.items()``, ``x.keys()`` or ``x.values()``: ``x`` and whether the call has
        arguments; else None."""
        ...

    def call(self, node: N) -> CallParts[N] | None:
        """The parts of a call, or None for anything else."""
        ...

    def integer(self, node: N) -> int | None:
        """The value of an integer literal (``3``, ``-3``), else None."""
        ...


def is_bounded_iterable(node: N, shape: Shape[N], range_limit: int) -> bool:
    """Whether iterating ``node`` runs a small number of times known from the source
    (SPEC 2.1 "Bounded loop")."""
    if shape.fixed_display(node):
        return True
    if shape.constant(node) is not None:
        return True
    view = shape.view_receiver(node)
    if view is not None:
        receiver, has_arguments = view
        if has_arguments:
            return False
        return shape.fixed_dict(shape.constant(receiver) or receiver)
    parts = shape.call(node)
    if parts is None or parts.starred:
        return False  # *args: unknown length
    if parts.name == "range":
        return not parts.keywords and is_small_range(
            [shape.integer(a) for a in parts.positional], range_limit
        )
    if parts.name in BOUNDED_WRAPPERS and parts.positional:
        iterables = parts.positional if parts.name == "zip" else parts.positional[:1]
        return all(is_bounded_iterable(a, shape, range_limit) for a in iterables)
    return False


def is_small_range(values: Sequence[int | None], range_limit: int) -> bool:
    """``range(*values)`` of literals runs at most ``range_limit`` times."""
    if not 1 <= len(values) <= 3:
        return False
    ints = [v for v in values if v is not None]
    if len(ints) != len(values):
        return False
    if len(ints) == 3 and ints[2] == 0:
        return False
    return len(range(*ints)) <= range_limit


def loader_or_sink(catalog: Catalog, qualname: str | None, method: str | None) -> str | None:
    """ "sink" or "loader" for a call the catalogue names by its method (any receiver) or
    its qualified name; None otherwise. ``execute`` and DuckDB's ``append`` are sinks only
    in their forms (see :func:`is_duckdb_append`, the analysis's ``match_sink``)."""
    if method is not None and method in catalog.sink_methods:
        return "sink"
    if qualname is not None and qualname in catalog.sink_functions:
        return "sink"
    if catalog.is_loader(qualname, method):
        return "loader"
    return None


def is_duckdb_append(positional: int, starred: bool, first_is_string: bool) -> bool:
    """``con.append("table", df)``: exactly two positional arguments, the first a string."""
    return positional == 2 and not starred and first_is_string


def is_serialized(qualname: str | None) -> bool:
    """A call of a serialiser (``pickle.dumps``): a loader fed its output makes an
    in-memory round trip (``pickle.loads(pickle.dumps(x))``), not a load."""
    return qualname is not None and qualname in ROUND_TRIP_SERIALIZERS


def is_bound_to_serialized(bound_to: Iterable[str | None]) -> bool:
    """A name whose every binding in its scope is a serialiser's output (``bound_to``: the
    qualified names of the calls it is bound to, None for any other binding)."""
    values = list(bound_to)
    return bool(values) and all(is_serialized(v) for v in values)


def import_bindings(
    module: str | None, level: int, names: Iterable[tuple[str, str | None]], *, from_: bool
) -> Iterator[tuple[str, str, bool]]:
    """(local name, qualified name, whether it replaces an earlier binding) of each name an
    import binds: ``import a.b`` binds ``a`` (kept if ``a`` is bound already), ``import a.b
    as c`` binds ``c`` to ``a.b``, ``from a import b as c`` binds ``c`` to ``a.b``; relative
    modules keep their dots (``from . import x`` is ``.x``); ``*`` binds nothing known."""
    if not from_:
        for name, asname in names:
            if asname:
                yield asname, name, True
            else:
                top = name.split(".", 1)[0]
                yield top, top, False
        return
    base = "." * level + (module or "")
    for name, asname in names:
        if name == "*":
            continue
        target = f"{base}.{name}" if base and not base.endswith(".") else base + name
        yield asname or name, target, True


def name_exemption(
    name: str, catalog: Catalog
) -> Literal["iteration-protocol", "loader-or-sink"] | None:
    """Why a function's loops are its caller's by its name alone: it implements the
    iteration protocol (``__iter__``...) or a loader or sink of the catalogue."""
    if name in ITERATION_PROTOCOL_METHODS:
        return "iteration-protocol"
    if catalog.implements_loader_or_sink(name):
        return "loader-or-sink"
    return None


def is_exempt_function_name(name: str, catalog: Catalog) -> bool:
    """Whether the guard rules leave a function's loops to its caller by its name."""
    return name_exemption(name, catalog) is not None


#: The words that open the main statement of a ``WITH`` query (after its named parts).
_STATEMENT_WORDS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "VALUES"})


def _sql_words(text: str) -> Iterator[tuple[str, int]]:
    """The words of an SQL text with their parenthesis depth, comments and quoted parts
    left out."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"`":
            end = text.find(c, i + 1)
            i = n if end < 0 else end + 1
        elif c == "(":
            depth += 1
            i += 1
        elif c == ")":
            depth = max(depth - 1, 0)
            i += 1
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            yield text[i:j].upper(), depth
            i = j
        else:
            i += 1


def is_query_text(text: str, keywords: frozenset[str]) -> bool:
    """Whether an SQL statement's text is a query (SPEC 2.1): its first word, after
    whitespace and comments, in any case, is one of ``keywords`` (``SELECT``, ``SHOW``...),
    or it is ``WITH`` [``RECURSIVE``] named parts followed by a ``SELECT``."""
    words = _sql_words(text)
    first = next(words, None)
    if first is None:
        return False
    if first[0] in keywords:
        return True
    if first[0] != "WITH":
        return False
    for word, depth in words:
        if depth == 0 and word in _STATEMENT_WORDS:
            return word == "SELECT"
    return False
