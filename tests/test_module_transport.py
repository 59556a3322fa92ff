"""Failure paths of the one transport: token refresh on 401, error mapping, retries and their budget.

Error-entry tests run through the platform stand-in (what a playbook sees); retry-timing tests drive
Transport/Client directly with an injected clock and sleep, so nothing really sleeps.
"""

from __future__ import annotations

import time

import pytest
import requests
import requests_mock

from module_helpers import (
    ARM, INCIDENT_ID, INCIDENT_URL, RG, SUB, WS, WS_URL, FakeClock, arm_requests, base_params, cached_token, incident,
    load_json, load_module, mock_login, only_entry, only_error, run,
)

MOD = load_module()


def make_client(clock: FakeClock, context: dict | None = None, budget_s: float | None = None):
    settings = MOD.settings_from_params(base_params())
    session = MOD.new_session(settings)
    extra = {} if budget_s is None else {"budget_s": budget_s}
    retry = MOD.RetryPolicy(now=clock.now, sleep=clock.sleep, jitter=lambda: 0.5, **extra)
    credential = MOD.Credential(settings, session, {} if context is None else context, retry=retry, now=clock.now)
    transport = MOD.Transport(session, credential, ARM, retry)
    return MOD.Client(transport, SUB, RG, WS)


def arm_error(status: int, code: str, message: str = "details from ARM", headers: dict | None = None) -> dict:
    return {"status_code": status, "json": {"error": {"code": code, "message": message}}, "headers": headers or {}}


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        mock_login(mocker, "token-1", "token-2", "token-3")
        yield mocker


@pytest.fixture
def sleeps(monkeypatch):
    """Record (and skip) every sleep of a module run through the platform stand-in.

    time.time and time.sleep are replaced by a FakeClock before the module is loaded, so its
    default `now`/`sleep` are the fake ones: sleeping moves the clock, nothing really waits.
    """
    fake = FakeClock()
    monkeypatch.setattr(time, "time", fake.now)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake.sleeps


@pytest.fixture
def clock():
    return FakeClock()


# -- 401 / 403 / 404: token refresh and clear error entries --------------------------------------


def test_401_refreshes_the_token_once_and_retries(m):
    """Given ARM rejects the first token, when a command runs, then a new token is fetched and the call retried."""
    m.get(INCIDENT_URL, [arm_error(401, "InvalidAuthenticationToken"), {"json": load_json("incident_get.json")}])
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    assert only_entry(platform)["Type"] == 1
    tokens = [r.headers["Authorization"] for r in arm_requests(m)]
    assert tokens == ["Bearer token-1", "Bearer token-2"]
    assert cached_token(platform.context)["access_token"] == "token-2"


def test_second_401_becomes_an_error_entry_with_a_credentials_hint(m):
    """Given ARM rejects the refreshed token too, when a command runs, then one error entry says what to do."""
    m.get(INCIDENT_URL, **arm_error(401, "InvalidAuthenticationToken", "The access token is invalid."))
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert len(arm_requests(m)) == 2  # refreshed once, not in a loop
    assert "HTTP 401" in message and "InvalidAuthenticationToken" in message
    assert "client ID and secret or certificate" in message and "auth-reset" in message
    assert "\n" not in message


def test_the_token_is_refreshed_once_per_request_even_across_retries(m, sleeps):
    """Given 401, then (with the new token) 503, then 401 again, when a command runs, then the token was
    refreshed once: the third answer is the error, with no third sign-in and no fourth call."""
    m.get(INCIDENT_URL, [arm_error(401, "InvalidAuthenticationToken"), arm_error(503, "ServiceUnavailable"),
                         arm_error(401, "InvalidAuthenticationToken"), {"json": load_json("incident_get.json")}])
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "HTTP 401" in message
    assert [r.headers["Authorization"] for r in arm_requests(m)] == ["Bearer token-1", "Bearer token-2",
                                                                     "Bearer token-2"]


