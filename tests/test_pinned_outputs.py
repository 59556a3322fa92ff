"""Pinned contract: what incident, alert and entity commands hand to playbooks (context, raw Contents, times).

Literal expected values throughout: an offset timestamp becomes this exact UTC string, the alerts entry's
Contents is exactly {"value": [...]}, the incident context says `Deleted: False`.
"""

from __future__ import annotations

import pytest

from module_helpers import INCIDENT_ID, INCIDENT_URL, WS_URL, context_value, incident, only_entry, run

ALERT_KEY = "AzureSentinel.IncidentAlert(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"
ENTITY_KEY = "AzureSentinel.IncidentEntity(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"


def incident_row(m, **props) -> dict:
    """The AzureSentinel.Incident context of get-incident-by-id for an incident with these properties."""
    m.get(INCIDENT_URL, json=incident(INCIDENT_ID, 7, **props))
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    return context_value(entry, "AzureSentinel.Incident(")


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    pytest.param("2025-03-01T12:00:00+02:00", "2025-03-01T10:00:00Z", id="plus-two-hours"),
    pytest.param("2025-03-01T12:00:00-05:30", "2025-03-01T17:30:00Z", id="minus-five-thirty"),
    pytest.param("2025-03-01T00:30:00+0100", "2025-02-28T23:30:00Z", id="offset-without-colon-crosses-a-day"),
    pytest.param("2025-03-01T12:00:00.1234567Z", "2025-03-01T12:00:00Z", id="seven-fraction-digits"),
    pytest.param("2025-03-01T12:00:00", "2025-03-01T12:00:00Z", id="no-zone-is-utc"),
    pytest.param("2025-03-01T12:00:00.5+00:00", "2025-03-01T12:00:00Z", id="zero-offset"),
    pytest.param("2025-13-01T12:00:00Z", None, id="month-13-is-no-time"),
    pytest.param("yesterday", None, id="not-a-timestamp"),
    pytest.param("", None, id="empty"),
])
def test_timestamps_become_official_utc_strings(m, value, expected):
    """Given an incident time in any ARM form (offset, fractions, no zone), when get-incident runs, then the
    context has it in UTC as '%Y-%m-%dT%H:%M:%SZ'; a value that is no time becomes null."""
    row = incident_row(m, createdTimeUtc=value, firstActivityTimeUtc=value)
    assert row["CreatedTimeUTC"] == expected
    assert row["FirstActivityTimeUTC"] == expected and row["FirstActivityTimeGenerated"] == expected


def test_the_incident_context_is_the_official_object(m):
    """Given a full incident, when get-incident runs, then the context is exactly the official
    AzureSentinel.Incident object, with Deleted: False and both spellings of the counts."""
    row = incident_row(
        m, description="Something happened", owner={"assignedTo": "Ann", "email": "ann@example.com",
                                                   "objectId": "o-1", "userPrincipalName": "ann@corp"},
        labels=[{"labelName": "vip", "labelType": "User"}, "not-a-label"],
        lastActivityTimeUtc="2025-01-02T00:00:00Z", providerName="Azure Sentinel", providerIncidentId="7",
        incidentUrl="https://portal.azure.com/#incident/7",
        additionalData={"alertsCount": 2, "bookmarksCount": 1, "commentsCount": 3, "alertProductNames": ["ASC"],
                        "tactics": ["Persistence"], "techniques": ["T1078"], "providerIncidentUrl": "https://x/7"})
    assert row == {
        "ID": INCIDENT_ID, "IncidentNumber": 7, "Title": "Incident 7", "Description": "Something happened",
        "Severity": "Medium", "Status": "Active", "AssigneeName": "Ann", "AssigneeEmail": "ann@example.com",
        "AssigneeObjectID": "o-1", "AssigneeUPN": "ann@corp", "Label": [{"Name": "vip", "Type": "User"}],
        "FirstActivityTimeUTC": None, "LastActivityTimeUTC": "2025-01-02T00:00:00Z",
        "LastModifiedTimeUTC": "2025-01-01T00:00:00Z", "CreatedTimeUTC": "2025-01-01T00:00:00Z", "AlertsCount": 2,
        "BookmarksCount": 1, "BookmarkCount": 1, "CommentsCount": 3, "CommentCount": 3, "AlertProductNames": ["ASC"],
        "Tactics": ["Persistence"], "Techniques": ["T1078"], "ProviderName": "Azure Sentinel",
        "ProviderIncidentId": "7", "ProviderIncidentUrl": "https://x/7", "FirstActivityTimeGenerated": None,
        "LastActivityTimeGenerated": "2025-01-02T00:00:00Z", "Etag": '"etag-1"',
        "IncidentUrl": "https://portal.azure.com/#incident/7", "Deleted": False,
    }


def test_a_deleted_incident_says_deleted_true(m):
    """Given delete-incident succeeds, then the Incident context is exactly {ID, Deleted: True}."""
    m.delete(INCIDENT_URL, status_code=200, json={})
    entry = only_entry(run("azure-sentinel-delete-incident", {"incident_id": INCIDENT_ID}))
    assert context_value(entry, "AzureSentinel.Incident(") == {"ID": INCIDENT_ID, "Deleted": True}
    assert entry["HumanReadable"] == f"Incident {INCIDENT_ID} was deleted successfully."


# -- alerts and entities -----------------------------------------------------------------------


