"""The threat intelligence commands: list, query, create, update, delete, tags and metrics.

Each test serves recorded payloads (AzureSentinel/test_data/ti_*.json, from the API spec's examples)
with requests-mock and checks what was sent and what the platform received. The official defects
these commands must not repeat (compat §7) each have a test: list by name returning nothing,
valid-until filters that are ignored, kill chain phases that never fill.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from module_helpers import (
    ROOT, WS_URL, arm_requests, base_params, context_value, load_json, load_module, only_entry,
    only_error, query, run,
)

MOD = load_module()
TI_URL = f"{WS_URL}/threatIntelligence/main"
NAME = "e16ef847-962e-d7b6-9c8b-a33e4bd30e47"
INDICATOR_URL = f"{TI_URL}/indicators/{NAME}"
KEY = "AzureSentinel.ThreatIndicator(val.ID && val.ID == obj.ID)"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def run_at_now(command: str, args: dict) -> dict:
    """Run a command with the clock fixed at NOW (through build_run + COMMANDS, never sleeping)."""
    run_ = MOD.build_run(base_params(), args, command, {}, log=lambda _m: None, now=NOW.timestamp,
                         sleep=lambda _s: None)
    return MOD.COMMANDS[command](run_, args)


# -- list ---------------------------------------------------------------------------------------------


def test_list_by_name_returns_that_indicator(m):
    """Given an indicator name, when threat-indicator-list runs, then the GET of that indicator is its one
    result (the official reads `value` from it and returns nothing)."""
    m.get(INDICATOR_URL, json=load_json("ti_get.json"))
    entry = only_entry(run("azure-sentinel-threat-indicator-list", {"indicator_name": NAME}))
    assert [r.url.split("?")[0] for r in arm_requests(m)] == [INDICATOR_URL]
    row = context_value(entry, "AzureSentinel.ThreatIndicator(")
    assert row["Name"] == NAME
    assert row["ID"].endswith(f"/ThreatIntelligence/{NAME}")
    assert (row["ETag"], row["Kind"], row["Type"]) == (
        '"00002a2c-0000-0800-0000-5e97683b0000"', "indicator", "Microsoft.SecurityInsights/ThreatIntelligence")
    assert (row["DisplayName"], row["Confidence"], row["Source"]) == ("updated indicator", 78, "Azure Sentinel")
    assert row["ExternalID"] == row["ExternalId"] == "indicator--73be1729-babb-4348-a6c4-94621cae2530"
    assert row["Tags"] == ["patching tags"]
    assert row["Types"] == row["ThreatTypes"] == ["compromised"]
    assert (row["Pattern"], row["PatternType"]) == ("[url:value = 'https://abc.com']", "url")
    assert row["Values"] == ["https://abc.com"]
    assert (row["Created"], row["ValidFrom"], row["LastUpdatedTimeUtc"]) == (
        "2020-04-15T19:51:17Z", "2020-04-15T17:44:00Z", "2020-04-15T20:18:49Z")
    assert row["ValidUntil"] is None and row["Revoked"] is False and row["Deleted"] is False
    assert "updated indicator" in entry["HumanReadable"]


def test_list_follows_pages_up_to_the_limit_and_returns_the_next_link(m):
    """Given indicators on two pages, when threat-indicator-list asks for 3, then it reads both pages, sizes
    the second by what is missing, and returns the link to the rest in NextLink."""
    page1, rest = f"{TI_URL}/indicators?$skipToken=2", f"{TI_URL}/indicators?$skipToken=4"
    m.get(f"{TI_URL}/indicators", [
        {"json": {**load_json("ti_list.json"), "nextLink": page1}},
        {"json": {"value": load_json("ti_list.json")["value"][:1], "nextLink": rest}},
    ])
    entry = only_entry(run("azure-sentinel-threat-indicator-list", {"limit": "3"}))
    assert [query(r)["$top"] for r in arm_requests(m)] == ["3", "1"]
    rows = context_value(entry, "AzureSentinel.ThreatIndicator(")
    assert [r["Name"] for r in rows] == ["27d963e6-e6e4-e0f9-e9d7-c53985b3bbe8", NAME,
                                         "27d963e6-e6e4-e0f9-e9d7-c53985b3bbe8"]
    assert context_value(entry, "AzureSentinel.NextLink(")["URL"] == rest


def test_list_refuses_a_next_link_to_another_collection(m):
    """Given a next_link that leads to incidents, when threat-indicator-list runs, then nothing is sent."""
    message = only_error(run("azure-sentinel-threat-indicator-list", {"next_link": f"{WS_URL}/incidents?$skipToken=1"}))
    assert "Refusing the link" in message
    assert arm_requests(m) == []


# -- query --------------------------------------------------------------------------------------------


def test_query_sends_the_criteria_the_api_defines(m):
    """Given every filter, when threat-indicator-query runs, then the POST body has the API's criteria: the
    valid-until bounds (the official sends valid-from keys), pattern types for indicator types, and lists."""
    post = m.post(f"{TI_URL}/queryIndicators", json=load_json("ti_query.json"))
    entry = only_entry(run("azure-sentinel-threat-indicator-query", {
        "limit": "20", "min_confidence": "25", "max_confidence": "80", "min_valid_until": "2020-04-05",
        "max_valid_until": "2020-04-25T19:44:00+02:00", "include_disabled": "true", "sources": "Azure Sentinel,zinga",
        "indicator_types": "ipv4,ipv6,domain,url,file", "threat_types": "compromised,benign", "keywords": "contoso,abc"}))
    assert post.last_request.json() == {
        "minConfidence": 25, "maxConfidence": 80, "minValidUntil": "2020-04-05T00:00:00.000000Z",
        "maxValidUntil": "2020-04-25T17:44:00.000000Z", "includeDisabled": True,
        "sources": ["Azure Sentinel", "zinga"], "keywords": ["contoso", "abc"],
        "patternTypes": ["ipv4-addr", "ipv6-addr", "domain-name", "url", "file"],
        "threatTypes": ["compromised", "benign"], "pageSize": 20}
    rows = context_value(entry, "AzureSentinel.ThreatIndicator(")
    assert rows[0]["ParsedPattern"] == [{"PatternTypeKey": "network-traffic", "PatternTypeValues": [
        {"Value": "SSH-2.0-PuTTY_Release_0.64", "ValueType": "0"}, {"Value": "194.88.106.146", "ValueType": "1"}]}]
    assert rows[0]["Values"] == ["SSH-2.0-PuTTY_Release_0.64", "194.88.106.146"]


def test_query_defaults_leave_out_what_was_not_asked(m):
    """Given no filter, when threat-indicator-query runs, then only includeDisabled=false and the page size
    are sent."""
    post = m.post(f"{TI_URL}/queryIndicators", json={"value": []})
    run("azure-sentinel-threat-indicator-query", {})
    assert post.last_request.json() == {"includeDisabled": False, "pageSize": 50}


def test_query_ages_are_relative_to_the_clock(m):
    """Given valid-until bounds as ages, when threat-indicator-query runs, then they become times before now."""
    post = m.post(f"{TI_URL}/queryIndicators", json={"value": []})
    run_at_now("azure-sentinel-threat-indicator-query", {"min_valid_until": "7 days", "max_valid_until": "2 hours ago"})
    body = post.last_request.json()
    assert (body["minValidUntil"], body["maxValidUntil"]) == ("2026-02-22T12:00:00.000000Z",
                                                              "2026-03-01T10:00:00.000000Z")


def test_query_pages_post_the_same_criteria_to_the_next_link(m):
    """Given a first page shorter than asked, when threat-indicator-query runs, then the next page is a POST of
    the same criteria to the nextLink, asking only for what is missing."""
    link = f"{TI_URL}/queryIndicators?api-version=2025-12-01&$skipToken=abc"
    post = m.post(f"{TI_URL}/queryIndicators", [
        {"json": {**load_json("ti_query.json"), "nextLink": link}},
        {"json": {"value": load_json("ti_query.json")["value"][:1]}},
    ])
    entry = only_entry(run("azure-sentinel-threat-indicator-query", {"limit": "3", "sources": "Azure Sentinel"}))
    first, second = post.request_history
    assert query(second)["$skipToken"] == "abc"
    assert first.json() == {"includeDisabled": False, "sources": ["Azure Sentinel"], "pageSize": 3}
    assert second.json() == {"includeDisabled": False, "sources": ["Azure Sentinel"], "pageSize": 1}
    assert len(context_value(entry, "AzureSentinel.ThreatIndicator(")) == 3
    assert not any(k.startswith("AzureSentinel.NextLink") for k in entry["EntryContext"])


def test_query_refuses_a_next_link_off_query_indicators(m):
    """Given a next_link to the indicators list, when threat-indicator-query runs, then nothing is sent."""
    message = only_error(run("azure-sentinel-threat-indicator-query",
                             {"next_link": f"{TI_URL}/indicators/{NAME}?$skipToken=1"}))
    assert "Refusing the link" in message and arm_requests(m) == []


@pytest.mark.parametrize("args, expected", [
    pytest.param({"min_confidence": "90", "max_confidence": "10"}, "'min_confidence' is greater", id="min-over-max"),
    pytest.param({"max_confidence": "101"}, "'max_confidence' is invalid", id="confidence-over-100"),
    pytest.param({"min_valid_until": "last tuesday"}, "'min_valid_until' is invalid: must be an ISO 8601",
                 id="unreadable-date"),
    pytest.param({"indicator_types": "email"}, "'indicator_types.0' is invalid", id="unknown-indicator-type"),
    pytest.param({"threat_types": "evil"}, "'threat_types.0' is invalid", id="unknown-threat-type"),
])
def test_query_refuses_bad_criteria_before_sending(m, args, expected):
    """Given a bad criterion, when threat-indicator-query runs, then one error names it and nothing is sent."""
    assert expected in only_error(run("azure-sentinel-threat-indicator-query", args))
    assert arm_requests(m) == []


# -- create -------------------------------------------------------------------------------------------

CREATE = {"display_name": "Bad one", "threat_types": "malicious-activity"}


@pytest.mark.parametrize("args, pattern_type, pattern", [
    pytest.param({"value": "198.51.100.7", "indicator_type": "ipv4"}, "ipv4-addr", "[ipv4-addr:value = '198.51.100.7']",
                 id="ipv4"),
    pytest.param({"value": "2001:db8::/32", "indicator_type": "ipv6"}, "ipv6-addr", "[ipv6-addr:value = '2001:db8::/32']",
                 id="ipv6-network"),
    pytest.param({"value": "evil.example.org", "indicator_type": "domain"}, "domain-name",
                 "[domain-name:value = 'evil.example.org']", id="domain"),
    pytest.param({"value": "a" * 64, "indicator_type": "file", "hash_type": "SHA-256"}, "file",
                 f"[file:hashes.'SHA-256' = '{'a' * 64}']", id="sha256"),
    pytest.param({"value": "https://x.example/a'] OR [url:value = 'b\\", "indicator_type": "url"}, "url",
                 "[url:value = 'https://x.example/a\\'] OR [url:value = \\'b\\\\']", id="quotes-escaped"),
])
def test_create_builds_the_pattern_from_the_value(m, args, pattern_type, pattern):
    """Given a value and its type, when threat-indicator-create runs, then the pattern holds the value as one
    quoted, escaped literal (a quote in the value cannot end it)."""
    post = m.post(f"{TI_URL}/createIndicator", status_code=201, json=load_json("ti_create.json"))
    run("azure-sentinel-threat-indicator-create", {**CREATE, **args})
    props = post.last_request.json()["properties"]
    assert (props["patternType"], props["pattern"]) == (pattern_type, pattern)


def test_create_sends_every_field_and_returns_the_indicator(m):
    """Given every argument, when threat-indicator-create runs, then one POST carries them in the API's shape:
    kill chain phases as {killChainName, phaseName}, tags, times in UTC."""
    post = m.post(f"{TI_URL}/createIndicator", status_code=201, json=load_json("ti_create.json"))
    entry = only_entry(run("azure-sentinel-threat-indicator-create", {
        "value": "https://www.contoso.com", "display_name": "new schema", "description": "debugging indicators",
        "indicator_type": "url", "confidence": "78", "threat_types": "compromised,malicious-activity",
        "kill_chains": "delivery,mitre-attack:execution", "tags": "new schema,x", "valid_from": "2020-04-15T17:44:00Z",
        "valid_until": "2020-05-15", "created_by": "contoso@contoso.com", "revoked": "true"}))
    assert post.call_count == 1
    assert post.last_request.json() == {"kind": "indicator", "properties": {
        "source": "Microsoft Sentinel", "revoked": True, "validFrom": "2020-04-15T17:44:00.000000Z",
        "displayName": "new schema", "description": "debugging indicators", "confidence": 78,
        "threatTypes": ["compromised", "malicious-activity"], "threatIntelligenceTags": ["new schema", "x"],
        "killChainPhases": [{"killChainName": "lockheed-martin-cyber-kill-chain", "phaseName": "delivery"},
                            {"killChainName": "mitre-attack", "phaseName": "execution"}],
        "validUntil": "2020-05-15T00:00:00.000000Z", "createdByRef": "contoso@contoso.com",
        "patternType": "url", "pattern": "[url:value = 'https://www.contoso.com']"}}
    row = context_value(entry, "AzureSentinel.ThreatIndicator(")
    assert row["Name"] == "180105c7-a28d-b1a2-4a78-234f6ec80fd6" and row["Values"] == ["https://www.contoso.com"]


def test_create_is_valid_from_now_when_not_told(m):
    """Given no valid_from, when threat-indicator-create runs, then the indicator is valid from now."""
    post = m.post(f"{TI_URL}/createIndicator", status_code=201, json=load_json("ti_create.json"))
    run_at_now("azure-sentinel-threat-indicator-create", {**CREATE, "value": "evil.example", "indicator_type": "domain"})
    assert post.last_request.json()["properties"]["validFrom"] == "2026-03-01T12:00:00.000000Z"


def test_create_is_not_retried_after_a_server_error(m):
    """Given Azure answers 503, when threat-indicator-create runs, then it is sent once (a retry could create
    a second indicator) and the error says what happened."""
    post = m.post(f"{TI_URL}/createIndicator", status_code=503, json={"error": {"code": "Unavailable"}})
    message = only_error(run("azure-sentinel-threat-indicator-create",
                             {**CREATE, "value": "198.51.100.7", "indicator_type": "ipv4"}))
    assert post.call_count == 1
    assert "HTTP 503" in message


@pytest.mark.parametrize("args, expected", [
    pytest.param({"value": "a" * 64, "indicator_type": "file"}, "'hash_type' is required", id="file-without-hash-type"),
    pytest.param({"value": "abc", "indicator_type": "file", "hash_type": "MD5"}, "not a MD5 hash: give 32",
                 id="short-hash"),
    pytest.param({"value": "300.1.1.1", "indicator_type": "ipv4"}, "not an IPV4 address", id="bad-ipv4"),
    pytest.param({"value": "198.51.100.7", "indicator_type": "ipv6"}, "not an IPV6 address", id="ipv4-as-ipv6"),
    pytest.param({"value": "a\nb", "indicator_type": "domain"}, "control characters", id="newline-in-value"),
    pytest.param({"value": "x.example", "indicator_type": "domain", "confidence": "-1"}, "'confidence' is invalid",
                 id="negative-confidence"),
    pytest.param({"value": "x.example", "indicator_type": "domain", "valid_from": "2026-02-01",
                  "valid_until": "2026-01-01"}, "'valid_until' is not after 'valid_from'", id="ends-before-start"),
    pytest.param({"value": "x.example", "indicator_type": "domain", "threat_types": ""}, "'threat_types' is",
                 id="no-threat-type"),
])
def test_create_refuses_bad_arguments_before_sending(m, args, expected):
    """Given a bad argument, when threat-indicator-create runs, then one error names it and nothing is sent."""
    assert expected in only_error(run("azure-sentinel-threat-indicator-create", {**CREATE, **args}))
    assert arm_requests(m) == []


# -- update -------------------------------------------------------------------------------------------


def test_update_merges_the_new_fields_over_the_current_ones_with_the_etag(m):
    """Given an indicator, when threat-indicator-update sets confidence, tags and a new value, then the PUT keeps
    every other property, drops the server-derived ones, and carries the current etag."""
    current = load_json("ti_get.json")
    current["properties"]["parsedPattern"] = [{"patternTypeKey": "url", "patternTypeValues": []}]
    m.get(INDICATOR_URL, json=current)
    put = m.put(INDICATOR_URL, json=load_json("ti_update.json"))
    entry = only_entry(run("azure-sentinel-threat-indicator-update", {
        "indicator_name": NAME, "value": "https://www.contoso.com", "indicator_type": "url", "confidence": "90",
        "tags": "reviewed"}))
    body = put.last_request.json()
    assert body["etag"] == '"00002a2c-0000-0800-0000-5e97683b0000"' and body["kind"] == "indicator"
    expected = {k: v for k, v in current["properties"].items() if k not in ("parsedPattern", "lastUpdatedTimeUtc")}
    expected.update(confidence=90, threatIntelligenceTags=["reviewed"], pattern="[url:value = 'https://www.contoso.com']")
    assert body["properties"] == expected
    assert context_value(entry, "AzureSentinel.ThreatIndicator(")["Name"] == "180105c7-a28d-b1a2-4a78-234f6ec80fd6"


def test_update_after_a_conflict_reapplies_only_the_given_fields(m):
    """Given the indicator changes between the read and the write (409), when threat-indicator-update runs,
    then it re-reads and re-applies the user's fields over the newer version."""
    first, newer = load_json("ti_get.json"), load_json("ti_get.json")
    newer["etag"], newer["properties"]["description"] = '"v2"', "changed meanwhile"
    m.get(INDICATOR_URL, [{"json": first}, {"json": newer}])
    put = m.put(INDICATOR_URL, [{"status_code": 409, "json": {"error": {"code": "Conflict"}}},
                                {"json": load_json("ti_update.json")}])
    run("azure-sentinel-threat-indicator-update",
        {"indicator_name": NAME, "value": "https://abc.com", "indicator_type": "url", "revoked": "true"})
    retried = put.request_history[1].json()
    assert retried["etag"] == '"v2"'
    assert retried["properties"]["description"] == "changed meanwhile" and retried["properties"]["revoked"] is True


