"""A test runner that forks: started once per scratch tree by tools/mutation.py, it imports pytest and the
heavy libraries once, then runs each request (one JSON line on stdin: pytest arguments and a timeout) in a
forked child, so a mutant costs its tests, not a new interpreter. Each child collects the test files
afresh, so every test module loads the module file as it is on disk at that moment (the mutant).

Answers one JSON line per request: {"rc": exit code or null on timeout, "output": the last lines}.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import tempfile
import time

PRELOAD = ("pytest", "requests", "requests_mock", "msal", "pydantic", "yaml", "hypothesis", "cryptography",
           "werkzeug", "rich", "xsoar_local.platform", "sentinel_emulator")


def _run_child(args: list[str], output_path: str) -> None:
    fd = os.open(output_path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        import pytest

        code = int(pytest.main(args))
    except BaseException:  # noqa: BLE001 - whatever happens, the child reports an exit code
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def main() -> None:
    sys.path.insert(0, os.getcwd())  # the scratch tree's xsoar_local, not the installed one
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    handle, output_path = tempfile.mkstemp(prefix="mutation-worker-", suffix=".log")
    os.close(handle)
    try:
        for line in sys.stdin:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _run_child(request["args"], output_path)
            rc = _wait(pid, float(request["timeout"]))
            with open(output_path, encoding="utf-8", errors="replace") as output:
                tail = output.read()[-6000:]
            sys.stdout.write(json.dumps({"rc": rc, "output": tail}) + "\n")
            sys.stdout.flush()
    finally:
        os.unlink(output_path)


if __name__ == "__main__":
    main()
