"""Pinned contract: edges of argument checks, KQL's workspace ID, enrichment pacing, platform severity and
secret masking, in literal values."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests_mock

from module_helpers import (
    ARM, WS, WS_URL, base_params, incident, load_module, mock_login, only_entry, only_error, run,
)

MOD = load_module()
INDICATORS = f"{WS_URL}/threatIntelligence/main"


# -- threat indicator values -------------------------------------------------------------------


@pytest.mark.parametrize("hash_type, digits", [("MD5", 32), ("SHA-1", 40), ("SHA-256", 64), ("SHA-512", 128)])
def test_a_hash_of_exactly_its_length_is_accepted_and_one_digit_less_is_refused(m, hash_type, digits):
    """Given a file indicator, when its value has exactly the hash type's number of hex digits, then it is
    created; with one digit less, one error gives the length and nothing is sent."""
    m.post(f"{INDICATORS}/createIndicator", json={"name": "ind-1", "kind": "indicator", "properties": {}})
    args = {"display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "file",
            "hash_type": hash_type}
    created = run("azure-sentinel-threat-indicator-create", {**args, "value": "a" * digits})
    assert only_entry(created).get("Type") != 4, created.results
    writes = [r for r in m.request_history if r.method in ("PUT", "POST") and r.url.startswith(ARM)]
    assert len(writes) == 1 and f"'{hash_type}' = '{'a' * digits}'" in json.dumps(writes[0].json())
    refused = run("azure-sentinel-threat-indicator-create", {**args, "value": "a" * (digits - 1)})
    assert only_error(refused).endswith(f"Argument 'value' is not a {hash_type} hash: give {digits} hexadecimal "
                                        f"digits.")
    assert len([r for r in m.request_history if r.method in ("PUT", "POST") and r.url.startswith(ARM)]) == 1


@pytest.mark.parametrize("confidence, accepted", [("-1", False), ("0", True), ("100", True), ("101", False)])
def test_confidence_is_a_whole_number_from_0_to_100(m, confidence, accepted):
    """Given an indicator's confidence at or just past either edge of 0..100, then only 0 and 100 are sent."""
    m.post(f"{INDICATORS}/createIndicator", json={"name": "ind-1", "kind": "indicator", "properties": {}})
    platform = run("azure-sentinel-threat-indicator-create", {
        "display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "domain", "value": "x.example",
        "confidence": confidence})
    if accepted:
        [write] = [r for r in m.request_history if r.method == "POST" and r.url.startswith(ARM)]
        assert write.json()["properties"]["confidence"] == int(confidence)
    else:
        assert "'confidence' is invalid" in only_error(platform)
        assert [r for r in m.request_history if r.method == "POST" and r.url.startswith(ARM)] == []


# -- KQL: the workspace ID ---------------------------------------------------------------------


@pytest.mark.parametrize("properties", [{}, {"customerId": ""}, {"customerId": 42}])
def test_a_workspace_without_a_customer_id_asks_for_the_workspace_id_param(m, properties):
    """Given ARM's workspace answer has no usable customerId, when run-query runs, then one error says to set
    the Workspace ID parameter, and no query is sent."""
    workspace = WS_URL.split("/providers/Microsoft.SecurityInsights")[0]
    m.get(workspace, json={"name": WS, "properties": properties})
    query = m.post(re.compile(r"https://api\.loganalytics\.io/"), json={"tables": []})
    message = only_error(run("azure-sentinel-run-query", {"query": "SecurityIncident | take 1"}))
    assert message.endswith("The workspace has no customerId in Azure's answer; set the Workspace ID parameter "
                            "(Log Analytics workspace > Overview > Workspace ID).")
    assert query.call_count == 0


# -- enrichment pacing -------------------------------------------------------------------------