def test_update_of_a_missing_indicator_is_one_clear_error(m):
    """Given no such indicator, when threat-indicator-update runs, then the 404 is reported and nothing is written."""
    m.get(INDICATOR_URL, status_code=404, json={"error": {"code": "NotFound", "message": "Not found"}})
    message = only_error(run("azure-sentinel-threat-indicator-update",
                             {"indicator_name": NAME, "value": "https://abc.com", "indicator_type": "url"}))
    assert "HTTP 404" in message and [r.method for r in arm_requests(m)] == ["GET"]


# -- delete -------------------------------------------------------------------------------------------


def test_delete_reports_each_name(m):
    """Given two names, one of which does not exist (204), when threat-indicator-delete runs, then both are
    deleted from context (Name, Deleted) and the table says which one did not exist."""
    other = "d9cd6f0b-96b9-3984-17cd-a779d1e15a93"
    m.delete(INDICATOR_URL, status_code=200)
    m.delete(f"{TI_URL}/indicators/{other}", status_code=204)
    entry = only_entry(run("azure-sentinel-threat-indicator-delete", {"indicator_names": f"{NAME},{other}"}))
    assert entry["EntryContext"] == {"AzureSentinel.ThreatIndicator(val.Name && val.Name == obj.Name)": [
        {"Name": NAME, "Deleted": True}, {"Name": other, "Deleted": True}]}
    assert f"|{NAME}|deleted|" in entry["HumanReadable"] and f"|{other}|did not exist|" in entry["HumanReadable"]


