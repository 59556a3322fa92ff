"""End to end through the `azure-sentinel` CLI against the emulator, with real MSAL and real TLS,
for every way of signing in: client secret, certificate, and managed identity (App Service and IMDS,
system- and user-assigned)."""

from __future__ import annotations

import json

import pytest
import yaml

from sentinel_emulator import Emulator
from xsoar_local import cli

MI_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT",
                "AZURE_POD_IDENTITY_AUTHORITY_HOST")


@pytest.fixture(scope="module")
def emu():
    emulator = Emulator(port=0, seed=30).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def managed_identity(emulator: Emulator, client_id: str = "") -> dict:
    params = {k: v for k, v in emulator.params().items()
              if k in ("azure_cloud", "server_url", "subscriptionID", "resourceGroupName", "workspaceName")}
    params["use_managed_identities"] = True
    if client_id:
        params["managed_identities_client_id"] = client_id
    return params


AUTH_KINDS = [
    pytest.param(lambda e: e.params(), lambda e: {}, "client", id="client-secret"),
    pytest.param(lambda e: e.certificate_params(), lambda e: {}, "cert", id="certificate"),
    pytest.param(lambda e: managed_identity(e), lambda e: e.env(), "system", id="mi-app-service-system"),
    pytest.param(lambda e: managed_identity(e, e.mi_client_id), lambda e: e.env(), "user", id="mi-app-service-user"),
    pytest.param(lambda e: managed_identity(e), lambda e: e.imds_env(), "system", id="mi-imds-system"),
]


@pytest.mark.parametrize(("make_params", "make_env", "principal"), AUTH_KINDS)
def test_run_and_fetch_through_the_cli(emu, tmp_path, monkeypatch, capsys, make_params, make_env, principal):
    """Given an instance file for one sign-in method, when test-module, list-incidents (twice) and a fetch
    run as separate CLI invocations, then each succeeds and one token serves them all."""
    for name in MI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
    for name, value in make_env(emu).items():
        monkeypatch.setenv(name, value)
    instance = tmp_path / "instance.yml"
    instance.write_text(yaml.safe_dump(make_params(emu)), encoding="utf-8")
    common = ["--instance", str(instance), "--state", str(tmp_path / "state.sqlite")]
    issued_before = sum(emu.token_requests.values())

    assert cli.main(["run", *common, "test-module"]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    for _ in range(2):
        assert cli.main(["run", *common, "azure-sentinel-list-incidents", "limit=3"]) == 0
        out = capsys.readouterr().out
        assert "Incidents List (3 results)" in out
    assert cli.main(["fetch", *common, "--json"]) == 0
    cycle = json.loads(capsys.readouterr().out.splitlines()[0])
    assert cycle["ok"] and cycle["incidents"] == 30

    assert sum(emu.token_requests.values()) - issued_before == 1, "one token must serve every invocation"
    expected_principal = {"client": emu.client_id, "cert": emu.cert_client_id, "user": emu.mi_client_id,
                          "system": "system"}[principal]
    assert emu.token_requests[expected_principal] >= 1


def test_wrong_secret_is_a_clear_error(emu, tmp_path, monkeypatch, capsys):
    """Given a wrong client secret, when test-module runs, then exit code 1 and one sentence that says
    what to fix, without the secret."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
    params = emu.params()
    params["credentials"] = {"identifier": "", "password": "definitely-not-the-secret"}
    instance = tmp_path / "instance.yml"
    instance.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert cli.main(["run", "--instance", str(instance), "--state", str(tmp_path / "s.sqlite"), "test-module"]) == 1
    err = capsys.readouterr().err
    assert "client secret is wrong" in err and "definitely-not-the-secret" not in err
