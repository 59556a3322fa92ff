"""Pinned contract: the retry loop, Retry-After, the shape checks and ARM error sentences, in literal numbers.

"An always-503 GET makes exactly 7 requests", not "MAX_ATTEMPTS requests": a change of the
contract must fail here even where the module's own constants would agree with the change.
"""

from __future__ import annotations

import json
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
import requests
import requests_mock

from module_helpers import (
    ARM, INCIDENT_ID, INCIDENT_URL, RG, SUB, TENANT, WS, WS_URL, FakeClock, arm_requests, base_params, load_module,
    mock_login, only_error, run,
)

MOD = load_module()
MOD_LOGIN = "https://login.microsoftonline.com/" + TENANT


def client_and_logs(clock: FakeClock):
    """A Client whose retries use the fake clock and a fixed jitter of 0.5; and the list its log lines go to."""
    logs: list[str] = []
    settings = MOD.settings_from_params(base_params())
    session = MOD.new_session(settings)
    retry = MOD.RetryPolicy(now=clock.now, sleep=clock.sleep, jitter=lambda: 0.5, log=logs.append)
    credential = MOD.Credential(settings, session, {}, retry=retry, now=clock.now)
    return MOD.Client(MOD.Transport(session, credential, ARM, retry), SUB, RG, WS), logs


def arm_error(status: int, code: str = "Busy", headers: dict | None = None) -> dict:
    return {"status_code": status, "json": {"error": {"code": code, "message": "details from ARM."}},
            "headers": headers or {}}


@pytest.fixture
def clock():
    return FakeClock()


# -- attempts and backoff ----------------------------------------------------------------------


def test_an_always_503_get_makes_exactly_7_requests_with_doubling_waits(m, clock):
    """Given a GET that always answers 503 without Retry-After, when it runs, then exactly 7 requests go
    out, 6 waits of 0.8 s doubling each time (times 0.75 for a jitter of 0.5), and 6 retries are counted."""
    m.get(INCIDENT_URL, **arm_error(503, "ServiceUnavailable"))
    client, logs = client_and_logs(clock)
    with pytest.raises(MOD.ApiError) as caught:
        client.get_incident(INCIDENT_ID)
    assert len(arm_requests(m)) == 7
    assert clock.sleeps == pytest.approx([0.6, 1.2, 2.4, 4.8, 9.6, 19.2])
    assert client.transport.retries == 6
    assert logs[0] == "Retrying GET /incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5: HTTP 503 in 0.6s (attempt 2 of 7)."
    assert logs[-1].endswith("in 19.2s (attempt 7 of 7).")
    assert str(caught.value) == (
        "GET /incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5 failed with HTTP 503 ServiceUnavailable: details from "
        "ARM. What to do: Azure had a transient failure; try again in a few minutes.")


@pytest.mark.parametrize("jitter, first_wait", [(0.0, 0.4), (1.0, 0.8)])
def test_jitter_spreads_the_wait_between_half_and_all_of_the_backoff(m, jitter, first_wait):
    """Given the jitter at its ends, when a retry waits, then the first wait is 0.4 s (half) or 0.8 s (all)."""
    clock = FakeClock()
    policy = MOD.RetryPolicy(now=clock.now, sleep=clock.sleep, jitter=lambda: jitter)
    outcomes = iter([MOD.Retryable(MOD.ApiError("x"), "r")])

    def attempt():
        error = next(outcomes, None)
        if error:
            raise error
        return "done"

    assert policy.run(attempt, "w") == "done"
    assert clock.sleeps == pytest.approx([first_wait])
    assert policy.retries == 1


def test_the_150_second_budget_stops_retry_after_waits(m, clock):
    """Given 429 with Retry-After: 70 every time, when a GET runs, then it waits 70 s twice (140 s),
    refuses a third wait that would pass 150 s, and has made exactly 3 requests."""
    m.get(INCIDENT_URL, **arm_error(429, "TooManyRequests", headers={"Retry-After": "70"}))
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.ApiError, match="HTTP 429 TooManyRequests"):
        client.get_incident(INCIDENT_ID)
    assert clock.sleeps == [70.0, 70.0]
    assert len(arm_requests(m)) == 3


