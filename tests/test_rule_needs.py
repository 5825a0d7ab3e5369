"""The prefilter knows no rule: it reads what each enabled rule declares it needs. A rule
that declares nothing is run on every file, so that registering a rule never loses its
findings to the speed layer."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.prefilter import Prefilter
from extraction_lint.rules import RULES_BY_CODE, TREE_RULES, tree_codes
from extraction_lint.rules.base import Finding, Need, Rule

#: No sink, no loader, no loop: a file the prefilter skips for every built-in rule.
PLAIN = textwrap.dedent(
    """
    def describe(x):
        print("value", x)
        return str(x)

    class Shape:
        def area(self):
            print("area")
            return 0
    """
).lstrip()


class PrintCalls(Rule):
    """A throwaway rule: reports every call of ``print``, and says nothing of its needs."""

    code = "EXL777"
    name = "print-call"
    summary = "A call of print."
    what_it_does = why_bad = example = use_instead = "."

    def check(self, analysis) -> Iterator[Finding]:
        for scope in analysis.scopes:
            for call in scope.calls:
                if call.qualname == "print":
                    yield Finding(self.code, call.node, "print called")


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(RULES_BY_CODE, PrintCalls.code, PrintCalls)
    return PrintCalls


def lines(result) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in result.diagnostics]


@pytest.mark.parametrize("others", [frozenset(), frozenset(r.code for r in TREE_RULES)])
def test_an_undeclared_rule_gives_the_same_findings_with_and_without_the_prefilter(
    registered, others
):
    enabled = others | {registered.code}
    data = PLAIN.encode()
    with_prefilter = check_source(data, "plain.py", CheckOptions(enabled=enabled))
    without = check_source(data, "plain.py", CheckOptions(enabled=enabled, prefilter=False))
    assert lines(without) == [("EXL777", 2), ("EXL777", 7)]
    assert lines(with_prefilter) == lines(without)


def test_a_registered_rule_is_a_tree_rule(registered):
    assert registered.code in tree_codes()


def test_the_prefilter_skips_nothing_when_a_rule_does_not_say_what_it_needs(registered):
    prefilter = Prefilter(Catalog(), {registered.code, "EXL001"})
    assert prefilter.skips_nothing
    assert prefilter.text_may_match(PLAIN)


def test_the_prefilter_reads_the_needs_the_rules_declare():
    assert Prefilter(Catalog(), {"EXL001"}).needs == {Need.ACCUMULATION}
    assert Prefilter(Catalog(), {"EXL101", "EXL103"}).needs == {Need.GUARDED_EXTRACTION_LOOP}
    every = Prefilter(Catalog(), {r.code for r in TREE_RULES}).needs
    # A plain extraction loop is a need for rules of one's own (the guard rules check fewer).
    assert every == set(Need) - {Need.EXTRACTION_LOOP}
    assert all(r.needs for r in TREE_RULES), "every built-in rule says what it needs"


def test_a_declared_rule_is_skipped_where_none_of_its_needs_holds(monkeypatch):
    class DeclaredPrintCalls(PrintCalls):
        code = "EXL778"
        needs = frozenset({Need.EXTRACTION_LOOP})

    monkeypatch.setitem(RULES_BY_CODE, DeclaredPrintCalls.code, DeclaredPrintCalls)
    enabled = frozenset({DeclaredPrintCalls.code})
    data = PLAIN.encode()
    assert check_source(data, "plain.py", CheckOptions(enabled=enabled)).diagnostics == ()
    looping = (PLAIN + "for row in cur.fetchmany(10):\n    print(row)\n").encode()
    result = check_source(looping, "loop.py", CheckOptions(enabled=enabled))
    assert ("EXL778", 10) in lines(result)


INCIDENT = textwrap.dedent(
    """
    from helpers import extract_signals_from_pickle

    def main(paths, con):
        rows = []
        for path in paths:
            rows.extend(extract_signals_from_pickle(path))
        con.executemany("INSERT INTO signals VALUES (?, ?)", rows)
    """
).lstrip()


def test_a_call_of_a_project_function_that_loads_is_a_trigger():
    """The hook for the project's outlines: a line whose project call may load or write
    (``project_calls``) makes the loop around it an extraction loop."""
    import ast

    from extraction_lint.analysis.outline import LOADS_OR_WRITES

    tree = ast.parse(INCIDENT)
    prefilter = Prefilter(Catalog(), {"EXL101"})
    assert not prefilter.scan(INCIDENT, tree)[0]  # no loader of the catalogue in the loop
    may_match, relevance = prefilter.scan(INCIDENT, tree, {6: frozenset({LOADS_OR_WRITES})})
    assert may_match
    assert 6 in relevance.trigger_lines


ITERABLES = [
    "range(10)",
    "range(1, 10, 2)",
    "range(0, 10, 0)",
    "range(100000)",
    "range(n)",
    "range(*args)",
    "range(3, step=1)",
    "(1, 2, 3)",
    "[a, b]",
    "[*xs]",
    "{1, 2}",
    "{'a': 1}",
    "{**d}",
    "{'a': 1}.items()",
    "{'a': 1}.keys(x)",
    "enumerate((1, 2))",
    "enumerate(paths)",
    "zip((1, 2), range(3))",
    "zip((1, 2), paths)",
    "sorted([3, 1], key=f)",
    "sorted(**kw)",
    "reversed(range(-5, 5))",
    "map(f, (1, 2))",
    "paths",
    "glob('*.pkl')",
]


@pytest.mark.parametrize("iterable", ITERABLES)
def test_the_prefilter_and_the_analysis_agree_on_bounded_loops(iterable):
    """One fact, one implementation: both trees ask ``facts.is_bounded_iterable``."""
    import ast

    import libcst as cst

    from extraction_lint.analysis.module import ModuleAnalysis
    from extraction_lint.prefilter import Triggers, _TreeScan

    text = f"for x in {iterable}:\n    pass\n"
    analysis = ModuleAnalysis(cst.parse_module(text))
    [loop] = analysis.scopes[0].loops
    scan = _TreeScan(Triggers.from_catalog(Catalog()), 1000)
    statement = ast.parse(text).body[0]
    assert isinstance(statement, ast.For)
    assert scan._is_bounded(statement.iter) == loop.bounded, iterable


PARAMETERS = [
    "(a, b)",
    "{'k': v}",
    "{a}",
    "{k: v for k in ks}",
    "{v for v in vs}",
    "'text'",
    "f'{x}'",
    "3",
    "None",
    "tuple(row)",
    "dict(row)",
    "rows",
    "self.rows",
    "[r for r in rows]",
    "list(rows)",
    "helper()",
    "x.tuple(row)",
]


@pytest.mark.parametrize("parameter", PARAMETERS)
def test_the_prefilter_and_the_analysis_agree_on_one_row_parameters(parameter):
    """``execute(sql, p)`` writes rows only when ``p`` is not one row's parameters: both
    trees ask ``facts.is_one_row``."""
    import ast

    from extraction_lint.prefilter import Prefilter

    text = f"import sqlite3\nfor r in rs:\n    cur.execute(sql, {parameter})\n"
    import libcst as cst

    from extraction_lint.analysis.calls import _is_one_row

    one_row = _is_one_row(cst.parse_expression(parameter))
    prefilter = Prefilter(Catalog(), {"EXL101"})
    # A parameter that is one row leaves no trigger in the loop (nothing else is there).
    may_match = prefilter.may_match(text, ast.parse(text))
    if one_row:
        assert not may_match, parameter
    elif parameter.startswith(("[", "list", "helper")):
        assert may_match, parameter


def test_loops_the_guard_rules_leave_to_the_caller_are_not_parsed_for_them():
    """SPEC 2.5: a loop held directly by a generator function, or by a function named as a
    loader, a sink or an iteration method, is not checked by EXL101-EXL103: a file whose
    only extraction loops are such is skipped for them, and only for them."""
    import ast

    exempt = {
        "generator": "def rows(cur):\n    while batch := cur.fetchmany(100):\n        yield batch\n",
        "loader name": "def fetchall(self):\n    for part in self.parts:\n        part.fetchall()\n",
        "iteration": "class R:\n    def __next__(self):\n        for p in self.p:\n            keep(p.fetchmany(9))\n",
    }
    checked = {
        "plain function": "def rows(cur):\n    while batch := cur.fetchmany(100):\n        keep(batch)\n",
        "nested in a generator": (
            "def rows(cur):\n    def drain():\n        for b in cur.fetchmany(5):\n"
            "            keep(b)\n    drain()\n    yield 1\n"
        ),
        "lambda yields do not make a generator of a plain function": (
            "def rows(cur):\n    f = lambda: (yield)\n    while b := cur.fetchmany(9):\n        keep(b)\n"
        ),
    }
    guard_rules = Prefilter(Catalog(), {"EXL101", "EXL102", "EXL103"})
    own_rule_needs = Prefilter(Catalog(), {"EXL101"})
    own_rule_needs.needs = frozenset({Need.EXTRACTION_LOOP})
    for name, text in exempt.items():
        assert not guard_rules.may_match(text, ast.parse(text)), name
        assert own_rule_needs.may_match(text, ast.parse(text)), name
        # The analysis agrees: nothing to report there, parsed or not.
        whole = CheckOptions(enabled=frozenset({"EXL101"}), prefilter=False)
        assert check_source(text.encode(), "m.py", whole).diagnostics == (), name
    for name, text in checked.items():
        assert guard_rules.may_match(text, ast.parse(text)), name
        found = check_source(text.encode(), "m.py", CheckOptions(enabled=frozenset({"EXL101"})))
        assert [d.code for d in found.diagnostics] == ["EXL101"], name
