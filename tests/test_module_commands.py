"""Every command's success path, through the platform stand-in, with the official context keys.

Each test serves recorded payloads (AzureSentinel/test_data) with requests-mock and checks the entry
the platform received: the official context key and fields, and the REST call that was made.
"""

from __future__ import annotations

import json

import pytest
import requests_mock

from module_helpers import (
    ARM, INCIDENT_ID, INCIDENT_URL, WS_URL, arm_requests, context_value, incident, load_json,
    only_entry, query, run,
)

INCIDENT_PREFIX = "AzureSentinel.Incident("
OFFICIAL_INCIDENT_FIELDS = {
    "ID", "Title", "Description", "Severity", "Status", "AssigneeName", "AssigneeEmail", "AssigneeObjectID",
    "AssigneeUPN", "Label", "FirstActivityTimeUTC", "LastActivityTimeUTC", "LastModifiedTimeUTC",
    "CreatedTimeUTC", "IncidentNumber", "AlertsCount", "BookmarkCount", "CommentCount", "BookmarksCount",
    "CommentsCount", "AlertProductNames", "Tactics", "FirstActivityTimeGenerated", "LastActivityTimeGenerated",
    "Etag", "IncidentUrl",
}


def test_test_module_returns_ok(m):
    """Given valid credentials, when test-module runs, then it returns the string "ok" after one read."""
    m.get(f"{WS_URL}/incidents", json={"value": []})
    platform = run("test-module")
    assert platform.results == ["ok"]
    assert [r.method for r in arm_requests(m)] == ["GET"]
    assert query(arm_requests(m)[0])["$top"] == "1"


def test_get_incident_by_id(m):
    """Given a recorded incident, when get-incident-by-id runs, then the Incident context has the official fields."""
    m.get(INCIDENT_URL, json=load_json("incident_get.json"))
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert entry["Type"] == 1 and entry["ContentsFormat"] == "json"
    assert entry["ReadableContentsFormat"] == "markdown"
    assert list(entry["EntryContext"]) == ["AzureSentinel.Incident(val.ID && val.ID == obj.ID)"]
    row = context_value(entry, INCIDENT_PREFIX)
    assert OFFICIAL_INCIDENT_FIELDS <= set(row)
    assert row["ID"] == INCIDENT_ID
    assert row["IncidentNumber"] == 3177
    assert row["Title"] == "My incident"
    assert row["Severity"] == "High" and row["Status"] == "Closed"
    assert (row["AssigneeName"], row["AssigneeEmail"], row["AssigneeUPN"]) == (
        "john doe", "john.doe@contoso.com", "john@contoso.com")
    assert row["AssigneeObjectID"] == "2046feea-040d-4a46-9e2b-91c2941bfa70"
    assert row["CreatedTimeUTC"] == "2019-01-01T13:15:30Z"
    assert row["CommentCount"] == row["CommentsCount"] == 3
    assert row["Tactics"] == ["InitialAccess", "Persistence"]
    assert row["Etag"] == '"0300bf09-0000-0000-0000-5c37296e0000"'
    assert "My incident" in entry["HumanReadable"]
    assert entry["Contents"]["name"] == INCIDENT_ID


def test_list_incidents_single_page(m):
    """Given one page of incidents, when list-incidents runs, then each is in context and no NextLink is set."""
    m.get(f"{WS_URL}/incidents", json=load_json("incidents_list.json"))
    entry = only_entry(run("azure-sentinel-list-incidents", {"limit": "50"}))
    rows = context_value(entry, INCIDENT_PREFIX)
    assert [r["ID"] for r in rows] == [i["name"] for i in load_json("incidents_list.json")["value"]]
    assert not any(k.startswith("AzureSentinel.NextLink") for k in entry["EntryContext"])
    sent = query(arm_requests(m)[0])
    assert sent["$top"] == "50"
    assert sent["$orderby"] == "properties/createdTimeUtc asc"
    assert sent["api-version"] == "2025-12-01"


def test_list_incidents_passes_the_filter(m):
    """Given an OData filter argument, when list-incidents runs, then it is sent as $filter."""
    m.get(f"{WS_URL}/incidents", json={"value": []})
    run("azure-sentinel-list-incidents", {"filter": "properties/severity eq 'High'"})
    assert query(arm_requests(m)[0])["$filter"] == "properties/severity eq 'High'"


def test_update_incident_success(m):
    """Given an incident, when update-incident sets the title and severity, then the PUT carries the etag."""
    m.get(INCIDENT_URL, json=incident(title="Old", severity="Low"))
    put = m.put(INCIDENT_URL, json=incident(title="New", severity="High", etag='"etag-2"'))
    entry = only_entry(run("azure-sentinel-update-incident",
                           {"incident_id": INCIDENT_ID, "title": "New", "severity": "High"}))
    body = put.last_request.json()
    assert body["etag"] == '"etag-1"'
    assert body["properties"]["title"] == "New" and body["properties"]["severity"] == "High"
    assert body["properties"]["status"] == "Active"
    row = context_value(entry, INCIDENT_PREFIX)
    assert (row["ID"], row["Title"], row["Severity"]) == (INCIDENT_ID, "New", "High")