def test_delete_failing_midway_says_what_was_deleted(m):
    """Given the second delete is forbidden, when threat-indicator-delete runs, then the error names the
    indicator already deleted."""
    m.delete(INDICATOR_URL, status_code=200)
    m.delete(f"{TI_URL}/indicators/other", status_code=403, json={"error": {"code": "AuthorizationFailed"}})
    message = only_error(run("azure-sentinel-threat-indicator-delete", {"indicator_names": [NAME, "other"]}))
    assert message.startswith(f"Failed to execute azure-sentinel-threat-indicator-delete command. Error: Deleted {NAME}, "
                              "then: DELETE /threatIntelligence/main/indicators/other failed with HTTP 403")


def test_delete_refuses_a_name_with_a_path_in_it(m):
    """Given a name that would leave the indicators collection, then nothing is sent."""
    assert "is not valid" in only_error(run("azure-sentinel-threat-indicator-delete", {"indicator_names": "a,../b"}))
    assert arm_requests(m) == []


# -- tags ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, action, body", [
    pytest.param("azure-sentinel-threat-indicator-tags-append", "appendTags",
                 {"threatIntelligenceTags": ["tag1", "tag2"]}, id="append"),
    pytest.param("azure-sentinel-threat-indicator-tags-replace", "replaceTags",
                 {"kind": "indicator", "properties": {"threatIntelligenceTags": ["tag1", "tag2"]}}, id="replace"),
])
def test_tags_are_posted_in_the_spec_shape_then_read_back(m, command, action, body):
    """Given tags, when tags-append or tags-replace runs, then the POST body has the shape the spec defines for
    that action, and the context is the indicator as read back afterwards."""
    post = m.post(f"{INDICATOR_URL}/{action}", status_code=200)  # appendTags answers with no body
    after = load_json("ti_get.json")
    after["properties"]["threatIntelligenceTags"] = ["patching tags", "tag1", "tag2"]
    m.get(INDICATOR_URL, json=after)
    entry = only_entry(run(command, {"indicator_name": NAME, "tags": "tag1,tag2"}))
    assert post.last_request.json() == body
    assert [r.method for r in arm_requests(m)] == ["POST", "GET"]
    assert context_value(entry, "AzureSentinel.ThreatIndicator(")["Tags"] == ["patching tags", "tag1", "tag2"]


