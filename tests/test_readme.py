"""The README stays short and true: its commands are the ones CI runs, its sample output
is what the linter prints, its links and its pre-commit `rev` resolve."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.helpers import REPO, run_process

README = (REPO / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
)


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def test_readme_is_short():
    assert len(README.splitlines()) <= 300


def test_the_test_command_is_the_one_ci_runs():
    assert TEST_COMMAND in _sh_blocks(README)[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1] == TEST_COMMAND


def test_the_sample_output_is_what_the_lint_command_prints():
    lint = _sh_blocks(README)[0].strip()
    assert lint.endswith(".venv/bin/extraction-lint examples/")
    sample = re.search(r"What the first one prints:\n\n```text\n(.*?)```", README, re.DOTALL)
    assert sample is not None
    run = run_process("--no-cache", "examples/", cwd=REPO, env={"NO_COLOR": "1"})
    assert run.returncode == 1

    def located(lines: list[str]) -> list[str]:
        # Findings by where and what (their wording may change without the README
        # lying); every other line (fixes available, the summary) exactly.
        return [" ".join(line.split(" ", 2)[:2]) if ": EXL" in line else line for line in lines]

    shown = sample.group(1).strip().splitlines()
    printed = run.stdout.strip().splitlines()
    assert located(shown) == located(printed)


def test_relative_links_resolve():
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_the_pre_commit_rev_is_a_commit_with_the_hook():
    (repo,) = yaml.safe_load((REPO / "examples" / "pre-commit-config.yaml").read_text())["repos"]
    rev = repo["rev"]
    assert f"rev: {rev}" in README
    assert rev in (REPO / "examples" / "github-workflow.yml").read_text(encoding="utf-8")
    hooks = yaml.safe_load(_git("show", f"{rev}:.pre-commit-hooks.yaml"))
    (hook,) = [h for h in hooks if h["id"] == "extraction-lint"]
    assert hook["types_or"] == ["python", "pyi", "jupyter"]
    assert hook["entry"] == "extraction-lint --force-exclude"


def test_docs_pages_hold_what_left_the_readme():
    guardrails = (REPO / "docs" / "guardrails.md").read_text(encoding="utf-8")
    assert "## What each guard does" in guardrails and "## Overhead" in guardrails
    reference = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    assert "## Resuming" in reference and "## Benchmark" in reference
    performance = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    assert "benchmarks/lint_speed.py" in performance
