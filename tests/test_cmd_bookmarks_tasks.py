"""Bookmarks, incident tasks, incident relations (create/delete) and data connectors, through the platform stand-in.

Recorded payloads are the API specification's examples (AzureSentinel/test_data/bookmark_*, incident_task_*,
incident_relation_create, data_connector_*); requests-mock plays ARM.
"""

from __future__ import annotations

import copy
import json
import re
import uuid

import pytest
import yaml

from module_helpers import (
    ROOT, WS_URL, all_text, arm_requests, context_value, load_json, only_entry, only_error, query, run,
)

INCIDENT = "afbd324f-6c48-459c-8710-8d1e1cd03812"
BOOKMARK = "73e01a99-5cd7-4139-a149-9f2736ff2ab5"
TASK = "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0014"
WS_ID = WS_URL.removeprefix("https://management.azure.com")  # the workspace's ARM resource ID
BOOKMARK_URL = f"{WS_URL}/bookmarks/{BOOKMARK}"
TASK_URL = f"{WS_URL}/incidents/{INCIDENT}/tasks/{TASK}"
NOT_FOUND = {"status_code": 404, "json": {"error": {"code": "NotFound", "message": "Resource not found"}}}
CONFLICT = {"status_code": 409, "json": {"error": {"code": "Conflict", "message": "Newer version of resource exists"}}}


def writes(m) -> list:
    return [r for r in arm_requests(m) if r.method in ("PUT", "POST", "DELETE")]


# -- bookmarks ------------------------------------------------------------------------------------------------


def test_list_incident_bookmarks_reads_the_hunting_bookmark_entities(m):
    """Given an incident with two linked bookmarks (entity-shaped, etag under additionalData), when
    list-incident-bookmarks runs, then it POSTs to the incident's bookmarks and each one is in context."""
    m.post(f"{WS_URL}/incidents/{INCIDENT}/bookmarks", json=load_json("bookmark_incident_list.json"))
    entry = only_entry(run("azure-sentinel-list-incident-bookmarks", {"incident_id": INCIDENT}))
    assert list(entry["EntryContext"]) == ["AzureSentinel.Bookmark(val.ID === obj.ID)"]
    rows = context_value(entry, "AzureSentinel.Bookmark(")
    assert [r["ID"] for r in rows] == ["afbd324f-6c48-459c-8710-8d1e1cd03812", "bbbd324f-6c48-459c-8710-8d1e1cd03812"]
    first = rows[0]
    assert first["DisplayName"] == "SecurityEvent - 868f40f4698d"
    assert first["Query"] == "SecurityEvent\r\n| take 1\n"
    assert first["EventTime"] == first["Created"] == "2020-06-17T15:34:01Z"
    assert first["CreatedBy"] == first["UpdatedBy"] == "user"
    assert first["Labels"] == []
    assert first["Etag"] == '"3b00acab-0000-0d00-0000-5f15e4ed0000"'
    assert [r.method for r in arm_requests(m)] == ["POST"]
    assert "Incident afbd324f-6c48-459c-8710-8d1e1cd03812 bookmarks (2 results)" in entry["HumanReadable"]


def test_list_bookmarks_with_an_id_gets_that_bookmark(m):
    """Given a bookmark linked to an incident, when list-bookmarks runs with bookmark_id, then that one bookmark
    is read and its labels, times, authors and incident are in context."""
    m.get(BOOKMARK_URL, json=load_json("bookmark_get.json"))
    entry = only_entry(run("azure-sentinel-list-bookmarks", {"bookmark_id": BOOKMARK}))
    row = context_value(entry, "AzureSentinel.Bookmark(")
    assert row == {
        "ID": BOOKMARK, "DisplayName": "My bookmark",
        "Query": "SecurityEvent | where TimeGenerated > ago(1d) and TimeGenerated < ago(2d)",
        "QueryResult": "Security Event query result", "Notes": "Found a suspicious activity", "Labels": ["Tag1", "Tag2"],
        "Created": "2019-01-01T13:15:30Z", "Updated": "2019-01-01T13:15:30Z", "EventTime": None,
        "QueryStartTime": None, "QueryEndTime": None, "CreatedBy": "john doe", "UpdatedBy": "john doe",
        "IncidentInfo": {"IncidentId": "DDA55F97-170B-40B9-B8ED-CBFD05481E7D", "Title": "New case 1", "Severity": "Low",
                         "RelationName": "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0018"},
        "Etag": '"0300bf09-0000-0000-0000-5c37296e0000"',
    }
    assert [r.method for r in arm_requests(m)] == ["GET"]


