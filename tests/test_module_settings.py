"""Instance settings that cannot work, and IDs or filters that could escape their place in a request.

Each bad setting or argument must become one clear, one-line error entry, and must be refused
before anything is sent: request_history stays empty (no sign-in either).
"""

from __future__ import annotations

import pytest
import requests_mock

from module_helpers import (
    INCIDENT_ID, WS_URL, arm_requests, base_params, load_json, load_module, mock_login, only_entry, only_error,
    query, run,
)

MOD = load_module()


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        yield mocker


def assert_refused(m, platform, *fragments: str) -> str:
    message = only_error(platform)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert m.request_history == [], "refused settings or arguments must not send anything"
    return message


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, fragments", [
    pytest.param({"subscriptionID": None}, ["Default Subscription ID"], id="missing-subscription"),
    pytest.param({"resourceGroupName": ""}, ["Default Resource Group Name"], id="missing-resource-group"),
    pytest.param({"workspaceName": "  "}, ["Workspace Name"], id="missing-workspace"),
    pytest.param({"credentials": None}, ["No credentials are set"], id="no-credentials"),
    pytest.param({"creds_certificate": {"identifier": "AB" * 20, "password": "-----BEGIN PRIVATE KEY-----x"}},
                 ["Both a client secret and a certificate"], id="secret-and-certificate"),
    pytest.param({"creds_certificate": {"identifier": "AB" * 20, "password": ""}},
                 ["Both a client secret and a certificate"], id="secret-and-thumbprint"),
    pytest.param({"private_key": "-----BEGIN PRIVATE KEY-----x"},
                 ["Both a client secret and a certificate"], id="secret-and-private-key"),
    pytest.param({"credentials": None, "creds_certificate": {"identifier": "AB" * 20, "password": ""}},
                 ["needs both the Certificate Thumbprint and the Private Key"], id="thumbprint-without-key"),
    pytest.param({"use_managed_identities": True}, ["Managed Identities", "clear one of them"],
                 id="managed-identity-and-secret"),
    pytest.param({"creds_tenant_id": None}, ["Tenant ID"], id="missing-tenant"),
    pytest.param({"azure_cloud": "Custom", "server_url": "http://arm.example.com"},
                 ["http://", "only https://"], id="http-server-url-not-loopback"),
    pytest.param({"azure_cloud": "Custom", "server_url": "https://arm.example.com",
                  "authority_url": "http://login.example.com"}, ["Authority URL", "only https://"],
                 id="http-authority-not-loopback"),
    pytest.param({"azure_cloud": "Custom", "server_url": None}, ["Custom", "Server URL"],
                 id="custom-without-server-url"),
    pytest.param({"azure_cloud": "Germany"}, ["Germany", "retired"], id="germany-refused"),
    pytest.param({"azure_cloud": "Mars"}, ["Mars", "unknown"], id="unknown-cloud"),
    pytest.param({"azure_cloud": "Custom", "server_url": "ftp://arm.example.com"}, ["not a valid URL"],
                 id="not-http-at-all"),
    pytest.param({"odata_filter": "properties/title eq 'x"}, ["unbalanced"], id="unbalanced-odata-filter"),
])
def test_bad_settings_are_one_line_errors_before_any_request(m, overrides, fragments):
    """Given an instance setting that cannot work, when any command runs, then one error entry says what to fix."""
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}, params=base_params(**overrides))
    assert_refused(m, platform, *fragments)


def test_secret_in_a_refused_setting_is_not_echoed(m):
    """Given secret + certificate, when the settings are refused, then the secret is not in the message."""
    params = base_params(creds_certificate={"identifier": "AB" * 20, "password": "pem-private-key-material"})
    message = assert_refused(m, run("test-module", params=params))
    assert "s3cr3t" not in message and "pem-private-key-material" not in message


@pytest.mark.parametrize("server_url", [
    pytest.param("http://127.0.0.1:8443", id="ipv4-loopback"),
    pytest.param("http://localhost:8443", id="localhost"),
    pytest.param("http://[::1]:8443", id="ipv6-loopback"),
])
def test_http_server_url_on_loopback_is_accepted(m, server_url):
    """Given a Custom cloud on a loopback http:// URL (an emulator), when a command runs, then it is used."""
    mock_login(m)
    m.get(f"{server_url}/subscriptions/{base_params()['subscriptionID']}/resourceGroups/myRg/providers/"
          f"Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents",
          json={"value": []})
    platform = run("test-module", params=base_params(azure_cloud="Custom", server_url=server_url))
    assert platform.results == ["ok"]
    token_request = [r for r in m.request_history if r.method == "POST"][0]
    assert query(token_request) == {} and f"scope={server_url.replace(':', '%3A').replace('/', '%2F')}" in \
        token_request.text.replace("%5B", "[").replace("%5D", "]")


def test_settings_parse_into_the_right_cloud():
    """Given the official cloud names, then each maps to its ARM and login endpoints."""
    gov = MOD.settings_from_params(base_params(azure_cloud="US GCC-High"))
    assert (gov.cloud.arm, gov.cloud.login) == ("https://management.usgovcloudapi.net",
                                                "https://login.microsoftonline.us")
    assert gov.scope == "https://management.usgovcloudapi.net/.default"
    legacy = MOD.settings_from_params(base_params(azure_cloud=None, server_url="https://arm.proxy.example"))
    assert legacy.cloud.name == "Custom" and legacy.cloud.arm == "https://arm.proxy.example"


# -- path injection ------------------------------------------------------------------------------