def test_a_wait_that_ends_exactly_at_the_budget_is_taken(m, clock):
    """Given Retry-After: 75 twice, when a GET runs, then both waits are taken (150 s is within the budget)."""
    m.get(INCIDENT_URL, [arm_error(429, headers={"Retry-After": "75"}), arm_error(429, headers={"Retry-After": "75"}),
                         {"json": {"name": INCIDENT_ID, "properties": {}}}])
    client, _ = client_and_logs(clock)
    assert client.get_incident(INCIDENT_ID)["name"] == INCIDENT_ID
    assert clock.sleeps == [75.0, 75.0]


# -- which answers are retried -----------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_for_a_get(m, clock, status):
    """Given one transient answer (408, 429, 5xx) then success, when a GET runs, then it is sent twice."""
    m.get(INCIDENT_URL, [arm_error(status), {"json": {"name": INCIDENT_ID, "properties": {}}}])
    client, _ = client_and_logs(clock)
    client.get_incident(INCIDENT_ID)
    assert len(arm_requests(m)) == 2 and client.transport.retries == 1


@pytest.mark.parametrize("status", [400, 403, 404, 409, 501])
def test_other_errors_are_not_retried(m, clock, status):
    """Given 400, 403, 404, 409 or 501, when a GET runs, then it is sent once and fails at once."""
    m.get(INCIDENT_URL, **arm_error(status))
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.ApiError) as caught:
        client.get_incident(INCIDENT_ID)
    assert len(arm_requests(m)) == 1 and clock.sleeps == []
    assert caught.value.status == status


@pytest.mark.parametrize("status", [500, 503])
def test_a_non_idempotent_post_is_not_retried_on_a_server_error(m, clock, status):
    """Given a non-idempotent POST (create an indicator) answered 5xx, then it is sent exactly once."""
    url = f"{WS_URL}/threatIntelligence/main/createIndicator"
    m.post(url, **arm_error(status))
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.ApiError):
        client.transport.send("POST", url, body={"kind": "indicator"})
    assert len(arm_requests(m)) == 1


def test_a_connection_error_is_retried_for_a_get_but_not_for_a_post(m, clock):
    """Given connection resets, when a GET and a non-idempotent POST run, then the GET is retried to its
    success and the POST fails after one try with the network hint."""
    m.get(INCIDENT_URL, [{"exc": requests.ConnectionError("reset")}, {"json": {"name": INCIDENT_ID}}])
    url = f"{WS_URL}/threatIntelligence/main/createIndicator"
    m.post(url, exc=requests.ConnectionError("reset"))
    client, _ = client_and_logs(clock)
    assert client.get_incident(INCIDENT_ID)["name"] == INCIDENT_ID
    with pytest.raises(MOD.ApiError) as caught:
        client.transport.send("POST", url, body={})
    assert str(caught.value) == ("POST /threatIntelligence/main/createIndicator failed: ConnectionError talking to "
                                 "management.azure.com; check the network and proxy settings, then try again.")
    assert len([r for r in arm_requests(m) if r.method == "POST"]) == 1


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, wait", [
    pytest.param({"x-ms-retry-after-ms": "1500"}, 1.5, id="x-ms-retry-after-ms"),
    pytest.param({"retry-after-ms": "250"}, 0.25, id="retry-after-ms"),
    pytest.param({"Retry-After": "3"}, 3.0, id="retry-after-seconds"),
    pytest.param({"Retry-After": "-5"}, 0.0, id="negative-is-zero"),
    pytest.param({"x-ms-retry-after-ms": "2000", "Retry-After": "9"}, 2.0, id="milliseconds-header-first"),
    pytest.param({"Retry-After": "soon"}, 0.6, id="unreadable-falls-back-to-backoff"),
    pytest.param({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0, id="date-in-the-past-is-zero"),
])
def test_retry_after_headers_set_the_wait(m, clock, headers, wait):
    """Given a 429 with a retry hint, when a GET runs, then it waits exactly what the hint says."""
    m.get(INCIDENT_URL, [arm_error(429, headers=headers), {"json": {"name": INCIDENT_ID}}])
    client, _ = client_and_logs(clock)
    client.get_incident(INCIDENT_ID)
    assert clock.sleeps == pytest.approx([wait])


