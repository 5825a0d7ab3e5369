"""In an interactive session (REPL, ``python -i``, IPython, a Jupyter kernel) no guard ends
the process: the error is raised in the main thread, and a thread that cannot take it
is reported, not killed.

The REPL is a real ``python -i`` on a pseudo-terminal, driven line by line.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ChildResult, RunChild, child_env

pytestmark = pytest.mark.slow


class Repl:
    """A Python REPL on a pseudo-terminal."""

    def __init__(self, cwd: Path) -> None:
        controller, terminal = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-q", "-i"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=cwd,
            env=child_env(TERM="xterm-256color", COLUMNS="200"),
            close_fds=True,
            start_new_session=True,
        )
        os.close(terminal)
        self.controller = controller
        self.output = ""

    def send(self, *lines: str) -> None:
        for line in lines:
            os.write(self.controller, line.encode() + b"\r")
            time.sleep(0.05)

    def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Read until ``pattern`` shows up in the output (escape sequences removed)."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.plain)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or (self.process.poll() is not None and not self._read(0.1)):
                raise AssertionError(
                    f"{pattern!r} not seen; exit status {self.process.poll()}; output:\n"
                    + self.plain
                )
            self._read(min(left, 0.5))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.controller], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.controller, 65536)
        except OSError:
            return False
        self.output += chunk.decode("utf-8", "replace")
        return bool(chunk)

    @property
    def plain(self) -> str:
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.output)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        os.close(self.controller)


@pytest.fixture
def repl(tmp_path: Path) -> Iterator[Repl]:
    session = Repl(tmp_path)
    try:
        session.expect(r">>> ")
        yield session
    finally:
        session.close()


def test_a_stall_at_the_repl_raises_names_the_guard_and_leaves_the_session_alive(
    repl: Repl,
) -> None:
    repl.send(
        "import signal, time",
        "from extraction_lint.guardrails import guard",
        "with guard(label='repl-job', stall_timeout=1, grace=1, heartbeat_every=None):",
        "    time.sleep(30)",
        "",
    )
    repl.expect(r"StallDetected: repl-job: no progress for 1\.\ds \(stall_timeout 1\.0s\)")
    repl.send("print('alive', 6 * 7)")
    repl.expect(r"\nalive 42\n")
    # Stuck where the error cannot reach it (the signal blocked, as C code that
    # retries its call would be): past the grace period and the last resort's margin
    # the session is told so, and is still there when the call returns.
    repl.send(
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM}) and None",
        "with guard(label='stuck-job', stall_timeout=1, grace=1, heartbeat_every=None):",
        "    time.sleep(5)",
        "",
    )
    repl.expect(
        r"stuck-job: thread MainThread has not moved for 1\.\ds since the error was raised: "
        r"it is stuck in C code"
    )
    repl.expect(r"This is an interactive session, so the process is left running")
    repl.expect(r"StallDetected: stuck-job: no progress for 1\.\ds", timeout=20)
    repl.send("print('still', 'alive')")
    repl.expect(r"\nstill alive\n")
    assert repl.process.poll() is None
    assert "Timeout (" not in repl.plain  # no last-resort dump either
    repl.send("exit()")
    assert repl.process.wait(timeout=10) == 0


def test_a_loop_that_swallows_the_error_at_the_repl_is_not_ended(repl: Repl) -> None:
    repl.send(
        "import time",
        "from extraction_lint.guardrails import guard",
        "start = time.monotonic()",
        "with guard(label='swallower', stall_timeout=0.5, grace=0.5, heartbeat_every=None):",
        "    while time.monotonic() - start < 4:",
        "        try:",
        "            time.sleep(0.05)",
        "        except BaseException:",
        "            pass",
        "",
    )
    repl.expect(r"StallDetected: swallower: no progress for ")
    repl.send("print('survived', round(time.monotonic() - start) >= 4)")
    repl.expect(r"\nsurvived True\n", timeout=20)


SCRIPT_STUCK = """
import signal, sys, time, types
from extraction_lint.guardrails import StallDetected, guard

if sys.argv[1] == "kernel":
    sys.modules["ipykernel"] = types.ModuleType("ipykernel")  # as in a Jupyter kernel
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM})
try:
    with guard(label="cell", stall_timeout=0.5, grace=0.5, heartbeat_every=None):
        time.sleep(4)  # past stall + grace + the last resort's margin
except StallDetected as error:
    print("raised when the call returned:", error.summary.splitlines()[0])
"""


@pytest.mark.parametrize("how", ["kernel", "python -i"])
def test_a_kernel_or_python_i_is_told_the_thread_is_stuck_and_not_ended(
    run_child: RunChild, write_script: object, tmp_path: Path, how: str
) -> None:
    if how == "kernel":
        result = run_child(SCRIPT_STUCK, "kernel")
    else:
        script = write_script(SCRIPT_STUCK)  # type: ignore[operator]
        completed = subprocess.run(
            [sys.executable, "-i", str(script), "script"],
            stdin=subprocess.DEVNULL,  # the prompt after the script reads end of file
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=child_env(),
            timeout=60,
        )
        result = ChildResult(completed.returncode, completed.stdout, completed.stderr, 0.0)
    assert result.returncode == 0, result.stderr
    assert "raised when the call returned: cell: no progress for " in result.stdout
    assert "cell: thread MainThread has not moved for " in result.stderr
    assert "This is an interactive session, so the process is left running" in result.stderr
    assert "Timeout (" not in result.stderr


def test_a_script_is_still_ended_when_its_main_thread_cannot_take_the_error(
    run_child: RunChild,
) -> None:
    result = run_child(SCRIPT_STUCK, "script")
    assert result.returncode == 1, result.explain()
    assert "did not respond within the grace period" in result.stderr


def test_a_jupyter_kernel_gets_the_error_in_its_cell_and_survives_a_stuck_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    for name, value in child_env().items():
        monkeypatch.setenv(name, value)  # the kernel is a child of this process
    kernel, client = manager.start_new_kernel(kernel_name="python3")

    def run(code: str, timeout: float = 60) -> str:
        """Execute a cell; its streams and error, as text."""
        msg_id = client.execute(code)
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = client.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: nothing yet
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append(f"CELL ERROR {content['ename']}: {content['evalue']}\n")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
        raise AssertionError("the cell did not finish:\n" + "".join(out))

    try:
        start = time.monotonic()
        out = run(
            "import signal, time\n"
            "from extraction_lint.guardrails import guard\n"
            "with guard(label='cell', stall_timeout=1, grace=1, heartbeat_every=None):\n"
            "    time.sleep(30)\n"
        )
        assert time.monotonic() - start < 15, out
        assert "CELL ERROR StallDetected: cell: no progress for 1." in out, out
        out = run(
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGVTALRM})\n"
            "with guard(label='stuck', stall_timeout=1, grace=1, heartbeat_every=None):\n"
            "    time.sleep(5)\n"
        )
        assert "stuck: thread MainThread has not moved for " in out, out
        assert "This is an interactive session, so the process is left running" in out, out
        assert "CELL ERROR StallDetected: stuck: no progress for 1." in out, out
        assert run("print('alive', 6 * 7)") == "alive 42\n"
        assert kernel.is_alive()
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
