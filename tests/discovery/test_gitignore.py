"""Discovery with gitignore semantics (SPEC 3): what git ignores is not walked, exactly as
git decides it; `exclude` patterns follow the same semantics; named paths as in Ruff."""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction_lint.config import Config
from extraction_lint.discovery import discover
from extraction_lint.ignore import PatternSet
from tests.discovery.conftest import git
from tests.helpers import BROKEN, run_cli, write

# Patterns chosen for the corners of gitignore: anchoring, a slash in the middle, trailing
# slash (directories only), `**` at the start, middle and end, `*` not crossing `/`,
# character classes, negation (also of a file in an ignored directory, which git cannot
# re-include), escapes and trailing spaces.
TRICKY_GITIGNORE = r"""
# generated code
/generated/
*_pb2.py
!keep_pb2.py
docs/*.py
**/fixtures/**
a/**/deep.py
cache/
!cache/wanted.py
scratch?.py
tmp[0-9].py
tmp[!0-9]x.py
\#hash.py
notrail.py{trailing_spaces}
lib/vendor
logs
!logs/
""".format(trailing_spaces="   ")

TREE = [
    "generated/api.py",
    "sub/generated/api.py",
    "proto/msg_pb2.py",
    "proto/keep_pb2.py",
    "docs/conf.py",
    "docs/api/auto.py",
    "fixtures/f.py",
    "tests/fixtures/one/f.py",
    "tests/fixtures.py",
    "a/deep.py",
    "a/b/c/deep.py",
    "x/a/deep.py",
    "cache/wanted.py",
    "cache/other.py",
    "scratch1.py",
    "scratch12.py",
    "tmp5.py",
    "tmpax.py",
    "tmp5x.py",
    "#hash.py",
    "notrail.py",
    "lib/vendor/v.py",
    "src/lib/vendor/v.py",
    "logs/run.py",
    "src/logs.py",
    "src/pkg/mod.py",
    "main.py",
]


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        write(root / name, "x = 1\n")


def _found(root: Path, config: Config) -> set[str]:
    return {f.display for f in discover([str(root)], config, cwd=root)}


def test_walk_skips_exactly_what_git_ignores(repo, monkeypatch):
    _tree(repo, TREE)
    write(repo / ".gitignore", TRICKY_GITIGNORE)
    write(repo / "src" / ".gitignore", "pkg/*.py\n!pkg/mod.py\nlogs.py\n")
    monkeypatch.chdir(repo)
    listed = git(repo, "ls-files", "--others", "--exclude-standard")
    by_git = {line for line in listed.splitlines() if line.endswith(".py")}
    assert by_git  # the comparison is not empty on either side
    assert _found(repo, Config(root=repo)) == by_git


def test_nested_gitignore_overrides_the_one_above(repo, monkeypatch):
    _tree(repo, ["pkg/gen.py", "pkg/sub/gen.py", "other/gen.py"])
    write(repo / ".gitignore", "gen.py\n")
    write(repo / "pkg" / ".gitignore", "!gen.py\n")
    monkeypatch.chdir(repo)
    assert _found(repo, Config(root=repo)) == {"pkg/gen.py", "pkg/sub/gen.py"}


def test_info_exclude_and_the_global_excludes_file(repo, private_home, monkeypatch):
    _tree(repo, ["local_only.py", "editor_tmp.py", "kept.py", "custom.py"])
    write(repo / ".git" / "info" / "exclude", "local_only.py\n")
    write(private_home / ".config" / "git" / "ignore", "editor_*.py\n")
    monkeypatch.chdir(repo)
    assert _found(repo, Config(root=repo)) == {"kept.py", "custom.py"}
    # core.excludesFile replaces the default global file.
    write(private_home / "my-ignores", "custom.py\n")
    write(private_home / ".gitconfig", '[core]\n\texcludesFile = "~/my-ignores"\n')
    assert _found(repo, Config(root=repo)) == {"kept.py", "editor_tmp.py"}
    listed = git(repo, "ls-files", "--others", "--exclude-standard")
    assert {line for line in listed.splitlines() if line.endswith(".py")} == {
        "kept.py",
        "editor_tmp.py",
    }


def test_gitignore_above_the_walked_directory_applies(repo, monkeypatch):
    _tree(repo, ["src/app/gen_a.py", "src/app/real.py"])
    write(repo / ".gitignore", "gen_*.py\n")
    monkeypatch.chdir(repo / "src")
    found = {f.display for f in discover(["app"], Config(root=repo / "src"), cwd=repo / "src")}
    assert found == {"app/real.py"}


def test_gitignore_outside_a_git_work_tree_still_counts(tmp_path, monkeypatch):
    _tree(tmp_path, ["out/gen.py", "job.py"])
    write(tmp_path / ".gitignore", "out/\n")
    monkeypatch.chdir(tmp_path)
    assert _found(tmp_path, Config(root=tmp_path)) == {"job.py"}


