"""The outer surface under attack: what a hostile server, a broken proxy or a flaky network sends.

Each class of defect found by probing the integration from outside has its tests here: redirects,
path pinning of links, response shapes, mid-body resets, poison records, damaged fetch state,
token-endpoint faults, TLS failures and corrupt token caches. Everything Azure is requests-mock
(and, for the real TLS case, the local emulator); nothing leaves loopback.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import zlib

import pytest
import requests
import requests_mock

from module_helpers import (
    ARM, INCIDENT_ID, INCIDENT_URL, LOGIN, NEXT_LINK_KEY, OPENID_URL, SUB, TENANT, TOKEN_URL, WS_URL, all_text,
    arm_requests, base_params, incident, load_json, load_module, mock_login, only_entry, only_error, run,
)
from xsoar_local.platform import Platform, run_module

MOD = load_module()
EVIL = "https://evil.example"
ROLE_ASSIGNMENTS = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture
def no_sleep(monkeypatch):
    """Retries wait on a fake clock: time.sleep advances time.time instead of blocking."""
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))


def fetch(last_run=None, params=None, **kwargs) -> tuple[Platform, BaseException | None]:
    """One fetch-incidents run; returns the platform and the exception that escaped (a failed fetch)."""
    platform = Platform(params=params or base_params(isFetch=True), command="fetch-incidents",
                        last_run=last_run if last_run is not None else {}, **kwargs)
    try:
        run_module(platform)
    except Exception as exc:  # noqa: BLE001 - a failed fetch raises, as the platform expects
        return platform, exc
    return platform, None


def one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message and "Unexpected error" not in message, message
    return message


# -- 1. redirects are never followed --------------------------------------------------------------------


def test_a_redirect_from_the_token_endpoint_is_not_followed(m):
    """Given the token endpoint answers 307 to another host, when a command signs in, then the secret is
    not re-posted there and one error names the Location's host."""
    m.get(OPENID_URL, json={"token_endpoint": TOKEN_URL, "authorization_endpoint": f"{LOGIN}/{TENANT}/authorize",
                            "issuer": f"{LOGIN}/{TENANT}/v2.0"})
    m.get(f"{LOGIN}/common/discovery/instance", json={"tenant_discovery_endpoint": OPENID_URL, "metadata": []})
    m.post(TOKEN_URL, status_code=307, headers={"Location": f"{EVIL}/steal"})
    evil = m.post(f"{EVIL}/steal", json={"access_token": "x", "expires_in": 3600})
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert evil.call_count == 0
    assert "evil.example" in message and "redirect" in message
    assert arm_requests(m) == []


def test_a_redirect_of_the_discovery_document_is_not_followed(m):
    """Given MSAL's discovery document answers 302 elsewhere, then nothing is fetched from there."""
    m.get(OPENID_URL, status_code=302, headers={"Location": f"{EVIL}/openid"})
    m.get(f"{LOGIN}/common/discovery/instance", json={"tenant_discovery_endpoint": OPENID_URL, "metadata": []})
    evil = m.get(f"{EVIL}/openid", json={})
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert evil.call_count == 0 and "evil.example" in message


def test_a_redirect_on_arm_is_not_followed_with_the_token(m):
    """Given an ARM GET answers 302 to another ARM path, then the token is not sent there."""
    mock_login(m)
    m.get(INCIDENT_URL, status_code=302, headers={"Location": ROLE_ASSIGNMENTS})
    other = m.get(ROLE_ASSIGNMENTS, json={"value": []})
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert other.call_count == 0
    assert "management.azure.com" in message and "302" in message


def test_a_redirect_on_a_comment_put_does_not_replay_the_body(m):
    """Given a comment PUT answers 307 to a plain-http host, then the comment is not sent there."""
    mock_login(m)
    m.put(f"{INCIDENT_URL}/comments/c-1", status_code=307, headers={"Location": "http://evil.example/c"})
    evil = m.put("http://evil.example/c", json={})
    message = one_line(only_error(run("azure-sentinel-incident-add-comment",
                                      {"incident_id": INCIDENT_ID, "message": "secret note", "comment_id": "c-1"})))
    assert evil.call_count == 0 and "evil.example" in message