def alert(name: str, **props) -> dict:
    return {"name": name, "kind": "SecurityAlert", "properties": props}


def test_the_alerts_entry_holds_the_raw_alerts_and_prefers_the_system_alert_id(m):
    """Given two alerts, one with a systemAlertId that differs from its name and one without, when
    list-incident-alerts runs, then Contents is exactly {"value": [both alerts]} and the context IDs are
    the systemAlertId, then the name."""
    alerts = [alert("name-1", systemAlertId="system-1", alertDisplayName="First", severity="High",
                    tactics=["Execution"], techniques=["T1059"], additionalData={"MitreTechniques": ["T1059.001"]},
                    confidenceLevel="High", vendorName="Microsoft", productName="Defender",
                    productComponentName="Endpoint", description="d1"),
              alert("name-2", alertDisplayName="Second", additionalData={"MitreTechniques": ["T1110"]})]
    m.post(f"{INCIDENT_URL}/alerts", json={"value": alerts})
    entry = only_entry(run("azure-sentinel-list-incident-alerts", {"incident_id": INCIDENT_ID}))
    assert entry["Contents"] == {"value": alerts}
    assert entry["EntryContext"][ALERT_KEY] == [
        {"ID": "system-1", "IncidentId": INCIDENT_ID, "Kind": "SecurityAlert", "Tactic": ["Execution"],
         "Techniques": ["T1059"], "Technique": ["T1059.001"], "DisplayName": "First", "Description": "d1",
         "ConfidenceLevel": "High", "Severity": "High", "VendorName": "Microsoft", "ProductName": "Defender",
         "ProductComponentName": "Endpoint"},
        {"ID": "name-2", "IncidentId": INCIDENT_ID, "Kind": "SecurityAlert", "Tactic": None,
         "Techniques": ["T1110"], "Technique": ["T1110"], "DisplayName": "Second", "Description": None,
         "ConfidenceLevel": None, "Severity": None, "VendorName": None, "ProductName": None,
         "ProductComponentName": None},
    ]
    assert entry["HumanReadable"].startswith(f"### Incident {INCIDENT_ID} Alerts (2 results)\n|ID|Kind|Tactic|")


def test_the_entities_entry_holds_the_raw_answer(m):
    """Given entities with metadata, when list-incident-entities runs, then Contents is the whole answer
    and each context row is {ID, IncidentId, Kind, Properties}."""
    data = {"entities": [{"name": "e-1", "kind": "Ip", "properties": {"address": "10.0.0.1"}}],
            "metaData": [{"entityKind": "Ip", "count": 1}]}
    m.post(f"{INCIDENT_URL}/entities", json=data)
    entry = only_entry(run("azure-sentinel-list-incident-entities", {"incident_id": INCIDENT_ID}))
    assert entry["Contents"] == data
    assert entry["EntryContext"][ENTITY_KEY] == [
        {"ID": "e-1", "IncidentId": INCIDENT_ID, "Kind": "Ip", "Properties": {"address": "10.0.0.1"}}]
    assert entry["HumanReadable"] == (f"### Incident {INCIDENT_ID} Entities (1 results)\n|ID|Kind|Properties|\n"
                                      f"|---|---|---|\n|e-1|Ip|address: 10.0.0.1|\n")


def test_an_empty_alert_list_says_no_entries(m):
    """Given no alerts, when list-incident-alerts runs, then the table says **No entries.** and the context is []."""
    m.post(f"{INCIDENT_URL}/alerts", json={"value": []})
    entry = only_entry(run("azure-sentinel-list-incident-alerts", {"incident_id": INCIDENT_ID}))
    assert entry["HumanReadable"] == f"### Incident {INCIDENT_ID} Alerts (0 results)\n**No entries.**\n"
    assert entry["EntryContext"][ALERT_KEY] == [] and entry["Contents"] == {"value": []}


# -- lists and tables --------------------------------------------------------------------------


def test_list_incidents_returns_the_next_link_as_one_argument(m):
    """Given a page with a nextLink containing spaces, when list-incidents runs with limit 1, then the
    NextLink context has the link with %20 and the documented description."""
    link = f"{WS_URL}/incidents?api-version=2025-12-01&$top=1&$skipToken=a b"
    m.get(f"{WS_URL}/incidents", json={"value": [incident(INCIDENT_ID, 1)], "nextLink": link})
    entry = only_entry(run("azure-sentinel-list-incidents", {"limit": "1"}))
    assert entry["EntryContext"]['AzureSentinel.NextLink(val.Description == "NextLink for listing commands")'] == {
        "Description": "NextLink for listing commands", "URL": link.replace(" ", "%20")}


def test_table_cells_escape_pipes_and_newlines(m):
    """Given a title with a pipe and a newline, when get-incident runs, then its table cell is escaped and
    on one line; columns without any value are left out."""
    m.get(INCIDENT_URL, json={"name": INCIDENT_ID, "properties": {"title": "a|b\nc", "incidentNumber": 3}})
    entry = only_entry(run("azure-sentinel-get-incident-by-id", {"incident_id": INCIDENT_ID}))
    assert entry["HumanReadable"] == (f"### Incident {INCIDENT_ID} details\n|ID|Incident Number|Title|\n"
                                      f"|---|---|---|\n|{INCIDENT_ID}|3|a\\|b c|\n")
