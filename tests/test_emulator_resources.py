"""Workspace-level resources of the emulator, each checked against the 2025-12-01 spec: watchlists and
their items, threat intelligence, analytics rules (four kinds), templates, automation rules,
bookmarks, incident tasks and relations, data connectors, and the subscription, resource group
and workspace reads. Every list pages with nextLink/$skipToken; every etag-carrying PUT refuses a
stale etag with ARM's 409; a missing resource is a 404 with an ARM error body."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sentinel_emulator import Emulator
from sentinel_emulator.testing import spec_validator

from test_emulator_api import Arm, assert_spec


@pytest.fixture(scope="module")
def emu():
    with Emulator(seed=8) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def arm(emu):
    return Arm(emu)


def every_page(arm: Arm, path: str, params: dict | None = None, method: str = "GET", body: object = None,
               api_version: str = "2025-12-01"):
    """All pages of a list: the items, and each page's body (to check the spec shape of every page)."""
    response = arm.call(method, path, params=params, json=body, api_version=api_version)
    assert response.status_code == 200, response.text
    pages = [response.json()]
    while pages[-1].get("nextLink"):
        link = pages[-1]["nextLink"]
        assert link.startswith(arm.emu.base_url)
        response = arm.call(method, "", url=link, json=body)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return [item for page in pages for item in page["value"]], pages