def test_a_redirect_from_the_managed_identity_endpoint_is_not_followed(m, monkeypatch):
    """Given the App Service identity endpoint answers 307 elsewhere, then the identity header goes nowhere."""
    endpoint = "http://127.0.0.1:41999/msi/token"
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header-value")
    m.get(endpoint, status_code=307, headers={"Location": f"{EVIL}/msi"})
    evil = m.get(f"{EVIL}/msi", json={})
    params = base_params(credentials=None, creds_tenant_id=None, creds_client_id=None, use_managed_identities=True)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
                                      params=params)))
    assert evil.call_count == 0 and "evil.example" in message


# -- 2. links are pinned to the collection the command reads ---------------------------------------------


@pytest.mark.parametrize("link", [
    pytest.param(f"{ROLE_ASSIGNMENTS}?api-version=2022-04-01", id="another-provider"),
    pytest.param(f"{WS_URL}/incidents/../../../../../../../providers/Microsoft.Authorization/roleAssignments",
                 id="dot-segments"),
    pytest.param(f"{WS_URL}/incidents/%2e%2e/%2E%2E/watchlists", id="encoded-dot-segments"),
    pytest.param(f"{WS_URL}/incidents%2f..%2f..%2fwatchlists", id="encoded-slashes"),
    pytest.param(f"{WS_URL}/incidents/{INCIDENT_ID}/comments", id="a-sub-collection"),
    pytest.param(f"{WS_URL}/watchlists?$skipToken=x", id="a-sibling-collection"),
])
def test_a_next_link_off_the_collection_is_refused_before_sending(m, link):
    """Given a next_link that leads anywhere but the incidents list, when listing, then nothing is sent."""
    mock_login(m)
    anything = m.get(requests_mock.ANY, json={"value": []})
    message = one_line(only_error(run("azure-sentinel-list-incidents", {"next_link": link})))
    assert anything.call_count == 0
    assert "collection" in message


def test_a_next_link_to_the_same_collection_in_other_case_is_followed(m):
    """Given Azure's own nextLink spelled in other case (ARM paths are case-insensitive), then it is followed."""
    mock_login(m)
    link = f"{WS_URL.replace('resourceGroups', 'resourcegroups')}/Incidents?$skipToken=abc"
    page = m.get(link.split("?")[0], json={"value": [incident()]})
    entry = only_entry(run("azure-sentinel-list-incidents", {"next_link": link}))
    assert entry["Type"] == 1 and page.call_count == 1


def test_a_server_next_link_that_leaves_the_collection_stops_paging(m):
    """Given page 1's nextLink points at role assignments, then page 2 is never requested."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": [incident()], "nextLink": f"{ROLE_ASSIGNMENTS}?$skipToken=1"})
    other = m.get(ROLE_ASSIGNMENTS, json={"value": [{"name": "owner-role"}]})
    message = one_line(only_error(run("azure-sentinel-list-incidents", {"limit": "5"})))
    assert other.call_count == 0 and "collection" in message


def test_comments_of_one_incident_cannot_continue_with_another_incidents_link(m):
    """Given list-incident-comments with the comments link of another incident, then it is refused."""
    mock_login(m)
    anything = m.get(requests_mock.ANY, json={"value": []})
    link = f"{WS_URL}/incidents/another-incident/comments?$skipToken=1"
    message = one_line(only_error(run("azure-sentinel-list-incident-comments",
                                      {"incident_id": INCIDENT_ID, "next_link": link})))
    assert anything.call_count == 0 and "collection" in message


# -- 3. a 2xx body of the wrong shape is an error, never "empty" ---------------------------------------


BAD_LIST_BODIES = [
    pytest.param({"text": "<html><body>Please log in to the hotel Wi-Fi</body></html>",
                  "headers": {"Content-Type": "text/html"}}, "not JSON", id="html-portal"),
    pytest.param({"text": '{"value": [{"name": "x"'}, "not JSON", id="truncated-json"),
    pytest.param({"text": "null"}, "null", id="null"),
    pytest.param({"json": [{"name": "x"}]}, "list", id="a-list"),
    pytest.param({"json": {"value": "none"}}, "`value` that is not a list", id="value-not-a-list"),
    pytest.param({"json": {"value": [1, 2]}}, "not an object", id="value-of-numbers"),
    pytest.param({"json": {"value": [{"name": "x", "properties": ["a"]}]}}, "`properties`", id="properties-a-list"),
    pytest.param({"json": {"value": [], "nextLink": 5}}, "`nextLink` that is not a string", id="nextlink-a-number"),
    pytest.param({"text": ""}, "empty body", id="empty"),
]


@pytest.mark.parametrize("body, says", BAD_LIST_BODIES)
def test_a_list_body_of_the_wrong_shape_is_one_clear_error(m, body, says):
    """Given a 200 whose body is not an incidents page, when listing, then one error says what came back."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", status_code=200, **body)
    message = one_line(only_error(run("azure-sentinel-list-incidents", {"limit": "5"})))
    assert "Azure answered HTTP 200 with" in message and says in message


