"""Authentication: the cross-run token cache, secret hygiene, managed identity and certificates.

Entra ID, the App Service identity endpoint (on a loopback URL) and IMDS (169.254.169.254) are all
served by requests-mock; MSAL does the real protocol work against them.
"""

from __future__ import annotations

import base64
import datetime
import json
import time

import msal
import msal.managed_identity
import pytest
import requests_mock
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from module_helpers import (
    ARM, CLIENT_ID, CLIENT_SECRET, INCIDENT_ID, INCIDENT_URL, TOKEN_URL, WS_URL, all_text, arm_requests,
    base_params, cached_token, form, load_json, mock_login, only_entry, only_error,
    query, run,
)

MI_ENV_VARS = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET",
               "IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZUREPS_HOST_ENVIRONMENT")
IMDS_URL = "http://169.254.169.254/metadata/identity/oauth2/token"
APP_SERVICE_URL = "http://127.0.0.1:41999/msi/token"
MI_CLIENT_ID = "99999999-8888-7777-6666-555555555555"


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        yield mocker


def get_incident(context: dict | None = None, params: dict | None = None):
    return run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}, params=params, context=context)


# -- the token cache ---------------------------------------------------------------------------


def test_two_runs_sharing_the_context_sign_in_once(m):
    """Given two separate command runs that share the integration context, then only one token is requested."""
    sign_in = mock_login(m, "token-A", "token-B")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    first = get_incident()
    second = get_incident(context=first.context)
    assert sign_in.call_count == 1
    assert [r.headers["Authorization"] for r in arm_requests(m)] == ["Bearer token-A", "Bearer token-A"]
    assert only_entry(second)["Type"] == 1
    assert second.context_writes == 0  # nothing changed, nothing written


@pytest.mark.parametrize("seconds_left, refreshed", [
    pytest.param(200, True, id="expires-within-5-minutes"),
    pytest.param(290, True, id="just-inside-the-margin"),
    pytest.param(400, False, id="still-fresh"),
    pytest.param(-10, True, id="already-expired"),
])
def test_token_near_expiry_is_refreshed(m, seconds_left, refreshed):
    """Given a cached token with N seconds left, then it is reused only with more than 5 minutes left."""
    sign_in = mock_login(m, "fresh-token")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    first = get_incident()
    context = json.loads(json.dumps(first.context))
    cached_token(context)["access_token"] = "old-token"
    cached_token(context)["expires_on"] = time.time() + seconds_left
    second = get_incident(context=context)
    assert sign_in.call_count == 1 + refreshed
    expected = "Bearer fresh-token" if refreshed else "Bearer old-token"
    assert arm_requests(m)[-1].headers["Authorization"] == expected
    if refreshed:
        assert cached_token(second.context)["access_token"] == "fresh-token"


def test_cached_token_of_another_client_is_not_used(m):
    """Given a cached token keyed to another client ID, when a command runs, then a new token is requested."""
    sign_in = mock_login(m, "token-A", "token-B")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    first = get_incident()
    get_incident(context=first.context,
                 params=base_params(creds_client_id={"identifier": "", "password": "another-client-id"}))
    assert sign_in.call_count == 2


def test_the_secret_is_never_stored_in_the_context(m):
    """Given client-secret auth, when the token is cached, then the context holds the token but not the secret."""
    mock_login(m, "token-A")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    platform = get_incident()
    assert CLIENT_SECRET not in json.dumps(platform.context)
    assert set(platform.context) == {"azure_tokens"}
    assert set(cached_token(platform.context)) == {"access_token", "expires_on"}


def test_sign_in_form_carries_the_client_credentials_grant(m):
    """Given client-secret auth, when signing in, then the form has the secret, the client ID and the ARM scope."""
    sign_in = mock_login(m)
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    get_incident()
    body = form(sign_in.last_request)
    assert body["grant_type"] == "client_credentials"
    assert body["client_id"] == CLIENT_ID and body["client_secret"] == CLIENT_SECRET
    assert body["scope"] == f"{ARM}/.default"


SECRET_TOKEN = "eyJ0eXAiOiJKV1Qi.secret-token-value.signature"


