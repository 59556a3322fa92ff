"""Workspace-level resources of the emulator: watchlists, threat intelligence, rules, bookmarks,
data connectors, and the subscription / resource group listings."""

from __future__ import annotations

import pytest

from sentinel_emulator import Emulator
from sentinel_emulator.testing import spec_validator

from test_emulator_api import Arm, assert_spec


@pytest.fixture(scope="module")
def emu():
    with Emulator(seed=3) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def arm(emu):
    return Arm(emu)


# region watchlists


def test_watchlists_list_and_items_match_the_spec(arm):
    body = arm.call("GET", "/watchlists").json()
    assert_spec(body, "Watchlists.json", "WatchlistList")
    aliases = {w["name"] for w in body["value"]}
    assert {"highValueAssets", "vipUsers"} <= aliases
    items = arm.call("GET", "/watchlists/highValueAssets/watchlistItems").json()
    assert_spec(items, "Watchlists.json", "WatchlistItemList")
    assert all("Hostname" in i["properties"]["itemsKeyValue"] for i in items["value"])


def test_watchlist_created_from_csv(arm):
    """Given CSV rawContent, when the watchlist is PUT, then its rows become watchlist items."""
    body = {"properties": {
        "displayName": "Blocked IPs", "provider": "Microsoft", "source": "blocked.csv", "sourceType": "Local",
        "itemsSearchKey": "ip", "contentType": "text/csv", "numberOfLinesToSkip": 1,
        "rawContent": "this line is skipped\nip,reason\n203.0.113.5,scanner\n198.51.100.7,c2\n"}}
    created = arm.call("PUT", "/watchlists/blockedIps", json=body)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "Watchlists.json", "Watchlist")
    assert "rawContent" not in created.json()["properties"]
    items = arm.call("GET", "/watchlists/blockedIps/watchlistItems").json()["value"]
    assert sorted(i["properties"]["itemsKeyValue"]["ip"] for i in items) == ["198.51.100.7", "203.0.113.5"]

    item_path = "/watchlists/blockedIps/watchlistItems/3f1e2d3c-0000-4000-8000-000000000001"
    put = arm.call("PUT", item_path, json={"properties": {"itemsKeyValue": {"ip": "192.0.2.1", "reason": "test"}}})
    assert put.status_code == 201
    assert_spec(put.json(), "Watchlists.json", "WatchlistItem")
    assert arm.call("DELETE", item_path).status_code == 200
    assert arm.call("DELETE", item_path).status_code == 204
    missing_key = dict(body["properties"], itemsSearchKey="nope")
    assert arm.call("PUT", "/watchlists/bad", json={"properties": missing_key}).status_code == 400
    assert arm.call("PUT", "/watchlists/bad", json={"properties": {"displayName": "x"}}).status_code == 400
    assert arm.call("DELETE", "/watchlists/blockedIps").status_code == 202
    assert arm.call("DELETE", "/watchlists/blockedIps").status_code == 204
    assert arm.call("GET", "/watchlists/blockedIps").status_code == 404


# endregion

# region threat intelligence


