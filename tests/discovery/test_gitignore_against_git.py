"""Generated gitignore files: the walk keeps exactly the files that git lists as untracked
and not ignored (`git ls-files --others --exclude-standard`)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extraction_lint.config import Config
from extraction_lint.discovery import discover

NAMES = ["a", "b", "ab", "a.py", "b.py", "ab.py", "x_a.py"]
TREE = [
    "a.py",
    "b.py",
    "ab.py",
    "x_a.py",
    "a/a.py",
    "a/b.py",
    "a/b/a.py",
    "a/b/ab.py",
    "b/a/x_a.py",
    "b/a/b/b.py",
    "ab/a/b/ab.py",
    "ab/ab.py",
]

WILDCARDS = [
    *("*", "*.py", "a*", "?.py", "[ab].py", "[!a]*.py", "x_*", "a?", "a**", "**.py"),
    *("[a-b]*", "*b", "\\a.py", "*[.]py", "ab.py  ", "a.p[y]", "[]a].py"),
]

segment = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(WILDCARDS),
)
pattern = st.builds(
    lambda negate, lead, parts, trail: (
        ("!" if negate else "") + ("/" if lead else "") + "/".join(parts) + ("/" if trail else "")
    ),
    st.booleans(),
    st.booleans(),
    st.lists(st.one_of(segment, st.just("**")), min_size=1, max_size=3),
    st.booleans(),
)


@pytest.fixture(scope="module")
def tree():
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "repo"
        root.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        for name in TREE:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("x = 1\n", encoding="utf-8")
        yield root


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    top=st.lists(pattern, max_size=5),
    nested=st.lists(pattern, max_size=3),
    deeper=st.lists(pattern, max_size=2),
)
def test_walk_agrees_with_git(tree, top, nested, deeper):
    (tree / ".gitignore").write_text("\n".join(top) + "\n", encoding="utf-8")
    (tree / "a" / ".gitignore").write_text("\n".join(nested) + "\n", encoding="utf-8")
    (tree / "a" / "b" / ".gitignore").write_text("\n".join(deeper) + "\n", encoding="utf-8")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tree.parent)}
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    by_git = {line for line in listed.splitlines() if line.endswith(".py")}
    found = {f.display for f in discover([str(tree)], Config(root=tree), cwd=tree)}
    assert found == by_git, (top, nested, deeper)