def _bookmark(name: str) -> dict:
    return {"name": name, "properties": {"displayName": name, "query": "q"}}


def test_list_bookmarks_follows_pages_without_a_page_size_and_continues_inside_a_cut_page(m):
    """Given bookmarks on pages of two (the API takes no $top), when list-bookmarks runs with limit 3, then it
    reads two pages, returns 3, and its link continues inside the second page (nothing skipped), without $top."""
    second, third = f"{WS_URL}/bookmarks?$skipToken=2", f"{WS_URL}/bookmarks?$skipToken=4"
    m.get(f"{WS_URL}/bookmarks", [{"json": {"value": [_bookmark("b1"), _bookmark("b2")], "nextLink": second}},
                                  {"json": {"value": [_bookmark("b3"), _bookmark("b4")], "nextLink": third}}])
    entry = only_entry(run("azure-sentinel-list-bookmarks", {"limit": "3"}))
    assert [r["ID"] for r in context_value(entry, "AzureSentinel.Bookmark(")] == ["b1", "b2", "b3"]
    assert context_value(entry, "AzureSentinel.NextLink(")["URL"] == f"{second}#skip=1"
    assert all("$top" not in query(r) for r in arm_requests(m))
    assert query(arm_requests(m)[1])["$skipToken"] == "2"


def test_list_bookmarks_continues_from_next_link_and_refuses_a_foreign_one(m):
    """Given a next_link from a previous call, when list-bookmarks runs, then it continues from it; given a
    link to another collection, then it refuses it before sending anything."""
    m.get(f"{WS_URL}/bookmarks", json={"value": [_bookmark("b9")]})
    entry = only_entry(run("azure-sentinel-list-bookmarks", {"next_link": f"{WS_URL}/bookmarks?$skipToken=8"}))
    assert [r["ID"] for r in context_value(entry, "AzureSentinel.Bookmark(")] == ["b9"]
    assert query(arm_requests(m)[0])["$skipToken"] == "8"
    error = only_error(run("azure-sentinel-list-bookmarks", {"next_link": f"{WS_URL}/incidents?$skipToken=8"}))
    assert "Refusing the link" in error and "/bookmarks" in error
    assert len(arm_requests(m)) == 1


def test_create_bookmark_puts_the_given_fields_without_an_etag(m):
    """Given no bookmark with that ID, when create-update-bookmark runs, then the PUT carries the user's fields
    (labels as strings, times in ISO 8601 UTC) and no etag."""
    m.get(BOOKMARK_URL, **NOT_FOUND)
    put = m.put(BOOKMARK_URL, status_code=201, json=load_json("bookmark_create.json"))
    entry = only_entry(run("azure-sentinel-create-update-bookmark", {
        "bookmark_id": BOOKMARK, "display_name": "My bookmark", "query": "SecurityEvent | take 1",
        "labels": "Tag1,Tag2", "event_time": "2025-01-31T12:00:00+02:00", "notes": "n"}))
    assert put.last_request.json() == {"properties": {
        "displayName": "My bookmark", "query": "SecurityEvent | take 1", "notes": "n", "labels": ["Tag1", "Tag2"],
        "eventTime": "2025-01-31T10:00:00Z"}}
    assert context_value(entry, "AzureSentinel.Bookmark(")["ID"] == BOOKMARK


def test_create_bookmark_without_an_id_uses_a_new_guid(m):
    """Given no bookmark_id, when create-update-bookmark runs, then it creates the bookmark under a new GUID."""
    m.get(re.compile(f"{re.escape(WS_URL)}/bookmarks/"), **NOT_FOUND)
    put = m.put(re.compile(f"{re.escape(WS_URL)}/bookmarks/"), json=load_json("bookmark_create.json"))
    only_entry(run("azure-sentinel-create-update-bookmark", {"display_name": "d", "query": "q"}))
    name = put.last_request.path.rsplit("/", 1)[-1]
    assert str(uuid.UUID(name)) == name
    assert arm_requests(m)[0].path.rsplit("/", 1)[-1] == name  # the read and the write are of the same ID


def test_creating_a_bookmark_needs_display_name_and_query(m):
    """Given no bookmark with that ID, when create-update-bookmark runs without a query, then one error says
    what to give, and nothing is written."""
    m.get(BOOKMARK_URL, **NOT_FOUND)
    error = only_error(run("azure-sentinel-create-update-bookmark", {"bookmark_id": BOOKMARK, "display_name": "d"}))
    assert error.endswith(f"Bookmark {BOOKMARK} does not exist yet: give display_name and query to create it.")
    assert writes(m) == []


