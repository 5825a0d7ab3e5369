"""Adopting on a repository with history: a baseline written once, then the real
pre-commit running the hook with ``--baseline`` on the changed files only."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.helpers import BROKEN, CLEAN, REPO, run_cli, write
from tests.test_pre_commit import commit_all, git, run_pre_commit

pytestmark = pytest.mark.slow


def test_pre_commit_with_a_baseline_fails_only_on_new_findings(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "user@example.com")
    git(repo, "config", "user.name", "User")
    write(repo / ".gitignore", "build/\n")
    write(repo / "jobs" / "old.py", BROKEN)
    write(repo / "jobs" / "util.py", CLEAN)
    write(repo / "build" / "generated.py", BROKEN)  # ignored by git: never linted
    commit_all(repo)

    wrote = run_cli("--no-cache", "--write-baseline", "extraction-lint-baseline.json", cwd=repo)
    assert wrote.code == 0, wrote.err
    baseline = json.loads((repo / "extraction-lint-baseline.json").read_text())
    assert {f["path"] for f in baseline["findings"]} == {"jobs/old.py"}
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    write(
        repo / ".pre-commit-config.yaml",
        f"""
        repos:
          - repo: {REPO}
            rev: {rev}
            hooks:
              - id: extraction-lint
                args: [--baseline, extraction-lint-baseline.json]
        """,
    )
    commit_all(repo)
    home = tmp_path / "pre-commit-home"

    everything = run_pre_commit(repo, home, "run", "--all-files")
    assert everything.returncode == 0, everything.stdout + everything.stderr

    # History goes on: the old file is edited above its findings, a new file has one.
    old = repo / "jobs" / "old.py"
    old.write_text('"""Old job, kept for the archive."""\n\n' + old.read_text())
    write(repo / "jobs" / "new.py", BROKEN)
    git(repo, "add", "-A")
    changed = run_pre_commit(repo, home, "run")  # the staged files only
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "jobs/new.py:6:1: EXL001" in changed.stdout
    assert "jobs/old.py:" not in changed.stdout
