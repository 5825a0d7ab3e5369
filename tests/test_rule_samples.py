"""Every rule's documented samples are its specification: valid ones give nothing, invalid
ones give exactly the lines marked with the rule's code."""

from __future__ import annotations

import re
import textwrap

import pytest

from extraction_lint.engine import CheckOptions, check_source
from extraction_lint.rules import ALL_RULES, FILE_NOT_CHECKED, UNUSED_NOQA

SAMPLES = [
    pytest.param(rule, kind, index, sample, id=f"{rule.code}-{kind}-{index}")
    for rule in ALL_RULES
    if rule.code != FILE_NOT_CHECKED
    for kind, samples in (("valid", rule.valid), ("invalid", rule.invalid))
    for index, sample in enumerate(samples)
]


def marked_lines(text: str, code: str) -> set[int]:
    marker = re.compile(rf"#\s*{code}\b[^#]*$")
    return {n for n, line in enumerate(text.splitlines(), start=1) if marker.search(line)}


@pytest.mark.parametrize(("rule", "kind", "index", "sample"), SAMPLES)
def test_sample(rule, kind, index, sample):
    text = textwrap.dedent(sample).lstrip("\n")
    enabled = {rule.code}
    if rule.code == UNUSED_NOQA:
        # Whether a noqa is used depends on the rules it silences being on.
        enabled |= CheckOptions().enabled
    result = check_source(
        text.encode("utf-8"), "sample.py", CheckOptions(enabled=frozenset(enabled))
    )
    assert result.error is None, result.error
    reported = {d.line for d in result.diagnostics if d.code == rule.code}
    expected = marked_lines(text, rule.code) if kind == "invalid" else set()
    if kind == "invalid":
        assert expected, "an invalid sample must mark at least one line"
    assert reported == expected, [d.message for d in result.diagnostics]


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.code != FILE_NOT_CHECKED])
def test_every_rule_has_samples(rule):
    assert rule.valid and rule.invalid