def test_update_bookmark_merges_over_the_current_one_with_its_etag(m):
    """Given an existing bookmark, when create-update-bookmark changes only its notes, then the PUT keeps its
    writable fields (not the server-kept authors and times) and sends its etag."""
    m.get(BOOKMARK_URL, json=load_json("bookmark_get.json"))
    put = m.put(BOOKMARK_URL, json=load_json("bookmark_create.json"))
    only_entry(run("azure-sentinel-create-update-bookmark", {"bookmark_id": BOOKMARK, "notes": "Closer look"}))
    assert put.last_request.json() == {"etag": '"0300bf09-0000-0000-0000-5c37296e0000"', "properties": {
        "displayName": "My bookmark", "notes": "Closer look", "labels": ["Tag1", "Tag2"],
        "query": "SecurityEvent | where TimeGenerated > ago(1d) and TimeGenerated < ago(2d)",
        "queryResult": "Security Event query result",
        "incidentInfo": {"incidentId": "DDA55F97-170B-40B9-B8ED-CBFD05481E7D", "severity": "Low",
                         "title": "New case 1", "relationName": "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0018"}}}


def test_a_bookmark_conflict_is_re_read_and_only_the_users_fields_re_applied(m):
    """Given a bookmark renamed by someone else between our read and our write (409), when create-update-bookmark
    sets the notes, then it re-reads and writes the new name with our notes and the new etag."""
    current = load_json("bookmark_get.json")
    renamed = copy.deepcopy(current)
    renamed["etag"], renamed["properties"]["displayName"] = '"v2"', "Renamed"
    m.get(BOOKMARK_URL, [{"json": current}, {"json": renamed}])
    put = m.put(BOOKMARK_URL, [CONFLICT, {"json": renamed}])
    only_entry(run("azure-sentinel-create-update-bookmark", {"bookmark_id": BOOKMARK, "notes": "Mine"}))
    body = put.last_request.json()
    assert (body["etag"], body["properties"]["displayName"], body["properties"]["notes"]) == ('"v2"', "Renamed", "Mine")
    assert put.call_count == 2


def test_a_bad_time_is_one_error_naming_the_argument(m):
    """Given a time that is not ISO 8601, when create-update-bookmark runs, then one error names the argument."""
    error = only_error(run("azure-sentinel-create-update-bookmark", {"query_start_time": "yesterday"}))
    assert error.endswith("Argument 'query_start_time' is invalid: 'yesterday' is not an ISO 8601 time; write e.g. "
                          "2026-12-31T00:00:00Z.")
    assert arm_requests(m) == []


def test_a_bookmark_is_linked_to_an_incident_through_a_relation_named_after_it(m):
    """Given incident_id, when create-update-bookmark saves the bookmark, then it relates the bookmark's full
    resource ID to the incident under the bookmark's own name, and the context shows the link."""
    m.get(BOOKMARK_URL, **NOT_FOUND)
    m.put(BOOKMARK_URL, json=load_json("bookmark_create.json"))
    relation_url = f"{WS_URL}/incidents/{INCIDENT}/relations/{BOOKMARK}"
    m.get(relation_url, **NOT_FOUND)
    relation = m.put(relation_url, json=load_json("incident_relation_create.json"))
    entry = only_entry(run("azure-sentinel-create-update-bookmark", {
        "bookmark_id": BOOKMARK, "display_name": "d", "query": "q", "incident_id": INCIDENT}))
    assert relation.last_request.json() == {"properties": {"relatedResourceId": f"{WS_ID}/bookmarks/{BOOKMARK}"}}
    assert context_value(entry, "AzureSentinel.Bookmark(")["IncidentInfo"] == {
        "IncidentId": INCIDENT, "Title": None, "Severity": None, "RelationName": BOOKMARK}


def test_a_failed_link_says_the_bookmark_was_saved(m):
    """Given an incident that does not exist, when create-update-bookmark links to it, then the one error says
    the bookmark was saved and the link failed (so a retry with the same bookmark_id is safe)."""
    m.get(BOOKMARK_URL, json=load_json("bookmark_get.json"))
    m.put(BOOKMARK_URL, json=load_json("bookmark_get.json"))
    m.get(f"{WS_URL}/incidents/nope/relations/{BOOKMARK}", **NOT_FOUND)
    m.put(f"{WS_URL}/incidents/nope/relations/{BOOKMARK}", **NOT_FOUND)
    error = only_error(run("azure-sentinel-create-update-bookmark", {"bookmark_id": BOOKMARK, "incident_id": "nope"}))
    assert f"Bookmark {BOOKMARK} was saved, but linking it to incident nope failed:" in error
    assert "HTTP 404 NotFound" in error