BAD_IDS = [
    pytest.param("../../x", id="dot-dot-traversal"),
    pytest.param("a/b", id="slash"),
    pytest.param("%2e%2e", id="percent-encoded-dots"),
    pytest.param("a?b", id="question-mark"),
    pytest.param("a#b", id="hash"),
    pytest.param("..", id="dot-dot"),
    pytest.param(".", id="dot"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("a\nb", id="newline"),
]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("command, extra", [
    pytest.param("azure-sentinel-get-incident-by-id", {}, id="get"),
    pytest.param("azure-sentinel-update-incident", {"title": "t"}, id="update"),
    pytest.param("azure-sentinel-delete-incident", {}, id="delete"),
    pytest.param("azure-sentinel-list-incident-alerts", {}, id="alerts"),
    pytest.param("azure-sentinel-incident-add-comment", {"message": "m"}, id="add-comment"),
])
def test_bad_incident_ids_are_refused_before_any_request(m, command, extra, bad_id):
    """Given an incident_id that could leave its path segment, when a command runs, then nothing is sent."""
    message = assert_refused(m, run(command, {"incident_id": bad_id, **extra}), "The ID", "not valid")
    assert repr(bad_id) in message


@pytest.mark.parametrize("bad_id", BAD_IDS[:4])
def test_bad_comment_ids_are_refused_before_any_request(m, bad_id):
    """Given a comment_id that could leave its path segment, when delete-comment runs, then nothing is sent."""
    assert_refused(m, run("azure-sentinel-incident-delete-comment", {"incident_id": INCIDENT_ID, "comment_id": bad_id}),
                   "The comment ID", repr(bad_id), "not valid")


@pytest.mark.parametrize("arg", ["subscription_id", "resource_group_name"])
def test_bad_workspace_override_is_refused_before_any_request(m, arg):
    """Given a subscription_id/resource_group_name with '/', when a command runs, then nothing is sent."""
    assert_refused(m, run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID, arg: "x/../../y"}),
                   "not valid")


def test_safe_ids_are_percent_encoded_as_one_segment(m):
    """Given an ID with characters that are legal but special in URLs, then it stays inside one segment."""
    mock_login(m)
    odd = "inc id;1@x"
    m.get(f"{WS_URL}/incidents/inc%20id%3B1%40x", json=load_json("incident_get.json"))
    assert only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": odd}))["Type"] == 1
    assert arm_requests(m)[0].path.endswith("/incidents/inc%20id%3b1%40x")


# -- OData quoting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, quoted", [
    pytest.param("High", "'High'", id="plain"),
    pytest.param("O'Brien", "'O''Brien'", id="embedded-quote"),
    pytest.param("x' or 1 eq 1 or 'a", "'x'' or 1 eq 1 or ''a'", id="injection-attempt"),
    pytest.param("", "''", id="empty"),
])
def test_odata_quote_escapes_single_quotes(value, quoted):
    """Given a value for an OData $filter, then it is one string literal with embedded quotes doubled."""
    assert MOD.odata_quote(value) == quoted


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1001"])
def test_bad_limit_is_refused_before_any_request(m, limit):
    """Given a limit that is not a whole number in range, when list-incidents runs, then nothing is sent."""
    assert_refused(m, run("azure-sentinel-list-incidents", {"limit": limit}), "limit")


@pytest.mark.parametrize("command, args, fragment", [
    pytest.param("azure-sentinel-get-incident-by-id", {}, "incident_id", id="missing-incident-id"),
    pytest.param("azure-sentinel-create-incident", {"title": "t"}, "status", id="create-missing-status"),
    pytest.param("azure-sentinel-update-incident", {"incident_id": INCIDENT_ID, "severity": "Critical"},
                 "severity", id="update-severity-not-predefined"),
    pytest.param("azure-sentinel-incident-add-comment", {"incident_id": INCIDENT_ID}, "message",
                 id="comment-missing-message"),
    pytest.param("azure-sentinel-no-such-command", {}, "not implemented", id="unknown-command"),
])
def test_bad_arguments_are_one_line_errors(m, command, args, fragment):
    """Given a missing or invalid argument, when the command runs, then the entry names the argument."""
    assert_refused(m, run(command, args), fragment)


# -- TLS and proxy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("insecure, verified", [
    pytest.param(None, True, id="verify-by-default"),
    pytest.param(True, False, id="insecure-turns-it-off"),
])
def test_tls_verification_follows_insecure(m, monkeypatch, insecure, verified):
    """Given the insecure param, when a command runs, then every request (sign-in included) verifies TLS or not."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    platform = run("test-module", params=base_params(insecure=insecure))
    assert platform.results == ["ok"]
    assert m.request_history
    assert all(r.verify is verified for r in m.request_history)


@pytest.mark.parametrize("proxy", [pytest.param(None, id="no-proxy"), pytest.param(True, id="system-proxy")])
def test_insecure_wins_over_a_ca_bundle_in_the_environment(m, monkeypatch, tmp_path, proxy):
    """Given REQUESTS_CA_BUNDLE is set (as on many hosts) and insecure is on, with or without the system
    proxy, when a command runs, then no request verifies TLS."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used", encoding="utf-8")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    platform = run("test-module", params=base_params(insecure=True, proxy=proxy))
    assert platform.results == ["ok"]
    assert all(r.verify is False for r in m.request_history)


def test_requests_identify_the_integration(m):
    """Given any ARM call, then it carries the integration's User-Agent and asks for JSON."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    run("test-module")
    request = arm_requests(m)[0]
    assert request.headers["User-Agent"] == MOD.USER_AGENT
    assert request.headers["Accept"] == "application/json"