def test_respect_gitignore_false_walks_ignored_files(repo):
    write(repo / ".gitignore", "vendored/\n")
    write(repo / "vendored" / "lib.py", BROKEN)
    assert run_cli("--no-cache", cwd=repo).code == 0
    write(repo / "pyproject.toml", "[tool.extraction-lint]\nrespect-gitignore = false\n")
    run = run_cli("--no-cache", cwd=repo)
    assert run.code == 1
    assert "vendored/lib.py:" in run.out


def test_respect_gitignore_must_be_a_boolean(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.extraction-lint]\nrespect-gitignore = "no"\n')
    run = run_cli(cwd=tmp_path)
    assert run.code == 2
    assert "respect-gitignore" in run.err and "true or false" in run.err


def test_a_named_file_is_checked_though_git_ignores_it(repo):
    # As Ruff: ignore files never exclude a named path (git does not ignore a tracked file,
    # and pre-commit names only tracked ones), with or without --force-exclude.
    write(repo / ".gitignore", "legacy.py\n")
    write(repo / "legacy.py", BROKEN)
    assert run_cli("--no-cache", cwd=repo).code == 0
    assert run_cli("--no-cache", "legacy.py", cwd=repo).code == 1
    assert run_cli("--no-cache", "--force-exclude", "legacy.py", cwd=repo).code == 1


def test_a_named_directory_is_walked_and_its_contents_filtered(repo):
    write(repo / ".gitignore", "gen/\n*_tmp.py\n")
    write(repo / "gen" / "a.py", BROKEN)
    write(repo / "gen" / "b_tmp.py", BROKEN)
    run = run_cli("--no-cache", "gen", cwd=repo)
    assert "gen/a.py:" in run.out
    assert "b_tmp.py" not in run.out


@pytest.mark.parametrize(
    ("patterns", "excluded", "kept"),
    [
        # `*` does not cross `/` (fnmatch's did).
        (["gen/*.py"], ["gen/a.py"], ["gen/sub/b.py", "other/gen/a.py"]),
        (["gen/**/*.py"], ["gen/a.py", "gen/sub/b.py"], ["other/gen/a.py"]),
        # No slash: a name at any depth, file or directory.
        (["legacy"], ["legacy/a.py", "src/legacy/a.py", "src/legacy"], ["src/legacy_x.py"]),
        (["legacy/"], ["src/legacy/a.py"], ["src/legacy.py"]),
        # A slash anchors at the root; `./` means the same.
        (["/top.py"], ["top.py"], ["sub/top.py"]),
        (["./top.py"], ["top.py"], ["sub/top.py"]),
        (["src/top.py"], ["src/top.py"], ["x/src/top.py"]),
        # The last matching pattern decides.
        (["*.py", "!keep.py"], ["a.py", "sub/b.py"], ["keep.py", "sub/keep.py"]),
    ],
)
def test_exclude_has_gitignore_semantics(tmp_path, patterns, excluded, kept):
    files = [p for p in excluded + kept if p.endswith(".py")]
    _tree(tmp_path, files)
    config = Config(root=tmp_path, exclude=(), extend_exclude=tuple(patterns))
    found = _found(tmp_path, config)
    for path in excluded:
        assert path not in found
        if not path.endswith(".py"):
            (tmp_path / path).mkdir(parents=True, exist_ok=True)
        assert config.is_excluded_with_parents(tmp_path / path)
    for path in kept:
        if path.endswith(".py"):
            assert path in found
        else:
            (tmp_path / path).mkdir(parents=True, exist_ok=True)
        assert not config.is_excluded_with_parents(tmp_path / path)


def test_force_exclude_applies_to_named_files_and_their_directories(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[tool.extraction-lint]\nextend-exclude = ["gen/*.py", "old/"]\n',
    )
    write(tmp_path / "gen" / "a.py", BROKEN)
    write(tmp_path / "gen" / "sub" / "b.py", BROKEN)
    write(tmp_path / "old" / "deep" / "c.py", BROKEN)
    run = run_cli(
        "--no-cache", "--force-exclude", "gen/a.py", "gen/sub/b.py", "old/deep/c.py", cwd=tmp_path
    )
    assert "gen/sub/b.py:" in run.out
    assert "gen/a.py" not in run.out and "old/deep/c.py" not in run.out


def test_forty_thousand_exclude_patterns_are_compiled_once(tmp_path):
    # Issue 12: each of 20 files was matched against 40,000 freshly translated patterns.
    # Speed is measured in benchmarks/discovery_excludes.py; here, the answers.
    _tree(
        tmp_path,
        [f"pkg/mod_{i}.py" for i in range(20)]
        + ["pkg/vendor_19999/x.py", "gen_5/a.py", "gen_5/sub/b.py"],
    )
    patterns = tuple(f"vendor_{i}" for i in range(20_000)) + tuple(
        f"gen_{i}/*.py" for i in range(20_000)
    )
    config = Config(root=tmp_path, exclude=(), extend_exclude=(*patterns, "mod_7.py"))
    found = _found(tmp_path, config)
    assert found == {f"pkg/mod_{i}.py" for i in range(20) if i != 7} | {"gen_5/sub/b.py"}


