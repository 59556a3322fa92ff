"""Real MSAL (client secret, certificate, managed identity) against the emulator over real TLS."""

from __future__ import annotations

import msal
import pytest

from sentinel_emulator import Emulator
from sentinel_emulator.identity import make_certificate
from sentinel_emulator.testing import trusting_session

from test_emulator_api import Arm

MI_ENV = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
          "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST")


@pytest.fixture(scope="module")
def emu():
    with Emulator(seed=2) as emulator:
        yield emulator


def confidential(emu: Emulator, client_id: str, credential: object) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id, client_credential=credential, authority=f"{emu.base_url}/{emu.tenant_id}",
        instance_discovery=False, http_client=trusting_session(emu.ca_path))


def scopes(emu: Emulator) -> list[str]:
    return [f"{emu.base_url}/.default"]


# region client credentials


def test_msal_client_secret_and_one_token_serves_many_calls(emu):
    """Given the params' client secret, MSAL gets a token; it serves many ARM calls and MSAL's cache
    answers the second acquire, so the emulator counts exactly one token request."""
    before = emu.token_requests[emu.client_id]
    params = emu.params()
    app = confidential(emu, params["creds_client_id"]["password"], params["credentials"]["password"])
    result = app.acquire_token_for_client(scopes=scopes(emu))
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer" and 3000 < result["expires_in"] <= 3600
    arm = Arm(emu, token=result["access_token"])
    for _ in range(5):
        assert arm.call("GET", "/incidents", params={"$top": 1}).status_code == 200
    assert app.acquire_token_for_client(scopes=scopes(emu))["token_source"] == "cache"
    assert emu.token_requests[emu.client_id] == before + 1
    assert {r.principal for r in emu.requests if r.path.endswith("/incidents")} == {emu.client_id}


def test_msal_wrong_secret_gets_an_aad_error(emu):
    result = confidential(emu, emu.client_id, "not-the-secret").acquire_token_for_client(scopes=scopes(emu))
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215:")
    assert result["error_codes"] == [7000215]
    assert "not-the-secret" not in result["error_description"]


def test_msal_certificate_credential(emu):
    """Given the certificate params (thumbprint + PEM key), MSAL's signed assertion is accepted."""
    cert = emu.certificate_params()["creds_certificate"]
    app = confidential(emu, emu.cert_client_id, {"private_key": cert["password"], "thumbprint": cert["identifier"]})
    result = app.acquire_token_for_client(scopes=scopes(emu))
    assert "access_token" in result, result
    arm = Arm(emu, token=result["access_token"])
    assert arm.call("GET", "/incidents").status_code == 200
    assert emu.requests[-1].principal == emu.cert_client_id


@pytest.mark.parametrize("which", ["wrong-thumbprint", "wrong-key"])
def test_msal_certificate_mismatch_is_invalid_client(emu, which):
    cert = emu.certificate_params()["creds_certificate"]
    if which == "wrong-thumbprint":
        credential = {"private_key": cert["password"], "thumbprint": "AB" * 20}
    else:
        credential = {"private_key": make_certificate().private_key_pem, "thumbprint": cert["identifier"]}
    result = confidential(emu, emu.cert_client_id, credential).acquire_token_for_client(scopes=scopes(emu))
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_discovery_document_names_the_emulator(emu):
    session = trusting_session(emu.ca_path)
    config = session.get(f"{emu.base_url}/{emu.tenant_id}/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token"
    assert config["issuer"].startswith(emu.base_url)
    unknown = session.get(f"{emu.base_url}/not-a-tenant/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and "AADSTS90002" in unknown.json()["error_description"]
    with pytest.raises(ValueError):
        msal.ConfidentialClientApplication(emu.client_id, client_credential=emu.client_secret,
                                           authority=f"{emu.base_url}/not-a-tenant", instance_discovery=False,
                                           http_client=session)


@pytest.mark.parametrize("form, error, code", [
    pytest.param({"scope": "https://x/user.read"}, "invalid_scope", 1002012, id="scope-without-default"),
    pytest.param({"client_id": "11111111-2222-4333-8444-555555555555"}, "unauthorized_client", 700016,
                 id="unknown-client"),
    pytest.param({"grant_type": "password"}, "unsupported_grant_type", 70003, id="grant-type"),
])
def test_token_endpoint_errors_have_aad_shape(emu, form, error, code):
    body = {"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
            "scope": f"{emu.base_url}/.default", **form}
    response = trusting_session(emu.ca_path).post(f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token", data=body)
    assert response.status_code in (400, 401)
    payload = response.json()
    assert payload["error"] == error and payload["error_codes"] == [code]
    assert payload["error_description"].startswith(f"AADSTS{code}:")


# endregion

# region managed identity


@pytest.fixture()
def clean_mi_env(monkeypatch):
    for name in MI_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("identity, principal", [
    pytest.param("system", "system", id="system-assigned"),
    pytest.param("user", "user", id="user-assigned"),
])
def test_managed_identity_app_service(emu, clean_mi_env, identity, principal):
    """Given IDENTITY_ENDPOINT + IDENTITY_HEADER from emu.env(), MSAL's App Service flow gets a token."""
    for name, value in emu.env().items():
        clean_mi_env.setenv(name, value)
    which = (msal.SystemAssignedManagedIdentity() if identity == "system"
             else msal.UserAssignedManagedIdentity(client_id=emu.mi_client_id))
    client = msal.ManagedIdentityClient(which, http_client=trusting_session(emu.ca_path))
    result = client.acquire_token_for_client(resource=emu.base_url)
    assert "access_token" in result, result
    assert emu.requests[-1].path == "/msi/token" and emu.requests[-1].query["api-version"] == "2019-08-01"
    Arm(emu, token=result["access_token"]).call("GET", "/incidents")
    expected = "system" if principal == "system" else emu.mi_client_id
    assert emu.requests[-1].principal == expected and emu.requests[-1].status == 200


def test_managed_identity_imds(emu, clean_mi_env):
    """Given AZURE_POD_IDENTITY_AUTHORITY_HOST from emu.imds_env(), MSAL's VM (IMDS) flow gets a token."""
    clean_mi_env.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.imds_env()["AZURE_POD_IDENTITY_AUTHORITY_HOST"])
    client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=emu.mi_client_id),
                                        http_client=trusting_session(emu.ca_path))
    result = client.acquire_token_for_client(resource=emu.base_url)
    assert "access_token" in result, result
    record = emu.requests[-1]
    assert record.path == "/metadata/identity/oauth2/token" and record.query["api-version"] == "2018-02-01"
    assert record.query["client_id"] == emu.mi_client_id
    assert Arm(emu, token=result["access_token"]).call("GET", "/incidents").status_code == 200


def test_managed_identity_endpoints_check_their_headers(emu):
    session = trusting_session(emu.ca_path)
    params = {"api-version": "2019-08-01", "resource": emu.base_url}
    assert session.get(f"{emu.base_url}/msi/token", params=params).status_code == 401
    imds = session.get(f"{emu.base_url}/metadata/identity/oauth2/token",
                       params={"api-version": "2018-02-01", "resource": emu.base_url})
    assert imds.status_code == 400 and imds.json()["error"] == "invalid_request"
    unknown = session.get(f"{emu.base_url}/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                          params={"api-version": "2018-02-01", "resource": emu.base_url, "client_id": "nope"})
    assert unknown.status_code == 400
    ok = session.get(f"{emu.base_url}/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                     params={"api-version": "2018-02-01", "resource": emu.base_url})
    assert ok.status_code == 200 and int(ok.json()["expires_in"]) > 3000


# endregion
