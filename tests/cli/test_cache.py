"""The result cache: a bad entry is a miss whatever it holds; the cache does not grow with
edits and is pruned; ``extraction-lint clean`` removes it."""

from __future__ import annotations

import json
import os
import time

import pytest

from extraction_lint.cache import MAX_ENTRY_BYTES, ResultCache
from tests.helpers import BROKEN, CLEAN, run_cli, run_process, write


@pytest.fixture
def one(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    return tmp_path


def entries(root):
    return sorted((root / "c").rglob("*.json"))


def report(root, *extra):
    run = run_cli("--format", "json", "--cache-dir", "c", *extra, "job.py", cwd=root)
    assert "Traceback" not in run.err
    data = json.loads(run.out)
    return run.code, data["diagnostics"], data["errors"]


def fresh(root):
    run = run_cli("--format", "json", "--no-cache", "job.py", cwd=root)
    data = json.loads(run.out)
    return run.code, data["diagnostics"], data["errors"]


def cached_entry(root):
    report(root)
    (entry,) = entries(root)
    return entry


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "2"}',
        b'{"path": "job.py", "diagnostics": [], "error": null, "skipped": false, "suppressed": 0}',
        _nested(100_000).encode(),
        b"\xff\xfe not json",
        b"",
    ],
    ids=["wrong-shape", "old-layout", "nested-100000-deep", "not-utf8", "empty"],
)
def test_a_corrupt_entry_is_a_miss(one, content):
    entry = cached_entry(one)
    entry.write_bytes(content)
    assert report(one) == fresh(one)
    assert report(one) == fresh(one)  # rewritten, then served


def _rewrite(entry, change):
    data = json.loads(entry.read_text())
    change(data)
    entry.write_text(json.dumps(data))


def test_an_entry_naming_an_unknown_code_or_with_bad_fields_is_a_miss(one):
    entry = cached_entry(one)
    for change in (
        lambda d: d["result"]["diagnostics"][0].update(code="EXL777"),
        lambda d: d["result"]["diagnostics"][0].update(line="4"),
        lambda d: d["result"]["diagnostics"][0].update(line=True),
        lambda d: d["result"]["diagnostics"][0].update(column=0),
        lambda d: d["result"]["diagnostics"][0].update(extra=1),
        lambda d: d["result"].update(suppressed=-1),
        lambda d: d["result"].update(path="other.py"),
    ):
        _rewrite(entry, change)
        assert report(one) == fresh(one)


def test_a_forged_entry_is_a_miss(one):
    entry = cached_entry(one)
    # A well-formed entry claiming the file is clean, with a digest made without the secret.
    _rewrite(entry, lambda d: d["result"].update(diagnostics=[]))
    assert report(one) == fresh(one)
    # An entry of another file copied into this file's place.
    write(one / "other.py", CLEAN)
    run_cli("--cache-dir", "c", "other.py", cwd=one)
    other = next(e for e in entries(one) if e != entry)
    entry.write_bytes(other.read_bytes())
    assert report(one) == fresh(one)


def test_an_entry_that_is_not_a_regular_file_is_a_miss_and_never_read(one):
    entry = cached_entry(one)
    entry.unlink()
    os.mkfifo(entry)  # reading would block for ever
    assert report(one) == fresh(one)
    entry.unlink()
    entry.symlink_to("/dev/zero")  # reading would never end
    assert report(one) == fresh(one)
    entry.unlink()
    entry.mkdir()
    assert report(one) == fresh(one)


def test_an_entry_larger_than_any_real_one_is_not_read(one):
    entry = cached_entry(one)
    with entry.open("ab") as handle:
        handle.write(b" " * (MAX_ENTRY_BYTES + 1))
    assert report(one) == fresh(one)


def test_the_cache_is_used_in_a_real_process(one):
    for _ in range(2):
        run = run_process("--cache-dir", "c", "job.py", cwd=one)
        assert run.returncode == 1 and "Found 4 problems" in run.stdout
    assert len(entries(one)) == 1