def assert_conflict(response, resource_id: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json() == {"error": {"code": "Conflict", "message": f"Newer version of resource "
                                                                        f"'{resource_id}' exists. Data was not saved"}}


def assert_not_found(response) -> None:
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


def assert_etag_rule(arm: Arm, path: str, body: dict) -> dict:
    """PUT with the current etag wins (200, new etag); the old etag is then a 409; returns the new body."""
    current = arm.call("GET", path).json()
    updated = arm.call("PUT", path, json={**body, "etag": current["etag"]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["etag"] != current["etag"]
    assert_conflict(arm.call("PUT", path, json={**body, "etag": current["etag"]}), current["id"])
    return updated.json()


# region watchlists


def test_seeded_watchlists_and_items_match_the_spec(arm):
    watchlists, pages = every_page(arm, "/watchlists")
    for page in pages:
        assert_spec(page, "Watchlists.json", "WatchlistList")
    assert {"highValueAssets", "vipUsers"} <= {w["name"] for w in watchlists}
    items, pages = every_page(arm, "/watchlists/highValueAssets/watchlistItems")
    assert_spec(pages[0], "Watchlists.json", "WatchlistItemList")
    assert items and all("Hostname" in i["properties"]["itemsKeyValue"] for i in items)


def test_watchlist_put_with_csv_creates_the_items_and_pages_them(arm):
    """Given rawContent CSV with a line to skip and 120 rows, when the watchlist is PUT, then its rows
    become items, listed over several pages by $skipToken, each exactly once."""
    rows = "\n".join(f"198.51.100.{n},scanner-{n}" for n in range(120))
    body = {"properties": {
        "displayName": "Blocked IPs", "provider": "Microsoft", "source": "blocked.csv", "sourceType": "Local",
        "itemsSearchKey": "ip", "contentType": "text/csv", "numberOfLinesToSkip": 1,
        "rawContent": f"exported by the firewall\nip,reason\n{rows}\n"}}
    created = arm.call("PUT", "/watchlists/blockedIps", json=body)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "Watchlists.json", "Watchlist")
    assert "rawContent" not in created.json()["properties"]
    items, pages = every_page(arm, "/watchlists/blockedIps/watchlistItems")
    assert len(pages) > 1
    assert all("$skipToken" in parse_qs(urlsplit(p["nextLink"]).query) for p in pages[:-1])
    ips = [i["properties"]["itemsKeyValue"]["ip"] for i in items]
    assert sorted(ips) == sorted(f"198.51.100.{n}" for n in range(120))

    item_path = "/watchlists/blockedIps/watchlistItems/3f1e2d3c-0000-4000-8000-000000000001"
    put = arm.call("PUT", item_path, json={"properties": {"itemsKeyValue": {"ip": "192.0.2.1", "reason": "test"}}})
    assert put.status_code == 201
    assert_spec(put.json(), "Watchlists.json", "WatchlistItem")
    assert_etag_rule(arm, item_path, {"properties": {"itemsKeyValue": {"ip": "192.0.2.1", "reason": "again"}}})
    assert arm.call("DELETE", item_path).status_code == 200
    assert arm.call("DELETE", item_path).status_code == 204
    assert_not_found(arm.call("GET", item_path))

    assert_etag_rule(arm, "/watchlists/blockedIps", {"properties": {**body["properties"], "rawContent": None}})
    assert len(every_page(arm, "/watchlists/blockedIps/watchlistItems")[0]) == 120, "a PUT without CSV keeps items"
    assert arm.call("DELETE", "/watchlists/blockedIps").status_code == 202
    assert arm.call("DELETE", "/watchlists/blockedIps").status_code == 204
    assert_not_found(arm.call("GET", "/watchlists/blockedIps"))
    assert_not_found(arm.call("GET", "/watchlists/blockedIps/watchlistItems"))


def test_watchlist_csv_problems_are_400(arm):
    body = {"displayName": "x", "provider": "Microsoft", "itemsSearchKey": "nope", "rawContent": "ip\n1.2.3.4\n"}
    response = arm.call("PUT", "/watchlists/bad", json={"properties": body})
    assert response.status_code == 400 and "itemsSearchKey" in response.json()["error"]["message"]


# endregion

# region threat intelligence

NEW_INDICATOR = {"kind": "indicator", "properties": {
    "source": "Azure Sentinel", "displayName": "Bad domain", "confidence": 80, "patternType": "domain-name",
    "pattern": "[domain-name:value = 'bad.example.org']", "threatTypes": ["malicious-activity"],
    "threatIntelligenceTags": ["one"], "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2026-06-01T00:00:00Z"}}


def test_threat_indicator_lifecycle(arm, emu):
    """Create, read, update with etag (409 when stale), tag, count and delete an indicator."""
    created = arm.call("POST", "/threatIntelligence/main/createIndicator", json=NEW_INDICATOR)
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert_spec(indicator, "ThreatIntelligence.json", "ThreatIntelligenceInformation")
    assert indicator["kind"] == "indicator"
    assert indicator["properties"]["parsedPattern"][0]["patternTypeValues"][0]["value"] == "bad.example.org"
    path = f"/threatIntelligence/main/indicators/{indicator['name']}"
    assert_spec(arm.call("GET", path).json(), "ThreatIntelligence.json", "ThreatIntelligenceInformation")

    updated = assert_etag_rule(arm, path, {**NEW_INDICATOR, "properties": {**NEW_INDICATOR["properties"],
                                                                           "confidence": 90}})
    assert updated["properties"]["confidence"] == 90

    assert arm.call("POST", f"{path}/appendTags", json={"threatIntelligenceTags": ["two", "one"]}).status_code == 200
    assert arm.call("GET", path).json()["properties"]["threatIntelligenceTags"] == ["one", "two"]
    replaced = arm.call("POST", f"{path}/replaceTags", json={"kind": "indicator", "properties": {
        "threatIntelligenceTags": ["only"]}})
    assert replaced.status_code == 200 and replaced.json()["properties"]["threatIntelligenceTags"] == ["only"]

    metrics = arm.call("GET", "/threatIntelligence/main/metrics").json()
    assert_spec(metrics, "ThreatIntelligence.json", "ThreatIntelligenceMetricsList")
    sources = metrics["value"][0]["properties"]["sourceMetrics"]
    expected = sum(1 for r in emu.store.records("indicators") if r.properties.get("source") == "Azure Sentinel")
    assert {"metricName": "Azure Sentinel", "metricValue": expected} in sources

    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    assert_not_found(arm.call("GET", path))
    assert arm.call("POST", "/threatIntelligence/main/createIndicator", json={"properties": {}}).status_code == 400


@pytest.fixture(scope="module")
def many_indicators(emu):
    """25 indicators with confidence 0, 4, ..., 96; every third one revoked; sources alternate."""
    stamp = emu.store.now()
    for n in range(25):
        emu.store.put_record("indicators", f"bulk-{n:02d}", {
            "source": "Feed A" if n % 2 else "Feed B", "displayName": f"bulk {n}", "confidence": n * 4,
            "pattern": f"[ipv4-addr:value = '203.0.113.{n}']", "patternType": "ipv4-addr", "revoked": n % 3 == 0,
            "threatTypes": ["compromised"], "threatIntelligenceTags": ["bulk"], "lastUpdatedTimeUtc": stamp,
            "validUntil": f"2026-0{1 + n % 9}-01T00:00:00Z", "created": stamp}, kind="indicator")
    return [f"bulk-{n:02d}" for n in range(25)]


def test_indicator_list_pages_with_top_and_skip_token(arm, many_indicators):
    items, pages = every_page(arm, "/threatIntelligence/main/indicators", {"$top": 7})
    for page in pages:
        assert_spec(page, "ThreatIntelligence.json", "ThreatIntelligenceInformationList")
        assert len(page["value"]) <= 7
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)) and set(many_indicators) <= set(names)
    filtered = arm.call("GET", "/threatIntelligence/main/indicators",
                        params={"$filter": "properties/confidence ge 90"}).json()["value"]
    assert {"bulk-23", "bulk-24"} <= {i["name"] for i in filtered}


