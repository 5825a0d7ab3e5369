"""The outline's walk and the positions of links in helper modules (SPEC 2.6)."""

from __future__ import annotations

import ast
from pathlib import Path

from extraction_lint.analysis.astwalk import code_children
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
