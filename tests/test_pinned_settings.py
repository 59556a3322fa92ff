"""Pinned contract: instance settings (OData filter, first fetch time, number ranges, clouds, credentials).

Each test states literal expected values (the exact message, the exact filter sent), so a change of
behaviour fails here even where the code's own constants would still agree with themselves.
"""

from __future__ import annotations

import re

import pytest
import requests_mock

from module_helpers import INCIDENT_ID, WS_URL, arm_requests, base_params, mock_login, only_error, query, run

FETCH = {"isFetch": True}


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        yield mocker


def refused(m, **overrides) -> str:
    """The one error entry of a command run with these settings; nothing was sent."""
    message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
                             params=base_params(**overrides)))
    assert m.request_history == []
    return message.removeprefix("Failed to execute azure-sentinel-get-incident-by-id command. Error: ")


def fetch_filter_sent(m, **overrides) -> str:
    """The $filter of the first incident list request of a fetch run with these settings."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    platform = run("fetch-incidents", params=base_params(**FETCH, **overrides))
    assert platform.results == [] and platform.incidents == []
    return query(arm_requests(m)[0])["$filter"]


# -- OData filter ------------------------------------------------------------------------------


@pytest.mark.parametrize("odata_filter", [
    pytest.param("startswith(properties/title,'x') and (properties/severity eq 'High' or properties/status eq 'New')",
                 id="nested-parentheses"),
    pytest.param("properties/title eq 'a (b'", id="parenthesis-inside-a-string"),
    pytest.param("properties/title eq 'it''s'", id="escaped-quote"),
])
def test_a_balanced_filter_with_parentheses_is_sent_as_one_clause(m, odata_filter):
    """Given an OData filter with balanced parentheses (or a parenthesis inside a quoted string),
    when fetch runs, then the filter is accepted and sent in parentheses after the built-in clauses."""
    sent = fetch_filter_sent(m, odata_filter=odata_filter)
    assert sent.endswith(f" and ({odata_filter})")


@pytest.mark.parametrize("odata_filter", [
    pytest.param("properties/title eq 'x') or (true", id="closes-before-it-opens"),
    pytest.param("(properties/title eq 'x'", id="unclosed-parenthesis"),
    pytest.param("(properties/title eq 'x') and (properties/status eq 'New'", id="second-group-unclosed"),
    pytest.param("properties/title eq 'x''", id="unclosed-quote"),
])
def test_an_unbalanced_filter_is_refused_with_the_fix(m, odata_filter):
    """Given an OData filter whose quotes or parentheses do not balance, when any command runs, then the
    one error names the filter and shows a valid expression; nothing is sent."""
    assert refused(m, odata_filter=odata_filter) == (
        f"Odata Filter '{odata_filter}' has unbalanced quotes or parentheses; write one OData expression such "
        f"as properties/title ne 'Test'.")


@pytest.mark.parametrize("odata_filter", ["and properties/title eq 'x'", "  OR properties/title eq 'x'"])
def test_a_filter_starting_with_a_conjunction_is_refused(m, odata_filter):
    """Given a filter that starts with 'and'/'or', when any command runs, then it is refused (it is joined
    to the built-in clauses by the integration)."""
    assert refused(m, odata_filter=odata_filter) == (
        "Odata Filter must not start with 'and'/'or': it is combined with the built-in filters automatically.")


def test_a_filter_word_that_only_starts_like_and_is_accepted(m):
    """Given a filter beginning with a property named like 'android', when fetch runs, then it is accepted."""
    assert fetch_filter_sent(m, odata_filter="android eq 'x'").endswith(" and (android eq 'x')")


# -- first fetch time --------------------------------------------------------------------------


@pytest.mark.parametrize("fetch_time", ["3 fortnights", "three days", "3", "-3 days", "3 days ago"])
def test_an_invalid_first_fetch_time_is_the_settings_error(m, fetch_time):
    """Given a first fetch time that is not '<number> <unit>', when any command runs, then the settings
    error says so with examples (not an unexpected error); nothing is sent."""
    assert refused(m, fetch_time=fetch_time) == (
        f"First fetch timestamp '{fetch_time}' is not of the form '<number> <unit>', for example '3 days' or "
        f"'12 hours'.")


@pytest.mark.parametrize("fetch_time, created_ge_days", [
    pytest.param("2 days", 2, id="days"), pytest.param("1 week", 7, id="week"),
    pytest.param("1 Month", 30, id="month-any-case"), pytest.param("48 hours", 2, id="hours"),
    pytest.param("", 3, id="empty-means-3-days"),
])
def test_the_first_fetch_window_follows_the_setting(m, fetch_time, created_ge_days):
    """Given a first fetch time, when the first fetch runs, then it asks for incidents created since
    exactly that long ago."""
    from datetime import datetime, timedelta, timezone

    before = datetime.now(timezone.utc)
    sent = fetch_filter_sent(m, fetch_time=fetch_time)
    since = re.search(r"properties/createdTimeUtc ge (\S+?)\)", sent).group(1)
    start = datetime.strptime(since, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((before - timedelta(days=created_ge_days)) - start) < timedelta(minutes=1)


# -- whole-number settings ---------------------------------------------------------------------


@pytest.mark.parametrize("key, value, message", [
    pytest.param("limit", "0", "Maximum number of incidents per fetch must be a whole number from 1 to 1000, not '0'.",
                 id="limit-0"),
    pytest.param("limit", "1001", "Maximum number of incidents per fetch must be a whole number from 1 to 1000, not "
                 "'1001'.", id="limit-1001"),
    pytest.param("escalation_horizon_days", "31", "Escalation horizon (days) must be a whole number from 0 to 30, "
                 "not '31'.", id="horizon-31"),
    pytest.param("look_back", "1441", "Minutes to look back must be a whole number from 0 to 1440, not '1441'.",
                 id="look-back-1441"),
    pytest.param("limit", "5x", "Maximum number of incidents per fetch must be a whole number from 1 to 1000, not "
                 "'5x'.", id="limit-not-a-number"),
])
def test_whole_number_settings_outside_their_range_are_refused(m, key, value, message):
    """Given a whole-number setting just outside its range, when any command runs, then one error gives the range."""
    assert refused(m, **{key: value}) == message


@pytest.mark.parametrize("overrides, top", [
    pytest.param({"limit": "1"}, "51", id="limit-1"),
    pytest.param({"limit": "951"}, "1000", id="limit-951"),
    pytest.param({"limit": "1000"}, "1000", id="limit-1000"),
    pytest.param({"limit": " 7 "}, "57", id="limit-with-spaces"),
    pytest.param({}, "100", id="limit-default-50"),
])
def test_the_fetch_limit_edges_are_accepted(m, overrides, top):
    """Given a fetch limit at either edge of 1..1000 (or none), when the first fetch runs, then it is
    accepted and the first page asks for that many incidents plus 50 (room for incidents behind the
    cursor), at most Sentinel's largest page, 1000."""
    mock_login(m)
    m.get(f"{WS_URL}/incidents", json={"value": []})
    run("fetch-incidents", params=base_params(**FETCH, **overrides))
    assert query(arm_requests(m)[0])["$top"] == top