def test_query_indicators_by_criteria_with_a_next_link_for_the_same_body(arm, many_indicators):
    """Given criteria and a small pageSize, when the client POSTs the same body to each nextLink, then it
    gets every match once, and only matches."""
    criteria = {"pageSize": 3, "minConfidence": 20, "maxConfidence": 80, "sources": ["Feed A"],
                "patternTypes": ["ipv4-addr"], "threatTypes": ["compromised"], "keywords": ["bulk"],
                "sortBy": [{"itemKey": "confidence", "sortOrder": "descending"}]}
    items, pages = every_page(arm, "/threatIntelligence/main/queryIndicators", method="POST", body=criteria)
    for page in pages:
        assert_spec(page, "ThreatIntelligence.json", "ThreatIntelligenceInformationList")
    expected = [f"bulk-{n:02d}" for n in range(24, -1, -1)
                if n % 2 and 20 <= n * 4 <= 80 and n % 3 != 0]
    assert [i["name"] for i in items] == expected
    with_disabled = dict(criteria, includeDisabled=True, pageSize=100)
    everything = arm.call("POST", "/threatIntelligence/main/queryIndicators", json=with_disabled).json()["value"]
    assert {"bulk-09", "bulk-15"} <= {i["name"] for i in everything}


def test_query_indicators_valid_until_bounds_and_foreign_skip_token(arm, many_indicators):
    criteria = {"minValidUntil": "2026-03-01T00:00:00Z", "maxValidUntil": "2026-04-01T00:00:00Z",
                "includeDisabled": True, "keywords": ["bulk"], "pageSize": 2}
    items, _ = every_page(arm, "/threatIntelligence/main/queryIndicators", method="POST", body=criteria)
    assert {i["properties"]["validUntil"][:7] for i in items} == {"2026-03", "2026-04"}
    link = arm.call("POST", "/threatIntelligence/main/queryIndicators", json=criteria).json()["nextLink"]
    other = arm.call("POST", "", url=link, json={**criteria, "keywords": ["other"]})
    assert other.status_code == 400, "a $skipToken is bound to the criteria it was issued for"


# endregion

# region analytics rules and templates

