"""A checked file's trees are freed when its check ends, by reference counting alone: no
cycle keeps them for the garbage collector (whose rescans of live trees were a fifth of a
large run), whatever the file needed (helpers of other modules, parts of its own text
left out and read later, findings with chains)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.test_following import write

PROBE = """
import gc, sys
from pathlib import Path
import libcst, ast
from extraction_lint.engine import check_path
from extraction_lint.options import CheckOptions

root = Path(sys.argv[1])
for run_id in ("first", "measured"):  # the first imports what checks need
    options = CheckOptions(project_root=str(root), run_id=run_id)
    gc.collect()
    gc.disable()
    found = 0
    for name in sys.argv[2:]:
        found += len(check_path(root / name, name, options).diagnostics)
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
trees = [o for o in gc.garbage if isinstance(o, (libcst.CSTNode, ast.AST))]
print(found, len(gc.garbage), len(trees))
"""

FILES = {
    "jobs/__init__.py": "",
    "jobs/io.py": """
        import pickle

        SQL = "INSERT INTO t VALUES (?, ?)"

        def save(con, rows):
            con.executemany(SQL, rows)

        def load_rows(path):
            with open(path, "rb") as f:
                return pickle.load(f)
        """,
    "run.py": """
        from jobs.io import load_rows, save

        class Unrelated:
            def method(self):
                return [x for x in range(3)]

        def later(con, paths):
            for p in paths:
                save(con, load_rows(p))

        def main(con, paths):
            rows = []
            for p in paths:
                rows.extend(load_rows(p))
            save(con, rows)
            later(con, paths)
        """,
    "plain.py": """
        def total(values):
            return sum(values)
        """,
}


def test_no_tree_outlives_its_check_but_in_a_cycle(tmp_path: Path):
    write(tmp_path, {k: textwrap.dedent(v) for k, v in FILES.items()})
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), "run.py", "plain.py"],
        capture_output=True,
        text=True,
        check=True,
    )
    found, garbage, trees = map(int, run.stdout.split())
    assert found >= 4  # EXL001, and EXL101-103 on the loops through the helpers
    assert trees == 0, run.stdout
    assert garbage < 50
