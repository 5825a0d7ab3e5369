"""The prefilter, the result cache and worker processes change how fast results come, never
what they are: over the test corpus (every rule sample, the examples, this package's own
code and some bad files), every combination gives the same report."""

from __future__ import annotations

import json
import textwrap

import pytest

from extraction_lint.analysis.catalog import Catalog
from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.prefilter import Prefilter
from extraction_lint.rules import ALL_RULES, TREE_RULES
from tests.helpers import REPO, run_cli

ALL_CODES = frozenset(r.code for r in TREE_RULES)


def samples() -> list[tuple[str, str]]:
    out = []
    for rule in ALL_RULES:
        for kind, group in (("valid", rule.valid), ("invalid", rule.invalid)):
            for index, sample in enumerate(group):
                name = f"{rule.code.lower()}_{kind}_{index}.py"
                out.append((name, textwrap.dedent(sample).lstrip("\n")))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for name, text in samples():
        (root / "samples" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "samples" / name).write_text(text, encoding="utf-8")
    for path in (REPO / "examples").glob("*.py"):
        (root / "examples").mkdir(exist_ok=True)
        (root / "examples" / path.name).write_bytes(path.read_bytes())
    for path in (REPO / "extraction_lint").rglob("*.py"):
        target = root / "package" / path.relative_to(REPO / "extraction_lint")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (root / "bad").mkdir()
    (root / "bad" / "syntax.py").write_text("def f(:\n    pass\n")
    (root / "bad" / "latin.py").write_bytes(b"x = '\xe9'\n")
    (root / "bad" / "noqa_only.py").write_text("x = 1  # noqa: EXL001 stale\n")
    return root


def report(corpus, *args: str) -> dict:
    run = run_cli("--format", "json", "--select", "ALL", *args, ".", cwd=corpus)
    assert run.code == 1, run.err
    data = json.loads(run.out)
    data.pop("version")
    data["summary"].pop("skipped", None)
    return data


@pytest.fixture(scope="module")
def baseline(corpus):
    return report(corpus, "--no-prefilter", "--no-cache", "-j", "1")


def test_baseline_is_a_real_report(baseline):
    codes = set(baseline["summary"]["by_code"])
    assert {"EXL001", "EXL002", "EXL003", "EXL101", "EXL102", "EXL103", "EXL900", "EXL999"} <= codes
    assert baseline["summary"]["files"] > 400


def test_prefilter_changes_nothing(corpus, baseline):
    assert report(corpus, "--no-cache", "-j", "1") == baseline


def test_workers_change_nothing(corpus, baseline):
    assert report(corpus, "--no-cache", "-j", "2") == baseline
    assert report(corpus, "--no-cache", "--no-prefilter", "-j", "2") == baseline


def test_cache_changes_nothing(corpus, baseline, tmp_path):
    cache = str(tmp_path / "cache")
    assert report(corpus, "--cache-dir", cache, "-j", "2") == baseline  # cold
    assert report(corpus, "--cache-dir", cache, "-j", "2") == baseline  # warm
    assert report(corpus, "--cache-dir", cache, "-j", "1") == baseline  # warm, in process


@pytest.mark.parametrize(("name", "text"), samples(), ids=[n for n, _ in samples()])
def test_prefilter_never_skips_a_file_with_findings(name, text):
    """Per file: whenever the full analysis reports something, the prefilter lets it by
    (by itself, or because the file calls one of its own functions that loads or writes:
    such a call is a trigger, SPEC 2.6)."""
    data = text.encode()
    full = check_source(data, name, CheckOptions(enabled=ALL_CODES, prefilter=False))
    if not full.diagnostics:
        return
    for code in {d.code for d in full.diagnostics}:
        only = CheckOptions(enabled=frozenset({code}), prefilter=False)
        expected = check_source(data, name, only).diagnostics
        if not expected:
            continue
        import ast

        prefilter = Prefilter(Catalog(), {code})
        if prefilter.may_match(text, ast.parse(text)):
            continue
        filtered = check_source(data, name, CheckOptions(enabled=frozenset({code})))
        assert filtered.diagnostics == expected, code


def test_positions_of_single_statements_match_the_whole_module(corpus):
    """Positions are computed for the statements that hold findings only; they must be the
    ones the whole module's code generation gives."""
    import ast

    import libcst as cst

    from extraction_lint.analysis.module import ModuleAnalysis
    from extraction_lint.positions import module_positions as _positions
    from extraction_lint.positions import statement_lines
    from extraction_lint.positions import statement_positions as _statement_positions

    checked = 0
    for path in sorted(corpus.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text)
            module = cst.parse_module(text)
        except Exception:
            continue
        analysis = ModuleAnalysis(module)
        whole = _positions(module)
        indexes = range(len(module.body))
        partial = _statement_positions(module, indexes, statement_lines(tree))
        assert partial is not None, path
        for scope in analysis.scopes:
            for node in [c.node for c in scope.calls] + [loop.node for loop in scope.loops]:
                assert partial[node] == whole[node], (path, analysis.code(node))
                checked += 1
    assert checked > 4000


def test_positions_computed_later_match_the_whole_module(corpus):
    """A module read for its summaries keeps its text, not its tree: a link's position is
    computed when a finding shows it, from the text parsed again. It must be the one the
    first tree's code generation gives, for every node a finding can point at."""
    import libcst as cst

    from extraction_lint.analysis.module import ModuleAnalysis
    from extraction_lint.positions import Relocator
    from extraction_lint.positions import module_positions as _positions

    checked = 0
    for path in sorted(corpus.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            module = cst.parse_module(text)
        except Exception:
            continue
        analysis = ModuleAnalysis(module)
        whole = _positions(module)
        relocator = Relocator(text, analysis)
        numbers = [(node, relocator.number(node)) for node in analysis.numbered_nodes()]
        relocator.done()
        del analysis, module
        for node, number in numbers:
            assert number is not None
            expected = whole[node]
            assert relocator.position(number) == (expected.start.line, expected.start.column + 1)
            checked += 1
    assert checked > 4000


@pytest.mark.parametrize(
    ("call", "more"),
    [
        ("cur.execute(sql)", False),
        ("cur.execute(sql, rows)", True),
        ('cur.execute("SELECT a, b FROM t")', False),
        ("cur.execute('it\\'s, fine')", False),
        ('cur.execute("""SELECT a,\n b""")', False),
        ('cur.execute("""SELECT a,\n b""", rows)', True),
        ("cur.execute(build(a, b))", False),
        ("cur.execute(build(a, b), rows)", True),
        ("cur.execute(params=rows)", True),
        ("cur.execute(sql  # a, b\n)", False),
        ('cur.execute({"a": 1, "b": 2}[key])', False),
        ('cur.execute("ends with a backslash\\\\", rows)', True),
        ('cur.execute("never closed', True),
        ("cur.execute(sql", True),
    ],
)
def test_the_prefilter_sees_whether_execute_has_parameters(call, more):
    """``x.execute(sql)`` alone is never a sink, so stage 1 does not count it; anything
    that may carry parameters (or that the scan cannot read) does count."""
    assert Prefilter(Catalog(), ALL_CODES).text_may_match(call) is more
