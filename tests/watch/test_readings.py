"""What ``watch`` reads, and what it says about processes it cannot watch."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction_lint.watch.logs import LogState
from extraction_lint.watch.probe import JobGone, ProcessProbe, Reading
from extraction_lint.watch.verdicts import Judge, Limits

from .conftest import LINE, child_env, wait_for

MiB = 1024**2


def _machine_has_swap() -> bool:
    lines = Path("/proc/swaps").read_text().splitlines()[1:]
    return any(line.strip() for line in lines)


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {name} in /proc/{pid}/status")


def test_swap_is_read_from_the_real_proc_of_a_real_child(spawn):
    child = spawn(
        sys.executable,
        "-c",
        "import time; print('up', flush=True); time.sleep(60)",
        stdout=subprocess.PIPE,
    )
    # Read once the interpreter runs: just after fork the child is still a copy of pytest's
    # process image on its way to exec.
    assert child.stdout is not None and child.stdout.readline() == b"up\n"
    probe = ProcessProbe(child.pid)
    reading = probe.read()
    # This machine has no swap: the figure is a real zero read from VmSwap, not a default.
    assert not _machine_has_swap()
    assert reading.swap == _status_field(child.pid, "VmSwap") == 0
    assert reading.rss > 1 * MiB
    assert reading.processes == 1


def test_readings_add_up_the_process_tree(spawn, tmp_path):
    # Each child marks that its interpreter is up: while one is still starting, its RSS grows
    # by megabytes between the probe's read and the test's own.
    marks = [tmp_path / "one", tmp_path / "two"]
    up = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(60)"
    child = spawn(
        "sh",
        "-c",
        f"{sys.executable} -c '{up}' {marks[0]} & {sys.executable} -c '{up}' {marks[1]} & wait",
    )
    probe = ProcessProbe(child.pid)
    assert wait_for(lambda: all(mark.exists() for mark in marks), timeout=30)
    assert wait_for(lambda: probe.read().processes == 3, timeout=30)
    reading = probe.read()
    each = [_status_field(pid, "VmRSS") for pid in probe.pids()]
    assert len(each) == 3
    # RSS moves a little between two reads of a live process.
    assert abs(reading.rss - sum(each)) < 2 * MiB


def test_io_counters_and_rates_come_from_the_kernel(spawn, tmp_path):
    target = tmp_path / "w.bin"
    child = spawn(
        sys.executable,
        "-c",
        f"import time\nwith open({str(target)!r}, 'wb') as f:\n"
        "    for _ in range(50):\n        f.write(b'x' * 1048576); f.flush(); time.sleep(0.02)\n"
        "time.sleep(60)",
    )
    probe = ProcessProbe(child.pid, outputs=[str(target)])
    first = probe.read()
    assert wait_for(lambda: target.exists() and target.stat().st_size == 50 * MiB, timeout=60)
    second = probe.read()
    assert second.write_bytes is not None and second.write_bytes >= 50 * MiB
    assert second.write_rate is not None and second.write_rate > 0
    assert second.outputs == {str(target): 50 * MiB}
    assert second.cpu is not None and first.cpu is None


def test_a_directory_output_is_summed(spawn, tmp_path):
    out = tmp_path / "parts"
    (out / "sub").mkdir(parents=True)
    (out / "a.parquet").write_bytes(b"a" * 1000)
    (out / "sub" / "b.parquet").write_bytes(b"b" * 24)
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    reading = ProcessProbe(child.pid, outputs=[str(out)]).read()
    assert reading.outputs == {str(out): 1024}


def test_a_log_files_last_line_and_its_age(spawn, tmp_path):
    log = tmp_path / "job.log"
    log.write_text("first\nlast line here\n\n")
    old = time.time() - 120
    os.utime(log, (old, old))
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    reading = ProcessProbe(child.pid, logs=[str(log), str(tmp_path / "none.log")]).read()
    state = reading.logs[str(log)]
    assert state.last_line == "last line here"
    assert 119 < (state.age or 0) < 180
    assert reading.logs[str(tmp_path / "none.log")].exists is False


def test_a_process_that_is_gone_raises_job_gone_not_a_psutil_error(spawn):
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    probe = ProcessProbe(child.pid)
    probe.read()
    child.kill()
    child.wait()
    with pytest.raises(JobGone):
        probe.read()


# -- swap: the verdict logic on recorded readings (this machine has no swap) -------------


def _reading(t: float, swap: int, rss: int = 500 * MiB) -> Reading:
    return Reading(
        time=1000.0 + t,
        elapsed=t,
        age=t,
        rss=rss,
        swap=swap,
        cpu=99.0,
        read_bytes=0,
        write_bytes=0,
        read_rate=0.0,
        write_rate=0.0,
        processes=1,
        outputs={"out.db": 100},
        output_mtimes={"out.db": 1},
        logs={"job.log": LogState(True, 10, 1, 1.0, "x")},
    )


def _judge(swaps: list[int], **limits: object) -> list[list[str]]:
    judge = Judge(Limits(**limits), life_start=1000.0)  # type: ignore[arg-type]
    return [[v.name for v in judge.observe(_reading(i * 5.0, s))] for i, s in enumerate(swaps)]


def test_swap_in_use_and_growing_at_three_readings_in_a_row_is_exit_7():
    judge = Judge(Limits(), life_start=1000.0)
    swaps = [0, 40 * MiB, 90 * MiB, 150 * MiB, 260 * MiB]
    found = [judge.observe(_reading(i * 5.0, s)) for i, s in enumerate(swaps)]
    assert [len(f) for f in found] == [0, 0, 0, 1, 1]
    verdict = found[3][0]
    assert (verdict.name, verdict.exit_status) == ("swap", 7)
    assert verdict.message.startswith(
        "swap: 150.0 MiB of the job is swapped out and growing (+150.0 MiB over the last 3 readings"
    )


def test_swap_that_is_flat_shrinking_or_small_is_not_a_verdict():
    assert _judge([200 * MiB] * 6) == [[]] * 6
    assert _judge([400 * MiB, 300 * MiB, 200 * MiB, 100 * MiB, 90 * MiB]) == [[]] * 5
    assert _judge([1 * MiB, 2 * MiB, 3 * MiB, 4 * MiB, 5 * MiB]) == [[]] * 5
    # A pause in the growth starts the count again.
    pause = [100 * MiB, 200 * MiB, 200 * MiB, 300 * MiB, 400 * MiB, 500 * MiB]
    assert _judge(pause) == [[]] * 5 + [["swap"]]
    assert _judge([0, 100 * MiB, 200 * MiB, 300 * MiB], swap_min=None) == [[]] * 4


def test_memory_counts_swap_too():
    judge = Judge(Limits(memory=600 * MiB), life_start=1000.0)
    (verdict,) = judge.observe(_reading(0, swap=200 * MiB, rss=500 * MiB))
    assert verdict.message.startswith(
        "memory: RSS 500.0 MiB + swap 200.0 MiB = 700.0 MiB is over --memory-limit 600.0 MiB"
    )


# -- processes watch cannot watch -------------------------------------------------------


def _watch(
    *args: str, user: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*user, sys.executable, "-m", "extraction_lint", "watch", "--display", "lines", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _free_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


def test_pid_of_no_process_is_a_clear_error():
    pid = _free_pid()
    done = _watch("--pid", str(pid))
    assert done.returncode == 2
    assert done.stderr == f"extraction-lint watch: error: --pid {pid}: no process with pid {pid}\n"


def test_kill_of_a_process_whose_tree_holds_watch_itself_is_refused_up_front(tmp_path):
    # The shell is watch's parent: its tree (the job watch would end) holds watch itself,
    # as pid 1's holds every process on the machine.
    survived = tmp_path / "survived"
    shell = subprocess.run(
        [
            "sh",
            "-c",
            f'"$0" -m extraction_lint watch --display lines --pid $$ --kill --timeout 0.1 '
            f"--every 0.1; echo $? > {survived}",
            sys.executable,
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert survived.read_text() == "2\n", shell.stderr
    assert "watch: error: --kill: process " in shell.stderr
    assert "is an ancestor of watch: its tree holds watch itself" in shell.stderr
    assert "SIGTERM" not in shell.stderr


AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists(),
    reason="needs root and setpriv to run watch as another user (nobody)",
)


@needs_root
def test_kill_of_another_users_process_is_refused_up_front(spawn):
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    done = _watch("--pid", str(child.pid), "--kill", user=AS_NOBODY)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"extraction-lint watch: error: --kill: not allowed to signal process {child.pid} (it "
        "belongs to root); run watch as that user or as root, or leave out --kill\n"
    )
    assert child.poll() is None


@needs_root
def test_another_users_process_is_watched_with_what_can_be_read(spawn):
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    done = _watch("--pid", str(child.pid), "--timeout", "0.5", "--every", "0.2", user=AS_NOBODY)
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"cannot read the I/O counters of process {child.pid} (it belongs to root): read/write "
        "figures and the write-ratio verdict are off" in done.stderr
    )
    assert re.search(r"rss [\d.]+ MiB, swap 0 B, cpu", done.stderr)
    assert "read ? (?), write ? (?)" in done.stderr


def test_a_pid_job_that_ends_while_watched_ends_the_watch_cleanly(spawn):
    child = spawn(sys.executable, "-c", "import time; time.sleep(1)")
    done = _watch("--pid", str(child.pid), "--every", "0.1")
    assert done.returncode == 0, done.stderr
    assert f"process {child.pid} has ended; its exit status is its parent's to know" in done.stderr
    assert "Traceback" not in done.stderr


def test_children_that_come_and_go_between_readings_never_break_a_reading():
    # A shell starting thousands of short processes: some exit between the listing of
    # the tree and the reading of their figures.
    done = _watch(
        "--every",
        "0.05",
        "--timeout",
        "3",
        "--kill",
        "--",
        "sh",
        "-c",
        "while :; do /bin/true; done",
    )
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    assert len(LINE.findall(done.stderr)) > 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to watch: give --pid PID, or the command to run after '--'"),
        (("--pid", "1", "--", "sleep", "1"), "give --pid PID or a command after '--', not both"),
        (("--memory-limit", "lots", "--", "true"), "--memory-limit: cannot read 'lots' as a size"),
        (("--stall", "-5", "--", "true"), "--stall: cannot read '-5' as a duration"),
        (("--every", "0.001", "--", "true"), "--every: '0.001' is too short"),
        (("--write-ratio", "many", "--", "true"), "--write-ratio: cannot read 'many'"),
        (
            ("--record", "/no/such/dir/r.jsonl", "--", "true"),
            "--record: the directory /no/such/dir",
        ),
        (("--", "/no/such/program"), "cannot run '/no/such/program': command not found"),
    ],
)
def test_bad_arguments_are_exit_2_with_a_clear_message(args, message):
    done = _watch(*args)
    assert done.returncode == (127 if "command not found" in message else 2), done.stderr
    assert done.stderr.startswith("extraction-lint watch: error: "), done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def _terminate_watch_after_first_reading(
    argv: list[str], err: Path, ready: Path | None = None
) -> int:
    with err.open("wb") as stderr:
        watch = subprocess.Popen(
            [sys.executable, "-m", "extraction_lint", "watch", "--display", "lines", *argv],
            stdin=subprocess.DEVNULL,
            stderr=stderr,
            env=child_env(),
        )
        assert wait_for(lambda: len(LINE.findall(err.read_text())) >= 2)
        assert ready is None or wait_for(ready.exists)
        watch.send_signal(signal.SIGTERM)
        return watch.wait(timeout=30)


def test_sigterm_to_watch_is_passed_on_to_the_job_it_started(tmp_path):
    err = tmp_path / "watch.stderr"
    pid_file = tmp_path / "job.pid"
    job = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    status = _terminate_watch_after_first_reading(
        ["--every", "0.1", "--", sys.executable, "-c", job], err, ready=pid_file
    )
    assert status == 143, err.read_text()
    assert "watch got SIGTERM; passing it on to the job" in err.read_text()
    assert wait_for(lambda: not Path(f"/proc/{pid_file.read_text()}").exists(), timeout=10)


def test_sigterm_to_watch_of_a_pid_leaves_the_job_running_and_says_so(spawn, tmp_path):
    child = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    err = tmp_path / "watch.stderr"
    status = _terminate_watch_after_first_reading(["--pid", str(child.pid), "--every", "0.1"], err)
    assert status == 143, err.read_text()
    text = err.read_text()
    assert "passing it on" not in text
    assert (
        f"watch got SIGTERM; the job (pid {child.pid}) is left running: watch did not start it"
        in text
    )
    assert child.poll() is None
