"""The outline's walk and the positions of links in helper modules (SPEC 2.6)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from extraction_lint.analysis.astwalk import code_children
from extraction_lint.analysis.outline import (
    GROWS,
    GUARDS,
    LOADS_OR_WRITES,
    RETURNS,
    guard_names,
    read_outline,
)
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.analysis.summary import Summary
from tests.helpers import REPO
from tests.test_following import codes_by_line, findings, write


def test_the_outline_walk_visits_what_iter_child_nodes_does_but_leaves_and_operators():
    visited = 0
    for path in sorted((REPO / "extraction_lint").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            expected = [
                child
                for child in ast.iter_child_nodes(node)
                if not isinstance(
                    child, ast.Name | ast.Constant | ast.expr_context | ast.operator | ast.cmpop
                )
                and not isinstance(child, ast.boolop | ast.unaryop)
            ]
            assert code_children(node, leaves=False) == expected, (path, ast.dump(node)[:80])
            visited += 1
    assert visited > 100_000


HELPER = '''
"""Writers."""
import functools

# a comment block
# before the class

SQL = (
    "INSERT INTO t "
    "VALUES (?)"
)


class Store:
    """Saves rows."""

    def __init__(self, con):
        self.con = con

    @functools.lru_cache(maxsize=None)
    def other(self):
        return 1


# the write,
# after comments
def _write(con, rows):
    if rows:
        con.executemany(SQL, rows)


def save(con, rows):
    _write(con, rows)
'''


def test_a_link_in_a_helper_module_points_at_its_line_and_column(tmp_path: Path):
    write(
        tmp_path,
        {
            "jobs/__init__.py": "",
            "jobs/io.py": HELPER,
            "run.py": (
                "from jobs.io import save\n\nrows = []\nfor p in paths:\n"
                "    rows.extend(load_rows(p))\nsave(con, rows)\n"
            ),
        },
    )
    found = findings(tmp_path, "run.py")
    assert codes_by_line(found) == {("run.py", 6, "EXL001")}
    chain = [(r["path"], r["line"], r["column"]) for r in found[0]["related"]]
    lines = HELPER.lstrip("\n").splitlines()
    sink_line = next(i for i, text in enumerate(lines, 1) if "executemany" in text)
    call_line = next(i for i, text in enumerate(lines, 1) if text == "    _write(con, rows)")
    assert ("jobs/io.py", call_line, 5) in chain
    assert ("jobs/io.py", sink_line, 9) in chain


# --- the outline says no only where the summary does -------------------------------------


def _sources() -> list[tuple[str, str]]:
    """The rules' samples, the examples and the package's own modules."""
    from extraction_lint.rules import ALL_RULES

    out = [
        (f"{rule.code}-{index}", textwrap.dedent(sample).lstrip("\n"))
        for rule in ALL_RULES
        for index, sample in enumerate((*rule.valid, *rule.invalid))
    ]
    for folder in ("examples", "extraction_lint"):
        for path in sorted((REPO / folder).rglob("*.py")):
            out.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    return out


def _said(summary: Summary) -> set[str]:
    """The outline flags a function's own summary needs."""
    said = set()
    if summary.loads or summary.writes or summary.writes_inputs:
        said.add(LOADS_OR_WRITES)
    if summary.grows_inputs or summary.flushes_inputs:
        said.add(GROWS)
    if summary.heartbeat or summary.memory or summary.stall:
        said.add(GUARDS)
    if summary.returns_inputs or summary.returns_accumulation or summary.returns_materialization:
        said.add(RETURNS)
    return said


def test_the_outline_flags_every_effect_the_summary_finds():
    import libcst as cst

    from extraction_lint.analysis.effects import module_facts
    from extraction_lint.analysis.module import ModuleAnalysis

    settings = AnalysisSettings()
    guards = guard_names(settings.catalog)
    checked = flagged_io = 0
    for name, text in _sources():
        outline = read_outline(ast.parse(text), name, name, settings.catalog, guards)
        analysis = ModuleAnalysis(cst.parse_module(text), settings)
        facts = module_facts(analysis, name, name, "", lambda node: (1, 1))
        for qualname, function in facts.functions.items():
            flags = outline.functions[qualname].flags
            missing = _said(function.local) - flags
            assert not missing, (name, qualname, missing)
            checked += 1
            flagged_io += LOADS_OR_WRITES in flags
    assert checked > 1000
    assert flagged_io > 100


def test_a_call_is_a_loader_or_sink_in_the_outline_as_in_the_analysis():
    text = textwrap.dedent(
        """
        import json
        import pickle as pk
        from json import load

        def plain(con, sql, path):
            con.execute(sql)
            con.execute(sql, (1, 2))
            json.loads(path)
            return open(path).read()

        def params(con, sql, rows):
            con.execute(sql, rows)

        def aliased(f):
            return pk.load(f)

        def imported(f):
            return load(f)

        def method(cur):
            return cur.fetchall()

        def either(f):
            import ujson as json2
            from pickle import loads as json2
            return json2(f)
        """
    )
    settings = AnalysisSettings()
    outline = read_outline(
        ast.parse(text), "m.py", "m.py", settings.catalog, guard_names(settings.catalog)
    )
    io = {q for q, f in outline.functions.items() if LOADS_OR_WRITES in f.flags}
    assert io == {"params", "aliased", "imported", "method", "either"}
