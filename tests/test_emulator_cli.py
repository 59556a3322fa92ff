"""`azure-sentinel emulator` / `python -m sentinel_emulator`: the first stdout line, a clean exit, and
--write-instance end to end with `azure-sentinel run` in another process."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from sentinel_emulator import cli
from sentinel_emulator.testing import trusting_session

PARAM_KEYS = {"azure_cloud", "server_url", "authority_url", "creds_tenant_id", "creds_client_id", "credentials",
              "subscriptionID", "resourceGroupName", "workspaceName", "log_analytics_url"}


def _first_line(process: subprocess.Popen, timeout: float = 20.0) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line, "the emulator printed nothing"
    return line[0]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_first_line_is_json_and_the_process_exits_0_on_signal(stop_signal):
    """Given the CLI in a subprocess, its first stdout line is {"params", "env"}; a signal stops it with 0."""
    process = subprocess.Popen([sys.executable, "-m", "sentinel_emulator", "--seed", "3", "--faults", "429=0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        payload = json.loads(_first_line(process))
        assert set(payload) == {"params", "env"}
        params, env = payload["params"], payload["env"]
        assert set(params) == PARAM_KEYS
        assert params["server_url"].startswith("https://127.0.0.1:") and params["authority_url"] == params["server_url"]
        assert {"REQUESTS_CA_BUNDLE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"} <= set(env)
        tenant = params["creds_tenant_id"]["password"]
        discovery = trusting_session(env["REQUESTS_CA_BUNDLE"]).get(
            f"{params['server_url']}/{tenant}/v2.0/.well-known/openid-configuration")
        assert discovery.status_code == 200
    finally:
        process.send_signal(stop_signal)
        try:
            code = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
            process.stdout.close()
            process.stderr.close()
    assert code == 0


def test_bad_arguments_exit_2(capsys):
    assert cli.main(["--faults", "teapot=0.5"]) == 2
    assert "invalid --faults" in capsys.readouterr().err
    assert cli.main(["--latency-ms", "-1"]) == 2


def _console_script() -> str:
    script = Path(sys.executable).parent / "azure-sentinel"
    executable = str(script) if script.exists() else shutil.which("azure-sentinel")
    assert executable, "the azure-sentinel console script is not installed"
    return executable


def test_write_instance_gives_a_file_that_run_uses_with_no_editing(tmp_path):
    """Given `azure-sentinel emulator --write-instance FILE --seed 10000` in one process, when its export line
    appears, then FILE is a ready instance (owner-only, saying while it is valid) with which
    `azure-sentinel run --instance FILE test-module` in another process prints ok and exits 0 with no
    exported variables; the export line's managed identity endpoint issues tokens; SIGINT stops it with 0."""
    instance = tmp_path / "instance.yml"
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                                                           "IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    emulator = subprocess.Popen([_console_script(), "emulator", "--write-instance", str(instance), "--seed", "10000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        words = shlex.split(_first_line(emulator, timeout=60))
        assert words[0] == "export"
        exported = dict(word.split("=", 1) for word in words[1:])
        assert set(exported) == {"REQUESTS_CA_BUNDLE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"}

        text = instance.read_text(encoding="utf-8")
        values = yaml.safe_load(text)
        assert stat.S_IMODE(instance.stat().st_mode) == 0o600, "the file holds the client secret"
        assert "valid only while this emulator runs" in text.lower()
        assert f"port {urlsplit(values['server_url']).port}" in text
        assert values["azure_cloud"] == "Custom" and values["authority_url"] == values["server_url"]
        assert values["log_analytics_url"].startswith("https://127.0.0.1:")
        assert values["env"] == {"REQUESTS_CA_BUNDLE": exported["REQUESTS_CA_BUNDLE"]}

        run = subprocess.run([_console_script(), "run", "--instance", str(instance), "--state",
                              str(tmp_path / "state.sqlite"), "test-module"],
                             capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr

        token = trusting_session(exported["REQUESTS_CA_BUNDLE"]).get(
            exported["IDENTITY_ENDPOINT"], params={"api-version": "2019-08-01", "resource": values["server_url"]},
            headers={"X-IDENTITY-HEADER": exported["IDENTITY_HEADER"]})
        assert token.status_code == 200 and token.json()["access_token"]
    finally:
        emulator.send_signal(signal.SIGINT)
        try:
            code = emulator.wait(timeout=30)
        finally:
            if emulator.poll() is None:
                emulator.kill()
            emulator.stdout.close()
            emulator.stderr.close()
    assert code == 0


def test_write_instance_into_a_missing_directory_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["--write-instance", str(tmp_path / "nope" / "instance.yml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_port_in_use_is_one_clear_error(capsys):
    """Given a taken port, when the emulator is told to use it, then exit 2 with one line naming the fix."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        assert cli.main(["--port", str(taken.getsockname()[1]), "--seed", "0"]) == 2
    finally:
        taken.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--port" in err[0] and "Traceback" not in err[0]
