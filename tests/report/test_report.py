"""``extraction-lint report``: one self-contained page from watch's and a guard's history,
opened in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction_lint.guardrails import MemoryLimitExceeded, guard
from extraction_lint.report.cli import main as report_main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install -y chromium; .ci/run does it)"
)
REPO_ROOT = Path(__file__).resolve().parents[2]
READING_KEYS = {
    "kind",
    "time",
    "elapsed",
    "rss",
    "swap",
    "cpu",
    "read_bytes",
    "write_bytes",
    "read_rate",
    "write_rate",
    "output_size",
    "outputs",
    "log_age",
    "done",
    "total",
    "rate",
    "eta",
    "processes",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture(scope="module")
def watch_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real watch --record of a job that grows memory and output until --kill ends it."""
    where = tmp_path_factory.mktemp("watched")
    out = where / "out.bin"
    job = where / "job.py"
    job.write_text(
        "import time\nimport numpy as np\nkept = []\n"
        "for i in range(200):\n"
        "    kept.append(np.ones(512 * 1024))\n"
        f"    open({str(out)!r}, 'ab').write(b'x' * 65536)\n"
        "    time.sleep(0.02)\n"
    )
    record = where / "watch.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "extraction_lint",
            "watch",
            "--display",
            "lines",
            "--every",
            "0.1",
            "--memory-limit",
            "400MiB",
            "--kill",
            "--output",
            str(out),
            "--record",
            str(record),
            "--",
            sys.executable,
            str(job),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    return record


@pytest.fixture(scope="module")
def guard_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guard's history: a job that writes, then goes over its memory limit."""
    where = tmp_path_factory.mktemp("guarded")
    record = where / "guard.jsonl"
    out = where / "out.bin"
    import numpy as np
    import psutil

    # The guard runs in this test process, whose RSS depends on the tests run before: the
    # limit is 300 MiB above what it holds now, so the job always takes the same path to it.
    limit = psutil.Process().memory_info().rss + 300 * 1024 * 1024
    kept = []
    with (
        pytest.raises(MemoryLimitExceeded),
        guard(
            total=400,
            label="extract",
            heartbeat_every=0.05,
            display="off",
            watch_output=out,
            memory_limit=limit,
            record=record,
        ) as g,
    ):
        for _ in g.track(range(400)):
            kept.append(np.ones(128 * 1024))
            time.sleep(0.005)  # about 1.5 s to the limit: readings at every heartbeat
            with out.open("ab") as handle:
                handle.write(b"y" * 8192)
    return record


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_watch_and_guard_write_readings_of_the_same_shape(watch_history, guard_history):
    watch_lines, guard_lines = _lines(watch_history), _lines(guard_history)
    for lines, source in ((watch_lines, "watch"), (guard_lines, "guard")):
        assert lines[0]["kind"] == "start" and lines[0]["source"] == source
        assert lines[-1]["kind"] == "end"
        (verdict,) = [line for line in lines if line["kind"] == "verdict"]
        assert verdict["verdict"] == "memory" and verdict["exit_status"] == 3
        readings = [line for line in lines if line["kind"] == "reading"]
        assert len(readings) >= 3
        for reading in readings:
            assert set(reading) >= READING_KEYS, READING_KEYS - set(reading)
    guard_readings = [line for line in guard_lines if line["kind"] == "reading"]
    assert guard_readings[-1]["done"] > 0 and guard_readings[-1]["total"] == 400
    assert guard_readings[-1]["output_size"] > 0


def _report(history: Path, tmp_path: Path) -> tuple[Path, str]:
    page = tmp_path / f"{history.stem}.html"
    assert report_main([str(history), "-o", str(page)]) == 0
    return page, page.read_text()


def test_the_page_is_self_contained(watch_history, tmp_path):
    _, html = _report(watch_history, tmp_path)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    # The only URL is the SVG namespace, which names and never fetches.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert re.search(r"src=|url\(", html) is None


def test_the_page_shows_the_figures_and_the_verdict(watch_history, guard_history, tmp_path):
    _, html = _report(watch_history, tmp_path)
    assert "memory: RSS" in html and "over --memory-limit 400.0 MiB" in html
    assert "recorded by</td><td>extraction-lint watch" in html
    assert "killed, exit status 3" in html
    assert "no figures (the job did not run under guard(...))" in html
    _, html = _report(guard_history, tmp_path)
    assert "recorded by</td><td>guard(...)" in html
    assert "Progress (items done)" in html
    assert "failed, exit status 1" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "no readings"),
        ("just text\n", "no readings: not a history written by 'watch --record'"),
    ],
)
def test_a_file_that_is_not_a_history_is_a_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "h.jsonl"
    if content is not None:
        path.write_text(content)
    assert report_main([str(path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"extraction-lint report: error: {path}: ")
    assert message in err
    assert not (tmp_path / "r.html").exists()


def test_a_history_cut_mid_line_reads_up_to_its_last_whole_line(watch_history, tmp_path, capsys):
    cut = tmp_path / "cut.jsonl"
    text = watch_history.read_text()
    middle = text.index("\n", len(text) // 2) + 20  # 20 characters into a line
    cut.write_text(text[:middle])
    whole_lines = text[:middle].count("\n")
    _, html = _report(cut, tmp_path)
    assert "not recorded (the history stops at its last reading)" in html
    assert f"skipped line {whole_lines + 1}: not JSON" in capsys.readouterr().err


# -- in a real browser -------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@needs_chromium
def test_chromium_builds_every_chart_with_its_lines_and_verdict(guard_history, tmp_path):
    page, _ = _report(guard_history, tmp_path)
    done = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr
    dom = done.stdout
    charts = re.findall(r'<svg class="chart" data-chart="(\w+)"', dom)
    assert charts == ["memory", "swap", "output", "io", "progress", "cpu"]
    for chart in re.split(r'<svg class="chart"', dom)[1:]:
        chart = chart.split("</svg>", 1)[0]
        lines = re.findall(
            r'<polyline class="series" data-series="[^"]+"[^>]*points="([^"]+)"', chart
        )
        assert lines, chart[:300]
        assert max(len(points.split()) for points in lines) >= 3
        assert '<g class="verdict">' in chart
    assert 'class="limit"' in dom  # the memory limit drawn on the memory chart


@needs_chromium
def test_chromium_paints_the_plots(watch_history, tmp_path):
    from PIL import Image

    page, _ = _report(watch_history, tmp_path)
    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    pixels = image.load()

    # The memory line (#1f77b4) and a verdict line (#d62728) are painted, and the page is
    # far from blank.
    def near(colour: tuple[int, int, int], pixel: tuple[int, int, int]) -> bool:
        return all(abs(a - b) <= 40 for a, b in zip(colour, pixel, strict=True))

    blue = red = other = 0
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            pixel = pixels[x, y]
            if near((0x1F, 0x77, 0xB4), pixel):
                blue += 1
            elif near((0xD6, 0x27, 0x28), pixel):
                red += 1
            elif pixel != (0xF4, 0xF5, 0xF7) and pixel != (255, 255, 255):
                other += 1
    assert blue > 100, blue
    assert red > 50, red
    assert other > 2000, other