SCHEDULED_RULE = {"kind": "Scheduled", "properties": {
    "displayName": "My scheduled rule", "description": "An example for a scheduled rule", "severity": "High",
    "enabled": True, "tactics": ["Persistence", "LateralMovement"], "query": "Heartbeat", "queryFrequency": "PT1H",
    "queryPeriod": "P2DT1H30M", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
    "suppressionDuration": "PT1H", "suppressionEnabled": False,
    "eventGroupingSettings": {"aggregationKind": "AlertPerResult"},
    "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
        "enabled": True, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "Selected",
        "groupByEntities": ["Host"], "groupByAlertDetails": ["DisplayName"], "groupByCustomDetails": []}}}}
NRT_RULE = {"kind": "NRT", "properties": {
    "displayName": "Near real time", "severity": "Medium", "enabled": True, "query": "SigninLogs",
    "suppressionDuration": "PT1H", "suppressionEnabled": False, "tactics": ["InitialAccess"]}}
FUSION_RULE = {"kind": "Fusion", "properties": {
    "alertRuleTemplateName": "f71aba3d-28fb-450b-b192-4e76a83015c8", "enabled": True}}
MSIC_RULE = {"kind": "MicrosoftSecurityIncidentCreation", "properties": {
    "displayName": "Defender for Cloud", "enabled": True, "productFilter": "Azure Security Center"}}


def test_seeded_rules_cover_every_kind(arm):
    listing = arm.call("GET", "/alertRules").json()
    assert_spec(listing, "AlertRules.json", "AlertRulesList")
    assert {r["kind"] for r in listing["value"]} == {"Scheduled", "NRT", "Fusion", "MicrosoftSecurityIncidentCreation"}


@pytest.mark.parametrize("rule", [SCHEDULED_RULE, NRT_RULE, FUSION_RULE, MSIC_RULE],
                         ids=lambda r: r["kind"])
def test_alert_rule_put_get_etag_delete(arm, rule):
    path = f"/alertRules/rule-{rule['kind'].lower()}"
    created = arm.call("PUT", path, json=rule)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "AlertRules.json", "AlertRule")
    assert created.json()["kind"] == rule["kind"] and created.json()["properties"]["lastModifiedUtc"]
    assert_spec(arm.call("GET", path).json(), "AlertRules.json", "AlertRule")
    assert_etag_rule(arm, path, rule)
    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    assert_not_found(arm.call("GET", path))


@pytest.mark.parametrize(("body", "fragment"), [
    pytest.param(dict(SCHEDULED_RULE, properties={**SCHEDULED_RULE["properties"], "severity": "Severe"}),
                 "severity", id="bad-severity"),
    pytest.param({"kind": "NRT", "properties": {"displayName": "x", "enabled": True}}, "query", id="nrt-no-query"),
    pytest.param({"kind": "Scheduled", "properties": {**NRT_RULE["properties"]}}, "queryFrequency",
                 id="scheduled-without-schedule"),
])
def test_alert_rule_validation(arm, body, fragment):
    response = arm.call("PUT", "/alertRules/invalid", json=body)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]


def test_alert_rules_page(emu):
    with Emulator(seed=0) as small:
        for n in range(60):
            small.store.put_record("alertRules", f"bulk-{n:02d}", {**NRT_RULE["properties"],
                                                                   "displayName": f"rule {n}"}, kind="NRT")
        items, pages = every_page(Arm(small), "/alertRules")
    assert len(pages) >= 2 and len({i["name"] for i in items}) == len(items) >= 60


def test_rule_actions(arm):
    arm.call("PUT", "/alertRules/with-action", json=SCHEDULED_RULE)
    action_path = "/alertRules/with-action/actions/912bec42-cb66-4c03-ac63-1761b6898c3e"
    action = arm.call("PUT", action_path, json={"properties": {
        "triggerUri": "https://prod-31.northcentralus.logic.azure.com:443/workflows/cd3765391efd48549fd7681ded1d48d7",
        "logicAppResourceId": "/subscriptions/x/resourceGroups/myRg/providers/Microsoft.Logic/workflows/MyAlerts"}})
    assert action.status_code == 201
    assert_spec(action.json(), "AlertRules.json", "ActionResponse")
    assert "triggerUri" not in action.json()["properties"]
    assert_spec(arm.call("GET", "/alertRules/with-action/actions").json(), "AlertRules.json", "ActionsList")
    assert arm.call("DELETE", action_path).status_code == 200


