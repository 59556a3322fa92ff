"""The CLI end to end with the real integration and the emulator: instance file, ${VAR}, env:, state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sentinel_emulator import Emulator
from xsoar_local import cli


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0, seed=25).start()
    try:
        yield emu
    finally:
        emu.stop()


def test_run_fetch_and_incidents_against_the_emulator(emulator: Emulator, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Given an instance file whose secret comes from ${VAR} and whose CA bundle comes from `env:`,
    when run, fetch (twice) and incidents are used, then every seeded incident arrives exactly once."""
    for var in ("AZURE_SENTINEL_MODULE", "AZURE_SENTINEL_MANIFEST", "AZURE_SENTINEL_STATE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    params = emulator.params()
    monkeypatch.setenv("E2E_CLIENT_SECRET", params["credentials"]["password"])
    monkeypatch.setenv("E2E_CA", emulator.env()["REQUESTS_CA_BUNDLE"])
    instance = {**params, "credentials": "${E2E_CLIENT_SECRET}", "fetch_time": "7 days", "limit": "10",
                "env": {"REQUESTS_CA_BUNDLE": "${E2E_CA}"}}
    (tmp_path / "instance.yml").write_text(yaml.safe_dump(instance), encoding="utf-8")

    def cli_run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    assert cli_run("run", "test-module") == (0, "ok\n", "")
    code, out, err = cli_run("fetch", "--json", "--cycles", "4")
    assert code == 0, err
    reports = [json.loads(line) for line in out.splitlines()]
    assert all(r["ok"] for r in reports) and sum(r["incidents"] for r in reports) == 25

    code, out, _ = cli_run("incidents", "--json")
    received = json.loads(out)
    assert sorted(i["number"] for i in received) == list(range(1, 26))
    assert len({i["id"] for i in received}) == 25

    code, out, err = cli_run("run", "--json", "azure-sentinel-get-incident-by-id", f"incident_id={received[0]['id']}")
    assert code == 0, err
    assert json.loads(out)[0]["Type"] == 1
    code, _, err = cli_run("run", "azure-sentinel-get-incident-by-id", "incident_id=00000000-0000-0000-0000-000000000000")
    assert code == 1 and err.startswith("Error: ")