def test_a_retry_after_date_in_the_future_waits_until_then(m, clock):
    """Given Retry-After as an HTTP date about 20 s ahead, when a GET runs, then it waits about 20 s."""
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    m.get(INCIDENT_URL, [arm_error(429, headers={"Retry-After": when}), {"json": {"name": INCIDENT_ID}}])
    client, _ = client_and_logs(clock)
    client.get_incident(INCIDENT_ID)
    assert 15 <= clock.sleeps[0] <= 20


# -- answers of the wrong shape ----------------------------------------------------------------


@pytest.mark.parametrize("body, problem", [
    pytest.param([], "a JSON list where an object was expected", id="list"),
    pytest.param({"value": {}}, "`value` that is not a list", id="value-not-a-list"),
    pytest.param({"value": [1]}, "an item of `value` that is not an object", id="item-not-an-object"),
    pytest.param({"value": [{"properties": []}]}, "`properties` in an item of `value` that is not an object",
                 id="item-properties-not-an-object"),
    pytest.param({"value": [], "nextLink": 5}, "`nextLink` that is not a string", id="next-link-not-a-string"),
])
def test_a_list_answer_of_the_wrong_shape_is_named(m, body, problem):
    """Given a 200 list answer of the wrong shape, when list-incidents runs, then the error names the problem."""
    m.get(f"{WS_URL}/incidents", json=body)
    message = only_error(run("azure-sentinel-list-incidents"))
    assert message == (f"Failed to execute azure-sentinel-list-incidents command. Error: GET /incidents: Azure "
                       f"answered HTTP 200 with {problem}, which the API never sends; a proxy may be altering the "
                       f"answers: check the proxy settings.")


@pytest.mark.parametrize("body, problem", [
    pytest.param("null", "a JSON null where an object was expected", id="null"),
    pytest.param('"text"', "a JSON string where an object was expected", id="string"),
    pytest.param("true", "a JSON boolean where an object was expected", id="boolean"),
    pytest.param("1.5", "a JSON number where an object was expected", id="number"),
    pytest.param('{"properties": 3}', "`properties` in the body that is not an object", id="properties-number"),
])
def test_a_resource_answer_of_the_wrong_shape_is_named(m, body, problem):
    """Given a 200 answer for one incident that is not an incident object, when get-incident runs, then
    the error names the JSON type found."""
    m.get(INCIDENT_URL, text=body, headers={"Content-Type": "application/json"})
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert f"with {problem}, which the API never sends" in message


def test_an_empty_200_is_an_error_but_an_empty_delete_is_fine(m):
    """Given a 200 with an empty body, when get-incident runs, then the error says a proxy may be answering;
    when delete-incident gets an empty 200, then it succeeds."""
    m.get(INCIDENT_URL, status_code=200, text="")
    m.delete(INCIDENT_URL, status_code=200, text="")
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert message.endswith("GET /incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5: Azure answered HTTP 200 with an "
                            "empty body where the API defines a JSON object; a proxy may be answering instead of "
                            "Azure: check the proxy settings.")
    entry = run("azure-sentinel-delete-incident", {"incident_id": INCIDENT_ID}).results[0]
    assert entry["Type"] == 1


# -- ARM error sentences -----------------------------------------------------------------------


@pytest.mark.parametrize("status, hint", [
    (400, "check the command arguments (and any OData filter)"),
    (401, "check the tenant ID, client ID and secret or certificate, then run azure-sentinel-auth-reset"),
    (403, "give the app registration or managed identity the Microsoft Sentinel Contributor (or Responder) role "
          "on the workspace"),
    (404, "check the ID, the subscription ID, the resource group name and the workspace name"),
    (409, "the resource was changed by someone else at the same time; run the command again"),
    (405, "check the request"),
    (501, "Azure had a transient failure; try again in a few minutes"),
])
def test_each_status_has_its_hint(m, status, hint):
    """Given an ARM error status, when get-incident runs, then the sentence ends with that status's hint."""
    m.get(INCIDENT_URL, **arm_error(status, "SomeCode"))
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert message.endswith(f"failed with HTTP {status} SomeCode: details from ARM. What to do: {hint}.")