@pytest.mark.parametrize("body, says", BAD_LIST_BODIES[:4])
def test_test_module_fails_on_a_body_of_the_wrong_shape(m, body, says):
    """Given a proxy answering 200 with something else, then test-module does not say ok."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", status_code=200, **body)
    platform = run("test-module")
    assert platform.results != ["ok"]
    assert says in one_line(only_error(platform))


@pytest.mark.parametrize("body, says", BAD_LIST_BODIES[:4])
def test_fetch_fails_the_cycle_on_a_body_of_the_wrong_shape(m, body, says):
    """Given a proxy answering 200 with something else, then fetch raises and commits nothing."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", status_code=200, **body)
    platform, error = fetch()
    assert error is not None and says in str(error)
    assert platform.new_last_run is None and platform.incidents is None


@pytest.mark.parametrize("body", [
    pytest.param({"json": {"name": INCIDENT_ID, "properties": "High"}}, id="properties-a-string"),
    pytest.param({"json": [incident()]}, id="a-list"),
    pytest.param({"text": "<html>502 Bad Gateway</html>"}, id="html"),
])
def test_get_incident_with_a_body_of_the_wrong_shape_is_one_clear_error(m, body):
    """Given get-incident's answer is not an incident object, then the entry is one clear ApiError."""
    mock_login(m)
    m.get(INCIDENT_URL, **body)
    assert "Azure answered HTTP 200 with" in one_line(
        only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))


def test_malformed_nested_fields_read_as_absent(m):
    """Given an incident whose owner, labels and additionalData have the wrong types, then get-incident
    still shows it (those fields empty) instead of failing."""
    mock_login(m)
    m.get(INCIDENT_URL, json=incident(owner="someone", labels=["a", {"labelName": "ok"}], additionalData=[1]))
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    row = next(iter(entry["EntryContext"].values()))
    assert row["AssigneeEmail"] is None and row["AlertsCount"] is None
    assert row["Label"] == [{"Name": "ok", "Type": None}]


# -- 4. a connection reset in the middle of a body -------------------------------------------------------


@pytest.mark.parametrize("exc", [requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError])
def test_a_mid_body_reset_is_retried_for_idempotent_calls(m, no_sleep, exc):
    """Given a GET whose body breaks off once, then it is retried and the command succeeds."""
    mock_login(m)
    m.get(INCIDENT_URL, [{"exc": exc}, {"json": load_json("incident_get.json")}])
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert entry["Type"] == 1 and len(arm_requests(m)) == 2


def test_a_mid_body_reset_that_persists_is_one_clear_error(m, no_sleep):
    """Given every attempt breaks off mid-body, then the entry says so after exactly 7 attempts."""
    mock_login(m)
    m.get(INCIDENT_URL, exc=requests.exceptions.ChunkedEncodingError)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert "ChunkedEncodingError" in message and len(arm_requests(m)) == 7


