"""`azure-sentinel emulator` / `python -m sentinel_emulator`: the first stdout line, and a clean exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

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