def test_threat_indicator_lifecycle(arm):
    """Create, read, update with etag, tag, query, count and delete an indicator."""
    new = {"kind": "indicator", "properties": {
        "source": "Azure Sentinel", "displayName": "Bad domain", "confidence": 80, "patternType": "domain-name",
        "pattern": "[domain-name:value = 'bad.example.org']", "threatTypes": ["malicious-activity"],
        "threatIntelligenceTags": ["one"], "validFrom": "2026-01-01T00:00:00Z", "validUntil": ""}}
    created = arm.call("POST", "/threatIntelligence/main/createIndicator", json=new)
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert_spec(indicator, "ThreatIntelligence.json", "ThreatIntelligenceInformation")
    assert indicator["kind"] == "indicator"
    assert indicator["properties"]["parsedPattern"][0]["patternTypeValues"][0]["value"] == "bad.example.org"
    path = f"/threatIntelligence/main/indicators/{indicator['name']}"
    assert_spec(arm.call("GET", path).json(), "ThreatIntelligence.json", "ThreatIntelligenceInformation")

    updated = arm.call("PUT", path, json={**new, "etag": indicator["etag"],
                                          "properties": {**new["properties"], "confidence": 90}})
    assert updated.status_code == 200 and updated.json()["properties"]["confidence"] == 90
    stale = arm.call("PUT", path, json={**new, "etag": indicator["etag"]})
    assert stale.status_code == 409

    assert arm.call("POST", f"{path}/appendTags", json={"threatIntelligenceTags": ["two"]}).status_code == 200
    assert arm.call("GET", path).json()["properties"]["threatIntelligenceTags"] == ["one", "two"]
    replaced = arm.call("POST", f"{path}/replaceTags", json={"kind": "indicator", "properties": {
        "threatIntelligenceTags": ["only"]}})
    assert replaced.status_code == 200 and replaced.json()["properties"]["threatIntelligenceTags"] == ["only"]

    query = arm.call("POST", "/threatIntelligence/main/queryIndicators", json={
        "pageSize": 10, "minConfidence": 85, "keywords": ["bad.example.org"],
        "sortBy": [{"itemKey": "lastUpdatedTimeUtc", "sortOrder": "descending"}]})
    assert query.status_code == 200
    assert_spec(query.json(), "ThreatIntelligence.json", "ThreatIntelligenceInformationList")
    assert [i["name"] for i in query.json()["value"]] == [indicator["name"]]

    metrics = arm.call("GET", "/threatIntelligence/main/metrics").json()
    assert_spec(metrics, "ThreatIntelligence.json", "ThreatIntelligenceMetricsList")
    sources = metrics["value"][0]["properties"]["sourceMetrics"]
    assert {"metricName": "Azure Sentinel", "metricValue": 4} in sources

    listing = arm.call("GET", "/threatIntelligence/main/indicators", params={"$top": 2})
    assert_spec(listing.json(), "ThreatIntelligence.json", "ThreatIntelligenceInformationList")
    assert len(listing.json()["value"]) == 2 and listing.json()["nextLink"]
    filtered = arm.call("GET", "/threatIntelligence/main/indicators",
                        params={"$filter": "properties/confidence ge 90"}).json()["value"]
    assert indicator["name"] in [i["name"] for i in filtered]

    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    bad = arm.call("POST", "/threatIntelligence/main/createIndicator", json={"properties": {}})
    assert bad.status_code == 400


# endregion

# region rules, bookmarks, connectors

SCHEDULED_RULE = {"kind": "Scheduled", "properties": {
    "displayName": "My scheduled rule", "description": "An example for a scheduled rule", "severity": "High",
    "enabled": True, "tactics": ["Persistence", "LateralMovement"], "query": "Heartbeat", "queryFrequency": "PT1H",
    "queryPeriod": "P2DT1H30M", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
    "suppressionDuration": "PT1H", "suppressionEnabled": False,
    "eventGroupingSettings": {"aggregationKind": "AlertPerResult"},
    "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
        "enabled": True, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "Selected",
        "groupByEntities": ["Host"], "groupByAlertDetails": ["DisplayName"], "groupByCustomDetails": []}}}}


def test_alert_rules_actions_and_templates(arm):
    listing = arm.call("GET", "/alertRules").json()
    assert_spec(listing, "AlertRules.json", "AlertRulesList")
    assert {r["kind"] for r in listing["value"]} == {"Scheduled", "Fusion"}
    created = arm.call("PUT", "/alertRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5", json=SCHEDULED_RULE)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "AlertRules.json", "AlertRule")
    assert created.json()["properties"]["lastModifiedUtc"]
    bad = dict(SCHEDULED_RULE, properties={**SCHEDULED_RULE["properties"], "severity": "Severe"})
    assert arm.call("PUT", "/alertRules/other", json=bad).status_code == 400
    assert arm.call("PUT", "/alertRules/other", json={"kind": "NRT", "properties": {}}).status_code == 400

    action_path = "/alertRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5/actions/912bec42-cb66-4c03-ac63-1761b6898c3e"
    action = arm.call("PUT", action_path, json={"properties": {
        "triggerUri": "https://prod-31.northcentralus.logic.azure.com:443/workflows/cd3765391efd48549fd7681ded1d48d7",
        "logicAppResourceId": "/subscriptions/x/resourceGroups/myRg/providers/Microsoft.Logic/workflows/MyAlerts"}})
    assert action.status_code == 201
    assert_spec(action.json(), "AlertRules.json", "ActionResponse")
    assert "triggerUri" not in action.json()["properties"]
    actions = arm.call("GET", "/alertRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5/actions").json()
    assert_spec(actions, "AlertRules.json", "ActionsList")
    assert arm.call("DELETE", action_path).status_code == 200

    templates = arm.call("GET", "/alertRuleTemplates").json()
    assert_spec(templates, "AlertRules.json", "AlertRuleTemplatesList")
    one = arm.call("GET", f"/alertRuleTemplates/{templates['value'][0]['name']}")
    assert one.status_code == 200
    assert arm.call("DELETE", "/alertRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5").status_code == 200