@pytest.mark.parametrize("status, code, expected_hint", [
    pytest.param(403, "AuthorizationFailed", "Microsoft Sentinel Contributor", id="403-role"),
    pytest.param(404, "ResourceNotFound", "check the ID, the subscription ID", id="404-check-ids"),
    pytest.param(400, "BadRequest", "check the command arguments", id="400-arguments"),
])
def test_arm_errors_become_one_sentence_entries(m, status, code, expected_hint):
    """Given an ARM error, when a command runs, then the entry names the HTTP status, ARM code and the fix."""
    m.get(INCIDENT_URL, **arm_error(status, code, "Something went wrong.\nSecond line of detail."))
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert f"HTTP {status}" in message
    assert code in message
    assert expected_hint in message
    assert "Something went wrong" in message and "Second line" not in message
    assert "\n" not in message
    assert len(arm_requests(m)) == 1  # not retried


def test_error_without_arm_body_uses_the_http_reason(m):
    """Given a 404 with an empty body, when a command runs, then the entry still names status and reason."""
    m.get(INCIDENT_URL, status_code=404, reason="Not Found", text="")
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "HTTP 404 Not Found" in message


# -- retries: throttling, server errors, connection errors ---------------------------------------


@pytest.mark.parametrize("headers, expected_sleep", [
    pytest.param({"Retry-After": "7"}, 7.0, id="retry-after-seconds"),
    pytest.param({"x-ms-retry-after-ms": "1500"}, 1.5, id="x-ms-retry-after-ms"),
    pytest.param({"Retry-After": "7", "x-ms-retry-after-ms": "250"}, 0.25, id="ms-header-wins"),
])
def test_429_waits_as_the_server_says(m, clock, headers, expected_sleep):
    """Given a 429 with a retry hint, when a GET runs, then it sleeps exactly that long and retries."""
    m.get(INCIDENT_URL, [arm_error(429, "TooManyRequests", headers=headers), {"json": incident()}])
    result = make_client(clock).get_incident(INCIDENT_ID)
    assert result["name"] == INCIDENT_ID
    assert clock.sleeps == [expected_sleep]
    assert len(arm_requests(m)) == 2


def test_429_through_the_platform_calls_sleep_with_retry_after(m, sleeps):
    """Given a 429 with Retry-After: 3, when a command runs in the platform, then sleep(3) is called."""
    m.get(INCIDENT_URL, [arm_error(429, "TooManyRequests", headers={"Retry-After": "3"}),
                         {"json": load_json("incident_get.json")}])
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    assert only_entry(platform)["Type"] == 1
    assert sleeps == [3.0]
    assert any("Retrying" in line for _level, line in platform.logs)


@pytest.mark.parametrize("status", [
    pytest.param(500, id="500"), pytest.param(502, id="502"), pytest.param(503, id="503"),
    pytest.param(504, id="504"), pytest.param(408, id="408"),
])
def test_transient_status_then_success(m, clock, status):
    """Given a transient status, when a GET runs, then it backs off once and returns the second answer."""
    m.get(INCIDENT_URL, [arm_error(status, "ServerError"), {"json": incident()}])
    assert make_client(clock).get_incident(INCIDENT_ID)["name"] == INCIDENT_ID
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= MOD.BACKOFF_MAX_S


def test_backoff_grows_exponentially_without_retry_after(m, clock):
    """Given repeated 503s without a hint, when a GET runs, then each wait doubles (jitter fixed at 0.5)."""
    m.get(INCIDENT_URL, [arm_error(503, "ServiceUnavailable")] * 3 + [{"json": incident()}])
    make_client(clock).get_incident(INCIDENT_ID)
    assert clock.sleeps == pytest.approx([0.6, 1.2, 2.4])


@pytest.mark.parametrize("exc", [
    pytest.param(requests.exceptions.ConnectionError, id="connection-reset"),
    pytest.param(requests.exceptions.ConnectTimeout, id="connect-timeout"),
    pytest.param(requests.exceptions.ReadTimeout, id="read-timeout"),
])
def test_connection_failure_then_success_for_get(m, clock, exc):
    """Given a dropped connection or timeout, when a GET runs, then it is retried and succeeds."""
    m.get(INCIDENT_URL, [{"exc": exc}, {"json": incident()}])
    assert make_client(clock).get_incident(INCIDENT_ID)["name"] == INCIDENT_ID
    assert len(arm_requests(m)) == 2 and len(clock.sleeps) == 1


def test_every_request_has_a_timeout(m):
    """Given any command, when it calls Azure, then each request (sign-in included) has a timeout."""
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    assert m.request_history
    for request in m.request_history:
        assert request.timeout, request.url