# -- metrics ------------------------------------------------------------------------------------------


def test_metrics_are_counts_by_threat_type_pattern_type_and_source(m):
    """Given recorded metrics, when threat-indicator-metrics runs, then each count is a context row and a row
    of the entry's table."""
    m.get(f"{TI_URL}/metrics", json=load_json("ti_metrics.json"))
    entry = only_entry(run("azure-sentinel-threat-indicator-metrics"))
    rows = context_value(entry, "AzureSentinel.ThreatIndicatorMetric(")
    assert [(r["Type"], r["Name"], r["Count"]) for r in rows] == [
        ("ThreatType", "compromised", 20), ("PatternType", "url", 20), ("Source", "Azure Sentinel", 10315),
        ("Source", "zinga", 2)]
    assert {r["LastUpdatedTimeUtc"] for r in rows} == {"2020-09-01T19:44:44Z"}
    assert entry["HumanReadable"] == (
        "### Threat indicator counts\n|Type|Name|Count|\n|---|---|---|\n|ThreatType|compromised|20|\n"
        "|PatternType|url|20|\n|Source|Azure Sentinel|10315|\n|Source|zinga|2|\n")


# -- the formatter ------------------------------------------------------------------------------------


def test_the_formatter_reads_kill_chain_phases_and_tolerates_malformed_fields():
    """Given an indicator with kill chain phases (the official reads `KillChainPhases` and never fills them)
    and malformed nested fields, then the phases are in context and the rest reads as absent."""
    row = MOD.indicator_context({"name": "n", "properties": {
        "killChainPhases": [{"killChainName": "lockheed-martin-cyber-kill-chain", "phaseName": "delivery"}, "junk"],
        "parsedPattern": "not a list", "pattern": "[url:value = 'https://a.example/\\'x']"}})
    assert row["KillChainPhases"] == [{"KillChainName": "lockheed-martin-cyber-kill-chain", "PhaseName": "delivery"}]
    assert row["ParsedPattern"] == [] and row["Values"] == ["https://a.example/'x"]