@pytest.mark.parametrize("command, args, arm_mock", [
    pytest.param("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
                 lambda m: m.get(INCIDENT_URL, json=load_json("incident_get.json")), id="success"),
    pytest.param("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
                 lambda m: m.get(INCIDENT_URL, status_code=401,
                                 json={"error": {"code": "InvalidAuthenticationToken",
                                                 "message": f"Bearer {SECRET_TOKEN} is invalid"}}),
                 id="401-error-echoing-the-token"),
    pytest.param("azure-sentinel-list-incidents", {},
                 lambda m: m.get(f"{WS_URL}/incidents", [
                     {"status_code": 503, "headers": {"Retry-After": "0"}}, {"json": {"value": []}}]),
                 id="retry-logs"),
    pytest.param("test-module", {}, lambda m: m.get(f"{WS_URL}/incidents", json={"value": []}), id="test-module"),
])
def test_token_and_secret_never_appear_in_entries_or_logs(m, command, args, arm_mock):
    """Given any outcome, then no entry, log line or context output contains the token or the secret."""
    mock_login(m, SECRET_TOKEN, SECRET_TOKEN)
    arm_mock(m)
    platform = run(command, args)
    text = all_text(platform)
    assert platform.results
    assert SECRET_TOKEN not in text
    assert CLIENT_SECRET not in text
    assert "Bearer" not in text or "Bearer <redacted>" in text


def test_sign_in_failure_is_one_clear_error_without_the_secret(m):
    """Given Entra ID rejects the secret (and echoes it), then the error names the AAD code and the fix only."""
    mock_login(m)
    m.post(TOKEN_URL, status_code=401, json={
        "error": "invalid_client", "error_codes": [7000215],
        "error_description": f"AADSTS7000215: Invalid client secret provided: {CLIENT_SECRET}.\nTrace ID: 1"})
    platform = get_incident()
    message = only_error(platform)
    assert "invalid_client" in message and "copy the secret's Value" in message
    assert CLIENT_SECRET not in all_text(platform)
    assert "\n" not in message
    assert arm_requests(m) == []


# -- managed identity ----------------------------------------------------------------------------


@pytest.fixture
def no_mi_env(monkeypatch):
    for name in MI_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def mi_params(client_id: str | None = None) -> dict:
    params = base_params(credentials=None, creds_tenant_id=None, creds_client_id=None, use_managed_identities=True)
    if client_id:
        params["managed_identities_client_id"] = {"identifier": "", "password": client_id}
    return params


@pytest.mark.parametrize("client_id", [
    pytest.param(None, id="system-assigned"),
    pytest.param(MI_CLIENT_ID, id="user-assigned"),
])
def test_managed_identity_via_app_service_endpoint(m, no_mi_env, client_id):
    """Given IDENTITY_ENDPOINT/IDENTITY_HEADER, when a command runs, then MSAL asks that endpoint for ARM."""
    no_mi_env.setenv("IDENTITY_ENDPOINT", APP_SERVICE_URL)
    no_mi_env.setenv("IDENTITY_HEADER", "identity-header-value")
    identity = m.get(APP_SERVICE_URL, json={"access_token": "mi-token", "expires_on": str(int(time.time()) + 3600),
                                            "resource": ARM, "token_type": "Bearer"})
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    platform = get_incident(params=mi_params(client_id))
    assert only_entry(platform)["Type"] == 1
    assert identity.call_count == 1
    request = identity.last_request
    assert request.headers["X-IDENTITY-HEADER"] == "identity-header-value"
    sent = query(request)
    assert sent["resource"] == ARM
    assert sent.get("client_id") == client_id
    assert arm_requests(m)[0].headers["Authorization"] == "Bearer mi-token"
    assert not any("login.microsoftonline.com" in r.url for r in m.request_history)