def test_editing_a_file_rewrites_its_entry(one):
    for n in range(5):
        write(one / "job.py", BROKEN + f"\nx = {n}\n")
        report(one)
    assert len(entries(one)) == 1
    report(one, "--select", "EXL001")  # other options: an entry of their own
    assert len(entries(one)) == 2


def test_prune_removes_unused_entries_then_the_least_recently_used(tmp_path):
    for i in range(6):
        write(tmp_path / f"m{i}.py", BROKEN if i % 2 else CLEAN)
    run_cli("--cache-dir", "c", ".", cwd=tmp_path)
    found = entries(tmp_path)
    assert len(found) == 6
    old = time.time() - 40 * 86400
    for entry in found[:2]:
        os.utime(entry, (old, old))
    cache = ResultCache(tmp_path / "c")
    assert cache.prune() == (2, 4)
    left = entries(tmp_path)
    for n, entry in enumerate(left):
        os.utime(entry, (time.time() - 1000 + n, time.time() - 1000 + n))
    size = sum(e.stat().st_size for e in left)
    removed, kept = cache.prune(max_bytes=size - 1)
    assert (removed, kept) == (1, 3)
    assert not left[0].exists() and all(e.exists() for e in left[1:])


def test_a_run_that_writes_prunes_stale_entries_and_old_layouts(tmp_path):
    write(tmp_path / "a.py", CLEAN)
    run_cli("--cache-dir", "c", ".", cwd=tmp_path)
    (stale,) = entries(tmp_path)
    old = time.time() - 40 * 86400
    os.utime(stale, (old, old))
    (tmp_path / "c" / "v1" / "ab").mkdir(parents=True)
    (tmp_path / "a.py").rename(tmp_path / "b.py")  # a.py's entry: no run uses it now
    run_cli("--cache-dir", "c", ".", cwd=tmp_path)
    assert not stale.exists()
    assert not (tmp_path / "c" / "v1").exists()
    assert len(entries(tmp_path)) == 1  # b.py's


def test_clean_removes_the_cache_and_only_a_cache(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.extraction-lint]\n")
    write(tmp_path / "pkg" / "a.py", BROKEN)
    run_cli("pkg", cwd=tmp_path)
    assert (tmp_path / ".extraction_lint_cache").is_dir()
    run = run_process("clean", cwd=tmp_path / "pkg")
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / ".extraction_lint_cache").exists()
    assert "Removed" in run.stdout
    (tmp_path / "precious").mkdir()
    refused = run_cli("clean", "--cache-dir", "precious", cwd=tmp_path)
    assert refused.code == 2 and (tmp_path / "precious").is_dir()
    run_cli("--cache-dir", "c", "pkg", cwd=tmp_path)
    stale = run_cli("clean", "--stale", "--cache-dir", "c", cwd=tmp_path)
    assert stale.code == 0 and "removed 0 stale entries, kept 1" in stale.out


def test_clean_of_a_cache_put_in_an_existing_directory_keeps_its_other_files(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    write(tmp_path / "mydir" / "notes.txt", "mine\n")
    write(tmp_path / "mydir" / "videos" / "clip.txt", "mine too\n")
    run_process("--cache-dir", "mydir", "job.py", cwd=tmp_path)  # writes, so it prunes
    assert (tmp_path / "mydir" / "CACHEDIR.TAG").is_file()
    assert (tmp_path / "mydir" / "videos" / "clip.txt").is_file()
    run = run_process("clean", "--cache-dir", "mydir", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "mydir" / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "mydir" / "videos" / "clip.txt").is_file()
    assert sorted(p.name for p in (tmp_path / "mydir").iterdir()) == ["notes.txt", "videos"]
    assert "kept" in run.stdout and "notes.txt" not in run.stdout
