"""Shared helpers for the local host's CLI tests: `azure-sentinel` run in-process on the fixture integration.

`host` (a pytest fixture; import it into the test module) runs each test in its own directory with
$AZURE_SENTINEL_MODULE pointing at tests/fixtures/fake_integration.py, so the default ./instance.yml
and ./.azure-sentinel/state.sqlite are used, and `cli.sleep` only records what it was asked to wait.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xsoar_local import cli
from xsoar_local.state import State

FIXTURES = Path(__file__).parent / "fixtures"
MODULE = FIXTURES / "fake_integration.py"
BASE_INSTANCE = "subscriptionID: sub-1\ncredentials: ${TEST_CLIENT_SECRET}\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()


class Host:
    """Runs `azure-sentinel` in-process in a scratch directory and captures what it prints."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root, self._capsys = root, capsys
        self.sleeps: list[float] = []

    @property
    def state_file(self) -> Path:
        return self.root / ".azure-sentinel" / "state.sqlite"

    def instance(self, extra: str = "", base: str = BASE_INSTANCE, name: str = "instance.yml") -> Path:
        path = self.root / name
        path.write_text(base + extra, encoding="utf-8")
        return path

    def __call__(self, *argv: str) -> Result:
        self._capsys.readouterr()
        code = cli.main(list(argv))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def state(self) -> State:
        return State(self.state_file)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Host:
    for var in ("AZURE_SENTINEL_MANIFEST", "AZURE_SENTINEL_INSTANCE", "AZURE_SENTINEL_STATE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_SENTINEL_MODULE", str(MODULE))
    monkeypatch.setenv("TEST_CLIENT_SECRET", "s3cret")
    monkeypatch.setattr(sys, "_fake_integration_runs", 0, raising=False)
    monkeypatch.chdir(tmp_path)
    h = Host(tmp_path, capsys)
    monkeypatch.setattr(cli, "sleep", h.sleeps.append)
    return h