def test_templates_list_and_get(arm):
    templates, pages = every_page(arm, "/alertRuleTemplates")
    assert_spec(pages[0], "AlertRules.json", "AlertRuleTemplatesList")
    assert {t["kind"] for t in templates} >= {"Scheduled", "Fusion", "MicrosoftSecurityIncidentCreation"}
    one = arm.call("GET", f"/alertRuleTemplates/{templates[0]['name']}")
    assert one.status_code == 200
    assert_spec(one.json(), "AlertRules.json", "AlertRuleTemplate")
    assert_not_found(arm.call("GET", "/alertRuleTemplates/00000000-0000-4000-8000-000000000000"))


# endregion

# region automation rules

AUTOMATION_RULE = {"properties": {
    "displayName": "Suspicious user", "order": 5,
    "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created", "conditions": [
        {"conditionType": "Property", "conditionProperties": {
            "propertyName": "IncidentTitle", "operator": "Contains", "propertyValues": ["user"]}}]},
    "actions": [{"order": 1, "actionType": "ModifyProperties",
                 "actionConfiguration": {"severity": "High", "status": "Active"}}]}}


def test_automation_rules(arm):
    path = "/automationRules/73e01a99-5cd7-4139-a149-9f2736ff2ab5"
    created = arm.call("PUT", path, json=AUTOMATION_RULE)
    assert created.status_code == 201, created.text
    assert_spec(created.json(), "AutomationRules.json", "AutomationRule")
    assert created.json()["properties"]["createdBy"]["name"] == "Sentinel Emulator App"
    listing = arm.call("GET", "/automationRules").json()
    assert_spec(listing, "AutomationRules.json", "AutomationRulesList")
    orders = [r["properties"]["order"] for r in listing["value"]]
    assert orders == sorted(orders) and 5 in orders
    assert_etag_rule(arm, path, AUTOMATION_RULE)
    bad = {"properties": {**AUTOMATION_RULE["properties"], "actions": [{"order": 1, "actionType": "Explode"}]}}
    assert arm.call("PUT", "/automationRules/x", json=bad).status_code == 400
    deleted = arm.call("DELETE", path)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert_not_found(arm.call("GET", path))


# endregion

# region bookmarks

BOOKMARK = {"properties": {
    "displayName": "My bookmark", "notes": "Found a suspicious activity", "labels": ["Tag1", "Tag2"],
    "query": "SecurityEvent | where TimeGenerated > ago(1d) and TimeGenerated < ago(2d)",
    "queryResult": "Security Event query result"}}


def test_bookmarks(arm, emu):
    bookmarks, pages = every_page(arm, "/bookmarks")
    assert_spec(pages[0], "Bookmarks.json", "BookmarkList")
    assert len(bookmarks) >= 3
    path = "/bookmarks/73e01a99-5cd7-4139-a149-9f2736ff2ab5"
    created = arm.call("PUT", path, json=BOOKMARK)
    assert created.status_code == 201
    assert_spec(created.json(), "Bookmarks.json", "Bookmark")
    assert created.json()["properties"]["createdBy"]["objectId"]
    assert_etag_rule(arm, path, BOOKMARK)
    assert arm.call("PUT", "/bookmarks/x", json={"properties": {"displayName": "no query"}}).status_code == 400

    incident = emu.store.incidents()[2]["name"]
    bookmark_id = f"{urlsplit(arm.ws).path}/bookmarks/73e01a99-5cd7-4139-a149-9f2736ff2ab5"
    related = arm.call("PUT", f"/incidents/{incident}/relations/bookmark-rel",
                       json={"properties": {"relatedResourceId": bookmark_id}})
    assert related.status_code == 201
    listed = arm.call("POST", f"/incidents/{incident}/bookmarks").json()
    assert_spec(listed, "Incidents.json", "IncidentBookmarkList")
    assert "73e01a99-5cd7-4139-a149-9f2736ff2ab5" in [b["name"] for b in listed["value"]]

    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    assert_not_found(arm.call("GET", path))
    assert "73e01a99-5cd7-4139-a149-9f2736ff2ab5" not in [
        b["name"] for b in arm.call("POST", f"/incidents/{incident}/bookmarks").json()["value"]]