def test_an_enrichment_failure_of_any_kind_keeps_the_incident(m, no_sleep):
    """Given alerts that break off mid-body and entities answered as a list, when fetching with both,
    then the incident is still handed over with both failures under enrichment_errors."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": [incident(number=1)]})
    m.post(f"{INCIDENT_URL}/alerts", exc=requests.exceptions.ChunkedEncodingError)
    m.post(f"{INCIDENT_URL}/entities", json=[{"kind": "Account"}])
    platform, error = fetch(params=base_params(isFetch=True, fetch_additional_info=["Alerts", "Entities"]))
    assert error is None
    raw = json.loads(only(platform.incidents)["rawJSON"])
    assert set(raw["enrichment_errors"]) == {"alerts", "entities"}
    assert raw["alerts"] == [] and raw["entities"] == []


def only(items):
    assert len(items) == 1, items
    return items[0]


# -- 5. one malformed record never blocks fetching -----------------------------------------------------


@pytest.mark.parametrize("bad_number", ["abc", None, 2.5, -3, True, "7"])
def test_a_poison_record_is_skipped_and_the_rest_fetched(m, bad_number):
    """Given a page with an incident whose incidentNumber is not a whole number, then the others are
    fetched, the bad one is named in an error log line and counted in the fetch stats."""
    mock_login(m)
    poison = incident("poison-1", number=1)
    poison["properties"]["incidentNumber"] = bad_number
    m.get(f"{WS_URL}/incidents", json={"value": [poison, incident("good-2", number=2), incident("good-3", number=3)]})
    platform, error = fetch()
    assert error is None
    assert [i["dbotMirrorId"] for i in platform.incidents] == ["good-2", "good-3"]
    errors = [msg for level, msg in platform.logs if level == "error"]
    assert len(errors) == 1 and "poison-1" in errors[0]
    stats = json.loads(next(msg for level, msg in platform.logs if level == "info").split(": ", 1)[1])
    assert stats["skipped"] == 1 and stats["incidents"] == 2


def test_an_incident_with_an_unsafe_name_is_skipped(m):
    """Given an incident whose name would escape a URL path, then it is skipped, not enriched."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": [incident("../../x", number=1), incident("ok", number=2)]})
    alerts = m.post(re.compile(r"/alerts(\?|$)"), json={"value": []})
    platform, error = fetch(params=base_params(isFetch=True, fetch_additional_info=["Alerts"]))
    assert error is None and [i["dbotMirrorId"] for i in platform.incidents] == ["ok"]
    assert [r.path for r in alerts.request_history] == [f"{INCIDENT_URL.split(ARM)[1]}/alerts".replace(
        INCIDENT_ID, "ok").lower()]


# -- 6. a lastRun that is neither ours nor the official one's ------------------------------------------