def test_create_incident(m):
    """Given a title, severity, status and labels, when create-incident runs, then one PUT creates it."""
    created = load_json("incident_create.json")
    put = m.put(requests_mock.ANY, json=created)
    entry = only_entry(run("azure-sentinel-create-incident",
                           {"title": "My incident", "severity": "High", "status": "New",
                            "description": "d", "labels": "a,b"}))
    assert put.call_count == 1
    url = put.last_request.url.split("?")[0]
    assert url.startswith(f"{WS_URL}/incidents/")
    body = put.last_request.json()
    assert body["properties"] == {"title": "My incident", "severity": "High", "status": "New", "description": "d",
                                  "labels": [{"labelName": "a", "labelType": "User"},
                                             {"labelName": "b", "labelType": "User"}]}
    assert context_value(entry, INCIDENT_PREFIX)["ID"] == created["name"]


def test_create_incident_sends_a_label_given_twice_once(m):
    """Given the same label twice, when create-incident runs, then the incident gets that label once."""
    put = m.put(requests_mock.ANY, json=load_json("incident_create.json"))
    only_entry(run("azure-sentinel-create-incident", {"title": "t", "status": "New", "labels": "a,a"}))
    assert put.last_request.json()["properties"]["labels"] == [{"labelName": "a", "labelType": "User"}]


def test_create_incident_ignores_workspace_override_args(m):
    """Given subscription_id (which create-incident does not take), when it runs, then the instance's is used."""
    m.put(requests_mock.ANY, json=load_json("incident_create.json"))
    run("azure-sentinel-create-incident", {"title": "t", "status": "New", "subscription_id": "other-sub"})
    assert arm_requests(m)[0].url.startswith(f"{WS_URL}/incidents/")


def test_delete_incident(m):
    """Given an incident, when delete-incident runs, then DELETE is sent and the context marks it Deleted."""
    delete = m.delete(INCIDENT_URL, status_code=200)
    entry = only_entry(run("azure-sentinel-delete-incident", {"incident_id": INCIDENT_ID}))
    assert delete.call_count == 1
    assert context_value(entry, INCIDENT_PREFIX) == {"ID": INCIDENT_ID, "Deleted": True}
    assert "deleted" in entry["HumanReadable"]


def test_workspace_override_args_change_the_url(m):
    """Given subscription_id and resource_group_name args, when get-incident runs, then they replace the params."""
    url = (f"{ARM}/subscriptions/sub-2/resourceGroups/rg-2/providers/Microsoft.OperationalInsights/workspaces/"
           f"myWorkspace/providers/Microsoft.SecurityInsights/incidents/{INCIDENT_ID}")
    m.get(url, json=load_json("incident_get.json"))
    entry = only_entry(run("azure-sentinel-get-incident-by-id",
                           {"incident_id": INCIDENT_ID, "subscription_id": "sub-2", "resource_group_name": "rg-2"}))
    assert entry["Type"] == 1


def test_list_incident_comments(m):
    """Given recorded comments, when list-incident-comments runs, then IncidentComment has the official fields."""
    m.get(f"{INCIDENT_URL}/comments", json=load_json("incident_comments.json"))
    entry = only_entry(run("azure-sentinel-list-incident-comments", {"incident_id": INCIDENT_ID}))
    key = f"AzureSentinel.IncidentComment(val.ID === obj.ID && val.IncidentID === '{INCIDENT_ID}')"
    assert list(entry["EntryContext"]) == [key]
    assert entry["EntryContext"][key] == [{
        "ID": "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0014", "IncidentID": INCIDENT_ID, "Message": "Some message",
        "AuthorName": "john doe", "AuthorEmail": "john.doe@contoso.com", "CreatedTimeUTC": "2019-01-01T13:15:30Z",
    }]
    assert query(arm_requests(m)[0])["$top"] == "50"


def test_add_comment(m):
    """Given a message, when incident-add-comment runs, then one PUT with the message creates the comment."""
    put = m.put(requests_mock.ANY, json=load_json("incident_comment_create.json"))
    entry = only_entry(run("azure-sentinel-incident-add-comment", {"incident_id": INCIDENT_ID, "message": "hi"}))
    assert put.last_request.url.split("?")[0].startswith(f"{INCIDENT_URL}/comments/")
    assert put.last_request.json() == {"properties": {"message": "hi"}}
    row = context_value(entry, "AzureSentinel.IncidentComment(")
    assert row["IncidentID"] == INCIDENT_ID and row["ID"] == "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0014"


@pytest.mark.parametrize("status, expected", [
    pytest.param(200, "was deleted successfully", id="existing-comment"),
    pytest.param(204, "does not exist", id="missing-comment-204"),
])
def test_delete_comment(m, status, expected):
    """Given a comment ID, when incident-delete-comment runs, then ARM's 200/204 decides the message."""
    m.delete(f"{INCIDENT_URL}/comments/c1", status_code=status)
    entry = only_entry(run("azure-sentinel-incident-delete-comment", {"incident_id": INCIDENT_ID, "comment_id": "c1"}))
    assert entry["Type"] == 1
    assert expected in entry["HumanReadable"]


