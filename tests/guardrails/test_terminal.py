"""On a terminal: the program's log records and prints are drawn above the bar, whole.

Each job runs on a pseudo-terminal and what it wrote is played into a terminal
emulator (pyte); the assertions read the final screen as a person would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import run_in_terminal

pytestmark = pytest.mark.slow

LOGGING_JOB = """
import json, logging, sys, time
from extraction_lint.guardrails import guard

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
log = logging.getLogger("job")
root_handler = logging.getLogger().handlers[0]
with guard(total=8, label="extract", heartbeat_every=0.1, memory_limit="4 GiB") as g:
    for i in g.track(range(8)):
        time.sleep(0.12)
        log.info("job log line %d " + "x" * 150, i)  # longer than the terminal is wide
        if i == 3:
            print("a print line")
            print("half a line, ", end="", flush=True)
            print("then the rest")
log.info("after the block")
with open("state.json", "w") as out:
    json.dump({
        "stderr_restored": sys.stderr is sys.__stderr__,
        "stdout_restored": sys.stdout is sys.__stdout__,
        "handler_restored": root_handler.stream is sys.__stderr__,
    }, out)
"""


def test_log_records_and_prints_are_drawn_above_the_bar_without_glue_or_stale_bars(
    tmp_path: Path, write_script: Callable[[str], Path]
) -> None:
    result = run_in_terminal(write_script(LOGGING_JOB), tmp_path)
    assert result.returncode == 0, result.explain()
    screen = result.screen
    text = "\n".join(screen)
    # Each record starts its own line: none glued to the bar.
    records = [line for line in screen if "job log line" in line]
    for i in range(8):
        assert f"INFO job job log line {i} " in text, result.explain()
    assert all(line.startswith("INFO job job log line ") or set(line) == {"x"} for line in records)
    assert not any("RSS" in line and "INFO" in line for line in screen), result.explain()
    # A long record is one line that the terminal wraps, not cut into pieces.
    assert ("x" * 150) in text.replace("\n", ""), result.explain()
    # The bar is on the screen once, at its final state, under every record of the loop.
    bars = [n for n, line in enumerate(screen) if "━" in line]
    assert len(bars) == 1, result.explain()
    assert re.search(r"extract .*8/8 100%", screen[bars[0]]), result.explain()
    last_record = max(n for n, line in enumerate(screen) if "job log line 7" in line)
    assert last_record < bars[0], result.explain()
    assert "a print line" in screen, result.explain()
    assert "half a line," in screen and "then the rest" in screen, result.explain()
    assert screen[-1] == "INFO job after the block", result.explain()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {"stderr_restored": True, "stdout_restored": True, "handler_restored": True}


def test_a_stdout_sent_to_a_file_stays_in_the_file_while_the_bar_is_drawn(
    tmp_path: Path, write_script: Callable[[str], Path]
) -> None:
    script = write_script(
        """
        import time
        from extraction_lint.guardrails import guard

        with guard(total=4, label="extract", heartbeat_every=0.1) as g:
            for i in g.track(range(4)):
                time.sleep(0.12)
                print("row", i, flush=True)
        """
    )
    with (tmp_path / "out.txt").open("w") as out:
        result = run_in_terminal(script, tmp_path, stdout=out)
    assert result.returncode == 0, result.explain()
    assert (tmp_path / "out.txt").read_text() == "row 0\nrow 1\nrow 2\nrow 3\n"
    assert not any(line.startswith("row ") for line in result.screen), result.explain()
    assert any("━" in line for line in result.screen), result.explain()


def bar_frames(raw: str) -> list[str]:
    """Every state the bar was drawn in, as text."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    return [frame for frame in re.split(r"[\r\n]+", plain) if "━" in frame]


def test_the_bar_shows_elapsed_time_the_memory_limit_and_how_long_the_job_has_been_idle(
    tmp_path: Path, write_script: Callable[[str], Path]
) -> None:
    script = write_script(
        """
        import time
        from extraction_lint.guardrails import guard

        with guard(label="extract", heartbeat_every=0.2, memory_limit="2 GiB",
                   stall_timeout=6) as g:
            for i in g.track(range(3)):
                time.sleep(4.2 if i == 1 else 0.1)  # the second item idles past 3 s
        """
    )
    result = run_in_terminal(script, tmp_path, columns=160)
    assert result.returncode == 0, result.explain()
    frames = bar_frames(result.raw)
    assert frames, result.explain()
    assert all(re.search(r"elapsed [\d.]+s", frame) for frame in frames[1:]), frames
    assert all(re.search(r"RSS [\d.]+ MiB of 2\.0 GiB", frame) for frame in frames[1:]), frames
    idle = [frame for frame in frames if "idle" in frame]
    # Shown from half the stall timeout (3 s), with the timeout, while the item lasts.
    assert idle, frames
    assert all(re.search(r"idle [34]\.\ds of 6\.0s", frame) for frame in idle), idle
    assert all("1/3" in frame for frame in idle), idle
    assert "idle" not in frames[-1]