def _bitmap(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


OUR_STATE = {"version": 1, "window_start": "2025-01-01T00:00:00.000000Z", "cursor": 3, "floor": 0,
             "modified_since": "2025-01-01T00:00:00.000000Z", "emitted": "", "marks": []}


@pytest.mark.parametrize("last_run", [
    pytest.param({**OUR_STATE, "version": "1"}, id="version-a-string"),
    pytest.param({**OUR_STATE, "version": 2}, id="future-version"),
    pytest.param({**OUR_STATE, "version": True}, id="version-a-boolean"),
    pytest.param(["version", 1], id="a-list"),
    pytest.param("cursor=3", id="a-string"),
    pytest.param({**OUR_STATE, "emitted": "!!not base64!!"}, id="bitmap-not-base64"),
    pytest.param({**OUR_STATE, "emitted": _bitmap(b"plain bytes")}, id="bitmap-not-zlib"),
    pytest.param({**OUR_STATE, "cursor": -5}, id="negative-cursor"),
    pytest.param({**OUR_STATE, "modified_since": "yesterday"}, id="modified-since-not-a-time"),
    pytest.param({"cursor": 3}, id="unknown-keys"),
    pytest.param({"last_incident_number": "many"}, id="official-number-not-a-number"),
])
def test_a_damaged_last_run_stops_the_fetch_instead_of_restarting(m, last_run):
    """Given a lastRun of an unknown version or shape, then fetch fails with "lastRun is damaged" and
    hands over nothing (a silent restart would deliver every incident again)."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": [incident()]})
    platform, error = fetch(last_run=last_run)
    assert error is not None and "(lastRun) is damaged" in str(error)
    assert platform.incidents is None and platform.new_last_run is None
    assert arm_requests(m) == []


def test_our_state_and_the_official_state_are_still_continued(m):
    """Given our own lastRun, or the official integration's, then fetch continues from it."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    valid = {**OUR_STATE, "emitted": _bitmap(zlib.compress(b"\x01"))}
    for last_run in (valid, {"last_fetch_time": "2025-01-01T00:00:00Z", "last_fetch_ids": [],
                             "last_incident_number": 7}):
        _platform, error = fetch(last_run=last_run)
        assert error is None


# -- 7, 8. the token endpoint misbehaving ---------------------------------------------------------------


def test_an_unparsable_token_answer_is_one_auth_error_and_nothing_reaches_stderr(m, capsys):
    """Given a 200 token answer cut off in the middle (holding an access token), then the entry is one
    AuthError, and neither stderr nor any log line carries the token or a traceback."""
    mock_login(m)
    leaked = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJl"
    m.post(TOKEN_URL, text='{"token_type": "Bearer", "access_token": "' + leaked)
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    message = one_line(only_error(platform))
    assert "sign-in endpoint" in message and "not JSON" in message
    captured = capsys.readouterr()
    assert captured.err == "" and leaked not in captured.out
    assert leaked not in all_text(platform) and "Traceback" not in all_text(platform)


def test_msal_log_records_go_to_the_redacted_debug_log_not_stderr(m, capsys):
    """Given MSAL logs a warning that quotes a token during a command, then it is a debug line with the
    token masked, and stderr stays empty."""
    mock_login(m)

    def noisy(request, context):
        logging.getLogger("msal.application").warning('Token response: {"access_token": "abcdef0123456789xyz"}')
        return load_json("incident_get.json")

    m.get(INCIDENT_URL, json=noisy)
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    assert only_entry(platform)["Type"] == 1
    assert capsys.readouterr().err == ""
    debug = [msg for level, msg in platform.logs if level == "debug" and "msal" in msg]
    assert debug and "abcdef0123456789xyz" not in debug[0] and "<redacted>" in debug[0]


def test_a_transient_token_endpoint_failure_is_retried(m, no_sleep):
    """Given the token endpoint answers 502 with an HTML page once, then the sign-in is retried."""
    mock_login(m)
    sign_in = m.post(TOKEN_URL, [{"status_code": 502, "text": "<html>Bad gateway</html>"},
                                 {"json": {"access_token": "token-2", "expires_in": 3599, "token_type": "Bearer"}}])
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert entry["Type"] == 1 and sign_in.call_count == 2
    assert arm_requests(m)[0].headers["Authorization"] == "Bearer token-2"


def test_a_token_endpoint_that_keeps_failing_is_one_auth_error(m, no_sleep):
    """Given the token endpoint answers 503 every time, then after 7 sign-in attempts one error says so."""
    mock_login(m)
    sign_in = m.post(TOKEN_URL, status_code=503, text="Service Unavailable")
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert sign_in.call_count == 7 and "503" in message and arm_requests(m) == []


@pytest.mark.parametrize("answer, says", [
    pytest.param({"json": [{"access_token": "x"}]}, "list", id="a-json-list"),
    pytest.param({"json": {"token_type": "Bearer", "access_token": None, "expires_in": 3599}},
                 "access token", id="access-token-null"),
    pytest.param({"json": {"token_type": "Bearer", "access_token": 12345, "expires_in": 3599}},
                 "not a string", id="access-token-a-number"),
    pytest.param({"json": {"token_type": "Bearer", "access_token": "tok", "expires_in": "soon"}},
                 "`expires_in` that is not a whole number", id="expiry-not-a-number"),
])
def test_odd_token_answers_are_one_auth_error_and_no_bearer_is_sent(m, answer, says):
    """Given a token answer of the wrong shape, then one AuthError, and ARM never sees `Bearer None`."""
    mock_login(m)
    m.post(TOKEN_URL, **answer)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert says in message and "sign-in" in message.lower()
    assert arm_requests(m) == []


def test_a_discovery_document_without_endpoints_is_one_auth_error(m):
    """Given an OpenID discovery document without a token endpoint, then one AuthError (not a KeyError)."""
    m.get(OPENID_URL, json={"issuer": f"{LOGIN}/{TENANT}/v2.0"})
    m.get(f"{LOGIN}/common/discovery/instance", json={"tenant_discovery_endpoint": OPENID_URL, "metadata": []})
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert "discovery document without" in message and "token_endpoint" in message


# -- 9. TLS certificates that are not trusted -----------------------------------------------------------


SSL_ERROR = requests.exceptions.SSLError(
    "HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded (Caused by "
    "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "self-signed certificate in certificate chain (_ssl.c:1006)')))")


def test_an_untrusted_arm_certificate_is_not_retried_and_names_the_fix(m, no_sleep):
    """Given ARM's certificate fails verification, then exactly one request and the error names the CA
    bundle variable and the insecure parameter."""
    mock_login(m)
    m.get(INCIDENT_URL, exc=SSL_ERROR)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert len(arm_requests(m)) == 1
    assert "self-signed certificate in certificate chain" in message
    assert "REQUESTS_CA_BUNDLE" in message and "insecure" in message


def test_an_untrusted_sign_in_certificate_is_not_retried(m, no_sleep):
    """Given the sign-in endpoint's certificate fails verification, then one attempt and the same advice."""
    sign_in = m.get(OPENID_URL, exc=SSL_ERROR)
    m.get(f"{LOGIN}/common/discovery/instance", exc=SSL_ERROR)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert sign_in.call_count <= 1 and "REQUESTS_CA_BUNDLE" in message


def test_a_real_untrusted_certificate_is_reported_once(monkeypatch):
    """Given the local emulator's HTTPS with its CA not trusted, then one clear error, no retries."""
    from sentinel_emulator import Emulator

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with Emulator(seed=1) as emu:
        platform = Platform(params=emu.params(), command="test-module")
        run_module(platform)
        message = one_line(only_error(platform))
        assert "certificate verify failed" in message and "REQUESTS_CA_BUNDLE" in message
        assert not any("Retrying" in msg for _level, msg in platform.logs)


# -- 10. a corrupt token cache, or a corrupt platform call --------------------------------------------


@pytest.mark.parametrize("context", [
    pytest.param({"azure_token": "a string"}, id="legacy-entry-a-string"),
    pytest.param({"azure_token": {"key": "k", "access_token": "t", "expires_on": "soon"}}, id="legacy-expiry-soon"),
    pytest.param({"azure_tokens": "a string"}, id="tokens-a-string"),
    pytest.param({"azure_tokens": {"k": "v"}}, id="entry-a-string"),
    pytest.param({"azure_tokens": [1, 2]}, id="tokens-a-list"),
    pytest.param("not a dict", id="context-a-string"),
    pytest.param(None, id="context-none"),
])
def test_a_corrupt_token_cache_is_ignored(m, context):
    """Given a malformed integration context, when a command runs, then it signs in again and works."""
    sign_in = mock_login(m)
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    platform = Platform(params=base_params(), command="azure-sentinel-get-incident-by-id",
                        args={"incident_id": INCIDENT_ID}, context=context)
    run_module(platform)
    assert only_entry(platform)["Type"] == 1 and sign_in.call_count == 1


def test_a_cached_token_with_an_unreadable_expiry_is_replaced(m):
    """Given every entry of the token cache has an expiry like "soon", then they are ignored and pruned."""
    sign_in = mock_login(m, "fresh")
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    settings_key = None
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    settings_key = next(iter(platform.context["azure_tokens"]))
    context = {"azure_tokens": {settings_key: {"access_token": "old", "expires_on": "soon"},
                                "other": {"access_token": "x", "expires_on": None}}}
    second = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}, context=context)
    assert sign_in.call_count == 2
    assert arm_requests(m)[-1].headers["Authorization"] == "Bearer fresh"
    assert set(second.context["azure_tokens"]) == {settings_key}