class Clock:
    """A clock that stands still: sleeps are recorded, not taken (the callers of a burst arrive together)."""

    def __init__(self) -> None:
        self.t, self.sleeps = 100.0, []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_the_pacer_lets_a_burst_through_then_spaces_calls_at_its_rate():
    """Given a pacer of burst 2 and 4 calls a second on a clock that stands still, when 5 calls wait, then
    the first 2 do not sleep and the next 3 sleep 0.25, 0.5 and 0.75 seconds (each waits for its token)."""
    clock = Clock()
    pacer = MOD.Pacer(burst=2, rate=4.0, now=clock.now, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait()
    assert clock.sleeps == [0.25, 0.5, 0.75]


def test_the_pacer_refills_with_time():
    """Given a pacer of burst 1 and 4 calls a second, when a call comes 0.25 s after the first, then neither
    sleeps; when the next comes at once, it sleeps 0.25 s."""
    clock = Clock()
    pacer = MOD.Pacer(burst=1, rate=4.0, now=clock.now, sleep=clock.sleep)
    pacer.wait()
    clock.t += 0.25
    pacer.wait()
    assert clock.sleeps == []
    pacer.wait()
    assert clock.sleeps == [0.25]


# -- the platform incident's severity -----------------------------------------------------------


@pytest.mark.parametrize("severity, level", [("Informational", 0.5), ("Low", 1), ("Medium", 2), ("High", 3),
                                             ("Critical", 0), (None, 0)])
def test_the_platform_severity_of_each_sentinel_severity(m, severity, level):
    """Given a fetched incident of each severity (or one Sentinel does not define, or none), then the platform
    incident's severity is the official level; an unknown one is 0 (unknown)."""
    item = incident("inc-1", 1, severity=severity)
    m.get(f"{WS_URL}/incidents", json={"value": [item]})
    platform = run("fetch-incidents", params=base_params(isFetch=True))
    assert [i["severity"] for i in platform.incidents] == [level]


# -- secrets in what users see ---------------------------------------------------------------------


def test_secrets_of_4_characters_or_more_are_masked_and_shorter_ones_are_not():
    """Given a redactor for the secrets 'abc' and 'wxyz', then 'wxyz' is masked wherever it appears and
    'abc' (too short to tell from ordinary text) is left as it is."""
    redact = MOD.Redactor(["abc", "wxyz"])
    masked = redact("abc-wxyz abcdef")
    assert "wxyz" not in masked and masked.count("abc") == 2


# -- quoting what the user gave --------------------------------------------------------------------


def test_a_foreign_related_resource_is_refused_quoting_its_first_80_characters(m):
    """Given create-incident-relation with a 200-character value that is no resource of this workspace, then
    one error shows the expected form and quotes the value's first 80 characters; nothing is sent."""
    value = "/subscriptions/other/" + "x" * 179
    message = only_error(run("azure-sentinel-create-incident-relation",
                             {"incident_id": "inc-1", "related_resource_id": value}))
    assert message.endswith(f"; got {value[:80]!r}.") and "(.../entities/<alert ID> for an alert)" in message
    assert [r for r in m.request_history if r.url.startswith(ARM)] == []


# -- more argument edges -----------------------------------------------------------------------------


def test_one_indicator_name_is_enough_to_delete(m):
    """Given threat-indicator-delete with a single name, then exactly that indicator is deleted."""
    deleted = m.delete(f"{WS_URL}/threatIntelligence/main/indicators/ind-1", status_code=200)
    entry = only_entry(run("azure-sentinel-threat-indicator-delete", {"indicator_names": "ind-1"}))
    assert entry.get("Type") != 4, entry
    assert deleted.call_count == 1


def test_no_indicator_name_is_refused(m):
    """Given threat-indicator-delete with an empty list of names, then one error names the argument."""
    assert "'indicator_names'" in only_error(run("azure-sentinel-threat-indicator-delete", {"indicator_names": "[]"}))
    assert [r for r in m.request_history if r.url.startswith(ARM)] == []


def test_equal_minimum_and_maximum_confidence_are_a_valid_range(m):
    """Given threat-indicator-query with min_confidence = max_confidence = 50, then both are sent."""
    answer = m.post(f"{INDICATORS}/queryIndicators", json={"value": []})
    run("azure-sentinel-threat-indicator-query", {"min_confidence": "50", "max_confidence": "50"})
    assert (answer.last_request.json()["minConfidence"], answer.last_request.json()["maxConfidence"]) == (50, 50)


def test_of_two_bad_arguments_the_first_is_named(m):
    """Given create-incident with two invalid values, then the one error names the first argument the model
    checks (title before severity)."""
    message = only_error(run("azure-sentinel-create-incident", {"title": "", "severity": "Huge"}))
    assert "'title'" in message and "'severity'" not in message


@pytest.mark.parametrize("fetch_time, window", [("1440 minutes", 1440 * 60), ("1 year", 365 * 86400)])
def test_minutes_and_years_set_the_first_fetch_window(m, fetch_time, window):
    """Given a first fetch time in minutes or years, then the first fetch asks for incidents created since
    exactly that long ago (to the second)."""
    from datetime import datetime, timezone

    m.get(f"{WS_URL}/incidents", json={"value": []})
    before = datetime.now(timezone.utc).timestamp()
    run("fetch-incidents", params=base_params(isFetch=True, fetch_time=fetch_time))
    sent = [r for r in m.request_history if r.url.startswith(ARM)][0].qs["$filter"][0]  # requests-mock lower-cases it
    since = re.search(r"createdtimeutc ge (\S+?)\)", sent).group(1)
    start = datetime.strptime(since, "%Y-%m-%dt%H:%M:%S.%fz").replace(tzinfo=timezone.utc).timestamp()
    assert abs((before - window) - start) < 5


def test_a_link_that_hides_an_escape_behind_another_is_refused(m):
    """Given a next_link whose path decodes to another escape (%252e%252e, a dot segment encoded twice), then
    it is refused before anything is sent."""
    link = f"{WS_URL}/incidents/%252e%252e/%252e%252e?api-version=2025-12-01"
    message = only_error(run("azure-sentinel-list-incidents", {"next_link": link}))
    assert "Refusing" in message
    assert [r for r in m.request_history if r.url.startswith(ARM)] == []


def test_a_server_error_has_the_transient_hint(m, monkeypatch):
    """Given a comment PUT answered 500 every time (retried: the comment ID is fixed, so a PUT is safe to
    repeat), then the error says Azure had a transient failure."""
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    m.put(re.compile(re.escape(WS_URL) + "/incidents/[^/]+/comments/"), status_code=500,
          json={"error": {"code": "InternalServerError", "message": "Boom."}})
    message = only_error(run("azure-sentinel-incident-add-comment", {"incident_id": "inc-1", "message": "hi"}))
    assert message.endswith("What to do: Azure had a transient failure; try again in a few minutes.")


def test_a_poison_incident_number_of_0_is_skipped(m):
    """Given a list page with incidentNumber 0 and 1, when fetch runs, then only 1 arrives and the log names
    the skipped record."""
    m.get(f"{WS_URL}/incidents", json={"value": [incident("inc-0", 0), incident("inc-1", 1)]})
    platform = run("fetch-incidents", params=base_params(isFetch=True))
    assert [i["dbotMirrorId"] for i in platform.incidents] == ["inc-1"]
    skipped = "fetch-incidents: Skipped incident 'inc-0': its incidentNumber '0' is not a whole number."
    assert ("error", skipped) in platform.logs


def test_a_concurrent_change_is_logged_with_its_round(m):
    """Given update-incident whose first PUT gets 409, then the log announces round 2 (the re-read and second PUT)."""
    from module_helpers import INCIDENT_ID, INCIDENT_URL

    m.get(INCIDENT_URL, json=incident())
    m.put(INCIDENT_URL, [{"status_code": 409, "json": {"error": {"code": "Conflict", "message": "etag"}}},
                         {"json": incident()}])
    platform = run("azure-sentinel-update-incident", {"incident_id": INCIDENT_ID, "title": "New"})
    assert any("re-reading and re-applying the requested fields (round 2)." in msg for _, msg in platform.logs), \
        platform.logs


@pytest.mark.parametrize("code, hint", [
    (7000215, "the client secret is wrong; copy the secret's Value (not its ID) from the app registration"),
    (7000222, "the client secret has expired; create a new one and update the instance"),
    (700016, "no application with this Client ID exists in the tenant"),
    (90002, "the tenant was not found; check the Tenant ID"),
    (700027, "the certificate signature was rejected; check the thumbprint and that the certificate is uploaded "
             "to the app registration"),
    (50000, "check the credentials and the Azure Cloud setting, then run azure-sentinel-auth-reset"),
])
def test_each_entra_error_code_has_its_hint(code, hint):
    """Given Entra ID refuses the sign-in with one of the codes users meet most, then the error ends with the
    fix for that code (an unknown code gets the general advice)."""
    from module_helpers import TOKEN_URL

    with requests_mock.Mocker() as m:
        mock_login(m)
        m.post(TOKEN_URL, status_code=400, json={"error": "invalid_request", "error_codes": [code],
                                                 "error_description": f"AADSTS{code}: refused.\nTrace ID: 1"})
        message = only_error(run("azure-sentinel-get-incident-by-id", {"incident_id": "inc-1"}))
    assert message.endswith(f"Sign-in with client secret failed (invalid_request: AADSTS{code}: refused.); {hint}.")


@pytest.mark.parametrize("path", ["/subscriptions/%252e%252e/x", "/subscriptions/a%5Cb", "/subscriptions/a\\b",
                                  "/subscriptions//x", "/subscriptions/%2e%2e/x"])
def test_paths_that_decode_to_escapes_backslashes_dots_or_empty_segments_have_no_segments(path):
    """Given a path that, once decoded, still holds an escape, a backslash, an empty or a dot segment, then
    it has no segments (so no link with it is ever sent)."""
    assert MOD._segments(path) is None
    assert MOD._segments("/subscriptions/A/x") == ["subscriptions", "a", "x"]


# -- guard clauses the commands cannot reach, and how much of a bad value a message quotes -------------


def test_a_sign_in_that_returns_nothing_is_one_auth_error():
    """Given MSAL returning no result at all (not even an error dict), then one AuthError asks to check the
    credentials, naming the sign-in kind."""
    settings = MOD.settings_from_params(base_params())
    with pytest.raises(MOD.AuthError) as raised:
        MOD._access_token(settings, None, 0.0)
    assert str(raised.value) == "Sign-in with client secret returned no result; check the credentials."


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_empty_id_is_refused_by_name(value):
    """Given an empty value where a URL path segment is built (IDs read from API answers come here too), then
    one ConfigError names what is missing; nothing becomes an empty segment."""
    with pytest.raises(MOD.ConfigError) as raised:
        MOD.safe_id(value, "workspace name")
    assert str(raised.value) == "The workspace name is empty; give the workspace name."


def test_a_poison_incident_with_a_long_name_is_logged_with_its_first_80_characters(m):
    """Given a malformed incident whose name is 300 characters, then the skip is logged quoting 80 of them."""
    poison = incident("p" * 300, 0)
    m.get(f"{WS_URL}/incidents", json={"value": [poison, incident("inc-1", 1)]})
    platform = run("fetch-incidents", params=base_params(isFetch=True))
    assert [i["dbotMirrorId"] for i in platform.incidents] == ["inc-1"]
    skipped = f"fetch-incidents: Skipped incident '{'p' * 80}': its incidentNumber '0' is not a whole number."
    assert ("error", skipped) in platform.logs


def test_a_bad_last_update_is_quoted_to_60_characters(m):
    """Given get-remote-data with a lastUpdate of 100 characters that is not a time, then the error quotes 60."""
    message = only_error(run("get-remote-data", {"id": "inc-1", "lastUpdate": "z" * 100}))
    assert message.endswith(f"Argument 'lastUpdate' is not a time: '{'z' * 60}'; give an ISO 8601 time such as "
                            f"2025-01-02T03:04:05Z.")


def test_the_template_table_shows_each_rule_column(m):
    """Given a template with every field the table shows, then each is a column with its value."""
    template = {"name": "tpl-1", "kind": "Scheduled", "properties": {
        "displayName": "Brute force", "severity": "High", "status": "Available", "tactics": ["CredentialAccess"],
        "lastUpdatedDateUTC": "2025-02-03T04:05:06Z"}}
    m.get(f"{WS_URL}/alertRuleTemplates", json={"value": [template]})
    readable = only_entry(run("azure-sentinel-list-alert-rule-template", {}))["HumanReadable"]
    assert "|ID|Kind|Display Name|Severity|Status|Tactics|Last Modified|" in readable
    assert "|tpl-1|Scheduled|Brute force|High|Available|CredentialAccess|2025-02-03T04:05:06Z|" in readable
    rule = {"name": "r-1", "kind": "Fusion", "properties": {"enabled": False}}
    assert MOD.rule_row(rule) == {"ID": "r-1", "Kind": "Fusion", "DisplayName": None, "Severity": None,
                                  "Enabled": False, "Status": None, "Tactics": None, "LastModified": None}


def serve_query(m, **answer) -> None:
    """The workspace (customerId cust-1) and a one-row Log Analytics answer, with `answer`'s extra keys."""
    m.get(re.compile(re.escape(f"{ARM}/subscriptions/") + ".*/workspaces/" + WS + r"\?"),
          json={"properties": {"customerId": "cust-1"}})
    m.post("https://api.loganalytics.io/v1/workspaces/cust-1/query", json={
        "tables": [{"name": "PrimaryResult", "columns": [{"name": "x", "type": "int"}], "rows": [[1]]}], **answer})


@pytest.mark.parametrize("error, shown", [
    ({"message": "Some errors.", "details": [{"message": "Result truncated."}]},
     "(PartialError: Some errors. Result truncated.)"),
    ({"code": "ServiceError", "message": "Some errors."}, "(ServiceError: Some errors.)"),
])
def test_the_partial_result_warning_names_the_code_and_the_messages(m, error, shown):
    """Given a query answer with a partial-result error, with or without its code and details, then the
    warning gives the code (PartialError when there is none), the message and each detail's message."""
    serve_query(m, error=error)
    readable = only_entry(run("azure-sentinel-run-query", {"query": "print x = 1"}))["HumanReadable"]
    assert readable.startswith(f"**Warning: the result is partial** {shown}.\n")


@pytest.mark.parametrize("length, accepted", [(256, True), (257, False)])
def test_an_id_may_be_256_characters_long(length, accepted):
    """Given an ID of exactly 256 characters, then it is one path segment; one more and it is refused."""
    if accepted:
        assert MOD.safe_id("a" * length) == "a" * length
    else:
        with pytest.raises(MOD.ConfigError, match=r"^The ID 'a{80}' is not valid"):
            MOD.safe_id("a" * length)


def test_a_list_argument_may_be_a_json_list():
    """Given a JSON list as a list argument (as playbooks pass them), then its items are the list, blank
    ones left out; a string that only looks like one is split on commas."""
    assert MOD._as_list('["Active", " ", "New "]') == ["Active", "New"]
    assert MOD._as_list("[Active, New") == ["[Active", "New"]


@pytest.mark.parametrize("value, expected", [
    ("2025-01-02", "2025-01-02T00:00:00+00:00"),
    ("2025-01-02 03:04:05Z", "2025-01-02T03:04:05+00:00"),
])
def test_a_date_alone_is_its_midnight_and_a_space_may_stand_for_t(value, expected):
    assert MOD.parse_last_update(value).isoformat() == expected


def test_an_indicator_valid_until_its_valid_from_is_refused(m):
    """Given valid_until equal to valid_from (an indicator valid for no time at all), then one error; a
    second later is accepted."""
    m.post(f"{INDICATORS}/createIndicator", json={"name": "ind-1", "kind": "indicator", "properties": {}})
    args = {"display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "domain",
            "value": "x.example", "valid_from": "2025-01-01T00:00:00Z"}
    refused = run("azure-sentinel-threat-indicator-create", {**args, "valid_until": "2025-01-01T00:00:00Z"})
    assert only_error(refused).endswith("Argument 'valid_until' is not after 'valid_from'; give a later valid_until.")
    created = run("azure-sentinel-threat-indicator-create", {**args, "valid_until": "2025-01-01T00:00:01Z"})
    assert only_entry(created).get("Type") != 4, created.results


def test_an_automation_rule_takes_at_most_50_conditions(m):
    """Given 50 conditions, then the rule is written; given 51, one error gives the range and nothing is sent."""
    rule_url = f"{WS_URL}/automationRules/rule-1"
    m.get(rule_url, status_code=404, json={"error": {"code": "NotFound", "message": "No rule."}})
    m.put(rule_url, json={"name": "rule-1", "properties": {}})
    condition = {"conditionType": "Property", "conditionProperties": {
        "propertyName": "IncidentTitle", "operator": "Contains", "propertyValues": ["x"]}}
    args = {"automation_rule_id": "rule-1", "display_name": "many", "order": "1",
            "actions_json": json.dumps([{"actionType": "ModifyProperties", "actionConfiguration": {"severity": "High"},
                                         "order": 1}])}
    refused = run("azure-sentinel-create-update-automation-rule", {**args, "conditions_json": json.dumps([condition] * 51)})
    assert only_error(refused).endswith("Argument 'conditions_json' is invalid: it must hold 0 to 50 items.")
    assert [r for r in m.request_history if r.method == "PUT"] == []
    written = run("azure-sentinel-create-update-automation-rule", {**args, "conditions_json": json.dumps([condition] * 50)})
    assert only_entry(written).get("Type") != 4, written.results
    [put] = [r for r in m.request_history if r.method == "PUT"]
    assert len(put.json()["properties"]["triggeringLogic"]["conditions"]) == 50


def test_a_query_may_show_up_to_10000_rows(m):
    """Given run-query with limit 10000, then it runs; 10001 is refused before anything is sent."""
    serve_query(m)
    assert only_entry(run("azure-sentinel-run-query", {"query": "print x = 1", "limit": "10000"})).get("Type") != 4
    refused = run("azure-sentinel-run-query", {"query": "print x = 1", "limit": "10001"})
    assert only_error(refused).endswith("Argument 'limit' is invalid: must be a whole number from 1 to 10000.")


def test_a_watchlist_content_type_is_sent_as_the_api_spells_it(m, tmp_path):
    """Given content_type ' TEXT/CSV ', then the watchlist is created with contentType 'text/csv'."""
    m.get(f"{WS_URL}/watchlists/wl1", status_code=404, json={"error": {"code": "NotFound", "message": "None."}})
    m.put(f"{WS_URL}/watchlists/wl1", json={"name": "wl1", "properties": {"watchlistAlias": "wl1"}})
    csv = tmp_path / "wl.csv"
    csv.write_bytes(b"ip\n1.2.3.4\n")
    created = run("azure-sentinel-watchlist-create-update", {
        "watchlist_alias": "wl1", "watchlist_display_name": "WL", "file_entry_id": "e-1", "items_search_key": "ip",
        "content_type": " TEXT/CSV "}, files={"e-1": str(csv)})
    assert only_entry(created).get("Type") != 4, created.results
    [put] = [r for r in m.request_history if r.method == "PUT"]
    assert put.json()["properties"]["contentType"] == "text/csv"


def test_an_unexpected_enrichment_failure_keeps_the_incident_and_names_the_failure(m):
    """Given an alerts call that fails with an exception no one expected, then the incident is still handed
    over, with the exception's type under enrichment_errors."""
    m.get(f"{WS_URL}/incidents", json={"value": [incident("inc-1", 1)]})
    m.post(f"{WS_URL}/incidents/inc-1/alerts", exc=ValueError("not an HTTP failure"))
    platform = run("fetch-incidents", params=base_params(isFetch=True, fetch_additional_info=["Alerts"]))
    [fetched] = platform.incidents
    assert json.loads(fetched["rawJSON"])["enrichment_errors"] == {
        "alerts": "Unexpected ValueError while reading the alerts."}


def test_secrets_shorter_than_4_characters_are_not_masked():
    """Given a given secret and a token of 3 characters and of 4, then only the 4-character ones are masked
    (masking every 3-letter string would blank ordinary words)."""
    redact = MOD.Redactor(["abc", "abcd"], lambda: ["xyz", "wxyz"])
    assert redact("abc abcd xyz wxyz") == "abc <redacted> xyz <redacted>"


def test_a_failed_fetch_is_logged_as_an_error(m):
    """Given a fetch whose listing is refused, then the fetch raises (the platform keeps the old lastRun) and
    the platform's error log says fetch-incidents failed, and why."""
    from xsoar_local.platform import Platform, run_module

    m.get(f"{WS_URL}/incidents", status_code=403, json={"error": {"code": "AuthorizationFailed", "message": "No."}})
    platform = Platform(params=base_params(isFetch=True), command="fetch-incidents", last_run={})
    with pytest.raises(Exception) as raised:  # the SentinelError of the module the platform ran
        run_module(platform)
    assert type(raised.value).__name__ == "SentinelError"
    errors = [text for level, text in platform.logs if level == "error"]
    assert errors == [f"fetch-incidents failed: {raised.value}"] and "HTTP 403" in errors[0], errors


def test_a_person_is_named_by_the_first_key_they_have_and_no_name_is_none():
    """Given a UserInfo whose name is empty, then its email names it; with every key empty, it is None
    (not an empty string that reads as a name)."""
    assert MOD._who({"name": "", "email": "erin@contoso.com"}) == "erin@contoso.com"
    assert MOD._who({"name": "", "email": "", "objectId": ""}) is None
    assert MOD._who("not an object") is None


def test_a_table_without_headers_has_the_columns_of_every_row():
    """Given rows with different keys and no headers, then each key is a column, in the order first seen,
    and a column no row fills is left out."""
    table = MOD.markdown_table("T", [{"a": 1, "b": None}, {"c": "x", "a": 2}])
    assert table == "### T\n|a|c|\n|---|---|\n|1||\n|2|x|\n"


@pytest.mark.parametrize("age, accepted", [("1000 years", True), ("1001 years", False)])
def test_an_indicator_age_may_be_1000_years(m, age, accepted):
    """Given min_valid_until as an age of exactly 1000 years, then the query is sent; one year more is refused."""
    m.post(f"{INDICATORS}/queryIndicators", json={"value": []})
    platform = run("azure-sentinel-threat-indicator-query", {"min_valid_until": age})
    if accepted:
        assert only_entry(platform).get("Type") != 4, platform.results
    else:
        assert only_error(platform).endswith("Argument 'min_valid_until' is invalid: an age must be at most 1000 "
                                             "years.")


def test_a_bad_ip_indicator_value_is_quoted_to_80_characters(m):
    value = "1" * 200
    message = only_error(run("azure-sentinel-threat-indicator-create", {
        "display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "ipv4", "value": value}))
    assert message.endswith(f"Argument 'value' is not an IPV4 address or network: '{'1' * 80}'.")


@pytest.mark.parametrize("command", ["azure-sentinel-threat-indicator-tags-append",
                                     "azure-sentinel-threat-indicator-tags-replace"])
def test_indicator_tags_need_at_least_one_tag(m, command):
    """Given tags that hold no tag once split (","), then one error names the argument and nothing is sent."""
    message = only_error(run(command, {"indicator_name": "ind-1", "tags": ","}))
    assert "Argument 'tags' is invalid" in message and "at least 1 item" in message
    assert [r for r in m.request_history if r.url.startswith(ARM)] == []
