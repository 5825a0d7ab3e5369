"""Fingerprints: what they hash (SPEC 3, baselines and SARIF partialFingerprints)."""

from __future__ import annotations

from extraction_lint.baseline import flagged_source, with_fingerprints
from extraction_lint.diagnostics import Diagnostic


def finding(line: int, column: int, end_line: int, end_column: int, code: str = "EXL001"):
    return Diagnostic(code, "name", "a.py", line, column, end_line, end_column, "message")


def test_the_flagged_source_is_the_range_with_whitespace_collapsed():
    lines = ["x = 1", "con.executemany(  SQL,", "    rows)  # why", ""]
    assert flagged_source(lines, finding(2, 1, 3, 10)) == "con.executemany( SQL, rows)"
    assert flagged_source(lines, finding(1, 5, 1, 6)) == "1"
    assert flagged_source(lines, finding(9, 1, 9, 2)) == ""


def test_line_numbers_do_not_count_and_the_code_and_occurrence_do():
    before = "for p in ps:\n    load(p)\n"
    after = "import os\n\n\n" + before
    (a,) = with_fingerprints([finding(1, 1, 1, 12)], before)
    (b,) = with_fingerprints([finding(4, 1, 4, 12)], after)
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 32
    (c,) = with_fingerprints([finding(1, 1, 1, 12, code="EXL101")], before)
    assert c.fingerprint != a.fingerprint
    twice = before + before
    first, second = with_fingerprints([finding(1, 1, 1, 12), finding(3, 1, 3, 12)], twice)
    assert first.fingerprint == a.fingerprint != second.fingerprint