# -- the manifest -------------------------------------------------------------------------------------

MANIFEST = yaml.safe_load((ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))
COMMANDS = {c["name"]: c for c in MANIFEST["script"]["commands"]}
THREAT_TYPES = ["anomalous-activity", "attribution", "anonymization", "benign", "malicious-activity", "compromised",
                "unknown"]
TYPES = ["ipv4", "ipv6", "file", "url", "domain"]
HASHES = ["MD5", "SHA-1", "SHA-256", "SHA-512"]
BOOL = ["true", "false"]
WORKSPACE = {"subscription_id": (False, False, None, None), "resource_group_name": (False, False, None, None),
             "workspace_name": (False, False, None, None)}
FIELDS = {"value": (True, False, None, None), "description": (False, False, None, None),
          "indicator_type": (True, False, TYPES, None), "hash_type": (False, False, HASHES, None),
          "confidence": (False, False, None, None), "kill_chains": (False, True, None, None),
          "tags": (False, True, None, None), "valid_from": (False, False, None, None),
          "valid_until": (False, False, None, None), "created_by": (False, False, None, None)}
# command -> {arg: (required, isArray, predefined, defaultValue)}: compat checklist §2.3, plus metrics (new)
OFFICIAL_ARGS = {
    "azure-sentinel-threat-indicator-list": {"indicator_name": (False, False, None, None),
                                             "limit": (False, False, None, "50"), "next_link": (False, False, None, None)},
    "azure-sentinel-threat-indicator-query": {
        "limit": (False, False, None, "50"), "next_link": (False, False, None, None),
        "min_confidence": (False, False, None, None), "max_confidence": (False, False, None, None),
        "min_valid_until": (False, False, None, None), "max_valid_until": (False, False, None, None),
        "include_disabled": (False, False, BOOL, "false"), "sources": (False, True, None, None),
        "indicator_types": (False, True, TYPES, None), "threat_types": (False, True, THREAT_TYPES, None),
        "keywords": (False, True, None, None)},
    "azure-sentinel-threat-indicator-create": {**FIELDS, "display_name": (True, False, None, None),
                                               "threat_types": (True, True, THREAT_TYPES, None),
                                               "revoked": (False, False, BOOL, "false")},
    "azure-sentinel-threat-indicator-update": {**FIELDS, "indicator_name": (True, False, None, None),
                                               "display_name": (False, False, None, None),
                                               "threat_types": (False, True, THREAT_TYPES, None),
                                               "revoked": (False, False, BOOL, None)},
    "azure-sentinel-threat-indicator-delete": {"indicator_names": (True, True, None, None)},
    "azure-sentinel-threat-indicator-tags-append": {"indicator_name": (True, False, None, None),
                                                    "tags": (True, True, None, None)},
    "azure-sentinel-threat-indicator-tags-replace": {"indicator_name": (True, False, None, None),
                                                     "tags": (True, True, None, None)},
    "azure-sentinel-threat-indicator-metrics": {},
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_ARGS))
def test_manifest_has_the_official_arguments(name):
    """Given a threat intelligence command, then its manifest arguments are the official ones (names, required,
    isArray, predefined values, defaults) plus the workspace overrides."""
    args = {a["name"]: a for a in COMMANDS[name].get("arguments") or []}
    expected = {**OFFICIAL_ARGS[name], **WORKSPACE}
    assert set(args) == set(expected)
    for arg_name, (required, is_array, predefined, default) in expected.items():
        a = args[arg_name]
        assert (bool(a.get("required")), bool(a.get("isArray")), a.get("predefined"), a.get("defaultValue")) == (
            required, is_array, predefined, default), arg_name