@pytest.mark.parametrize("params, args", [
    pytest.param(None, {}, id="params-none"),
    pytest.param(["a"], {}, id="params-a-list"),
    pytest.param(base_params(), "incident_id=1", id="args-a-string"),
    pytest.param(base_params(subscriptionID={"nested": "dict"}), {"incident_id": INCIDENT_ID}, id="odd-param-type"),
])
def test_no_exception_escapes_main_for_a_command(m, params, args):
    """Given params or args of the wrong type, then a command returns one error entry and raises nothing."""
    mock_login(m)
    platform = Platform(params=params, args=args, command="azure-sentinel-get-incident-by-id")
    run_module(platform)  # must not raise
    assert only_entry(platform)["Type"] == 4


def test_arm_throttling_of_sign_in_shares_the_budget(m, no_sleep):
    """Given the token endpoint throttles with Retry-After, then its waits are the server's, and the
    command still succeeds within the one retry budget."""
    mock_login(m)
    sign_in = m.post(TOKEN_URL, [{"status_code": 429, "headers": {"Retry-After": "3"}, "json": {"error": "throttled"}},
                                 {"json": {"access_token": "tok", "expires_in": 3599}}])
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    assert only_entry(platform)["Type"] == 1 and sign_in.call_count == 2
    assert any("in 3.0s" in msg for _level, msg in platform.logs)


def test_secrets_never_reach_output_on_any_of_these_failures(m):
    """Given several failures in one run of commands, then neither the secret nor a token is in any output."""
    mock_login(m, "access-token-secret-value")
    m.get(INCIDENT_URL, text="<html>access-token-secret-value</html>")
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    text = all_text(platform)
    assert "access-token-secret-value" not in text
    assert base_params()["credentials"]["password"] not in text


