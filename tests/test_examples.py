"""The examples shipped with the project give exactly the findings they are there to show."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.helpers import REPO, run_cli


def findings(path: str) -> list[tuple[str, int]]:
    run = run_cli("--isolated", "--format", "json", path, cwd=REPO)
    data = json.loads(run.out)
    assert data["errors"] == []
    return [(d["code"], d["line"]) for d in data["diagnostics"]]


def test_broken_extractor_shows_the_incident():
    assert findings("examples/broken_extractor.py") == [
        ("EXL101", 22),
        ("EXL102", 22),
        ("EXL103", 22),
        ("EXL001", 27),
    ]


def test_incident_extractor_is_followed_through_its_loading_helper():
    """The incident's own shape (SPEC 2.6): the loop loads through a helper and the list is
    written after it."""
    assert findings("examples/incident_extractor.py") == [
        ("EXL101", 36),
        ("EXL102", 36),
        ("EXL103", 36),
        ("EXL001", 39),
    ]
    run = run_cli("--isolated", "--format", "json", "examples/incident_extractor.py", cwd=REPO)
    guard = json.loads(run.out)["diagnostics"][0]
    assert [(r["line"], r["message"]) for r in guard["related"]] == [
        (37, "calls `extract_signals_from_pickle()`"),
        (22, "`extract_signals_from_pickle()` loads here"),
    ]


def test_fixed_extractor_is_clean():
    assert findings("examples/fixed_extractor.py") == []


def test_batched_writer_is_clean():
    assert findings("examples/batched_writer.py") == []


def test_examples_directory_fails_with_the_broken_files_only():
    run = run_cli("--isolated", "examples", cwd=REPO)
    assert run.code == 1
    paths = {line.split(":", 1)[0] for line in run.out.splitlines() if ": EXL" in line}
    assert paths == {"examples/broken_extractor.py", "examples/incident_extractor.py"}
    assert "examples/broken_extractor.py:27:5: EXL001 `rows` grows" in run.out


def test_console_script_and_module_agree():
    script = shutil.which("extraction-lint", path=str(REPO / ".venv" / "bin")) or shutil.which(
        "extraction-lint"
    )
    module = subprocess.run(
        [sys.executable, "-m", "extraction_lint", "--isolated", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.returncode == 1
    assert "EXL001" in module.stdout
    if script is not None:
        console = subprocess.run(
            [script, "--isolated", "examples"], cwd=REPO, capture_output=True, text=True
        )
        assert console.returncode == module.returncode
        assert console.stdout == module.stdout