def test_automation_rules(arm):
    body = {"properties": {
        "displayName": "Suspicious user", "order": 2,
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created", "conditions": [
            {"conditionType": "Property", "conditionProperties": {
                "propertyName": "IncidentTitle", "operator": "Contains", "propertyValues": ["user"]}}]},
        "actions": [{"order": 1, "actionType": "ModifyProperties",
                     "actionConfiguration": {"severity": "High", "status": "Active"}}]}}
    created = arm.call("PUT", "/automationRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5", json=body)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "AutomationRules.json", "AutomationRule")
    listing = arm.call("GET", "/automationRules").json()
    assert_spec(listing, "AutomationRules.json", "AutomationRulesList")
    assert [r["properties"]["order"] for r in listing["value"]] == [1, 2]
    bad = {"properties": {**body["properties"], "actions": [{"order": 1, "actionType": "Explode"}]}}
    assert arm.call("PUT", "/automationRules/x", json=bad).status_code == 400


def test_bookmarks_and_data_connectors(arm):
    listing = arm.call("GET", "/bookmarks").json()
    assert_spec(listing, "Bookmarks.json", "BookmarkList")
    created = arm.call("PUT", "/bookmarks/73e01a99-5cd7-4139-a149-9f2736ff2ab5", json={"properties": {
        "displayName": "My bookmark", "notes": "Found a suspicious activity", "labels": ["Tag1", "Tag2"],
        "query": "SecurityEvent | where TimeGenerated > ago(1d) and TimeGenerated < ago(2d)",
        "queryResult": "Security Event query result"}})
    assert created.status_code == 201
    assert_spec(created.json(), "Bookmarks.json", "Bookmark")
    assert created.json()["properties"]["createdBy"]["objectId"]
    assert arm.call("PUT", "/bookmarks/x", json={"properties": {"displayName": "no query"}}).status_code == 400
    connectors = arm.call("GET", "/dataConnectors").json()["value"]
    assert {c["kind"] for c in connectors} == {"AzureActiveDirectory", "MicrosoftThreatProtection"}


def test_validator_rejects_what_the_spec_does_not_define():
    """The spec validator used above is strict: unknown properties and bad enums are reported."""
    problems = spec_validator().check({"id": "x", "name": "y", "type": "t", "etag": "e", "properties": {
        "title": "t", "severity": "Critical", "status": "New", "bogus": 1}}, "Incidents.json", "Incident")
    assert any("Critical" in p for p in problems) and any("bogus" in p for p in problems)


# endregion

# region subscriptions and resource groups


def test_subscriptions_and_resource_groups(arm, emu):
    subs = arm.call("GET", f"{emu.base_url}/subscriptions", api_version="2020-01-01")
    assert subs.status_code == 200
    assert [s["subscriptionId"] for s in subs.json()["value"]] == [emu.subscription_id]
    base = f"{emu.base_url}/subscriptions/{emu.subscription_id}/resourcegroups"
    every = arm.call("GET", base, api_version="2021-04-01").json()["value"]
    assert {g["name"] for g in every} == {"sentinel-rg", "shared-rg", "untagged-rg"}
    tagged = arm.call("GET", base, api_version="2021-04-01", params={"$filter": "tagName eq 'env'"}).json()["value"]
    assert {g["name"] for g in tagged} == {"sentinel-rg", "shared-rg"}
    exact = arm.call("GET", base, api_version="2022-12-01",
                     params={"$filter": "tagName eq 'env' and tagValue eq 'emulator'"}).json()["value"]
    assert [g["name"] for g in exact] == ["sentinel-rg"]
    assert exact[0]["type"] == "Microsoft.Resources/resourceGroups" and exact[0]["tags"]["env"] == "emulator"
    first = arm.call("GET", base, api_version="2021-04-01", params={"$top": 1}).json()
    assert len(first["value"]) == 1 and first["nextLink"].startswith(emu.base_url)
    assert arm.call("GET", base, api_version="2025-12-01").status_code == 400


# endregion