# endregion

# region incident tasks and relations


def test_incident_tasks(arm, emu):
    incident = emu.store.incidents()[0]["name"]
    seeded = arm.call("GET", f"/incidents/{incident}/tasks").json()
    assert_spec(seeded, "Incidents.json", "IncidentTaskList")
    assert seeded["value"], "the first seeded incident has a task"
    path = f"/incidents/{incident}/tasks/4a5b6c7d-0000-4000-8000-000000000001"
    body = {"properties": {"title": "Isolate the host", "description": "Use Defender", "status": "New"}}
    created = arm.call("PUT", path, json=body)
    assert created.status_code == 201
    assert_spec(created.json(), "Incidents.json", "IncidentTask")
    assert created.json()["properties"]["createdBy"]["name"] == "Sentinel Emulator App"
    done = assert_etag_rule(arm, path, {"properties": {**body["properties"], "status": "Completed"}})
    assert done["properties"]["status"] == "Completed"
    assert done["properties"]["createdTimeUtc"] == created.json()["properties"]["createdTimeUtc"]
    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    assert_not_found(arm.call("GET", path))
    assert_not_found(arm.call("GET", "/incidents/00000000-0000-4000-8000-000000000000/tasks"))


def test_incident_relations_to_alerts_and_bookmarks_with_search_in(arm, emu):
    """Given an incident, a relation PUT to one of its alerts and to a bookmark gets the right kind and type;
    list with search.in on relatedResourceKind returns the alert relations only; DELETE is 200 then 204."""
    incident = emu.store.incidents()[3]
    name = incident["name"]
    alert = arm.call("POST", f"/incidents/{name}/alerts").json()["value"][0]
    alert_rel = arm.call("PUT", f"/incidents/{name}/relations/alert-rel-1",
                         json={"properties": {"relatedResourceId": alert["id"]}})
    assert alert_rel.status_code == 201, alert_rel.text
    assert_spec(alert_rel.json(), "Incidents.json", "Relation")
    assert alert_rel.json()["properties"]["relatedResourceKind"] == "SecurityAlert"
    bookmark = next(emu.store.records("bookmarks")).name
    bookmark_id = f"{urlsplit(arm.ws).path}/bookmarks/{bookmark}"
    assert arm.call("PUT", f"/incidents/{name}/relations/bm-rel-1",
                    json={"properties": {"relatedResourceId": bookmark_id}}).status_code == 201
    assert_spec(arm.call("GET", f"/incidents/{name}/relations/bm-rel-1").json(), "Incidents.json", "Relation")

    everything = arm.call("GET", f"/incidents/{name}/relations").json()
    assert_spec(everything, "Incidents.json", "RelationList")
    alerts_only = arm.call("GET", f"/incidents/{name}/relations", params={
        "$filter": "search.in(properties/relatedResourceKind,'SecurityAlert,Account',',')"}).json()["value"]
    assert alerts_only and all(r["properties"]["relatedResourceKind"] == "SecurityAlert" for r in alerts_only)
    assert "bm-rel-1" not in {r["name"] for r in alerts_only}
    assert "bm-rel-1" in {r["name"] for r in everything["value"]}

    missing = arm.call("PUT", f"/incidents/{name}/relations/bm-rel-2", json={"properties": {
        "relatedResourceId": f"{urlsplit(arm.ws).path}/bookmarks/00000000-0000-4000-8000-000000000000"}})
    assert missing.status_code == 400
    assert arm.call("DELETE", f"/incidents/{name}/relations/bm-rel-1").status_code == 200
    assert arm.call("DELETE", f"/incidents/{name}/relations/bm-rel-1").status_code == 204
    assert_not_found(arm.call("GET", f"/incidents/{name}/relations/bm-rel-1"))