@pytest.mark.parametrize("status,said", [(200, f"Bookmark {BOOKMARK} was deleted successfully."),
                                         (204, f"Bookmark {BOOKMARK} does not exist.")])
def test_delete_bookmark_says_whether_it_existed(m, status, said):
    """Given a bookmark that exists (200) or not (204), when delete-bookmark runs, then the entry says which."""
    m.delete(BOOKMARK_URL, status_code=status)
    assert only_entry(run("azure-sentinel-delete-bookmark", {"bookmark_id": BOOKMARK}))["HumanReadable"] == said


# -- incident tasks -------------------------------------------------------------------------------------------

TASK_ROW = {
    "ID": TASK, "IncidentID": INCIDENT, "Title": "Task title", "Description": "Task description", "Status": "New",
    "CreatedBy": "john doe", "LastModifiedBy": "john doe", "CreatedTimeUTC": "2019-01-01T13:15:30Z",
    "LastModifiedTimeUTC": "2019-01-03T11:10:30Z", "Etag": '"190057d0-0000-0d00-0000-5c6f5adb0000"',
}


def test_list_incident_tasks(m):
    """Given an incident with one task, when list-incident-tasks runs, then the task is in context, keyed by
    task and incident, with no NextLink."""
    m.get(f"{WS_URL}/incidents/{INCIDENT}/tasks", json=load_json("incident_task_list.json"))
    entry = only_entry(run("azure-sentinel-list-incident-tasks", {"incident_id": INCIDENT}))
    assert entry["EntryContext"] == {
        "AzureSentinel.IncidentTask(val.ID === obj.ID && val.IncidentID === obj.IncidentID)": [TASK_ROW]}


def test_list_incident_tasks_with_a_task_id_gets_that_task(m):
    """Given task_id, when list-incident-tasks runs, then that one task is read."""
    m.get(TASK_URL, json=load_json("incident_task_get.json"))
    entry = only_entry(run("azure-sentinel-list-incident-tasks", {"incident_id": INCIDENT, "task_id": TASK}))
    assert context_value(entry, "AzureSentinel.IncidentTask(") == TASK_ROW
    assert f"Incident {INCIDENT} tasks: {TASK}" in entry["HumanReadable"]


def test_create_task_is_new_unless_told_and_needs_a_title(m):
    """Given no such task, when create-update-incident-task runs with a title, then the task is created New;
    without a title, then one error says to give one and nothing is written."""
    m.get(TASK_URL, **NOT_FOUND)
    put = m.put(TASK_URL, status_code=201, json=load_json("incident_task_create.json"))
    entry = only_entry(run("azure-sentinel-create-update-incident-task",
                           {"incident_id": INCIDENT, "task_id": TASK, "title": "Task title"}))
    assert put.last_request.json() == {"properties": {"title": "Task title", "status": "New"}}
    assert context_value(entry, "AzureSentinel.IncidentTask(") == TASK_ROW
    error = only_error(run("azure-sentinel-create-update-incident-task", {"incident_id": INCIDENT, "task_id": TASK}))
    assert error.endswith(f"Task {TASK} of incident {INCIDENT} does not exist yet: give title to create it.")
    assert put.call_count == 1


def test_completing_a_task_keeps_its_title_and_sends_its_etag(m):
    """Given an existing task, when create-update-incident-task sets status Completed, then the PUT keeps the
    title and description and carries the task's etag."""
    m.get(TASK_URL, json=load_json("incident_task_get.json"))
    put = m.put(TASK_URL, json=load_json("incident_task_get.json"))
    only_entry(run("azure-sentinel-create-update-incident-task",
                   {"incident_id": INCIDENT, "task_id": TASK, "status": "Completed"}))
    assert put.last_request.json() == {"etag": '"190057d0-0000-0d00-0000-5c6f5adb0000"', "properties": {
        "title": "Task title", "description": "Task description", "status": "Completed"}}


def test_a_task_status_outside_the_api_values_is_refused(m):
    """Given status 'Done', when create-update-incident-task runs, then one error lists the allowed values."""
    error = only_error(run("azure-sentinel-create-update-incident-task",
                           {"incident_id": INCIDENT, "title": "t", "status": "Done"}))
    assert error.endswith("Argument 'status' is invalid: Input should be 'New' or 'Completed'.")
    assert arm_requests(m) == []