def test_update_keeps_display_name_as_a_hidden_argument():
    """Given threat-indicator-update, then display_name is still accepted but hidden (as in the official)."""
    display_name = next(a for a in COMMANDS["azure-sentinel-threat-indicator-update"]["arguments"]
                        if a["name"] == "display_name")
    assert display_name.get("hidden") is True


def test_indicator_outputs_are_the_official_fields():
    """Given the indicator commands, then each declares the official ThreatIndicator fields."""
    official = {"ID", "Name", "ETag", "Type", "Kind", "Confidence", "Created", "CreatedByRef", "ExternalID",
                "LastUpdatedTimeUtc", "Revoked", "Source", "Tags", "DisplayName", "Description", "Types", "ThreatTypes",
                "KillChainPhases.KillChainName", "KillChainPhases.PhaseName", "ParsedPattern.PatternTypeKey",
                "ParsedPattern.PatternTypeValues.Value", "ParsedPattern.PatternTypeValues.ValueType", "Pattern",
                "PatternType", "ValidFrom", "ValidUntil", "Values", "Deleted"}
    for name in set(OFFICIAL_ARGS) - {"azure-sentinel-threat-indicator-delete", "azure-sentinel-threat-indicator-metrics"}:
        paths = {o["contextPath"] for o in COMMANDS[name]["outputs"]}
        assert {f"AzureSentinel.ThreatIndicator.{f}" for f in official} <= paths, name