def test_a_ca_bundle_that_does_not_exist_is_one_clear_error(m, monkeypatch, tmp_path):
    """Given REQUESTS_CA_BUNDLE names a file that does not exist, then one error names the variable."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    m.real_http = True  # requests-mock bypasses TLS setup; let the session reach its CA bundle check
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
                   params=base_params(azure_cloud="Custom", server_url="https://127.0.0.1:9",
                                      authority_url="https://127.0.0.1:9"))
    message = one_line(only_error(platform))
    assert "REQUESTS_CA_BUNDLE" in message and "gone.pem" in message


# -- 11. found by attacking the commands and mirroring (2026-12-02) ---------------------------------------

def numbered(count: int, start: int = 1) -> list[dict]:
    return [incident(f"inc-{n}", n) for n in range(start, start + count)]


def test_an_incident_time_past_the_calendar_in_utc_does_not_stop_the_fetch(m):
    """Given an incident created at 9999-12-31T23:59:59-01:00 (after year 9999 in UTC) beside a good one,
    when fetching, then both arrive: the time reads as no time, as any other unreadable one."""
    mock_login(m)
    odd = incident("inc-1", 1, createdTimeUtc="9999-12-31T23:59:59-01:00")
    m.get(f"{WS_URL}/incidents", json={"value": [odd, incident("inc-2", 2)]})
    platform, error = fetch()
    assert error is None
    assert [i["dbotMirrorId"] for i in platform.incidents] == ["inc-1", "inc-2"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_last_update_past_the_calendar_in_utc_is_a_skip_update_error(m, value):
    message = one_line(only_error(run("get-modified-remote-data", {"lastUpdate": value})))
    assert "skip update" in message and "Argument 'lastUpdate' is not a time" in message


def test_an_indicator_age_beyond_1000_years_is_refused(m):
    """Given an age so large that now minus it is no calendar time, then one error names the argument."""
    message = one_line(only_error(run("azure-sentinel-threat-indicator-query", {"min_valid_until": "100000 years"})))
    assert "Argument 'min_valid_until' is invalid: an age must be at most 1000 years" in message
    assert arm_requests(m) == []


def test_a_page_longer_than_top_is_cut_and_continued_inside_it(m):
    """Given a server that answers $top=5 with 10 incidents, when list-incidents asks for 5, then 5 come back
    and the next_link continues inside that page: the next call returns incidents 6 to 10, none skipped."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": numbered(10)})
    first = only_entry(run("azure-sentinel-list-incidents", {"limit": "5"}))
    assert [i["name"] for i in first["Contents"]] == [f"inc-{n}" for n in range(1, 6)]
    link = first["EntryContext"][NEXT_LINK_KEY]["URL"]
    second = only_entry(run("azure-sentinel-list-incidents", {"limit": "5", "next_link": link}))
    assert [i["name"] for i in second["Contents"]] == [f"inc-{n}" for n in range(6, 11)]


def test_a_next_link_that_spells_out_the_default_port_is_followed(m):
    """Given a nextLink to https://management.azure.com:443/..., then it is the same endpoint and is followed;
    a nextLink to another port is still refused."""
    mock_login(m)
    link = f"{ARM}:443{WS_URL[len(ARM):]}/incidents?$skipToken=1"
    m.get(re.compile(re.escape(ARM) + "(:443)?" + re.escape(f"{WS_URL[len(ARM):]}/incidents")),
          [{"json": {"value": numbered(1), "nextLink": link}}, {"json": {"value": numbered(1, start=2)}}])
    entry = only_entry(run("azure-sentinel-list-incidents", {"limit": "5"}))
    assert [i["name"] for i in entry["Contents"]] == ["inc-1", "inc-2"]
    other = only_error(run("azure-sentinel-list-incidents", {"next_link": link.replace(":443", ":8443")}))
    assert "Refusing to send a request to https://management.azure.com:8443" in other


def test_an_http_loopback_endpoint_matches_a_link_with_port_80():
    """Given a Custom cloud at http://127.0.0.1 (plain HTTP is allowed on loopback), then a link to
    http://127.0.0.1:80 is the same endpoint; one to https://127.0.0.1 is not."""
    settings = MOD.settings_from_params(base_params(azure_cloud="Custom", server_url="http://127.0.0.1"))
    transport = MOD.Transport(MOD.new_session(settings), None, "http://127.0.0.1", MOD.RetryPolicy())
    transport.check_url("http://127.0.0.1:80/subscriptions")
    with pytest.raises(MOD.UnsafeRequestError):
        transport.check_url("https://127.0.0.1/subscriptions")


@pytest.mark.parametrize("link", ["#skip=3", "https://management.azure.com:notaport/x"])
def test_a_next_link_without_a_page_or_with_a_bad_port_is_one_clear_error(m, link):
    message = one_line(only_error(run("azure-sentinel-list-incidents", {"next_link": link})))
    assert "next_link" in message or "Refusing" in message
    assert "://'" not in message and "Refusing to send a request to ://" not in message
    assert arm_requests(m) == []


