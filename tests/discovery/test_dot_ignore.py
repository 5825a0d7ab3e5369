"""`.ignore` files (SPEC 3, as Ruff through ripgrep's `ignore` crate): gitignore syntax,
read in and outside a git work tree, scoped to their directory, and taking precedence over
every git ignore file whatever the depths; off with `respect-gitignore`; never excluding a
file named on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from extraction_lint.config import Config
from extraction_lint.discovery import discover
from tests.discovery.conftest import git
from tests.helpers import BROKEN, run_cli, write


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        write(root / name, "x = 1\n")


def _found(root: Path, config: Config) -> set[str]:
    return {f.display for f in discover([str(root)], config, cwd=root)}


@pytest.fixture(params=["git work tree", "plain directory"])
def tree(request, repo: Path, tmp_path: Path) -> Path:
    """A directory inside a git work tree, and one outside any: `.ignore` counts in both."""
    if request.param == "git work tree":
        return repo
    plain = tmp_path / "plain"
    plain.mkdir()
    return plain


def test_dot_ignore_excludes_files_and_directories(tree, monkeypatch):
    _tree(tree, ["job.py", "scratch.py", "out/gen.py", "sub/scratch.py", "sub/real.py"])
    write(tree / ".ignore", "scratch.py\nout/\n")
    monkeypatch.chdir(tree)
    assert _found(tree, Config(root=tree)) == {"job.py", "sub/real.py"}


def test_git_itself_does_not_read_dot_ignore(repo, monkeypatch):
    # The walk does not ask git: what git lists is no guide for `.ignore`.
    _tree(repo, ["job.py", "scratch.py"])
    write(repo / ".ignore", "scratch.py\n")
    monkeypatch.chdir(repo)
    listed = git(repo, "ls-files", "--others", "--exclude-standard")
    assert "scratch.py" in listed.split()
    assert _found(repo, Config(root=repo)) == {"job.py"}


def test_dot_ignore_overrides_gitignore_in_the_same_directory_both_ways(tree, monkeypatch):
    _tree(tree, ["gen_a.py", "gen_keep.py", "local.py", "main.py", "cache/c.py"])
    write(tree / ".gitignore", "gen_*.py\ncache/\n!local.py\n")
    # Re-includes what .gitignore ignores, ignores what .gitignore re-includes.
    write(tree / ".ignore", "!gen_keep.py\n!cache/\nlocal.py\n")
    monkeypatch.chdir(tree)
    assert _found(tree, Config(root=tree)) == {"gen_keep.py", "main.py", "cache/c.py"}


def test_any_dot_ignore_overrides_any_gitignore_whatever_the_depths(repo, monkeypatch):
    # As the ignore crate documents: precedence between kinds of ignore files does not
    # depend on the directory hierarchy; within a kind, the deeper file wins.
    _tree(repo, ["pkg/gen.py", "pkg/deep/gen.py", "pkg/own.py", "other/own.py"])
    write(repo / ".ignore", "!gen.py\nown.py\n")
    write(repo / "pkg" / ".gitignore", "gen.py\n!own.py\n")
    monkeypatch.chdir(repo)
    assert _found(repo, Config(root=repo)) == {"pkg/gen.py", "pkg/deep/gen.py"}


def test_nested_dot_ignore_is_scoped_to_its_directory_and_overrides_the_one_above(
    tree, monkeypatch
):
    _tree(
        tree,
        [
            "scratch.py",
            "sub/scratch.py",
            "sub/deeper/scratch.py",
            "sub/top.py",
            "sub/deeper/top.py",
            "top.py",
            "other/out.py",
            "sub/out.py",
            "sub/deeper/out.py",
        ],
    )
    write(tree / ".ignore", "scratch.py\n")
    write(tree / "sub" / ".ignore", "!scratch.py\n/top.py\nout.py\n")
    monkeypatch.chdir(tree)
    assert _found(tree, Config(root=tree)) == {
        "sub/scratch.py",
        "sub/deeper/scratch.py",
        "sub/deeper/top.py",  # `/top.py` is anchored at sub/
        "top.py",
        "other/out.py",
    }


def test_dot_ignore_above_the_walked_directory_and_the_work_tree_applies(
    repo, tmp_path, monkeypatch
):
    # The ignore crate reads `.ignore` in every directory above the walk, past the top of
    # the work tree (where git's .gitignore files stop).
    _tree(repo, ["src/app/gen_a.py", "src/app/real.py", "src/app/mine.py"])
    write(repo / ".ignore", "gen_*.py\n")
    write(tmp_path / ".ignore", "mine.py\n")
    monkeypatch.chdir(repo / "src")
    found = {f.display for f in discover(["app"], Config(root=repo / "src"), cwd=repo / "src")}
    assert found == {"app/real.py"}


def test_outer_dot_ignore_applies_inside_a_nested_repository(repo, monkeypatch):
    # Git's ignore files stop at a nested repository; `.ignore` files are not git's.
    write(repo / ".gitignore", "gen_*.py\n")
    write(repo / "vendor" / ".ignore", "old.py\n")
    nested = repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    write(nested / ".ignore", "mine.py\n")
    _tree(nested, ["gen_a.py", "old.py", "mine.py", "real.py"])
    monkeypatch.chdir(repo)
    assert _found(repo, Config(root=repo)) == {"vendor/lib/gen_a.py", "vendor/lib/real.py"}


def test_the_walk_agrees_with_ruff(repo, monkeypatch):
    # Ruff walks with the ignore crate: the same tree, the same files.
    _tree(
        repo,
        [
            "main.py",
            "gen_a.py",
            "gen_keep.py",
            "local.py",
            "pkg/gen.py",
            "pkg/own.py",
            "pkg/deep/gen.py",
            "pkg/deep/scratch.py",
            "pkg/scratch.py",
            "scratch.py",
            "cache/c.py",
            "cache/tmp/t.py",
            "vendor/lib/a.py",
            "vendor/lib/gen_b.py",
            "vendor/lib/mine.py",
        ],
    )
    write(repo / ".gitignore", "gen_*.py\ncache/\n!local.py\n")
    write(repo / ".ignore", "!gen_keep.py\n!cache/\nlocal.py\nscratch.py\nown.py\n")
    write(repo / "pkg" / ".gitignore", "gen.py\n!own.py\n")
    write(repo / "pkg" / ".ignore", "!scratch.py\n")
    write(repo / "cache" / ".ignore", "tmp/\n")
    git(repo / "vendor" / "lib", "init", "-q")
    write(repo / "vendor" / "lib" / ".ignore", "mine.py\n")
    write(repo / "vendor" / ".ignore", "a.py\n")
    monkeypatch.chdir(repo)
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--show-files", "."],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    prefix = str(repo.resolve()) + "/"
    by_ruff = {
        line.strip().removeprefix(prefix)
        for line in listed.splitlines()
        if line.strip().endswith(".py")
    }
    assert {"gen_keep.py", "pkg/deep/scratch.py", "cache/c.py"} <= by_ruff
    assert _found(repo, Config(root=repo)) == by_ruff


def test_respect_gitignore_false_turns_dot_ignore_off_too(tree):
    write(tree / ".ignore", "vendored/\n")
    write(tree / "vendored" / "lib.py", BROKEN)
    assert run_cli("--no-cache", cwd=tree).code == 0
    run = run_cli("--no-cache", "--no-respect-gitignore", cwd=tree)
    assert run.code == 1 and "vendored/lib.py:" in run.out
    write(tree / "pyproject.toml", "[tool.extraction-lint]\nrespect-gitignore = false\n")
    run = run_cli("--no-cache", cwd=tree)
    assert run.code == 1 and "vendored/lib.py:" in run.out
    assert run_cli("--no-cache", "--respect-gitignore", cwd=tree).code == 0


def test_a_pre_commit_run_checks_the_named_files_though_dot_ignore_ignores_them(repo):
    # pre-commit names the changed tracked files; as Ruff, a named file is checked whatever
    # an ignore file says, with or without --force-exclude.
    write(repo / ".ignore", "legacy.py\njobs/generated/\n")
    write(repo / "legacy.py", BROKEN)
    write(repo / "jobs" / "generated" / "load.py", BROKEN)
    write(repo / "jobs" / "new.py", BROKEN)
    git(repo, "add", "-A")
    assert run_cli("--no-cache", cwd=repo).out.count("EXL001") == 1  # jobs/new.py
    named = git(repo, "diff", "--cached", "--name-only").split()
    assert set(named) == {".ignore", "legacy.py", "jobs/generated/load.py", "jobs/new.py"}
    python_files = [name for name in named if name.endswith(".py")]
    for extra in ([], ["--force-exclude"]):
        run = run_cli("--no-cache", *extra, *python_files, cwd=repo)
        assert run.code == 1
        for name in python_files:
            assert f"{name}:" in run.out