@pytest.mark.parametrize("client_id", [
    pytest.param(None, id="system-assigned"),
    pytest.param(MI_CLIENT_ID, id="user-assigned"),
])
def test_managed_identity_via_imds_when_no_env_is_set(m, no_mi_env, client_id):
    """Given no identity env vars (an Azure VM), when a command runs, then IMDS is asked (mocked, never real)."""
    assert msal.managed_identity.get_managed_identity_source() is msal.managed_identity.DEFAULT_TO_VM
    imds = m.get(IMDS_URL, json={"access_token": "imds-token", "expires_in": "3599", "resource": ARM,
                                 "token_type": "Bearer"})
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    platform = get_incident(params=mi_params(client_id))
    assert only_entry(platform)["Type"] == 1
    request = imds.last_request
    assert request.headers["Metadata"] == "true"
    sent = query(request)
    assert sent["api-version"] == "2018-02-01" and sent["resource"] == ARM
    assert sent.get("client_id") == client_id
    assert arm_requests(m)[0].headers["Authorization"] == "Bearer imds-token"
    assert "imds-token" not in all_text(platform)


def test_managed_identity_token_is_cached_across_runs(m, no_mi_env):
    """Given managed identity, when two runs share the context, then IMDS is asked once."""
    imds = m.get(IMDS_URL, json={"access_token": "imds-token", "expires_in": "3599", "resource": ARM})
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    first = get_incident(params=mi_params())
    get_incident(params=mi_params(), context=first.context)
    assert imds.call_count == 1


def test_managed_identity_failure_is_a_clear_error(m, no_mi_env):
    """Given IMDS answers with an error, when a command runs, then one error entry names it and the fix."""
    m.get(IMDS_URL, status_code=400, json={"error": "invalid_request",
                                           "error_description": "Identity not found"})
    message = only_error(get_incident(params=mi_params(MI_CLIENT_ID)))
    assert "managed identity" in message and "invalid_request" in message
    assert arm_requests(m) == []


# -- certificate ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate():
    """An RSA key and a self-signed certificate, made for this test run; returns (pem key, thumbprint, cert)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sentinel-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
    return pem, thumbprint, cert


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_certificate_auth_sends_a_signed_client_assertion(m, certificate):
    """Given a thumbprint and private key, when signing in, then the form has a JWT assertion and no secret."""
    pem, thumbprint, cert = certificate
    sign_in = mock_login(m, "cert-token")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    params = base_params(credentials=None, creds_certificate={"identifier": thumbprint, "password": pem})
    platform = get_incident(params=params)
    assert only_entry(platform)["Type"] == 1
    body = form(sign_in.last_request)
    assert "client_secret" not in body
    assert body["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header_b64, payload_b64, signature_b64 = body["client_assertion"].split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "RS256"
    assert b64url_decode(header["x5t"]) == bytes.fromhex(thumbprint)
    claims = json.loads(b64url_decode(payload_b64))
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL
    cert.public_key().verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode(),
                             padding.PKCS1v15(), hashes.SHA256())
    assert arm_requests(m)[0].headers["Authorization"] == "Bearer cert-token"
    text = all_text(platform) + json.dumps(platform.context)
    assert "PRIVATE KEY" not in text and pem.splitlines()[1] not in text


def test_certificate_thumbprint_with_colons_is_normalised(m, certificate):
    """Given a thumbprint copied with colons, when signing in, then x5t is still the certificate's SHA-1."""
    pem, thumbprint, _cert = certificate
    sign_in = mock_login(m)
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    colons = ":".join(thumbprint[i:i + 2] for i in range(0, len(thumbprint), 2))
    get_incident(params=base_params(credentials=None, creds_certificate={"identifier": colons, "password": pem}))
    header = json.loads(b64url_decode(form(sign_in.last_request)["client_assertion"].split(".")[0]))
    assert b64url_decode(header["x5t"]) == bytes.fromhex(thumbprint)


def test_malformed_private_key_is_a_clear_error_without_the_key(m):
    """Given a private key that is not PEM, when signing in, then the error says so and never echoes the key."""
    mock_login(m)
    bad_key = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key-but-long-enough-to-redact\n-----END PRIVATE KEY-----"
    platform = get_incident(params=base_params(credentials=None,
                                               creds_certificate={"identifier": "AB" * 20, "password": bad_key}))
    message = only_error(platform)
    assert "certificate" in message
    assert "not-really-a-key" not in all_text(platform)