def test_a_comment_listed_on_two_pages_is_mirrored_in_once(m):
    mock_login(m)
    m.get(INCIDENT_URL, json=incident())
    comment = {"name": "c1", "properties": {"message": "hello", "createdTimeUtc": "2025-02-01T00:00:00Z",
                                            "author": {"name": "Bob"}}}
    m.get(f"{INCIDENT_URL}/comments", [
        {"json": {"value": [comment], "nextLink": f"{INCIDENT_URL}/comments?$skipToken=1"}},
        {"json": {"value": [comment]}}])
    results = run("get-remote-data", {"id": INCIDENT_ID, "lastUpdate": "2025-01-01T00:00:00Z"}).results
    assert len([e for e in results[1:] if e.get("Note")]) == 1, results


def test_a_label_whose_name_is_not_a_string_does_not_stop_an_update(m):
    """Given an incident carrying a label whose name is a list, when labels are added, then the update is
    written with the new label (the odd one kept as it is)."""
    mock_login(m)
    m.get(INCIDENT_URL, json=incident(labels=[{"labelName": ["x"], "labelType": "User"}]))
    m.put(INCIDENT_URL, json=incident())
    entry = only_entry(run("azure-sentinel-update-incident", {"incident_id": INCIDENT_ID, "labels": "a"}))
    assert entry["Type"] == 1, entry
    [put] = [r for r in m.request_history if r.method == "PUT"]
    assert put.json()["properties"]["labels"] == [{"labelName": ["x"], "labelType": "User"},
                                                  {"labelName": "a", "labelType": "User"}]


def test_a_mirrored_comment_stays_within_the_limit_whatever_the_user_name(m):
    """Given an entry whose user name is 40,000 characters, then the comment written is at most 30,000
    characters and names the user by its first 100."""
    mock_login(m)
    m.get(INCIDENT_URL, json=incident())
    m.put(re.compile(re.escape(f"{INCIDENT_URL}/comments/") + ".+"), json={"name": "c", "properties": {}})
    entries = [{"id": "1@2", "contents": "note " * 10, "user": "u" * 40_000, "tags": ["comment"]}]
    run("update-remote-system", {"remoteId": INCIDENT_ID, "data": {}, "entries": entries, "incidentChanged": False,
                                 "status": 1, "delta": {}}, params=base_params(comment_tag="comment"))
    [put] = [r for r in m.request_history if r.method == "PUT"]
    message = put.json()["properties"]["message"]
    assert len(message) <= 30_000 and message.endswith(f"(Mirrored from Cortex XSOAR by {'u' * 100}.)")


def test_a_json_argument_nested_too_deeply_is_one_error_naming_it(m):
    deep = '{"a":' * 20_000 + "1" + "}" * 20_000
    message = one_line(only_error(run("azure-sentinel-create-update-watchlist-item",
                                      {"watchlist_alias": "wl", "item_key_value": deep})))
    assert message.endswith("Argument 'item_key_value' is invalid: it is nested too deeply to read; write a flatter "
                            "JSON object.")
    assert arm_requests(m) == []


def test_an_answer_nested_too_deeply_is_one_api_error(m):
    mock_login(m)
    m.get(INCIDENT_URL, text='{"a":' * 20_000 + "1" + "}" * 20_000)
    message = one_line(only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})))
    assert "with a body that is not JSON" in message


def test_a_first_fetch_window_beyond_1000_years_is_the_settings_error(m):
    """Given First fetch timestamp '1000000 years' (now minus it is no calendar time), then fetch fails with
    the settings' sentence, before any request."""
    platform, error = fetch(params=base_params(isFetch=True, fetch_time="1000000 years"))
    assert str(error).endswith("First fetch timestamp '1000000 years' goes back more than 1000 years; give a "
                               "shorter window, for example '30 days'.")
    assert arm_requests(m) == []


def test_comments_without_a_name_are_each_mirrored_in(m):
    """Given two comments that have no name (malformed, but each a real comment), then both become notes."""
    mock_login(m)
    m.get(INCIDENT_URL, json=incident())
    m.get(f"{INCIDENT_URL}/comments", json={"value": [
        {"properties": {"message": f"note {n}", "createdTimeUtc": f"2025-02-0{n}T00:00:00Z"}} for n in (1, 2)]})
    results = run("get-remote-data", {"id": INCIDENT_ID, "lastUpdate": "2025-01-01T00:00:00Z"}).results
    assert len([e for e in results[1:] if e.get("Note")]) == 2, results