def test_delete_incident_task(m):
    """Given a task, when delete-incident-task runs, then it is deleted and the entry says so."""
    m.delete(TASK_URL, status_code=200)
    entry = only_entry(run("azure-sentinel-delete-incident-task", {"incident_id": INCIDENT, "task_id": TASK}))
    assert entry["HumanReadable"] == f"Task {TASK} of incident {INCIDENT} was deleted successfully."


# -- incident relations ---------------------------------------------------------------------------------------

RELATED = f"{WS_ID}/bookmarks/2216d0e1-91e3-4902-89fd-d2df8c535096"


def test_create_incident_relation(m):
    """Given a bookmark of this workspace, when create-incident-relation runs, then the relation is PUT with the
    bookmark's resource ID and the context has the relation name and the related resource."""
    url = f"{WS_URL}/incidents/{INCIDENT}/relations/{TASK}"
    m.get(url, **NOT_FOUND)
    put = m.put(url, status_code=201, json=load_json("incident_relation_create.json"))
    entry = only_entry(run("azure-sentinel-create-incident-relation",
                           {"incident_id": INCIDENT, "relation_name": TASK, "related_resource_id": RELATED}))
    assert put.last_request.json() == {"properties": {"relatedResourceId": RELATED}}
    assert entry["EntryContext"] == {
        "AzureSentinel.IncidentRelatedResource(val.ID === obj.ID && val.IncidentID === obj.IncidentID)": {
            "RelationName": TASK, "ID": "2216d0e1-91e3-4902-89fd-d2df8c535096", "Kind": None, "IncidentID": INCIDENT}}


def test_create_incident_relation_accepts_an_alert_and_names_the_relation_itself(m):
    """Given an alert's resource ID (ARM writes `Entities`) and no relation_name, when create-incident-relation
    runs, then the relation gets a new GUID name that meets the API's rule."""
    alert = f"{WS_ID}/Entities/baa8a239-6fde-4ab7-a093-d09f7b75c58c"
    m.get(re.compile("/relations/"), **NOT_FOUND)
    put = m.put(re.compile("/relations/"), json={"name": "r", "properties": {"relatedResourceKind": "SecurityAlert"}})
    entry = only_entry(run("azure-sentinel-create-incident-relation",
                           {"incident_id": INCIDENT, "related_resource_id": alert}))
    name = put.last_request.path.rsplit("/", 1)[-1]
    assert re.fullmatch(r"[a-z0-9-]{36}", name) and str(uuid.UUID(name)) == name
    assert put.last_request.json() == {"properties": {"relatedResourceId": alert}}
    assert context_value(entry, "AzureSentinel.IncidentRelatedResource(")["Kind"] == "SecurityAlert"


@pytest.mark.parametrize("related", [
    pytest.param("2216d0e1-91e3-4902-89fd-d2df8c535096", id="a bare bookmark ID"),
    pytest.param(RELATED.replace("/workspaces/myWorkspace/", "/workspaces/otherWorkspace/"), id="another workspace"),
    pytest.param(RELATED.replace("/myRg/", "/myRh/"), id="a resource group of the same length"),
    pytest.param(f"{WS_ID}/watchlists/w1", id="not a bookmark or alert"),
    pytest.param(f"{WS_ID}/bookmarks/..", id="a dot segment"),
    pytest.param(f"{WS_ID}/bookmarks/a/../../incidents/x", id="a traversal"),
    pytest.param(f"https://evil.example{WS_ID}/bookmarks/b1", id="a URL"),
])
def test_a_related_resource_outside_the_workspace_is_one_clear_error(m, related):
    """Given a related_resource_id that is not a bookmark or alert of this workspace, when create-incident-relation
    runs, then one error shows the expected form and nothing is sent."""
    error = only_error(run("azure-sentinel-create-incident-relation",
                           {"incident_id": INCIDENT, "related_resource_id": related}))
    assert (f"Argument 'related_resource_id' must be the full resource ID of a bookmark or alert in this workspace, "
            f"such as {WS_ID}/bookmarks/<bookmark ID>") in error
    assert arm_requests(m) == []


@pytest.mark.parametrize("name", ["ab", "a" * 64, "has_underscore", "a/b", "dots.are.out"])
def test_a_relation_name_outside_the_api_rule_is_refused(m, name):
    """Given a relation name the API would refuse, when create- or delete-incident-relation runs, then one error
    names the argument and its rule, and nothing is sent."""
    for command, extra in (("azure-sentinel-create-incident-relation", {"related_resource_id": RELATED}),
                           ("azure-sentinel-delete-incident-relation", {})):
        error = only_error(run(command, {"incident_id": INCIDENT, "relation_name": name, **extra}))
        assert error.endswith("Argument 'relation_name' is invalid: String should match pattern "
                              "'^[a-zA-Z0-9-]{3,63}$'.")
    assert arm_requests(m) == []