def test_timeout_every_time_becomes_a_clear_error(m, sleeps):
    """Given every attempt times out, when a command runs, then an error entry names the timeout and the fix."""
    m.get(INCIDENT_URL, exc=requests.exceptions.ReadTimeout)
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "ReadTimeout" in message and "management.azure.com" in message
    assert "network" in message
    assert len(arm_requests(m)) == MOD.MAX_ATTEMPTS
    assert len(sleeps) == MOD.MAX_ATTEMPTS - 1


@pytest.mark.parametrize("path, first_failure", [
    pytest.param("alerts", {"exc": requests.exceptions.ConnectionError}, id="alerts-connection-reset"),
    pytest.param("alerts", arm_error(503, "ServiceUnavailable"), id="alerts-503"),
    pytest.param("entities", {"exc": requests.exceptions.ConnectionError}, id="entities-connection-reset"),
    pytest.param("entities", arm_error(502, "BadGateway"), id="entities-502"),
])
def test_read_only_posts_are_retried(m, clock, path, first_failure):
    """Given the read-only POST actions (alerts, entities), when the first attempt fails, then they are retried."""
    body = {"alerts": {"value": []}, "entities": {"entities": []}}[path]
    m.post(f"{INCIDENT_URL}/{path}", [first_failure, {"json": body}])
    client = make_client(clock)
    getattr(client, f"list_{path}")(INCIDENT_ID)
    assert len(arm_requests(m)) == 2


def test_non_idempotent_post_is_not_retried_on_5xx(m, clock):
    """Given a non-idempotent POST, when it gets a 503, then it is not resent (it may have been applied)."""
    url = f"{WS_URL}/threatIntelligence/main/createIndicator"
    m.post(url, [arm_error(503, "ServiceUnavailable"), {"json": {}}])
    client = make_client(clock)
    with pytest.raises(MOD.ApiError, match="HTTP 503"):
        client.transport.send("POST", url, body={"kind": "indicator"})
    assert len(arm_requests(m)) == 1 and clock.sleeps == []


def test_non_idempotent_post_is_retried_on_429(m, clock):
    """Given a non-idempotent POST, when it gets 429 (not processed), then it is safely resent."""
    url = f"{WS_URL}/threatIntelligence/main/createIndicator"
    m.post(url, [arm_error(429, "TooManyRequests", headers={"Retry-After": "2"}), {"json": {}}])
    make_client(clock).transport.send("POST", url, body={"kind": "indicator"})
    assert len(arm_requests(m)) == 2 and clock.sleeps == [2.0]


def test_retries_stop_after_max_attempts(m, clock):
    """Given a GET that always gets 503, when it runs, then it stops after MAX_ATTEMPTS with a clear error."""
    m.get(INCIDENT_URL, **arm_error(503, "ServiceUnavailable", headers={"Retry-After": "1"}))
    with pytest.raises(MOD.ApiError) as caught:
        make_client(clock).get_incident(INCIDENT_ID)
    assert len(arm_requests(m)) == MOD.MAX_ATTEMPTS
    assert caught.value.status == 503 and caught.value.code == "ServiceUnavailable"
    assert "HTTP 503" in str(caught.value) and "try again" in str(caught.value)


def test_retries_stop_when_the_time_budget_is_spent(m, clock):
    """Given Retry-After longer than the budget left, when a GET runs, then it gives up instead of sleeping."""
    m.get(INCIDENT_URL, **arm_error(429, "TooManyRequests", headers={"Retry-After": "60"}))
    with pytest.raises(MOD.ApiError, match="HTTP 429 TooManyRequests"):
        make_client(clock, budget_s=100).get_incident(INCIDENT_ID)
    assert clock.sleeps == [60.0]  # a second 60 s wait would overrun the 100 s budget
    assert len(arm_requests(m)) == 2


def test_budget_exhaustion_through_the_platform_is_an_error_entry(m, sleeps):
    """Given ARM keeps throttling, when a command runs, then the entry names 429 and what to do."""
    m.get(INCIDENT_URL, **arm_error(429, "TooManyRequests", headers={"Retry-After": "100"}))
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "HTTP 429" in message and "throttling" in message
    assert sum(sleeps) <= MOD.COMMAND_RETRY_BUDGET_S