def test_pattern_set_decides_as_git_on_single_paths():
    patterns = PatternSet(["*.log", "!important.log", "build/", "/root_only", "a/**/z", "\\!bang"])
    assert patterns.match("x/debug.log", False) is True
    assert patterns.match("x/important.log", False) is False
    assert patterns.match("build", True) is True
    assert patterns.match("build", False) is None
    assert patterns.match("root_only", False) is True
    assert patterns.match("sub/root_only", False) is None
    assert patterns.match("a/z", False) is True
    assert patterns.match("a/b/c/z", False) is True
    assert patterns.match("!bang", False) is True
    assert patterns.match("src/main.py", False) is None


def test_command_line_discovery_options(repo):
    write(repo / ".gitignore", "vendored/\n")
    write(repo / "vendored" / "lib.py", BROKEN)
    write(repo / "gen" / "out.py", BROKEN)
    run = run_cli("--no-cache", "--no-respect-gitignore", "--extend-exclude", "gen/", cwd=repo)
    assert "vendored/lib.py:" in run.out and "gen/out.py" not in run.out
    write(repo / "pyproject.toml", "[tool.extraction-lint]\nrespect-gitignore = false\n")
    run = run_cli("--no-cache", "--respect-gitignore", cwd=repo)
    assert "vendored/lib.py" not in run.out and "gen/out.py:" in run.out


def test_exclude_on_the_command_line_replaces_the_list(tmp_path):
    write(tmp_path / "build" / "gen.py", BROKEN)
    write(tmp_path / "legacy" / "old.py", BROKEN)
    assert run_cli("--no-cache", cwd=tmp_path).out.count("EXL001") == 1  # build is a default
    run = run_cli("--no-cache", "--exclude", "legacy/", cwd=tmp_path)
    assert "build/gen.py:" in run.out and "legacy/old.py" not in run.out


def test_a_bad_character_class(repo, tmp_path):
    # In an ignore file it matches nothing, as in git; in the configuration it is an error.
    write(repo / ".gitignore", "[z-a].py\n[\n")
    write(repo / "a.py", BROKEN)
    run = run_cli("--no-cache", cwd=repo)
    assert run.code == 1 and "a.py:" in run.out
    write(repo / "pyproject.toml", '[tool.extraction-lint]\nextend-exclude = ["gen/[z-a]*"]\n')
    run = run_cli("--no-cache", cwd=repo)
    assert run.code == 2
    assert "extend-exclude" in run.err and "'gen/[z-a]*'" in run.err
    assert "bad character class" in run.err
    (repo / "pyproject.toml").unlink()
    run = run_cli("--no-cache", "--extend-exclude", "[9-0]", cwd=repo)
    assert run.code == 2 and "[9-0]" in run.err


def test_ignore_files_that_are_not_regular_files_are_passed_over(repo):
    import os

    os.mkfifo(repo / ".gitignore")  # opening it for reading would wait for a writer
    (repo / "sub").mkdir()
    (repo / "sub" / ".gitignore").symlink_to("/dev/zero")  # reading it would never end
    write(repo / "sub" / "job.py", BROKEN)
    run = run_cli("--no-cache", cwd=repo)
    assert run.code == 1 and "sub/job.py:" in run.out


def test_a_linked_work_tree_reads_the_repository_s_info_exclude(repo, tmp_path, monkeypatch):
    write(repo / "kept.py", "x = 1\n")
    git(repo, "add", "kept.py")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "one")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    write(repo / ".git" / "info" / "exclude", "local_*.py\n")
    _tree(linked, ["local_notes.py", "new.py"])
    monkeypatch.chdir(linked)
    listed = git(linked, "ls-files", "--others", "--exclude-standard")
    assert set(listed.split()) == {"new.py"}
    assert _found(linked, Config(root=linked)) == {"kept.py", "new.py"}


def test_a_nested_repository_uses_its_own_ignore_files(repo, monkeypatch):
    write(repo / ".gitignore", "gen_*.py\n")
    nested = repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    write(nested / ".gitignore", "local.py\n")
    write(nested / ".git" / "info" / "exclude", "scratch.py\n")
    _tree(nested, ["gen_a.py", "local.py", "scratch.py", "real.py"])
    monkeypatch.chdir(nested)
    listed = git(nested, "ls-files", "--others", "--exclude-standard")
    by_git = {line for line in listed.splitlines() if line.endswith(".py")}
    assert by_git == {"gen_a.py", "real.py"}
    monkeypatch.chdir(repo)
    found = _found(repo, Config(root=repo))
    assert found == {"vendor/lib/gen_a.py", "vendor/lib/real.py"}
