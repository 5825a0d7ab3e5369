"""Shared test helpers: run the real engine on source text."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import pytest

from extraction_lint.diagnostics import FileResult
from extraction_lint.engine import CheckOptions, check_source


def lint_text(
    source: str, codes: Iterable[str] | None = None, path: str = "sample.py"
) -> FileResult:
    """Check ``source`` (dedented) with the given codes enabled (default: the default set)."""
    text = textwrap.dedent(source).lstrip("\n")
    options = CheckOptions() if codes is None else CheckOptions(enabled=frozenset(codes))
    return check_source(text.encode("utf-8"), path, options)


@pytest.fixture
def lint():
    """The :func:`lint_text` helper as a fixture."""
    return lint_text


@pytest.fixture(autouse=True, scope="session")
def _private_status_dir(tmp_path_factory: pytest.TempPathFactory):
    """Guards run by the tests (and their children) keep their status records in the session's
    temporary directory, not in the user's runtime directory."""
    import os

    from extraction_lint.guardrails.status import STATUS_DIR_ENV

    previous = os.environ.get(STATUS_DIR_ENV)
    os.environ[STATUS_DIR_ENV] = str(tmp_path_factory.mktemp("status-records"))
    yield
    if previous is None:
        os.environ.pop(STATUS_DIR_ENV, None)
    else:
        os.environ[STATUS_DIR_ENV] = previous
