"""What a call does, by the catalogue: a sink (bulk write), a loader, or neither."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from extraction_lint.analysis.catalog import (
    ARGUMENT_SINK_METHODS,
    DUCKDB_APPEND_METHOD,
    EXECUTE_METHOD,
    FRAME_CLASS_NAMES,
    QUERY_KEYWORDS,
    RECEIVER_SINK_METHODS,
    Catalog,
)
from extraction_lint.analysis.facts import (
    EXECUTE_PARAMETER_KEYWORDS,
    EXECUTE_STATEMENT_KEYWORDS,
    is_duckdb_append,
    is_one_row,
    is_query_text,
    loader_or_sink,
)
from extraction_lint.analysis.model import CallSite


@dataclass(frozen=True, slots=True)
class SinkCall:
    """A bulk write, with the expressions whose data it writes.

    For a frame writer the receiver (``df.to_parquet(p)`` writes ``df``); for the other
    method sinks every argument (``writers[k].writerows(batch)`` writes ``batch``); for
    ``x.execute(sql, params)`` only ``params``; for DuckDB's ``con.append("table", df)``
    only ``df``; for a function sink every argument.
    """

    call: CallSite
    name: str
    data: tuple[cst.BaseExpression, ...]
    #: ``execute`` is a sink only when its parameters are a list of records (SQLAlchemy's
    #: executemany form): the rules check that the data they carry is such a list.
    conditional: bool = False
    #: For the call of a project function that writes what it is passed: the sink that
    #: writes it in the end (``.to_parquet``, a method, or ``json.dump``), "" if unknown.
    inner: str = ""
    #: The call of a project function that writes what it is passed (SPEC 2.6).
    helper: bool = False

    @property
    def kind(self) -> tuple[str, bool]:
        """The sink whose kind the advice follows, and whether it is a method: the call's
        own, or for a helper the one that writes in the end."""
        if self.inner:
            return self.inner.lstrip("."), self.inner.startswith(".")
        return self.name, self.call.method == self.name

    @property
    def spelled(self) -> str:
        """``.name`` for a method sink, the qualified name for a function sink."""
        name, method = self.kind
        return f".{name}" if method else name


def _names_a_frame_class(node: cst.BaseExpression) -> bool:
    """``pd.DataFrame``, ``polars.DataFrame``, ``DataFrame``: a frame writer called on the
    class is called with the frame as its first argument."""
    if isinstance(node, cst.Attribute):
        return node.attr.value in FRAME_CLASS_NAMES
    return isinstance(node, cst.Name) and node.value in FRAME_CLASS_NAMES


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None]


def _is_string_literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString)


_DISPLAYS = (cst.Tuple, cst.Dict, cst.Set)
_COMPREHENSIONS = (cst.DictComp, cst.SetComp)
_LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
)


def _leading_text(node: cst.BaseExpression) -> str | None:
    """The text a string expression starts with: a literal, a concatenation, an f-string,
    ``"..." % args`` or ``"...".format(...)``; None for anything else."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else value.decode("latin-1")
    if isinstance(node, cst.ConcatenatedString):
        left = _leading_text(node.left) or ""
        return left + (_leading_text(node.right) or "")
    if isinstance(node, cst.FormattedString):
        # A replacement field stands for one unknown word.
        return "".join(
            p.value if isinstance(p, cst.FormattedStringText) else " _ " for p in node.parts
        )
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        return _leading_text(node.left)
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "format"
    ):
        return _leading_text(node.func.value)
    return None


def _is_query(node: cst.BaseExpression) -> bool:
    """``execute("SELECT ... IN (%s, %s)", ids)``: parameters of a query, not rows."""
    text = _leading_text(node)
    return text is not None and is_query_text(text, QUERY_KEYWORDS)


def _is_one_row(node: cst.BaseExpression) -> bool:
    """``execute(sql, (a, b))``, ``{...}``, ``tuple(...)``: one row's parameters (the shared
    fact, :func:`extraction_lint.analysis.facts.is_one_row`)."""
    if isinstance(node, _DISPLAYS):
        kind = "display"
    elif isinstance(node, _COMPREHENSIONS):
        kind = "comprehension"
    elif isinstance(node, _LITERALS) or (isinstance(node, cst.Name) and node.value == "None"):
        kind = "literal"
    elif isinstance(node, cst.Subscript) and all(
        isinstance(e.slice, cst.Index) and not isinstance(e.slice.value, cst.List)
        for e in node.slice
    ):
        kind = "element"
    else:
        kind = "other"
    callee = (
        node.func.value if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) else None
    )
    return is_one_row(kind, callee)


def match_sink(call: CallSite, catalog: Catalog) -> SinkCall | None:
    """The call as a sink, or None when it writes nothing in bulk (SPEC 2.1 "Sink")."""
    node = call.node
    args = tuple(a.value for a in node.args)
    method = call.method
    if method is not None:
        receiver = call.receiver
        assert receiver is not None
        if loader_or_sink(catalog, None, method) == "sink":
            # The records are the receiver of a frame writer, the arguments of the others
            # (both for a sink method the configuration adds).
            if method in RECEIVER_SINK_METHODS:
                if _names_a_frame_class(receiver):
                    # ``pd.DataFrame.to_parquet(df, path)``: the frame is the first argument.
                    return SinkCall(call, method, args[:1])
                return SinkCall(call, method, (receiver,))
            if method in ARGUMENT_SINK_METHODS:
                return SinkCall(call, method, args)
            return SinkCall(call, method, (receiver, *args))
        positional = _positional(node)
        if method == EXECUTE_METHOD:
            params = [a.value for a in positional[1:2]]
            params += [
                a.value
                for a in node.args
                if a.keyword is not None and a.keyword.value in EXECUTE_PARAMETER_KEYWORDS
            ]
            params = [p for p in params if not _is_one_row(p)]
            statement = positional[0].value if positional else None
            if statement is None:
                statement = next(
                    (
                        a.value
                        for a in node.args
                        if a.keyword is not None and a.keyword.value in EXECUTE_STATEMENT_KEYWORDS
                    ),
                    None,
                )
            if params and not (statement is not None and _is_query(statement)):
                return SinkCall(call, method, tuple(params), conditional=True)
            return None
        if method == DUCKDB_APPEND_METHOD and is_duckdb_append(
            len(positional),
            any(a.star for a in positional),
            bool(positional) and _is_string_literal(positional[0].value),
        ):
            return SinkCall(call, f"{method}", (positional[1].value,))
    if call.qualname is not None and loader_or_sink(catalog, call.qualname, None) == "sink":
        return SinkCall(call, call.qualname, args)
    return None


def is_loader(call: CallSite, catalog: Catalog) -> bool:
    """Whether the call loads data (SPEC 2.1 "Loader")."""
    return loader_or_sink(catalog, call.qualname, call.method) == "loader"