@pytest.mark.parametrize("key, value", [("escalation_horizon_days", "0"), ("escalation_horizon_days", "30"),
                                        ("look_back", "0"), ("look_back", "1440")])
def test_horizon_and_look_back_edges_are_accepted(m, key, value):
    """Given the escalation horizon or look-back at an edge of its range, when fetch runs, then it runs."""
    assert "properties/createdTimeUtc ge" in fetch_filter_sent(m, **{key: value})


# -- severity and statuses ---------------------------------------------------------------------


@pytest.mark.parametrize("overrides, clauses", [
    pytest.param({}, [], id="defaults-add-nothing"),
    pytest.param({"min_severity": "Medium"},
                 ["(properties/severity eq 'Medium' or properties/severity eq 'High')"], id="medium-and-up"),
    pytest.param({"min_severity": "Low"}, ["(properties/severity eq 'Low' or properties/severity eq 'Medium' or "
                                           "properties/severity eq 'High')"], id="low-and-up"),
    pytest.param({"statuses_to_fetch": "New,Active"},
                 ["(properties/status eq 'New' or properties/status eq 'Active')"], id="statuses"),
    pytest.param({"min_severity": "High", "statuses_to_fetch": ["Closed"], "odata_filter": "a eq 'b'"},
                 ["(properties/severity eq 'High')", "(properties/status eq 'Closed')", "(a eq 'b')"],
                 id="all-three-in-order"),
])
def test_severity_statuses_and_filter_are_appended_in_order(m, overrides, clauses):
    """Given a minimum severity, statuses and a filter, when the first fetch runs, then exactly these
    clauses follow the window clauses, in this order."""
    sent = fetch_filter_sent(m, **overrides)
    match = re.fullmatch(r"\(properties/incidentNumber gt 0 and properties/createdTimeUtc ge [0-9T:.-]+Z\)"
                         r"(?: and (.*))?", sent)
    assert match, sent
    assert (match.group(1) or "") == " and ".join(clauses)


@pytest.mark.parametrize("key, value, message", [
    pytest.param("statuses_to_fetch", "New,Open", "Incident Statuses to Fetch has unknown value(s) Open; use New, "
                 "Active, Closed.", id="status"),
    pytest.param("fetch_additional_info", "Alerts,Bookmarks", "Additional info to fetch has unknown value(s) "
                 "Bookmarks; use Alerts, Entities, Comments, Relations.", id="additional-info"),
    pytest.param("min_severity", "Critical", "The minimum severity of incidents to fetch has unknown value(s) "
                 "Critical; use Informational, Low, Medium, High.", id="severity"),
])
def test_unknown_choices_are_refused_with_the_allowed_ones(m, key, value, message):
    """Given a choice setting with a value it does not offer, when any command runs, then the error lists
    the unknown and the allowed values."""
    assert refused(m, **{key: value}) == message


