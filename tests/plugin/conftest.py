"""Helpers for the plugin's tests: a user's test file run by a real pytest in a child process.

Each test module loads pytest's ``pytester`` (``pytest_plugins``): a conftest below the
rootdir may not.
"""

from __future__ import annotations

import textwrap

import pytest


@pytest.fixture
def run_user_tests(pytester: pytest.Pytester):
    """Write ``source`` as a user's test module and run pytest on it in a child process."""

    def run(source: str, *args: str, name: str = "test_user") -> pytest.RunResult:
        pytester.makepyfile(**{name: textwrap.dedent(source)})
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=600)

    return run