def test_delete_incident_relation(m):
    """Given a relation that is already gone (204), when delete-incident-relation runs, then the entry says so."""
    m.delete(f"{WS_URL}/incidents/{INCIDENT}/relations/{TASK}", status_code=204)
    entry = only_entry(run("azure-sentinel-delete-incident-relation", {"incident_id": INCIDENT, "relation_name": TASK}))
    assert entry["HumanReadable"] == f"Relation {TASK} of incident {INCIDENT} does not exist."


# -- data connectors ------------------------------------------------------------------------------------------


def test_list_data_connectors_reads_every_kind_alike(m):
    """Given connectors of eight kinds, when list-data-connectors runs, then each has its kind, tenant and data
    types with their state, and the table shows the data types readably."""
    m.get(f"{WS_URL}/dataConnectors", json=load_json("data_connector_list.json"))
    entry = only_entry(run("azure-sentinel-list-data-connectors"))
    rows = context_value(entry, "AzureSentinel.DataConnector(")
    assert [r["Kind"] for r in rows] == [
        "AzureSecurityCenter", "ThreatIntelligence", "AzureActiveDirectory", "Office365", "MicrosoftCloudAppSecurity",
        "AzureAdvancedThreatProtection", "AmazonWebServicesCloudTrail", "MicrosoftDefenderAdvancedThreatProtection"]
    office = rows[3]
    assert office == {"ID": "73e01a99-5cd7-4139-a149-9f2736ff2ab5", "Name": "Office365", "Kind": "Office365",
                      "TenantId": "2070ecc9-b4d5-4ae4-adaa-936fa1954fa8",
                      "DataTypes": [{"Name": "sharePoint", "State": "Enabled"}, {"Name": "exchange", "State": "Enabled"}],
                      "Etag": '"0300bf09-0000-0000-0000-5c37296e0000"'}
    assert rows[0]["TenantId"] is None and rows[0]["Name"] == "Azure Security Center"
    assert "|sharePoint (Enabled), exchange (Enabled)|" in entry["HumanReadable"]


def test_a_codeless_connector_shows_its_table_and_never_its_credentials(m):
    """Given a RestApiPoller connector whose auth carries an API key, when list-data-connectors gets it, then its
    destination table and state are in context, and the key is nowhere in the entry."""
    connector = load_json("data_connector_rest_api_poller.json")
    connector["properties"].update(dataType="Meraki_CL", isActive=False)
    m.get(f"{WS_URL}/dataConnectors/{connector['name']}", json=connector)
    platform = run("azure-sentinel-list-data-connectors", {"data_connector_id": connector["name"]})
    row = context_value(only_entry(platform), "AzureSentinel.DataConnector(")
    assert (row["Name"], row["DataTypes"]) == ("RestApiPollerDefinition", [{"Name": "Meraki_CL", "State": "Disabled"}])
    assert only_entry(platform)["Contents"]["properties"]["auth"] == {"type": "APIKey"}
    assert "6bec40cf957de430a6f1f2baa056b99a4fac9ea0" not in all_text(platform)


def test_list_data_connectors_pages_and_hands_on_the_next_link(m):
    """Given more connectors than the limit on another page, when list-data-connectors runs with limit 1, then
    one is returned with the official NextLink entry."""
    link = f"{WS_URL}/dataConnectors?$skipToken=1"
    m.get(f"{WS_URL}/dataConnectors", json={"value": [{"name": "dc-1", "kind": "AzureActiveDirectory"}],
                                            "nextLink": link})
    entry = only_entry(run("azure-sentinel-list-data-connectors", {"limit": "1"}))
    assert context_value(entry, "AzureSentinel.NextLink(") == {"Description": "NextLink for listing commands",
                                                               "URL": link}
    assert "More remain: pass next_link to continue." in entry["HumanReadable"]


# -- manifest ---------------------------------------------------------------------------------------------------