# -- clouds and URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, arm, login", [
    pytest.param({"azure_cloud": ""}, "https://management.azure.com", "https://login.microsoftonline.com",
                 id="empty-is-worldwide"),
    pytest.param({"azure_cloud": "China"}, "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
                 id="china"),
    pytest.param({"azure_cloud": "US GCC-High"}, "https://management.usgovcloudapi.net",
                 "https://login.microsoftonline.us", id="gcc-high"),
    pytest.param({"azure_cloud": None, "server_url": "https://127.0.0.1:8443/"}, "https://127.0.0.1:8443",
                 "https://login.microsoftonline.com", id="older-instance-with-only-a-server-url"),
    pytest.param({"azure_cloud": "", "authority_url": "https://127.0.0.1:9443",
                  "server_url": "https://127.0.0.1:8443"}, "https://127.0.0.1:8443", "https://127.0.0.1:9443",
                 id="no-cloud-with-an-authority-is-custom"),
])
def test_the_cloud_decides_both_endpoints(m, overrides, arm, login):
    """Given a cloud choice (or an older instance's Server URL), when a command runs, then it signs in at
    that cloud's authority and calls that cloud's ARM endpoint."""
    tenant = base_params()["creds_tenant_id"]["password"]
    mock_login(m, login=login)
    m.get(f"{arm}/subscriptions/{base_params()['subscriptionID']}/resourceGroups/myRg/providers/"
          f"Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/"
          f"{INCIDENT_ID}", json={"name": INCIDENT_ID, "properties": {}})
    run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}, params=base_params(**overrides))
    hosts = {r.url.split("/")[2] for r in m.request_history}
    assert hosts == {arm.split("/")[2], login.split("/")[2]}
    assert any(r.url.startswith(f"{login}/{tenant}/") for r in m.request_history)


@pytest.mark.parametrize("overrides, message", [
    pytest.param({"azure_cloud": "Custom", "server_url": "https://"}, "Server URL 'https://' is not a valid URL; use "
                 "the form https://host[:port].", id="no-host"),
    pytest.param({"azure_cloud": "Custom", "server_url": "https://127.0.0.1:8443",
                  "log_analytics_url": "http://query.example.com"},
                 "Log Analytics query API URL 'http://query.example.com' uses http://; only https:// is allowed "
                 "(http:// only for 127.0.0.1 or localhost).", id="query-url-http"),
    pytest.param({"azure_cloud": "Mars"}, "Azure Cloud 'Mars' is unknown; choose one of Worldwide, US GCC, "
                 "US GCC-High, DoD, China or Custom.", id="unknown-cloud"),
])
def test_bad_endpoints_are_refused_word_for_word(m, overrides, message):
    """Given an endpoint setting that cannot work, when any command runs, then this exact error is shown."""
    assert refused(m, **overrides) == message


# -- credentials -------------------------------------------------------------------------------


def test_a_missing_client_id_is_named(m):
    """Given no client ID anywhere, when any command runs, then the error names the Client ID."""
    assert refused(m, creds_client_id=None) == "Set the Client ID (the Application ID of the app registration)."


def test_the_client_id_may_come_from_the_credentials_identifier(m):
    """Given the client ID only as the credentials' identifier (older instances), when a command runs,
    then it signs in with that client ID."""
    from module_helpers import CLIENT_ID, INCIDENT_URL, form

    token = mock_login(m)
    m.get(INCIDENT_URL, json={"name": INCIDENT_ID, "properties": {}})
    params = base_params(creds_client_id=None, credentials={"identifier": CLIENT_ID, "password": "sec-ret-value"})
    run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}, params=params)
    assert form(token.last_request)["client_id"] == CLIENT_ID


def test_the_tenant_may_come_from_the_older_tenant_id_param(m):
    """Given the tenant only in the older plain `tenant_id` param, when a command runs, then it signs in there."""
    from module_helpers import INCIDENT_URL, TENANT

    token = mock_login(m)
    m.get(INCIDENT_URL, json={"name": INCIDENT_ID, "properties": {}})
    run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID},
        params=base_params(creds_tenant_id=None, tenant_id=TENANT))
    assert token.call_count == 1


def test_managed_identity_with_a_private_key_is_refused(m):
    """Given managed identity together with a certificate's private key, then the settings are refused."""
    message = refused(m, credentials=None, use_managed_identities="true",
                      creds_certificate={"identifier": "AB" * 20, "password": "pem-key"})
    assert message == ("Use Azure Managed Identities is set together with a client secret or private key; clear "
                       "one of them.")


def test_a_missing_tenant_id_is_asked_for_by_name(m):
    """Given a client secret and no Tenant ID (neither param), then the error asks for it in these words and
    nothing is sent (no sign-in against an empty tenant)."""
    platform = run("azure-sentinel-get-incident-by-id", {"incident_id": "inc-1"},
                   params=base_params(creds_tenant_id=None, tenant_id=None))
    assert only_error(platform).endswith("Error: Set the Tenant ID (the Directory ID of the app registration).")
    assert m.request_history == []