def test_the_innermost_error_detail_is_quoted(m):
    """Given an error with nested innererror objects, then the innermost code and message are appended."""
    body = {"error": {"code": "BadRequest", "message": "Outer.", "innererror": {
        "code": "Middle", "message": "middle",
        "innererror": {"code": "SyntaxError", "message": "Query could not be parsed."}}}}
    m.get(INCIDENT_URL, status_code=400, json=body)
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "failed with HTTP 400 BadRequest: Outer (SyntaxError: Query could not be parsed). What to do:" in message


def test_an_error_without_a_body_uses_the_reason_phrase(m):
    """Given a 404 with no JSON body, then the ARM code is the HTTP reason phrase and no message is added."""
    m.get(INCIDENT_URL, status_code=404, reason="Not Found", text="")
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert message.endswith("failed with HTTP 404 Not Found. What to do: check the ID, the subscription ID, the "
                            "resource group name and the workspace name.")


def test_a_409_is_a_conflict_error(m, clock):
    """Given 409 Conflict, when a GET runs, then the error is a ConflictError (callers retry read-modify-write)."""
    m.get(INCIDENT_URL, **arm_error(409, "Conflict"))
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.ConflictError):
        client.get_incident(INCIDENT_ID)


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [300, 301, 302, 307, 308, 399])
def test_a_redirect_is_never_followed(m, status):
    """Given a 3xx to another host, when get-incident runs, then one request went out and the error names both hosts."""
    m.get(INCIDENT_URL, status_code=status, headers={"Location": "https://evil.example/steal"})
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert len(arm_requests(m)) == 1
    assert (f"management.azure.com answered with HTTP {status}, a redirect to evil.example, which is never followed"
            in message)


def test_a_400_with_a_location_is_no_redirect(m):
    """Given a 400 that carries a Location header, then it is an ARM error, not a refused redirect."""
    m.get(INCIDENT_URL, status_code=400, headers={"Location": "https://evil.example/"}, json={"error": {}})
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert "redirect" not in message and "HTTP 400" in message


def test_the_token_goes_only_to_the_configured_endpoint(m, clock):
    """Given a URL on another port of the same host, when it would be sent, then it is refused before sending."""
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.UnsafeRequestError) as caught:
        client.transport.send("GET", "https://management.azure.com:8443/subscriptions")
    assert str(caught.value) == ("Refusing to send a request to https://management.azure.com:8443: only "
                                 "https://management.azure.com (the configured endpoint) receives the access token.")
    assert arm_requests(m) == []


def test_user_information_in_a_url_is_refused(m, clock):
    """Given a URL with user:password@, when it would be sent, then it is refused."""
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.UnsafeRequestError, match="Refusing a URL that carries user information."):
        client.transport.send("GET", "https://user:pw@management.azure.com/subscriptions")


def test_requests_carry_the_api_version_and_the_user_agent(m):
    """Given any command, when it calls ARM, then the request has api-version 2025-12-01, the connector's
    User-Agent and Accept: application/json."""
    m.get(INCIDENT_URL, json={"name": INCIDENT_ID, "properties": {}})
    run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID})
    [request] = arm_requests(m)
    assert request.qs["api-version"] == ["2025-12-01"]
    assert request.headers["User-Agent"] == "AzureSentinelConnector/0.1"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(json.dumps(request.timeout)) == [10, 60]


# -- sign-in answers and the token cache -------------------------------------------------------


def sign_in_error(clock: FakeClock, **answer) -> str:
    """The AuthError of a GET whose sign-in gets `answer` (requests-mock response arguments) from the token endpoint."""
    with requests_mock.Mocker() as m:
        mock_login(m)
        m.post(f"{MOD_LOGIN}/oauth2/v2.0/token", **answer)
        client, _ = client_and_logs(clock)
        with pytest.raises(MOD.AuthError) as caught:
            client.transport.request("GET", INCIDENT_URL)
    return str(caught.value)


AFTER = "; check the Azure Cloud (or Authority URL) and the proxy settings."


def test_a_token_answer_with_a_number_for_the_token_is_named(clock):
    """Given the token endpoint answers 200 with access_token 12345, when a command signs in, then one error
    names the problem before MSAL sees the answer."""
    assert sign_in_error(clock, json={"token_type": "Bearer", "expires_in": 3599, "access_token": 12345}) == (
        "The sign-in endpoint login.microsoftonline.com answered HTTP 200 with an access token that is not a string"
        + AFTER)