def test_list_relations(m):
    """Given recorded relations, when list-incident-relations runs, then IncidentRelatedResource has ID/Kind."""
    m.get(f"{INCIDENT_URL}/relations", json=load_json("incident_relations.json"))
    entry = only_entry(run("azure-sentinel-list-incident-relations", {"incident_id": INCIDENT_ID}))
    key = f"AzureSentinel.IncidentRelatedResource(val.ID === obj.ID && val.IncidentID == '{INCIDENT_ID}')"
    assert entry["EntryContext"][key] == [
        {"ID": "2216d0e1-91e3-4902-89fd-d2df8c535096", "Kind": None, "IncidentID": INCIDENT_ID},
        {"ID": "1dd267cd-8a1f-4f6f-b92c-da43ac8819af", "Kind": "SecurityAlert", "IncidentID": INCIDENT_ID},
    ]
    assert "$filter" not in query(arm_requests(m)[0])


@pytest.mark.parametrize("args, expected_filter", [
    pytest.param({"entity_kinds": "Account,Host"},
                 "search.in(properties/relatedResourceKind, 'Account,Host', ',')", id="kinds-only"),
    pytest.param({"entity_kinds": ["Ip"], "filter": "properties/relatedResourceType eq 'x'"},
                 "(properties/relatedResourceType eq 'x') and search.in(properties/relatedResourceKind, 'Ip', ',')",
                 id="kinds-and-filter"),
    pytest.param({"filter": "properties/relatedResourceKind eq 'Ip'"},
                 "(properties/relatedResourceKind eq 'Ip')", id="filter-only"),
    pytest.param({"entity_kinds": "Mailbox"},
                 "search.in(properties/relatedResourceKind, 'Mailbox', ',')", id="kind-not-in-official-list"),
    pytest.param({"entity_kinds": "Account,x') or true or ('"},
                 "search.in(properties/relatedResourceKind, 'Account,x'') or true or (''', ',')",
                 id="injection-stays-inside-the-quoted-literal"),
])
def test_list_relations_entity_kinds_become_search_in(m, args, expected_filter):
    """Given entity_kinds (and a filter), when list-incident-relations runs, then $filter uses search.in."""
    m.get(f"{INCIDENT_URL}/relations", json={"value": []})
    entry = only_entry(run("azure-sentinel-list-incident-relations", {"incident_id": INCIDENT_ID, **args}))
    assert entry["Type"] == 1
    assert query(arm_requests(m)[0])["$filter"] == expected_filter


def test_list_entities_is_a_post_reading_key_entities(m):
    """Given recorded entities, when list-incident-entities runs, then it POSTs and reads the `entities` key."""
    post = m.post(f"{INCIDENT_URL}/entities", json=load_json("incident_entities.json"))
    entry = only_entry(run("azure-sentinel-list-incident-entities", {"incident_id": INCIDENT_ID}))
    assert post.call_count == 1
    key = "AzureSentinel.IncidentEntity(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"
    assert entry["EntryContext"][key] == [{
        "ID": "e1d3d618-e11f-478b-98e3-bb381539a8e1", "IncidentId": INCIDENT_ID, "Kind": "Account",
        "Properties": {"friendlyName": "administrator", "accountName": "administrator", "ntDomain": "domain"},
    }]


def test_list_alerts_is_a_post_reading_key_value(m):
    """Given recorded alerts, when list-incident-alerts runs, then it POSTs and maps each alert's fields."""
    payload = load_json("incident_alerts.json")
    payload["value"][0]["properties"]["additionalData"]["MitreTechniques"] = ["T1078"]
    post = m.post(f"{INCIDENT_URL}/alerts", json=payload)
    entry = only_entry(run("azure-sentinel-list-incident-alerts", {"incident_id": INCIDENT_ID}))
    assert post.call_count == 1
    key = "AzureSentinel.IncidentAlert(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"
    [row] = entry["EntryContext"][key]
    assert row["ID"] == "baa8a239-6fde-4ab7-a093-d09f7b75c58c"
    assert row["IncidentId"] == INCIDENT_ID
    assert row["Kind"] == "SecurityAlert"
    assert row["DisplayName"] == "myAlert"
    assert row["ConfidenceLevel"] == "Unknown" and row["Severity"] == "Low"
    assert (row["VendorName"], row["ProductName"]) == ("Microsoft", "Azure Security Center")
    assert row["Technique"] == ["T1078"]
    assert {"Tactic", "Description", "ProductComponentName"} <= set(row)


def test_auth_reset_clears_the_cached_token(m):
    """Given a cached token, when auth-reset runs, then the token is gone from the integration context."""
    context = {"azure_tokens": {"k": {"access_token": "cached-token-value", "expires_on": 9e12}}, "other": 1}
    platform = run("azure-sentinel-auth-reset", context=context)
    entry = only_entry(platform)
    assert entry["Type"] == 1
    assert platform.context == {"other": 1}
    assert "cached-token-value" not in json.dumps(platform.context)
    assert m.request_history == []
