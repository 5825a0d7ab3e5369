"""Report formats (SPEC 4): json shape, SARIF 2.1.0 validity, GitHub annotations."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from extraction_lint import __version__
from extraction_lint.rules import ALL_RULES
from tests.helpers import BROKEN, run_cli, write

SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0.json"


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "pkg" / "extract.py", BROKEN)
    write(tmp_path / "pkg" / "broken.py", "def f(:\n    pass\n")
    write(tmp_path / "pkg" / "with space.py", BROKEN)
    return tmp_path


def test_json_has_exactly_the_spec_shape(project):
    run = run_cli("--format", "json", "--select", "EXL001", cwd=project)
    assert run.code == 1
    data = json.loads(run.out)
    assert data["version"] == __version__
    assert data["errors"] == [
        {"path": "pkg/broken.py", "message": "cannot parse: invalid syntax", "line": 1}
    ]
    assert {k: data["summary"][k] for k in ("files", "diagnostics", "errors")} == {
        "files": 3,
        "diagnostics": 2,
        "errors": 1,
    }
    first = data["diagnostics"][0]
    assert set(first) >= {
        "code",
        "name",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "related",
        "fix",
    }
    assert first["code"] == "EXL001"
    assert first["name"] == "accumulate-then-bulk-write"
    assert first["path"] == "pkg/extract.py"
    assert (first["line"], first["column"], first["end_line"]) == (6, 1, 6)
    assert first["end_column"] == len('con.executemany("INSERT INTO t VALUES (?)", rows)') + 1
    assert first["fix"]["applicability"] == "unsafe"  # the batched write (EXL001's fix)
    assert first["related"] == [
        {"path": "pkg/extract.py", "line": 5, "column": 5, "message": "`rows` grows here"},
        {
            "path": "pkg/extract.py",
            "line": 4,
            "column": 1,
            "message": "unbounded loop `for path in paths` with no flush",
        },
    ]


def test_json_paths_outside_the_current_directory_are_absolute(tmp_path):
    write(tmp_path / "job.py", BROKEN)
    (tmp_path / "elsewhere").mkdir()
    run = run_cli("--format", "json", str(tmp_path / "job.py"), cwd=tmp_path / "elsewhere")
    data = json.loads(run.out)
    assert data["diagnostics"][0]["path"] == (tmp_path / "job.py").as_posix()


def test_json_of_a_clean_run(tmp_path):
    write(tmp_path / "a.py", "x = 1\n")
    data = json.loads(run_cli("--format", "json", cwd=tmp_path).out)
    assert data["diagnostics"] == [] and data["errors"] == []
    assert data["summary"]["files"] == 1


def test_sarif_validates_against_the_2_1_0_schema(project):
    run = run_cli("--format", "sarif", cwd=project)
    assert run.code == 1
    log = json.loads(run.out)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)


def test_sarif_has_what_github_code_scanning_reads(project):
    log = json.loads(run_cli("--format", "sarif", cwd=project).out)
    assert log["version"] == "2.1.0"
    (sarif_run,) = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "extraction-lint"
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {r.code for r in ALL_RULES}
    for rule in rules.values():
        assert rule["name"] and rule["shortDescription"]["text"] and rule["help"]["text"]
    results = sarif_run["results"]
    assert {r["ruleId"] for r in results} == {"EXL001", "EXL101", "EXL102", "EXL103", "EXL999"}
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"pkg/extract.py", "pkg/broken.py", "pkg/with%20space.py"}
    exl001 = next(r for r in results if r["ruleId"] == "EXL001")
    assert [
        loc["physicalLocation"]["region"]["startLine"] for loc in exl001["relatedLocations"]
    ] == [5, 4]


def test_sarif_links_point_to_this_project_not_the_package_index(project):
    # The name on PyPI is not this project's (README, Install): a link there sends a
    # reader of a code-scanning alert to someone else's package.
    driver = json.loads(run_cli("--format", "sarif", cwd=project).out)["runs"][0]["tool"]["driver"]
    assert "pypi.org" not in driver["informationUri"]
    for rule in driver["rules"]:
        assert rule["helpUri"].startswith(driver["informationUri"].rstrip("/") + "/")


def test_sarif_of_a_clean_run_is_valid(tmp_path):
    write(tmp_path / "a.py", "x = 1\n")
    log = json.loads(run_cli("--format", "sarif", cwd=tmp_path).out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert log["runs"][0]["results"] == []


def test_github_annotations(project):
    run = run_cli("--format", "github", "--select", "EXL001", cwd=project)
    lines = run.out.splitlines()
    assert (
        lines[0]
        == "::error file=pkg/broken.py,line=1,col=7,endLine=1,endColumn=7,title=EXL999::EXL999 cannot parse: invalid syntax"
    )
    assert lines[1].startswith(
        "::error file=pkg/extract.py,line=6,col=1,endLine=6,endColumn=50,title=EXL001::EXL001 `rows` grows"
    )
    assert all(line.startswith("::error file=") for line in lines)


def test_github_escapes_properties_and_data(tmp_path):
    write(tmp_path / "a,b:c.py", BROKEN)
    run = run_cli("--format", "github", "--select", "EXL001", cwd=tmp_path)
    assert run.out.startswith("::error file=a%2Cb%3Ac.py,line=6,")
