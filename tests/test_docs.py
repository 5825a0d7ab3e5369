"""Documentation generated from the code stays in step with it."""

from __future__ import annotations

from extraction_lint.docs import rule_pages
from extraction_lint.rules import ALL_RULES
from tests.helpers import REPO

SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Known problems",
    "## Options",
)


def test_rule_pages_are_up_to_date():
    directory = REPO / "rules"
    stale = [
        name
        for name, text in rule_pages().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in directory.glob("EXL*.md") if p.name not in rule_pages())
    assert not stale and not extra, (
        f"rule pages out of date: {stale + extra}; run `python -m extraction_lint.docs rules`"
    )


def test_every_page_has_every_section_in_order():
    for rule in ALL_RULES:
        text = rule.documentation()
        positions = [text.index(section) for section in SECTIONS]
        assert positions == sorted(positions), rule.code


def test_readme_lists_every_rule():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        assert f"`{rule.code}`" in readme and rule.name in readme, rule.code


def test_every_parameter_of_guard_has_a_row_in_the_guardrails_page():
    import inspect
    import re

    from extraction_lint.guardrails import guard

    page = (REPO / "docs" / "guardrails.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    missing = [name for name in inspect.signature(guard).parameters if name not in rows]
    assert not missing, f"docs/guardrails.md has no row for guard({', '.join(missing)})"