MANIFEST = yaml.safe_load((ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))
COMMANDS = {c["name"]: c for c in MANIFEST["script"]["commands"]}
LIST = {"limit": (False, False, None, "50"), "next_link": (False, False, None, None)}
# command -> {argument: (required, isArray, predefined, defaultValue)}; the workspace overrides are added below.
ARGUMENTS = {
    "azure-sentinel-list-incident-bookmarks": {"incident_id": (True, False, None, None)},
    "azure-sentinel-list-bookmarks": {"bookmark_id": (False, False, None, None), **LIST},
    "azure-sentinel-create-update-bookmark": {
        **{name: (False, False, None, None) for name in (
            "bookmark_id", "display_name", "query", "query_result", "notes", "event_time", "query_start_time",
            "query_end_time", "incident_id")},
        "labels": (False, True, None, None)},
    "azure-sentinel-delete-bookmark": {"bookmark_id": (True, False, None, None)},
    "azure-sentinel-list-incident-tasks": {"incident_id": (True, False, None, None),
                                           "task_id": (False, False, None, None), **LIST},
    "azure-sentinel-create-update-incident-task": {
        "incident_id": (True, False, None, None), "task_id": (False, False, None, None),
        "title": (False, False, None, None), "description": (False, False, None, None),
        "status": (False, False, ["New", "Completed"], None)},
    "azure-sentinel-delete-incident-task": {"incident_id": (True, False, None, None),
                                            "task_id": (True, False, None, None)},
    "azure-sentinel-create-incident-relation": {"incident_id": (True, False, None, None),
                                                "relation_name": (False, False, None, None),
                                                "related_resource_id": (True, False, None, None)},
    "azure-sentinel-delete-incident-relation": {"incident_id": (True, False, None, None),
                                                "relation_name": (True, False, None, None)},
    "azure-sentinel-list-data-connectors": {"data_connector_id": (False, False, None, None), **LIST},
}
PREFIXES = {
    "azure-sentinel-list-incident-bookmarks": "AzureSentinel.Bookmark.",
    "azure-sentinel-list-bookmarks": "AzureSentinel.Bookmark.",
    "azure-sentinel-create-update-bookmark": "AzureSentinel.Bookmark.",
    "azure-sentinel-list-incident-tasks": "AzureSentinel.IncidentTask.",
    "azure-sentinel-create-update-incident-task": "AzureSentinel.IncidentTask.",
    "azure-sentinel-create-incident-relation": "AzureSentinel.IncidentRelatedResource.",
    "azure-sentinel-list-data-connectors": "AzureSentinel.DataConnector.",
}
PAGED = {"azure-sentinel-list-bookmarks", "azure-sentinel-list-incident-tasks", "azure-sentinel-list-data-connectors"}


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_manifest_arguments(name):
    """Given one of these commands in the manifest, then its arguments have the expected names, required flags,
    isArray, predefined values and defaults, plus the three workspace overrides."""
    args = {a["name"]: a for a in COMMANDS[name].get("arguments") or []}
    expected = {**ARGUMENTS[name], **{o: (False, False, None, None)
                                      for o in ("subscription_id", "resource_group_name", "workspace_name")}}
    assert set(args) == set(expected)
    for arg_name, (required, is_array, predefined, default) in expected.items():
        a = args[arg_name]
        assert (bool(a.get("required")), bool(a.get("isArray")), a.get("predefined"), a.get("defaultValue")) == (
            required, is_array, predefined, default), arg_name


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_manifest_outputs(name):
    """Given one of these commands, then its outputs sit under its context prefix (NextLink exactly on the paged
    lists), and the deletes declare none."""
    paths = {o["contextPath"] for o in COMMANDS[name].get("outputs") or []}
    next_link = {"AzureSentinel.NextLink.Description", "AzureSentinel.NextLink.URL"}
    assert (next_link <= paths) is (name in PAGED)
    if name not in PREFIXES:
        assert paths == set()
    else:
        assert paths - next_link and all(p.startswith(PREFIXES[name]) for p in paths - next_link)


# -- end to end through the CLI against the emulator ----------------------------------------------------------


@pytest.fixture(scope="module")
def emu():
    from sentinel_emulator import Emulator

    emulator = Emulator(port=0, seed=30).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def cli_run(emu, tmp_path, monkeypatch, capsys):
    """`azure-sentinel run --json COMMAND name=value ...` against the emulator: (exit code, entries)."""
    from xsoar_local import cli

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
    instance = tmp_path / "instance.yml"
    instance.write_text(yaml.safe_dump(emu.params()), encoding="utf-8")
    common = ["--instance", str(instance), "--state", str(tmp_path / "state.sqlite")]

    def run_cli(command: str, **args: str):
        capsys.readouterr()
        code = cli.main(["run", *common, "--json", command, *(f"{k}={v}" for k, v in args.items())])
        out = capsys.readouterr().out
        return code, (json.loads(out) if code == 0 else out)
    return run_cli


