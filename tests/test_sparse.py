"""libcst parses only the definitions that can matter (extraction_lint/sparse.py); what the
others would have told the analysis comes from the interpreter's tree. Whatever is left
out, the analysis and the report must be exactly those of the whole file."""

from __future__ import annotations

import ast
import json
import re
import textwrap

import libcst as cst
import pytest

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.analysis.module import ModuleAnalysis
from extraction_lint.analysis.project import Project
from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.prefilter import Prefilter, Relevance
from extraction_lint.rules import TREE_RULES
from extraction_lint.sparse import sparse_source
from tests.helpers import REPO
from tests.test_equivalence import samples

ALL_CODES = frozenset(r.code for r in TREE_RULES)


def relevance_of(text: str, tree: ast.Module) -> Relevance:
    """What the prefilter finds in ``text``, whatever its verdict (so that every file of a
    corpus is made sparse, not only those in which a rule can fire)."""
    return Prefilter(Catalog(), ALL_CODES).scan(text, tree)[1]


def facts(analysis: ModuleAnalysis) -> dict:
    findings = []
    for rule in TREE_RULES:
        for finding in rule().check(analysis):
            findings.append((finding.code, finding.message))
    return {
        "imports": analysis.imports.imports,
        "bound": analysis.imports.bound,
        "constants": sorted(analysis.bounded._constants),
        "findings": sorted(findings),
    }


def compare(text: str) -> int:
    """Assert that the sparse analysis of ``text`` is the full one; return how many
    definitions were left out."""
    tree = ast.parse(text)
    prefilter = Prefilter(Catalog(), ALL_CODES)
    may_match, relevance = prefilter.scan(text, tree)
    follows = bool(Project(None, AnalysisSettings()).call_flags(tree, text, "", "m.py"))
    if not may_match and follows:
        return 0  # the engine checks the whole file: it calls a function that loads or writes
    sparse = sparse_source(text, tree, relevance)
    if sparse is None:
        return 0
    assert sparse.text.count("\n") == text.count("\n")
    full = ModuleAnalysis(cst.parse_module(text))
    partial = ModuleAnalysis(cst.parse_module(sparse.text), outside=sparse.outside, full_text=text)
    assert facts(partial) == facts(full)
    return sparse.dropped


def report(text: str, prefilter: bool) -> list[dict]:
    result = check_source(text.encode(), "m.py", CheckOptions(prefilter=prefilter))
    return [json.loads(json.dumps(d.to_dict())) for d in result.diagnostics]


def test_every_file_of_the_test_corpus_analyses_the_same_when_sparse():
    texts = [text for _, text in samples()]
    texts += [p.read_text() for p in (REPO / "extraction_lint").rglob("*.py")]
    texts += [p.read_text() for p in (REPO / "examples").glob("*.py")]
    dropped = sum(compare(text) for text in texts)
    assert dropped > 100  # the comparison is not vacuous


UNRELATED = """
    def unrelated_{n}(values):
        total = 0
        for value in values:
            total += value
        return total
"""


def module(body: str, padding: int = 3) -> str:
    extra = "".join(textwrap.dedent(UNRELATED.format(n=n)) for n in range(padding))
    return (extra + textwrap.dedent(body)).lstrip("\n")


CASES = {
    # A parameter of a definition left out still makes ``print`` unknown, as in the full
    # analysis (no heartbeat then).
    "bound-builtin": """
        import pickle

        def shadow(print):
            return print

        def extract(paths):
            for path in paths:
                pickle.load(open(path, "rb"))
                print(path)
    """,
    # An import inside a definition left out still resolves ``tqdm`` everywhere.
    "import-inside": """
        import pickle

        def setup():
            from tqdm import tqdm
            return tqdm

        def extract(paths):
            for path in tqdm(paths):
                pickle.load(open(path, "rb"))
    """,
    # A definition left out that changes a constant makes loops over it unbounded.
    "mutated-constant": """
        NAMES = ["a", "b"]

        def register(name):
            NAMES.append(name)

        def extract(con):
            rows = []
            for name in NAMES:
                rows.append(name)
            con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    "global-constant": """
        NAMES = ("a", "b")

        def reset():
            global NAMES
            NAMES = ()

        def extract(con):
            rows = []
            for name in NAMES:
                rows.append(name)
            con.executemany("INSERT INTO t VALUES (?)", rows)
    """,
    # The helper a sink's scope calls is kept (EXL003).
    "helper": """
        def collect(cursor):
            rows = []
            for row in cursor:
                rows.append(row)
            return rows

        def extract(con, cursor):
            con.executemany("INSERT INTO t VALUES (?)", collect(cursor))
    """,
    # A method that binds an attribute is kept: guards are looked up class-wide.
    "attribute-binding": """
        import pickle
        from tqdm import tqdm

        class Job:
            def __init__(self, paths):
                self.bar = tqdm(total=len(paths))

            def other(self):
                return 1

            def run(self, paths):
                for path in paths:
                    pickle.load(open(path, "rb"))
                    self.bar.update(1)
    """,
    # The same name imported as two things: which wins depends on the order, so kept.
    "conflicting-imports": """
        from json import dump

        def other():
            from pickle import dump
            return dump

        def extract(rows, out):
            data = []
            for row in rows:
                data.append(row)
            dump(data, out)
    """,
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_what_is_left_out_changes_nothing(body):
    text = module(body)
    assert compare(text) >= 3  # at least the unrelated definitions
    assert report(text, prefilter=True) == report(text, prefilter=False)


def stubbed(text: str) -> set[str]:
    tree = ast.parse(text)
    sparse = sparse_source(text, tree, relevance_of(text, tree))
    if sparse is None:
        return set()
    return {
        m.group(1) for m in re.finditer(r"(?m)^\s*(?:def|class) (\w+)(?:\(\))?: pass$", sparse.text)
    }


def test_definitions_that_can_matter_are_kept():
    assert stubbed(module(CASES["helper"])) == {f"unrelated_{n}" for n in range(3)}
    assert "__init__" not in stubbed(module(CASES["attribute-binding"]))
    assert "other" in stubbed(module(CASES["attribute-binding"]))
    assert "other" not in stubbed(module(CASES["conflicting-imports"]))
    walrus = module("def f(x=(y := 1)):\n    return x\n\nimport json\njson.dump([], None)\n")
    assert "f" not in stubbed(walrus)


def test_a_process_wide_limit_keeps_the_whole_module():
    text = module("import resource\nresource.setrlimit(resource.RLIMIT_AS, (1, 1))\n")
    tree = ast.parse(text)
    assert sparse_source(text, tree, relevance_of(text, tree)) is None


def test_stubs_keep_every_line_and_ending():
    text = module(CASES["helper"]).replace("\n", "\r\n")
    tree = ast.parse(text)
    sparse = sparse_source(text, tree, relevance_of(text, tree))
    assert sparse is not None
    assert sparse.text.count("\r\n") == text.count("\r\n")
    kept = [line for line in sparse.text.split("\r\n") if line and "pass" not in line]
    assert all(line in text.split("\r\n") for line in kept)
