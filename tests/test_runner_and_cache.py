"""Worker processes and the result cache (SPEC 3: ``-j``, ``--no-cache``)."""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import textwrap

import pytest

from extraction_lint import cache as cache_module
from extraction_lint import runner as runner_module
from extraction_lint.cache import CACHE_DIR_ENV, ResultCache
from extraction_lint.config import Config
from extraction_lint.discovery import discover
from extraction_lint.options import CheckOptions
from extraction_lint.runner import Runner
from tests.helpers import BROKEN, CLEAN, run_cli, write


@pytest.fixture
def tree(tmp_path):
    for i in range(30):
        write(tmp_path / "pkg" / f"m{i:02d}.py", BROKEN if i % 3 == 0 else CLEAN)
    return tmp_path


def results(tree, **kwargs):
    os.chdir(tree)
    files = discover(["pkg"], Config(root=tree))
    return list(Runner(Config(root=tree), CheckOptions(), **kwargs).run(files))


def test_workers_keep_the_order_of_the_files(tree, monkeypatch):
    monkeypatch.chdir(tree)
    parallel = results(tree, jobs=2)
    serial = results(tree, jobs=1)
    assert [r.path for r in parallel] == sorted(r.path for r in parallel)
    assert parallel == serial
    assert sum(len(r.diagnostics) for r in parallel) == 10 * 4


def test_a_worker_that_dies_costs_only_its_file(tree, monkeypatch):
    monkeypatch.chdir(tree)
    real = runner_module.run_job

    def crash_on_m07(job):
        if job.file.display.endswith("m07.py"):
            # A deliberate crash: pytest's fault handler, inherited by the worker, would
            # print "Fatal Python error: Segmentation fault" and a stack into the test log.
            faulthandler.disable()
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(job)

    # Worker processes are forked from this one and inherit the patch.
    monkeypatch.setattr(runner_module, "run_job", crash_on_m07)
    assert_only_crashed(results(tree, jobs=2), "pkg/m07.py")


def assert_only_crashed(got, path):
    """Every file has its result, in order; only ``path`` is the crash's, and the ten
    broken files of the tree have their findings."""
    assert [r.path for r in got] == [f"pkg/m{i:02d}.py" for i in range(30)]
    crashed = [r for r in got if r.error is not None]
    assert [r.path for r in crashed] == [path]
    assert crashed[0].error.message == (
        "cannot check: the checker process died while checking this file"
    )
    assert sum(len(r.diagnostics) for r in got) == 10 * 4


