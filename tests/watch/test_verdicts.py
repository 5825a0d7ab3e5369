"""Each verdict of ``watch``, proven on a real misbehaving job watched by a real ``watch``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from .conftest import pid_alive

pytestmark = pytest.mark.slow
MiB = 1024**2

GROW_NUMPY = """
    import time
    import numpy as np
    blocks = []
    while len(blocks) < 384:                 # 3 GiB at most, should watch miss it
        blocks.append(np.ones(1024 * 1024, dtype=np.float64))   # 8 MiB, every page touched
        time.sleep(0.02)
    time.sleep(600)
"""


def _mib(text: str, name: str) -> float:
    match = re.search(rf"{name} ([\d.]+) (MiB|GiB)", text)
    assert match, text
    return float(match[1]) * (1024 if match[2] == "GiB" else 1)


def test_memory_growth_is_stopped_with_exit_3_before_twice_the_limit(run_watch, script):
    job = script(GROW_NUMPY)
    result = run_watch(
        "--memory-limit", "256MiB", "--every", "0.1", "--kill", "--", sys.executable, str(job)
    )
    assert result.returncode == 3, result.explain()
    (verdict,) = result.verdicts
    assert verdict["verdict"] == "memory"
    assert "over --memory-limit 256.0 MiB" in verdict["message"]
    assert 256 < _mib(verdict["message"], "RSS") < 512, verdict["message"]
    # Every reading the job was seen at stayed under twice the limit.
    assert max(r["rss"] for r in result.kinds("reading")) < 512 * MiB
    assert "VERDICT memory: RSS" in result.stderr
    # Python stacks before the kill (py-spy is in the test extra), then the kill itself.
    assert "Python stacks of process" in result.stderr, result.explain()
    assert "<module>" in result.stderr
    assert "sent SIGTERM to 1 process(es)" in result.stderr
    assert result.kinds("end")[-1]["state"] == "killed"
    assert not pid_alive(result.kinds("start")[0]["pid"])


def test_at_the_default_interval_fast_growth_is_still_stopped_before_twice_the_limit(
    run_watch, script
):
    # 5 s between readings would see the job at more than 1 GiB: watch reads again sooner
    # while the growth it has seen would reach the limit before the next reading.
    job = script(GROW_NUMPY)
    result = run_watch("--memory-limit", "256MiB", "--kill", "--", sys.executable, str(job))
    assert result.returncode == 3, result.explain()
    assert 256 < _mib(result.verdicts[0]["message"], "RSS") < 512, result.verdicts[0]["message"]
    assert max(r["rss"] for r in result.kinds("reading")) < 512 * MiB
    assert result.elapsed < 5, result.explain()


@pytest.mark.parametrize(
    ("flag", "status"),
    [("--timeout", 5), ("--stall", 4)],
)
def test_at_the_default_interval_a_timeout_or_stall_comes_on_time(run_watch, flag, status):
    # The reading after the limit is taken when the limit falls due, not up to 5 s later.
    result = run_watch(flag, "1", "--kill", "--", sys.executable, "-c", "while True: pass")
    assert result.returncode == status, result.explain()
    readings = result.kinds("reading")
    assert readings[-1]["elapsed"] < 1.6, result.explain()
    assert result.elapsed < 4, result.explain()


def test_memory_verdict_without_kill_leaves_the_job_running(run_watch, script, spawn):
    child = spawn(sys.executable, str(script(GROW_NUMPY)))
    result = run_watch("--pid", str(child.pid), "--memory-limit", "128MiB", "--every", "0.1")
    assert result.returncode == 3, result.explain()
    assert f"the job (pid {child.pid}) is left running" in result.stderr
    assert child.poll() is None


def test_a_shell_running_python_counts_the_whole_tree(run_watch, script):
    job = script(GROW_NUMPY)
    result = run_watch(
        "--memory-limit",
        "200MiB",
        "--every",
        "0.1",
        "--kill",
        "--",
        "sh",
        "-c",
        f"{sys.executable} {job}; echo never",
    )
    assert result.returncode == 3, result.explain()
    assert "(2 processes," in result.verdicts[0]["message"]
    assert "never" not in result.stdout


def test_busy_job_with_no_output_and_no_log_is_a_stall_at_the_first_reading_past_stall(
    run_watch, script, tmp_path
):
    out = tmp_path / "out.db"
    out.write_bytes(b"header")
    log = tmp_path / "job.log"
    log.write_text("started\n")
    job = script("while True:\n    pass\n")
    result = run_watch(
        "--stall",
        "2",
        "--every",
        "0.5",
        "--output",
        str(out),
        "--log",
        str(log),
        "--kill",
        "--",
        sys.executable,
        str(job),
    )
    assert result.returncode == 4, result.explain()
    (verdict,) = result.verdicts
    message = verdict["message"]
    assert message.startswith("stall: no sign of life for "), message
    assert "--stall 2.0s" in message and "out.db 6 B unchanged" in message
    assert "job.log no new line" in message
    readings = result.kinds("reading")
    # The verdict came at the reading that first found the job quiet for --stall, so
    # within --stall plus one reading interval of its start.
    assert readings[-1]["elapsed"] >= 2.0 - 0.1
    assert readings[-2]["elapsed"] < 2.0
    # Busy however loaded the machine is: time spent waiting for a CPU counts as busy.
    assert "busy at" in message, message
    assert out.read_bytes() == b"header"
    assert not pid_alive(result.kinds("start")[0]["pid"])


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="no schedstat")
def test_a_busy_job_given_a_third_of_a_core_is_called_busy_not_idle(run_watch, spawn):
    # Two spinning processes outside the job share its one core: the job runs a third of
    # the time and waits for the CPU the rest of it.
    pin = ("taskset", "-c", "0")
    for _ in range(2):
        spawn(*pin, sys.executable, "-c", "while True: pass")
    result = run_watch(
        "--stall",
        "2",
        "--every",
        "0.5",
        "--kill",
        "--",
        *pin,
        sys.executable,
        "-c",
        "while True: pass",
    )
    assert result.returncode == 4, result.explain()
    message = result.verdicts[0]["message"]
    cpu = [r["cpu"] for r in result.kinds("reading")[1:]]
    assert sum(cpu) / len(cpu) < 50, cpu
    assert re.search(
        r"busy at \d+% CPU \(mean\) and waiting for a CPU \d+% of the time", message
    ), message


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="no wchan")
def test_a_job_hung_in_a_blocking_read_is_an_idle_stall_that_says_where_it_waits(run_watch):
    # A silent hang in C code: os.read on a pipe nobody writes to.
    job = "import os\nr, w = os.pipe()\nos.read(r, 1)\n"
    result = run_watch(
        "--stall",
        "1.5",
        "--every",
        "0.3",
        "--kill",
        "--",
        "sh",
        "-c",
        f"{sys.executable} -c '{job}' & wait",
    )
    assert result.returncode == 4, result.explain()
    message = result.verdicts[0]["message"]
    assert re.search(
        r"idle at \d+% CPU \(mean\): waiting in the kernel at \w*pipe_read \(pid \d+\)", message
    ), message
    # The shell waiting on its child (in wait4 or sigsuspend) is named after the hang, if at all.
    assert "do_wait" not in message


def test_a_sleeping_job_whose_output_grows_is_not_a_stall(run_watch, script, tmp_path):
    out = tmp_path / "out.txt"
    job = script(
        f"""
        import time
        for i in range(16):
            time.sleep(0.25)
            with open({str(out)!r}, "a") as handle:
                handle.write(f"row {{i}}\\n")
        """
    )
    result = run_watch(
        "--stall", "1.5", "--every", "0.2", "--output", str(out), "--", sys.executable, str(job)
    )
    assert result.returncode == 0, result.explain()
    assert result.verdicts == []
    assert out.read_text().count("row") == 16
    assert max(r["output_size"] or 0 for r in result.kinds("reading")) > 0


def test_a_job_that_keeps_rewriting_a_scratch_file_gets_the_write_ratio_verdict(
    run_watch, script, tmp_path
):
    scratch = tmp_path / "scratch.bin"
    job = script(
        f"""
        block = b"x" * (4 * 1024 * 1024)
        while True:
            with open({str(scratch)!r}, "wb") as handle:
                handle.write(block)
        """
    )
    result = run_watch(
        "--write-ratio-after",
        "100MiB",
        "--every",
        "0.2",
        "--kill",
        "--",
        sys.executable,
        str(job),
    )
    assert result.returncode == 6, result.explain()
    (verdict,) = result.verdicts
    message = verdict["message"]
    assert re.match(r"write-ratio: wrote [\d.]+ MiB for [\d.]+ (KiB|MiB) read \([\d,.]+x;", message)
    assert "--write-ratio 20x past 100.0 MiB" in message
    last = result.kinds("reading")[-1]
    assert last["write_bytes"] >= 100 * MiB
    assert last["write_bytes"] > 20 * last["read_bytes"]


def test_past_the_timeout_is_exit_5_and_the_job_is_killed(run_watch, script):
    job = script("import time\ntime.sleep(600)\n")
    result = run_watch(
        "--timeout", "1", "--every", "0.2", "--kill", "--grace", "5", "--", sys.executable, str(job)
    )
    assert result.returncode == 5, result.explain()
    assert re.match(
        r"timeout: the job has run 1\.\ds \(--timeout 1\.0s\)", result.verdicts[0]["message"]
    )
    assert not pid_alive(result.kinds("start")[0]["pid"])


def test_a_job_that_ignores_sigterm_gets_sigkill_after_the_grace(run_watch):
    # The shell ignores SIGTERM before it execs the job, so the job ignores it from its first
    # instruction: a loaded machine cannot let the timeout come before the job's own handler.
    result = run_watch(
        "--timeout",
        "2",
        "--every",
        "0.1",
        "--kill",
        "--grace",
        "1",
        "--",
        "sh",
        "-c",
        f"trap '' TERM; exec {sys.executable} -c 'import time; time.sleep(600)'",
    )
    assert result.returncode == 5, result.explain()
    assert "still ran after --grace 1s and got SIGKILL" in result.stderr
    assert not pid_alive(result.kinds("start")[0]["pid"])


def test_a_job_that_fails_passes_its_status_on(run_watch):
    result = run_watch("--every", "0.2", "--", sys.executable, "-c", "import sys; sys.exit(42)")
    assert result.returncode == 42, result.explain()
    message = result.verdicts[0]["message"]
    assert re.fullmatch(
        # A job that ends at once may be read as it goes: a few hundred KiB.
        r"exit: the job exited with status 42 after [\d.]+s "
        r"\(RSS [\d.]+ (B|KiB|MiB) at the last reading\)",
        message,
    ), message
    assert f"VERDICT {message}" in result.stderr


def test_a_job_killed_by_a_signal_exits_128_plus_the_signal(run_watch):
    result = run_watch(
        "--every",
        "0.2",
        "--",
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    )
    assert result.returncode == 137, result.explain()
    assert re.fullmatch(
        r"exit: the job was killed by SIGKILL after [\d.]+s( \(RSS [\d.]+ [KM]iB at the last reading\))?",
        result.verdicts[0]["message"],
    ), result.verdicts[0]["message"]


def test_a_healthy_job_exits_with_its_own_status_and_its_output_untouched(
    run_watch, script, tmp_path
):
    out = tmp_path / "result.csv"
    job = script(
        f"""
        import sys, time
        for i in range(3):
            print(f"line {{i}}", flush=True)
            time.sleep(0.2)
        with open({str(out)!r}, "w") as handle:
            handle.write("a,b\\n1,2\\n")
        sys.stderr.write("job's own stderr\\n")
        """
    )
    result = run_watch(
        "--every",
        "0.1",
        "--memory-limit",
        "1GiB",
        "--stall",
        "30",
        "--timeout",
        "60",
        "--output",
        str(out),
        "--",
        sys.executable,
        str(job),
    )
    assert result.returncode == 0, result.explain()
    assert result.stdout == "line 0\nline 1\nline 2\n"
    assert out.read_text() == "a,b\n1,2\n"
    assert "job's own stderr" in result.stderr
    assert result.verdicts == []
    assert result.kinds("end")[-1] == {
        **result.kinds("end")[-1],
        "state": "exited",
        "exit_status": 0,
    }