def test_a_token_answer_without_a_token_is_named(clock):
    """Given the token endpoint answers 200 without access_token, when a command signs in, then one error
    says the sign-in answered without an access token."""
    message = sign_in_error(clock, json={"token_type": "Bearer", "expires_in": 3599})
    assert message == "Sign-in with client secret answered without an access token" + AFTER


def test_a_non_json_token_answer_is_not_quoted(clock):
    """Given the token endpoint answers 200 with a body that is not JSON (it may carry a token), when a
    command signs in, then the error names the problem without quoting the body."""
    assert sign_in_error(clock, text="access_token=abc&token_type=Bearer") == (
        "The sign-in endpoint login.microsoftonline.com answered HTTP 200 with a body that is not JSON" + AFTER)


def test_a_failing_token_answer_is_quoted(clock):
    """Given the token endpoint answers 400 with a body that is not JSON, then the error quotes its start."""
    assert sign_in_error(clock, status_code=400, text="<html>blocked by proxy</html>") == (
        "The sign-in endpoint login.microsoftonline.com answered HTTP 400 with a body that is not JSON "
        "('<html>blocked by proxy</html>')" + AFTER)


@pytest.mark.parametrize("seconds_left, signs_in", [(300, True), (301, False)])
def test_a_cached_token_is_used_until_5_minutes_before_it_expires(m, clock, seconds_left, signs_in):
    """Given a cached token that expires in 300 or 301 seconds, when a command runs, then the 300-second one
    is replaced by a new sign-in and the 301-second one is used as it is."""
    m.get(INCIDENT_URL, json={"name": INCIDENT_ID, "properties": {}})
    settings = MOD.settings_from_params(base_params())
    session = MOD.new_session(settings)
    retry = MOD.RetryPolicy(now=clock.now, sleep=clock.sleep, jitter=lambda: 0.5, log=lambda _line: None)
    context: dict = {}
    credential = MOD.Credential(settings, session, context, retry=retry, now=clock.now)
    context["azure_tokens"] = {credential.cache_key: {"access_token": "cached-token",
                                                      "expires_on": clock.t + seconds_left}}
    MOD.Client(MOD.Transport(session, credential, ARM, retry), SUB, RG, WS).transport.request("GET", INCIDENT_URL)
    [request] = arm_requests(m)
    assert request.headers["Authorization"] == ("Bearer access-token-1" if signs_in else "Bearer cached-token")


# -- paging --------------------------------------------------------------------------------------


def test_a_listing_that_never_ends_stops_after_exactly_1000_pages(m, clock):
    """Given a list whose every page links to a new next page, when it is collected, then exactly 1000 pages
    are read and one error says to narrow the query."""
    def page(request, _context):
        number = int(request.qs.get("page", ["0"])[0])
        return {"value": [], "nextLink": f"{WS_URL}/incidents?api-version=2025-12-01&page={number + 1}"}

    m.get(f"{WS_URL}/incidents", json=page)
    client, _ = client_and_logs(clock)
    with pytest.raises(MOD.UnsafeRequestError) as caught:
        list(client.transport.pages("GET", f"{WS_URL}/incidents"))
    assert str(caught.value) == "Stopped after 1000 pages; narrow the query with a filter."
    assert len(arm_requests(m)) == 1000


@pytest.mark.parametrize("allow_empty, expected", [(True, None), (False, "empty body")])
def test_a_204_is_an_empty_answer_whatever_it_carries(allow_empty, expected):
    """Given HTTP 204 (No Content) with bytes after it anyway (a proxy's), then it reads as no body: nothing
    where an empty answer is allowed, else the empty-body error; the bytes are never parsed."""
    import requests

    raw = requests.models.Response()
    raw.status_code, raw._content = 204, b'{"value": [{"name": "from nowhere"}]}'
    if allow_empty:
        assert MOD.parse_body(raw, "POST /x", allow_empty=True) is None
    else:
        with pytest.raises(MOD.ApiError, match="HTTP 204 with an empty body"):
            MOD.parse_body(raw, "POST /x")