def test_cache_directory_is_tagged_and_ignored(tree):
    run = run_cli("--cache-dir", "c", "pkg", cwd=tree)
    assert run.code == 1
    assert (
        (tree / "c" / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (tree / "c" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert len(list((tree / "c").rglob("*.json"))) == 30


def test_default_cache_location_and_environment_variable(tree, monkeypatch):
    run_cli("pkg", cwd=tree)
    assert (tree / ".extraction_lint_cache" / "CACHEDIR.TAG").is_file()
    monkeypatch.setenv(CACHE_DIR_ENV, str(tree / "elsewhere"))
    run_cli("pkg", cwd=tree)
    assert (tree / "elsewhere" / "CACHEDIR.TAG").is_file()


def test_no_cache_writes_nothing(tree):
    run_cli("--no-cache", "pkg", cwd=tree)
    assert not (tree / ".extraction_lint_cache").exists()


def test_warm_run_serves_every_file_from_the_cache(tree, monkeypatch):
    monkeypatch.chdir(tree)
    cache = ResultCache(tree / "c")
    cold = results(tree, jobs=1, cache=cache)
    assert (cache.hits, cache.misses) == (0, 30)
    warm_cache = ResultCache(tree / "c")
    warm = results(tree, jobs=1, cache=warm_cache)
    assert (warm_cache.hits, warm_cache.misses) == (30, 0)
    assert warm == cold


def test_changed_file_or_setting_is_not_served_stale(tree):
    first = json.loads(run_cli("--format", "json", "--cache-dir", "c", "pkg", cwd=tree).out)
    assert first["summary"]["diagnostics"] == 40
    # A changed setting.
    only = json.loads(
        run_cli("--format", "json", "--cache-dir", "c", "--select", "EXL001", "pkg", cwd=tree).out
    )
    assert only["summary"]["diagnostics"] == 10
    write(tree / "pyproject.toml", '[tool.extraction-lint]\nextend-heartbeat-calls = [".extend"]\n')
    configured = json.loads(run_cli("--format", "json", "--cache-dir", "c", "pkg", cwd=tree).out)
    assert configured["summary"]["by_code"].get("EXL101") is None
    (tree / "pyproject.toml").unlink()
    # A changed file.
    write(tree / "pkg" / "m00.py", CLEAN)
    after = json.loads(run_cli("--format", "json", "--cache-dir", "c", "pkg", cwd=tree).out)
    assert after["summary"]["diagnostics"] == 36


def test_changed_tool_is_not_served_stale(tree, monkeypatch):
    monkeypatch.chdir(tree)
    results(tree, jobs=1, cache=ResultCache(tree / "c"))
    monkeypatch.setattr(cache_module, "tool_fingerprint", lambda: "another version")
    upgraded = ResultCache(tree / "c")
    results(tree, jobs=1, cache=upgraded)
    assert (upgraded.hits, upgraded.misses) == (0, 30)


def test_corrupt_entries_are_misses_not_errors(tree, monkeypatch):
    monkeypatch.chdir(tree)
    cold = results(tree, jobs=1, cache=ResultCache(tree / "c"))
    for entry in (tree / "c").rglob("*.json"):
        entry.write_text('{"path": "pkg/m00.py", "diagnostics": [tru')
    again = ResultCache(tree / "c")
    assert results(tree, jobs=1, cache=again) == cold
    assert again.misses == 30
    third = ResultCache(tree / "c")
    results(tree, jobs=1, cache=third)
    assert third.hits == 30  # rewritten


def test_an_unwritable_default_cache_directory_is_not_fatal(tree):
    # Only a --cache-dir given on the command line is the user's request (exit 2 when it
    # cannot be a directory, as Ruff: tests/cli/test_cache.py); the default place is not.
    (tree / ".extraction_lint_cache").write_text("a file where the directory should be")
    run = run_cli("pkg", cwd=tree)
    assert run.code == 1
    assert "Found 40 problems" in run.out


def _large(text: str) -> str:
    """``text`` after enough constants to pass ``LARGE_FILE_BYTES``."""
    line = "VALUE_{:06d} = '" + "x" * 400 + "'\n"
    count = runner_module.LARGE_FILE_BYTES // len(line.format(0)) + 1
    return "".join(line.format(i) for i in range(count)) + textwrap.dedent(text)


def test_a_large_file_is_checked_in_its_own_process_even_with_one_job(tree, monkeypatch):
    monkeypatch.chdir(tree)
    (tree / "pkg" / "m05.py").write_text(_large(BROKEN), encoding="utf-8")
    in_process = [r for r in results(tree, jobs=1) if r.path == "pkg/m05.py"]
    codes = sorted(d.code for d in in_process[0].diagnostics)
    assert codes == ["EXL001", "EXL101", "EXL102", "EXL103"]
    real = runner_module.run_job
    parent = os.getpid()

    def abort_when_large(job):
        if os.getpid() != parent and job.file.display.endswith("m05.py"):
            # As libcst's parser does when an allocation fails (no fault handler output).
            faulthandler.disable()
            os.abort()
        return real(job)

    monkeypatch.setattr(runner_module, "run_job", abort_when_large)
    assert_only_crashed(results(tree, jobs=1), "pkg/m05.py")


def test_a_history_of_long_paths_is_written_so_that_it_reads_back(tmp_path, monkeypatch):
    """The history of changes keeps the most recently changed files that fit in what is
    read back: a history too large to read would count every file as changed forever."""
    from extraction_lint import cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_HISTORY_BYTES", 64 * 1024)
    store = cache_module.ResultCache(tmp_path / "c")
    history = cache_module.FileHistory(store)
    long = "/" + "d" * 200
    for i in range(2000):
        history.stamp_of(f"{long}/{i}.py", f"digest{i}")
    history.save()
    again = cache_module.FileHistory(store)
    assert again.stamp > history.stamp
    kept = [i for i in range(2000) if again.stamp_of(f"{long}/{i}.py", f"digest{i}") < again.stamp]
    assert 100 < len(kept) < 2000