# endregion

# region data connectors, subscriptions, resource groups, workspace


def test_data_connectors(arm):
    connectors = arm.call("GET", "/dataConnectors").json()["value"]
    assert {c["kind"] for c in connectors} == {"AzureActiveDirectory", "MicrosoftThreatProtection"}
    one = arm.call("GET", f"/dataConnectors/{connectors[0]['name']}")
    assert one.status_code == 200 and one.json()["properties"]["tenantId"] == arm.emu.tenant_id
    assert_not_found(arm.call("GET", "/dataConnectors/nope"))


def test_subscriptions_are_paged():
    with Emulator(seed=0) as emu:
        for n in range(70):
            emu.store.add_subscription(f"00000000-0000-4000-8000-{n:012d}", f"Extra {n:02d}")
        arm = Arm(emu)
        items, pages = every_page(arm, f"{emu.base_url}/subscriptions", api_version="2020-01-01")
    assert len(pages) == 2
    ids = [s["subscriptionId"] for s in items]
    assert len(ids) == len(set(ids)) == 72 and emu.subscription_id in ids
    assert pages[0]["count"] == {"type": "Total", "value": 72}
    assert all(set(s) >= {"id", "subscriptionId", "tenantId", "displayName", "state"} for s in items)


def test_resource_groups_by_tag_with_top_and_paging(arm, emu):
    base = f"{emu.base_url}/subscriptions/{emu.subscription_id}/resourcegroups"
    every = arm.call("GET", base, api_version="2021-04-01").json()["value"]
    assert {g["name"] for g in every} == {"sentinel-rg", "shared-rg", "untagged-rg"}
    tagged = arm.call("GET", base, api_version="2021-04-01", params={"$filter": "tagName eq 'env'"}).json()["value"]
    assert {g["name"] for g in tagged} == {"sentinel-rg", "shared-rg"}
    exact = arm.call("GET", base, api_version="2022-12-01",
                     params={"$filter": "tagName eq 'env' and tagValue eq 'emulator'"}).json()["value"]
    assert [g["name"] for g in exact] == ["sentinel-rg"]
    assert exact[0]["type"] == "Microsoft.Resources/resourceGroups" and exact[0]["tags"]["env"] == "emulator"
    items, pages = every_page(arm, base, {"$top": 1, "$filter": "tagName eq 'env'"}, api_version="2021-04-01")
    assert [len(p["value"]) for p in pages] == [1, 1]
    assert parse_qs(urlsplit(pages[0]["nextLink"]).query)["$filter"] == ["tagName eq 'env'"]
    assert {g["name"] for g in items} == {"sentinel-rg", "shared-rg"}
    assert arm.call("GET", base, api_version="2025-12-01").status_code == 400
    assert arm.call("GET", f"{base}/nope", api_version="2021-04-01").status_code == 404


def test_workspace_has_a_customer_id(arm, emu):
    url = arm.ws.rsplit("/providers/Microsoft.SecurityInsights", 1)[0]
    workspace = arm.call("GET", url, api_version="2022-10-01").json()
    assert workspace["properties"]["customerId"] == emu.workspace.customer_id
    assert len(workspace["properties"]["customerId"]) == 36


# endregion


def test_validator_rejects_what_the_spec_does_not_define():
    """The spec validator used above is strict: unknown properties and bad enums are reported."""
    problems = spec_validator().check({"id": "x", "name": "y", "type": "t", "etag": "e", "properties": {
        "title": "t", "severity": "Critical", "status": "New", "bogus": 1}}, "Incidents.json", "Incident")
    assert any("Critical" in p for p in problems) and any("bogus" in p for p in problems)
