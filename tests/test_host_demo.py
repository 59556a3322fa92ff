"""`azure-sentinel demo` against the real integration and the in-process Sentinel emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xsoar_local import cli


def test_demo_fetches_from_the_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Given the real module and the emulator, when `azure-sentinel demo` runs, then test-module passes,
    incidents arrive (or, before fetch exists, are listed) and the exit code is 0."""
    for var in ("AZURE_SENTINEL_MODULE", "AZURE_SENTINEL_MANIFEST", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["demo"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("test-module: ok\n")
    assert "Fetched " in out or "Listed incidents" in out
    assert not list(tmp_path.iterdir())  # the demo keeps its state in a temporary directory


class _StandInEmulator:
    """The emulator's API as the demo uses it, without a server (the fixture integration makes no calls)."""

    instances: list[_StandInEmulator] = []
    extra_params: dict[str, str] = {}

    def __init__(self, port: int, seed: int) -> None:
        self.port, self.seed, self.stopped, self.ca_seen = port, seed, False, None
        _StandInEmulator.instances.append(self)

    def start(self) -> _StandInEmulator:
        return self

    def params(self) -> dict[str, object]:
        return {"subscriptionID": "emulated", "credentials": {"identifier": "", "password": "pw"}, **self.extra_params}

    def env(self) -> dict[str, str]:
        return {"REQUESTS_CA_BUNDLE": "/tmp/emulator-ca.pem", "IDENTITY_ENDPOINT": "https://127.0.0.1:1/msi",
                "IDENTITY_HEADER": "h"}

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[_StandInEmulator]:
    import sentinel_emulator

    monkeypatch.setattr(sentinel_emulator, "Emulator", _StandInEmulator, raising=False)
    monkeypatch.setattr(_StandInEmulator, "instances", [])
    monkeypatch.setattr(_StandInEmulator, "extra_params", {})
    monkeypatch.setenv("AZURE_SENTINEL_MODULE", str(Path(__file__).parent / "fixtures" / "fake_integration.py"))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.chdir(tmp_path)
    return _StandInEmulator


def test_demo_flow_prints_the_fetched_incidents(stand_in: type[_StandInEmulator],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Given an emulator, then the demo starts it on port 0 with seed 25, runs test-module and one fetch,
    prints the incidents table and the summary line, and stops the emulator; the CA bundle env is restored."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "test-module: ok"
    assert out[1].split() == ["#", "Number", "Severity", "Occurred", "Name"]
    assert out[-1].startswith("Fetched 2 incidents from the local Sentinel emulator in ")
    emulator = stand_in.instances[0]
    assert (emulator.port, emulator.seed, emulator.stopped) == (0, 25, True)
    assert "REQUESTS_CA_BUNDLE" not in os.environ


def test_demo_lists_incidents_when_fetch_is_not_supported(stand_in: type[_StandInEmulator],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    stand_in.extra_params = {"fetch_mode": "unsupported"}
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "fetch-incidents is not supported by the integration yet; listing incidents instead." in out
    assert "### Incidents" in out and "Listed incidents from the local Sentinel emulator" in out


def test_demo_exits_1_when_test_module_fails(stand_in: type[_StandInEmulator],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    stand_in.extra_params = {"subscriptionID": "bad"}
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "Error: Authorization failed: check subscriptionID." in err
    assert stand_in.instances[0].stopped