# -- end to end: the CLI against the emulator ---------------------------------------------------------


def test_an_indicator_lifecycle_through_the_cli(tmp_path, monkeypatch, capsys):
    """Given the emulator, when an indicator is created, found by name and by query (paged), tagged, updated,
    counted and deleted with `azure-sentinel run`, then each step returns the declared context."""
    import json

    from sentinel_emulator import Emulator
    from xsoar_local import cli

    emu = Emulator(port=0, seed=7).start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
        instance = tmp_path / "instance.yml"
        instance.write_text(yaml.safe_dump(emu.params()), encoding="utf-8")

        def run_cli(*words: str) -> dict:
            assert cli.main(["run", "--json", "--instance", str(instance), "--state", str(tmp_path / "s.sqlite"),
                             *words]) == 0
            [entry] = json.loads(capsys.readouterr().out)
            return entry

        created = context_value(run_cli(
            "azure-sentinel-threat-indicator-create", "value=203.0.113.9", "indicator_type=ipv4",
            "display_name=C2 box", "threat_types=malicious-activity", "kill_chains=command-and-control",
            "tags=c2", "confidence=95", "valid_until=2099-01-01"), "AzureSentinel.ThreatIndicator(")
        name = created["Name"]
        assert created["Values"] == ["203.0.113.9"] and created["PatternType"] == "ipv4-addr"
        assert created["KillChainPhases"] == [{"KillChainName": "lockheed-martin-cyber-kill-chain",
                                               "PhaseName": "command-and-control"}]

        got = context_value(run_cli("azure-sentinel-threat-indicator-list", f"indicator_name={name}"),
                            "AzureSentinel.ThreatIndicator(")
        assert got["Name"] == name and got["DisplayName"] == "C2 box"

        first = run_cli("azure-sentinel-threat-indicator-query", "indicator_types=ipv4", "limit=1")
        link = context_value(first, "AzureSentinel.NextLink(")["URL"]
        second = run_cli("azure-sentinel-threat-indicator-query", "indicator_types=ipv4", f"next_link={link}")
        found = context_value(first, "AzureSentinel.ThreatIndicator(") + context_value(
            second, "AzureSentinel.ThreatIndicator(")
        assert {r["PatternType"] for r in found} == {"ipv4-addr"} and name in {r["Name"] for r in found}
        assert len({r["Name"] for r in found}) == len(found)  # the pages do not overlap
        near = run_cli("azure-sentinel-threat-indicator-query", "min_valid_until=2098-12-31", "min_confidence=90")
        assert [r["Name"] for r in context_value(near, "AzureSentinel.ThreatIndicator(")] == [name]

        tagged = run_cli("azure-sentinel-threat-indicator-tags-append", f"indicator_name={name}", "tags=apt")
        assert context_value(tagged, "AzureSentinel.ThreatIndicator(")["Tags"] == ["c2", "apt"]
        replaced = run_cli("azure-sentinel-threat-indicator-tags-replace", f"indicator_name={name}", "tags=only")
        assert context_value(replaced, "AzureSentinel.ThreatIndicator(")["Tags"] == ["only"]
        updated = run_cli("azure-sentinel-threat-indicator-update", f"indicator_name={name}", "value=203.0.113.10",
                          "indicator_type=ipv4", "revoked=true")
        row = context_value(updated, "AzureSentinel.ThreatIndicator(")
        assert (row["Values"], row["Revoked"], row["Tags"], row["Confidence"]) == (["203.0.113.10"], True, ["only"], 95)

        metrics = context_value(run_cli("azure-sentinel-threat-indicator-metrics"), "AzureSentinel.ThreatIndicatorMetric(")
        assert ("Source", "Microsoft Sentinel", 1) in [(r["Type"], r["Name"], r["Count"]) for r in metrics]

        gone = run_cli("azure-sentinel-threat-indicator-delete", f"indicator_names={name}")
        assert context_value(gone, "AzureSentinel.ThreatIndicator(") == [{"Name": name, "Deleted": True}]
        again = run_cli("azure-sentinel-threat-indicator-delete", f"indicator_names={name}")
        assert "did not exist" in again["HumanReadable"]
    finally:
        emu.stop()