def _context(entries: list, prefix: str):
    [entry] = entries
    return context_value(entry, prefix)


def test_bookmarks_tasks_and_relations_through_the_cli(emu, cli_run):
    """Given the emulator, when a user creates a bookmark linked to an incident, updates it, works a task to
    completion and relates an alert, each as one CLI run, then every step reads back what the previous wrote,
    and each resource is deleted at the end."""
    incident = next(iter(emu.store.incident_records())).name
    code, entries = cli_run("azure-sentinel-create-update-bookmark", bookmark_id="e2e-bookmark", display_name="E2E",
                            query="SigninLogs | take 1", labels="e2e", incident_id=incident)
    assert code == 0 and _context(entries, "AzureSentinel.Bookmark(")["IncidentInfo"]["RelationName"] == "e2e-bookmark"
    code, entries = cli_run("azure-sentinel-list-incident-bookmarks", incident_id=incident)
    assert "e2e-bookmark" in [b["ID"] for b in _context(entries, "AzureSentinel.Bookmark(")]
    assert cli_run("azure-sentinel-create-update-bookmark", bookmark_id="e2e-bookmark", notes="Looked")[0] == 0
    code, entries = cli_run("azure-sentinel-list-bookmarks", bookmark_id="e2e-bookmark")
    bookmark = _context(entries, "AzureSentinel.Bookmark(")
    assert (bookmark["DisplayName"], bookmark["Notes"], bookmark["Labels"]) == ("E2E", "Looked", ["e2e"])

    assert cli_run("azure-sentinel-create-update-incident-task", incident_id=incident, task_id="e2e-task",
                   title="Isolate the host")[0] == 0
    assert cli_run("azure-sentinel-create-update-incident-task", incident_id=incident, task_id="e2e-task",
                   status="Completed")[0] == 0
    code, entries = cli_run("azure-sentinel-list-incident-tasks", incident_id=incident, task_id="e2e-task")
    task = _context(entries, "AzureSentinel.IncidentTask(")
    assert (task["Title"], task["Status"], task["IncidentID"]) == ("Isolate the host", "Completed", incident)

    code, entries = cli_run("azure-sentinel-list-incident-alerts", incident_id=incident)
    alert_id = entries[0]["Contents"]["value"][0]["id"]
    code, entries = cli_run("azure-sentinel-create-incident-relation", incident_id=incident,
                            relation_name="e2e-relation", related_resource_id=alert_id)
    assert code == 0 and _context(entries, "AzureSentinel.IncidentRelatedResource(")["Kind"] == "SecurityAlert"

    for command, args in (("azure-sentinel-delete-incident-relation", {"relation_name": "e2e-relation"}),
                          ("azure-sentinel-delete-incident-relation", {"relation_name": "e2e-bookmark"}),
                          ("azure-sentinel-delete-incident-task", {"task_id": "e2e-task"})):
        code, entries = cli_run(command, incident_id=incident, **args)
        assert code == 0 and entries[0]["HumanReadable"].endswith("was deleted successfully.")
    code, entries = cli_run("azure-sentinel-delete-bookmark", bookmark_id="e2e-bookmark")
    assert entries[0]["HumanReadable"] == "Bookmark e2e-bookmark was deleted successfully."
    code, entries = cli_run("azure-sentinel-list-incident-bookmarks", incident_id=incident)
    assert "e2e-bookmark" not in [b["ID"] for b in _context(entries, "AzureSentinel.Bookmark(")]


def test_data_connectors_and_a_bad_relation_through_the_cli(emu, cli_run):
    """Given the emulator, when list-data-connectors runs, then each connector shows its data types; when a
    relation names a resource of another workspace, then the run fails with one line saying the expected form."""
    code, entries = cli_run("azure-sentinel-list-data-connectors")
    rows = _context(entries, "AzureSentinel.DataConnector(")
    assert code == 0 and {r["Kind"] for r in rows} >= {"AzureActiveDirectory", "MicrosoftThreatProtection"}
    assert all(r["DataTypes"] and r["DataTypes"][0]["State"] == "Enabled" for r in rows)
    incident = next(iter(emu.store.incident_records())).name
    code, out = cli_run("azure-sentinel-create-incident-relation", incident_id=incident,
                        related_resource_id="/subscriptions/x/resourceGroups/y/providers/Microsoft.SecurityInsights/"
                                            "bookmarks/b")
    assert code == 1 and "must be the full resource ID of a bookmark or alert in this workspace" in out
