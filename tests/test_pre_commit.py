"""The pre-commit hook, run by the real pre-commit on a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.helpers import BROKEN, CLEAN, REPO, write

pytestmark = pytest.mark.slow

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    """One hook environment cache for the module: installing it is the slow part."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path):
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "user@example.com")
    git(repo, "config", "user.name", "User")
    return repo


def run_pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [*PRE_COMMIT, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=900
    )


def commit_all(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")


def test_hook_definition_follows_the_conventions():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "extraction-lint"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "pyi", "jupyter"]
    assert hook["require_serial"] is True
    assert hook["entry"] == "extraction-lint --force-exclude"
    assert hook["minimum_pre_commit_version"]


def test_try_repo_fails_on_the_broken_file_and_passes_on_the_fixed_one(user_repo, pre_commit_home):
    write(user_repo / "jobs" / "extract.py", BROKEN)
    write(user_repo / "jobs" / "util.py", CLEAN)
    commit_all(user_repo)
    failing = run_pre_commit(
        user_repo, pre_commit_home, "try-repo", str(REPO), "extraction-lint", "--all-files"
    )
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "jobs/extract.py:6:1: EXL001 `rows` grows" in failing.stdout
    assert not any(line.startswith("jobs/util.py:") for line in failing.stdout.splitlines())
    assert "\x1b[" not in failing.stdout.split("- hook id: extraction-lint")[-1]

    fixed = """
    import pickle

    from extraction_lint.guardrails import guard

    with guard(total=len(paths), memory_limit="2 GiB", stall_timeout="5m") as g:
        for path in g.track(paths):
            rows = pickle.load(open(path, "rb"))
            con.executemany("INSERT INTO t VALUES (?)", rows)
    """
    write(user_repo / "jobs" / "extract.py", fixed)
    commit_all(user_repo)
    passing = run_pre_commit(
        user_repo, pre_commit_home, "try-repo", str(REPO), "extraction-lint", "--all-files"
    )
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout


def test_config_pointing_at_the_repository(user_repo, pre_commit_home, tmp_path):
    # A clone of the project at its current commit, as a user's config would reach it.
    if git(REPO, "status", "--porcelain", "--", ".pre-commit-hooks.yaml", "extraction_lint"):
        source = tmp_path / "project"
        shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", "bench-corpus"))
        git(source, "add", "-A")
        git(source, "-c", "user.email=x@example.com", "-c", "user.name=x", "commit", "-qm", "wip")
    else:
        source = REPO
    rev = git(source, "rev-parse", "HEAD").strip()
    example = yaml.safe_load((REPO / "examples" / "pre-commit-config.yaml").read_text())
    example["repos"][0]["repo"] = str(source)
    example["repos"][0]["rev"] = rev
    (user_repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(example))
    write(
        user_repo / "pyproject.toml",
        """
        [tool.extraction-lint]
        extend-exclude = ["legacy"]
        """,
    )
    write(user_repo / "legacy" / "old_job.py", BROKEN)
    write(user_repo / "src" / "job.py", BROKEN)
    write(user_repo / "src" / "ok.py", CLEAN)
    commit_all(user_repo)

    result = run_pre_commit(user_repo, pre_commit_home, "run", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    # Exactly the files pre-commit passed, minus the excluded ones, with their paths as given.
    reported = {line.split(":", 1)[0] for line in result.stdout.splitlines() if ": EXL" in line}
    assert reported == {"src/job.py"}
    assert "legacy/old_job.py" not in result.stdout

    # Only the changed file is checked when pre-commit runs on staged files.
    write(user_repo / "src" / "job.py", CLEAN)
    git(user_repo, "add", "src/job.py")
    staged = run_pre_commit(user_repo, pre_commit_home, "run", "--verbose")
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert "All checks passed (1 file checked)." in staged.stdout


def test_hook_arguments_are_passed(user_repo, pre_commit_home):
    config = textwrap.dedent(
        f"""
        repos:
          - repo: {REPO}
            rev: {git(REPO, "rev-parse", "HEAD").strip()}
            hooks:
              - id: extraction-lint
                args: [--select, EXL001]
        """
    )
    (user_repo / ".pre-commit-config.yaml").write_text(config)
    write(user_repo / "job.py", BROKEN)
    commit_all(user_repo)
    result = run_pre_commit(user_repo, pre_commit_home, "run", "--all-files", "--verbose")
    assert result.returncode == 1
    assert "EXL001" in result.stdout
    assert "EXL101" not in result.stdout


def test_hook_checks_notebooks(user_repo, pre_commit_home):
    # pre-commit tags .ipynb files `jupyter`: the hook's types_or names it, as Ruff's does.
    from tests.notebooks.nb import ACCUMULATE, FIXABLE, save

    save(user_repo / "analysis" / "extract.ipynb", ACCUMULATE)
    save(user_repo / "analysis" / "other.ipynb", FIXABLE)
    write(user_repo / "jobs" / "util.py", CLEAN)
    commit_all(user_repo)
    result = run_pre_commit(
        user_repo, pre_commit_home, "try-repo", str(REPO), "extraction-lint", "--all-files"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "analysis/extract.ipynb:cell 5:1:1: EXL001 `rows` grows" in result.stdout
    assert "analysis/other.ipynb:cell 3:2:5: EXL101" in result.stdout

    # On a commit, only the staged notebook is checked.
    save(user_repo / "analysis" / "other.ipynb", {**FIXABLE, "cells": FIXABLE["cells"][:2]})
    git(user_repo, "add", "analysis/other.ipynb")
    staged = run_pre_commit(
        user_repo, pre_commit_home, "try-repo", str(REPO), "extraction-lint", "--verbose"
    )
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert "All checks passed (1 file checked)." in staged.stdout


def test_hook_with_a_baseline_fails_only_on_new_findings(user_repo, pre_commit_home):
    # Adopting on an existing repository: today's findings (a script and a notebook) go in a
    # baseline; the hook then fails on a commit only for what is new.
    from tests.helpers import run_process
    from tests.notebooks.nb import ACCUMULATE, code, save

    write(user_repo / "jobs" / "extract.py", BROKEN)
    save(user_repo / "analysis" / "extract.ipynb", ACCUMULATE)
    baseline = ".extraction-lint-baseline.json"
    written = run_process("--no-cache", "--write-baseline", baseline, ".", cwd=user_repo)
    assert written.returncode == 0, written.stdout + written.stderr
    config = textwrap.dedent(
        f"""
        repos:
          - repo: {REPO}
            rev: {git(REPO, "rev-parse", "HEAD").strip()}
            hooks:
              - id: extraction-lint
                args: [--baseline, {baseline}]
        """
    )
    (user_repo / ".pre-commit-config.yaml").write_text(config)
    commit_all(user_repo)
    clean = run_pre_commit(user_repo, pre_commit_home, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    # Lines added above the old findings keep them baselined; a new loop is reported.
    nb = {**ACCUMULATE, "cells": [code("import os"), *ACCUMULATE["cells"]]}
    save(user_repo / "analysis" / "extract.ipynb", nb)
    source = (user_repo / "jobs" / "extract.py").read_text()
    (user_repo / "jobs" / "extract.py").write_text("# Loads the day's files.\n" + source)
    write(user_repo / "jobs" / "new.py", BROKEN)
    git(user_repo, "add", "-A")
    staged = run_pre_commit(user_repo, pre_commit_home, "run")
    assert staged.returncode == 1, staged.stdout + staged.stderr
    reported = {line.split(":", 1)[0] for line in staged.stdout.splitlines() if ": EXL" in line}
    assert reported == {"jobs/new.py"}
